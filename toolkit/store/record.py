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

import msgspec

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
#: Bump when the record's shape changes: older records read as "not built" (rebuilt once).
VERSION = 4


@dataclass(frozen=True)
class Inputs:
    """What a build read, by kind; a record is current while all of it is unchanged."""

    podkit: str                     # podkit's, the record's and the audio engine's versions
    feed: str                       # digest of the feed's definition (toolkit.config.catalog)
    templates: str                  # digest of the show's template overrides ('' for none)
    episode: str                    # digest of the episode as loaded
    files: dict[str, str] = field(default_factory=dict)  # shown path -> SHA-256, every file read

    def changed(self, now: Inputs) -> list[str]:
        """What differs, the episode's own sources first: `episode`, then file paths, then
        `feed`, `templates`, `podkit`."""
        if self == now:         # the usual answer, without sorting every file name
            return []
        files = [f for f in sorted({*self.files, *now.files})
                 if self.files.get(f) != now.files.get(f)]
        return ["episode"] * (self.episode != now.episode) + files + \
            [k for k in ("feed", "templates", "podkit") if getattr(self, k) != getattr(now, k)]


class _Version(msgspec.Struct):
    version: int = 0


class _Head(msgspec.Struct):
    """A record as read: the header typed, the episode and the parts left as JSON text
    until asked for (a no-op build or `status` over 2,000 episodes needs neither)."""

    version: int
    inputs: Inputs
    episode: msgspec.Raw
    warnings: tuple[tuple[str, str], ...] = ()
    steps: dict[str, msgspec.Raw] = {}


class EpisodeRecord:
    """One built episode, as every stage after the build sees it.

    `steps` holds what each build step produced, by step name (toolkit.store.parts); the
    properties below name the parts the feed, pages and validation read. `warnings` are
    the steps' warnings as (topic, message), kept so that a build served from its record
    shows them again. A record read from disk decodes its episode and each part the first
    time they are asked for.
    """

    __slots__ = ("version", "inputs", "warnings", "_episode", "_steps", "_raw", "_root",
                 "_path")

    def __init__(self, version: int, episode: Episode | None, inputs: Inputs,
                 steps: dict[str, Any] | None = None,
                 warnings: tuple[tuple[str, str], ...] = ()) -> None:
        self.version, self.inputs, self.warnings = version, inputs, tuple(warnings)
        self._episode: Episode | None = episode
        self._steps: dict[str, Any] = dict(steps or {})
        self._raw: dict[str, msgspec.Raw] = {}
        self._root: Path | None = None
        self._path: Path | None = None

    @classmethod
    def _read(cls, head: _Head, root: Path, path: Path, episode: Episode | None
              ) -> EpisodeRecord:
        rec = cls(head.version, episode, head.inputs, warnings=head.warnings)
        if episode is None:
            rec._raw[""] = head.episode            # "" is never a step's name
        rec._raw.update(head.steps)
        rec._root, rec._path = root, path
        return rec

    def _decode(self, tp: Any, raw: msgspec.Raw, what: str) -> Any:
        try:
            return codec.decode(tp, raw, base=self._root) if tp else msgspec.json.decode(raw)
        except (codec.CodecError, ValueError) as exc:
            raise NotBuiltError(f"build record damaged ({what}: {exc}); run `podkit build "
                                f"{self._path.parent.name if self._path else ''}`",
                                path=self._path) from None

    @property
    def episode(self) -> Episode:
        """The episode as built (not as the sources say now)."""
        if self._episode is None:
            self._episode = self._decode(Episode, self._raw.pop(""), "episode")
        return self._episode

    @property
    def steps(self) -> dict[str, Any]:
        """Every step's part by step name (typed where the step's part type is known)."""
        for name in list(self._raw):
            if name:
                self.part(name)
        return dict(self._steps)

    def part(self, name: str, default: Any = None) -> Any:
        """The part step `name` added (`default` when the step did not run)."""
        if name in self._steps:
            return self._steps[name]
        raw = self._raw.pop(name, None) if name else None
        if raw is None:
            return default
        # A part whose step this process does not know stays plain data.
        self._steps[name] = self._decode(parts.TYPES.get(name), raw, f"steps.{name}")
        return self._steps[name]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EpisodeRecord):
            return NotImplemented
        return (self.version, self.inputs, self.warnings, self.episode, self.steps) == \
            (other.version, other.inputs, other.warnings, other.episode, other.steps)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"EpisodeRecord(version={self.version}, slug={self.slug!r}, steps={sorted(self.steps)})"

    @property
    def slug(self) -> str:
        """The episode's slug."""
        return self.episode.slug

    @property
    def audio(self) -> MediaFile:
        """The MP3 enclosure."""
        return self.part("tags").audio

    @property
    def duration(self) -> float:
        """Seconds of built audio."""
        return self.audio.duration or 0.0

    @property
    def extra_audio(self) -> tuple[MediaFile, ...]:
        """The other published renditions (.m4a, .opus)."""
        return self.part("tags").extra

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
    data = {"version": record.version, "episode": codec.dump(record.episode, base=root),
            "inputs": codec.dump(record.inputs), "warnings": codec.dump(record.warnings),
            "steps": {name: codec.dump(part, base=root) for name, part in record.steps.items()}}
    path = record_path(folder)
    write_text(path, json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    return path


def load(folder: Path, *, root: Path, slug: str,
         same: tuple[str, Episode] | None = None) -> EpisodeRecord:
    """The record of the episode built into `folder`; NotBuiltError if absent or unreadable.

    `same` is (digest, episode) of the episode as loaded now: when the record was built
    from an episode with that digest, that object stands for the record's own snapshot
    (equal by construction) and the snapshot is never decoded.
    """
    path = record_path(folder)
    try:
        # Unbuffered: one read of the whole file, without a buffer object (2,000 per command).
        with open(path, "rb", buffering=0) as f:
            data = f.readall()
    except FileNotFoundError:
        raise NotBuiltError(f"episode {slug!r} is not built yet: run `podkit build {slug}`",
                            path=f"episodes/{slug}") from None
    except OSError as exc:
        raise NotBuiltError(f"build record unreadable ({exc}); run `podkit build {slug}`",
                            path=path) from exc
    try:
        try:
            head = codec.decode(_Head, data, base=root)
            version = head.version
        except codec.CodecError:
            # Not this version's shape: an older or newer podkit's record says so by its
            # version; a record of this version that does not fit is damaged. (One decode
            # in the usual case: 2,000 records are read per command.)
            version = codec.decode(_Version, data).version
            if version == VERSION:
                raise
    except (codec.CodecError, ValueError) as exc:
        raise NotBuiltError(f"build record damaged ({exc}); run `podkit build {slug}`",
                            path=path) from exc
    if version != VERSION:
        raise NotBuiltError(f"built by another podkit version; run `podkit build {slug}`",
                            path=path)
    episode = same[1] if same is not None and same[0] == head.inputs.episode else None
    return EpisodeRecord._read(head, root, path, episode)


def transcript_fragment(folder: Path) -> str:
    """The page's transcript HTML of a built episode ('' when it has none)."""
    try:
        return (folder / TRANSCRIPT_FRAGMENT).read_text("utf-8")
    except FileNotFoundError:
        return ""
