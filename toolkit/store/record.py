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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from toolkit import codec
from toolkit.errors import NotBuiltError
from toolkit.fsutil import write_text
from toolkit.model import (
    AlignReport,
    Chapter,
    CutOutput,
    CutsPart,
    Episode,
    Limiting,
    LoudnessStats,
    MediaFile,
)
from toolkit.store import parts
from toolkit.store.parts import (  # noqa: F401 - CuePart: the sheet's rows, read from here too
    ChaptersPart,
    CuePart,
    CueSheet,
    NotesPart,
    PagePart,
    TranscriptsPart,
)

log = logging.getLogger(__name__)

RECORD_FILE = ".podkit-build.json"
#: The episode's transcript as the page shows it (HTML fragment), read only when a page needs it.
TRANSCRIPT_FRAGMENT = ".podkit-transcript.html"
#: Bump when the record's shape changes: older records read as "not built".
VERSION = 3


@dataclass(frozen=True)
class EpisodeRecord:
    """One built episode, as every stage after the build sees it.

    `steps` holds what each build step produced, by step name (toolkit.store.parts); the
    properties below name the parts the feed, pages and validation read.
    """

    version: int
    episode: Episode                          # the episode as built (not as the sources say now)
    inputs: dict[str, str]                    # input name -> SHA-256 (or a version string)
    steps: dict[str, Any] = field(default_factory=dict)  # step name -> its part

    def part(self, name: str, default: Any = None) -> Any:
        """The part step `name` added (`default` when the step did not run)."""
        return self.steps.get(name, default)

    @property
    def slug(self) -> str:
        """The episode's slug."""
        return self.episode.slug

    @property
    def audio(self) -> MediaFile:
        """The MP3 enclosure."""
        return self.steps["tags"].audio

    @property
    def duration(self) -> float:
        """Seconds of built audio."""
        return self.audio.duration or 0.0

    @property
    def extra_audio(self) -> tuple[MediaFile, ...]:
        """The other published renditions (.m4a, .opus)."""
        return self.steps["tags"].extra

    @property
    def transcripts(self) -> tuple[MediaFile, ...]:
        """The published transcript files."""
        return self.part("transcripts", _NO_TRANSCRIPTS).files

    @property
    def alignments(self) -> tuple[AlignReport, ...]:
        """One alignment report per plain-text transcript."""
        return self.part("transcripts", _NO_TRANSCRIPTS).alignments

    @property
    def has_transcript_html(self) -> bool:
        """True when TRANSCRIPT_FRAGMENT exists."""
        return self.part("transcripts", _NO_TRANSCRIPTS).has_html

    @property
    def chapters(self) -> tuple[Chapter, ...]:
        """The chapters as published."""
        return self.part("chapters", _NO_CHAPTERS).chapters

    @property
    def chapters_file(self) -> MediaFile | None:
        """The chapters JSON file, if any."""
        return self.part("chapters", _NO_CHAPTERS).file

    @property
    def page_url(self) -> str:
        """The episode page's URL."""
        return self.part("page", _NO_PAGE).url

    @property
    def image_url(self) -> str | None:
        """The episode art's URL (None: the show's)."""
        return self.part("page", _NO_PAGE).image_url

    @property
    def cover(self) -> str | None:
        """What the page shows: a site key or a URL."""
        return self.part("page", _NO_PAGE).cover

    @property
    def page_notes_html(self) -> str:
        """The notes as the page shows them."""
        return self.part("page", _NO_PAGE).notes_html

    @property
    def description_html(self) -> str:
        """The feed's <description>."""
        return self.part("notes", _NO_NOTES).description_html

    @property
    def content_html(self) -> str:
        """The feed's <content:encoded>."""
        return self.part("notes", _NO_NOTES).content_html

    @property
    def loudness_after(self) -> LoudnessStats | None:
        """The MP3's loudness as measured (None without an audio part)."""
        master = self.part("audio")
        return master.after if master else None

    @property
    def renditions(self) -> dict[str, LoudnessStats]:
        """Each rendition's loudness as measured, by toolkit.standards.renditions key."""
        master = self.part("audio")
        return master.renditions if master else {}

    @property
    def limiting(self) -> Limiting | None:
        """How hard the limiter worked (None: not measured)."""
        master = self.part("audio")
        return master.limiting if master else None

    @property
    def cuts(self) -> tuple[CutOutput, ...]:
        """The named cuts built (air...), each as measured on its own file; path under build/."""
        part = self.part("cuts")
        return part.cuts if isinstance(part, CutsPart) else ()

    @property
    def cue(self) -> CueSheet | None:
        """The cue sheet."""
        return self.part("cue")


# Read by feed, validate, status and delivery, which do not import the build steps.
parts.register("cuts", CutsPart)
_NO_TRANSCRIPTS, _NO_CHAPTERS = TranscriptsPart(), ChaptersPart()
_NO_PAGE, _NO_NOTES = PagePart(), NotesPart()


def record_path(folder: Path) -> Path:
    """Where the record of the episode built into `folder` lives."""
    return folder / RECORD_FILE


def save(folder: Path, record: EpisodeRecord, *, root: Path) -> Path:
    """Write `record` into the episode folder (atomically, deterministic JSON).

    Paths are stored relative to the show folder `root`, so the show folder can move.
    """
    data = codec.dump(record, base=root)
    path = record_path(folder)
    write_text(path, json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    return path


def load(folder: Path, *, root: Path, slug: str) -> EpisodeRecord:
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
        rec = codec.load(EpisodeRecord, data, base=root)
        steps = {}
        for name, raw in rec.steps.items():
            # A part whose step this process does not know stays plain data.
            kind = parts.TYPES.get(name)
            try:
                steps[name] = codec.load(kind, raw, base=root) if kind else raw
            except codec.CodecError as exc:
                raise codec.CodecError(f"steps.{name}.{exc}") from None
        return replace(rec, steps=steps)
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
