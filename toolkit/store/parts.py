"""The parts of a build record, one per build step, and the table of their types.

    record.steps["audio"]        -> MasterPart       (toolkit.steps.audio)
    record.steps["transcripts"]  -> TranscriptsPart  (toolkit.steps.transcripts)
    record.steps["chapters"]     -> ChaptersPart     (toolkit.steps.chapters)
    record.steps["tags"]         -> TaggedPart       (toolkit.steps.tags)
    record.steps["notes"]        -> NotesPart        (toolkit.steps.notes)
    record.steps["clips"]        -> ClipsPart        (toolkit.steps.clips)
    record.steps["page"]         -> PagePart         (toolkit.steps.page)
    record.steps["cue"]          -> CueSheet         (toolkit.steps.cue)

Each step of `toolkit.steps.STEPS` returns its own part; the record keeps them by step
name, so a new step brings its own part type (`register`) and the record class does not
change. The types live here, low, because the stages after the build (feed, pages,
validation) read them.
"""
from __future__ import annotations

from dataclasses import dataclass

from toolkit.model import (
    AlignReport,
    Chapter,
    CutOutput,
    EncodingSettings,
    Limiting,
    LoudnessStats,
    MediaFile,
)


@dataclass(frozen=True)
class CuePart:
    """One assembled part: its title, where it starts in the programme and how long it runs."""

    title: str
    duration: float
    start: float | None = None


@dataclass(frozen=True)
class CueSheet:
    """Everything on one episode's cue sheet."""

    slug: str
    programme: str
    segment: str
    title: str
    date: str                           # ISO date of broadcast/publication
    duration: float                     # seconds, of the built audio
    parts: tuple[CuePart, ...] = ()
    in_cue: str = ""
    out_cue: str = ""
    integrated: float | None = None     # LUFS
    true_peak: float | None = None      # dBTP
    max_duration: float | None = None   # the slot, seconds
    number: int | None = None
    limited_s: float | None = None      # seconds the limiter worked (None: not measured)
    limited_share: float | None = None  # of the programme, 0..1
    limiter_max_db: float | None = None
    limiting_warning: str | None = None  # the build's heavy-limiting warning
    cuts: tuple[CutOutput, ...] = ()    # the named cuts (air...): their slots, cues, timing


@dataclass(frozen=True)
class MasterPart:
    """The audio step: loudness before and after, each rendition as measured, the limiter."""

    before: LoudnessStats
    after: LoudnessStats                      # the MP3 as measured
    renditions: dict[str, LoudnessStats]      # by toolkit.standards.renditions key
    assembled: tuple[tuple[str, float], ...] = ()  # (title, seconds) per assembled part
    limiting: Limiting | None = None          # None: not measured (passthrough)
    mix_warnings: tuple[str, ...] = ()        # parts far above the speech (toolkit.audio.mix)
    # A re-mastered passthrough (`[encoding] remaster`): the settings it was mastered with
    # (its own channels, at most its bitrate); None for every other build.
    remastered: EncodingSettings | None = None


@dataclass(frozen=True)
class TranscriptsPart:
    """The transcripts step: the published files and one alignment report per plain text."""

    files: tuple[MediaFile, ...] = ()
    alignments: tuple[AlignReport, ...] = ()
    has_html: bool = False                    # record.TRANSCRIPT_FRAGMENT exists


@dataclass(frozen=True)
class ChaptersPart:
    """The chapters step: the chapters as published and their JSON file."""

    chapters: tuple[Chapter, ...] = ()
    file: MediaFile | None = None


@dataclass(frozen=True)
class TaggedPart:
    """The tags step: the tagged, published audio files."""

    audio: MediaFile                          # the MP3 enclosure
    extra: tuple[MediaFile, ...] = ()         # other published renditions (.m4a, .opus)


@dataclass(frozen=True)
class NotesPart:
    """The notes step: the episode's text as the feed carries it."""

    description_html: str = ""                # <description>: notes, else the summary
    content_html: str = ""                    # <content:encoded>


@dataclass(frozen=True)
class PagePart:
    """The page step: the episode page and what it shows."""

    url: str = ""
    image_url: str | None = None              # episode art URL (None: the show's)
    cover: str | None = None                  # what the page shows: site key or URL
    notes_html: str = ""                      # the notes as the page shows them


@dataclass(frozen=True)
class ClipFile:
    """One soundbite's video clip as published: where it is, what it shows."""

    index: int                                # 1-based, in the episode's [[soundbites]] order
    start: float                              # seconds into the programme
    duration: float
    title: str | None
    shape: str                                # square, vertical, landscape
    width: int
    height: int
    video: MediaFile                          # the MP4
    poster: MediaFile                         # a JPEG frame shown before it plays
    captions: bool                            # word-timed captions drawn (a timed transcript)


@dataclass(frozen=True)
class ClipsPart:
    """The clips step: one video clip per soundbite that asks for one."""

    clips: tuple[ClipFile, ...] = ()
    skipped: tuple[str, ...] = ()             # soundbites left without a clip, and why


#: Step name -> the type of its part. A step registers its own (see `register`).
TYPES: dict[str, type] = {"audio": MasterPart, "transcripts": TranscriptsPart,
                          "chapters": ChaptersPart, "tags": TaggedPart, "notes": NotesPart,
                          "page": PagePart, "cue": CueSheet, "clips": ClipsPart}


def register(name: str, part_type: type) -> None:
    """Declare the type of the part step `name` adds to the record (a frozen dataclass)."""
    known = TYPES.setdefault(name, part_type)
    # The same class defined again (a module reloaded) replaces itself; another is a clash.
    if (known.__module__, known.__qualname__) == (part_type.__module__, part_type.__qualname__):
        TYPES[name] = part_type
    else:
        raise ValueError(f"step {name!r} already has part type {known.__name__}")
