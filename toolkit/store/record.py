"""The build record: what `podkit build` produced for one episode, the only input of later stages.

    stage/<feed>/episodes/<slug>/.podkit-build.json     (beside the files it describes)

`podkit feed`, the index page, `validate`, `cue`, `status` and `publish` read records and
built files, never the sources: the feed shows exactly what was built, tagged and
paged. The record holds the episode as it was built (a snapshot of `model.Episode`),
every input's hash (so a later command can tell that the sources moved on: *stale*),
and every number the feed and pages need (enclosures with sizes and durations,
description HTML, transcript and chapter URLs, loudness).

The record lives inside the episode's stage folder, so promoting a build (one rename of
the folder, see `toolkit.store.promote`) replaces the files and their record together.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolkit import codec
from toolkit.errors import NotBuiltError
from toolkit.fsutil import write_text
from toolkit.model import AlignReport, Chapter, CutOutput, Episode, LoudnessStats, MediaFile

log = logging.getLogger(__name__)

RECORD_FILE = ".podkit-build.json"
#: The episode's transcript as the page shows it (HTML fragment), read only when a page needs it.
TRANSCRIPT_FRAGMENT = ".podkit-transcript.html"
#: Bump when the record's shape changes: older records read as "not built".
VERSION = 2


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


@dataclass(frozen=True)
class EpisodeRecord:
    """One built episode, as every stage after the build sees it."""

    version: int
    episode: Episode                          # the episode as built (not as the sources say now)
    inputs: dict[str, str]                    # input name -> SHA-256 (or a version string)
    audio: MediaFile                          # the MP3 enclosure
    extra_audio: tuple[MediaFile, ...] = ()   # other published renditions (.m4a, .opus)
    transcripts: tuple[MediaFile, ...] = ()
    chapters_file: MediaFile | None = None
    chapters: tuple[Chapter, ...] = ()
    page_url: str = ""
    image_url: str | None = None              # episode art URL (None: the show's)
    cover: str | None = None                  # what the page shows: site key or URL
    description_html: str = ""                # <description>: notes, else the summary
    content_html: str = ""                    # <content:encoded>
    page_notes_html: str = ""                 # the notes as the page shows them
    has_transcript_html: bool = False         # TRANSCRIPT_FRAGMENT exists
    loudness_before: LoudnessStats | None = None
    loudness_after: LoudnessStats | None = None
    renditions: dict[str, LoudnessStats] = field(default_factory=dict)  # by renditions key
    parts: tuple[tuple[str, float], ...] = ()  # (title, seconds) per assembled part
    cue: CueSheet | None = None
    limiting: dict[str, Any] = field(default_factory=dict)  # normalize.Limiting.as_dict()
    alignments: tuple[AlignReport, ...] = ()  # one per plain-text transcript (toolkit.text.align)
    cuts: tuple[CutOutput, ...] = ()          # the named deliverables (air...), path under build/

    @property
    def slug(self) -> str:
        """The episode's slug."""
        return self.episode.slug

    @property
    def duration(self) -> float:
        """Seconds of built audio."""
        return self.audio.duration or 0.0


def record_path(folder: Path) -> Path:
    """Where the record of the episode built into `folder` lives."""
    return folder / RECORD_FILE


def save(folder: Path, record: EpisodeRecord, *, root: Path, site: Path) -> Path:
    """Write `record` into the episode folder (atomically, deterministic JSON).

    Media paths are stored relative to the stage folder `site`, other paths relative to
    the show folder `root`, so the build folder can move with the show.
    """
    data = codec.dump(record, base=root)
    for key in ("audio", "chapters_file"):
        if getattr(record, key) is not None:
            data[key]["path"] = _rel(getattr(record, key).path, site)
    for key in ("extra_audio", "transcripts"):
        for d, media in zip(data[key], getattr(record, key)):
            d["path"] = _rel(media.path, site)
    path = record_path(folder)
    write_text(path, json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    return path


def _rel(path: Path, site: Path) -> str:
    return Path(path).relative_to(site).as_posix()


def load(folder: Path, *, root: Path, site: Path, slug: str) -> EpisodeRecord:
    """The record of the episode built into `folder`; NotBuiltError if absent or unreadable."""
    path = record_path(folder)
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise NotBuiltError(f"episode {slug!r} is not built yet: run `podkit build {slug}`",
                            path=f"episodes/{slug}") from None
    except (OSError, ValueError) as exc:
        raise NotBuiltError(f"build record unreadable ({exc}); run `podkit build {slug}`",
                            path=path) from exc
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise NotBuiltError(f"built by another podkit version; run `podkit build {slug}`",
                            path=path)
    try:
        for key in ("audio", "chapters_file"):
            if data.get(key):
                data[key]["path"] = str(site / data[key]["path"])
        for key in ("extra_audio", "transcripts"):
            for d in data.get(key, []):
                d["path"] = str(site / d["path"])
        return codec.load(EpisodeRecord, data, base=root)
    except (codec.CodecError, KeyError, TypeError) as exc:
        raise NotBuiltError(f"build record damaged ({exc}); run `podkit build {slug}`",
                            path=path) from exc


def peek(folder: Path) -> dict[str, Any] | None:
    """The record of the episode built into `folder` as plain JSON data (None when absent,
    unreadable or of another version): enough to tell whether it is current without
    decoding it all (a no-op build of 2,000 episodes reads 2,000 records)."""
    try:
        data = json.loads(record_path(folder).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("version") == VERSION else None


def transcript_fragment(folder: Path) -> str:
    """The page's transcript HTML of a built episode ('' when it has none)."""
    try:
        return (folder / TRANSCRIPT_FRAGMENT).read_text("utf-8")
    except FileNotFoundError:
        return ""
