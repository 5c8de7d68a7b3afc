"""What every build step shares: the job, the context steps read and add to, the Step base.

A step is a small class:

    class Loudness(Step):
        name = "loudness"            # its key in the record's `steps`
        part_type = LoudnessPart     # a frozen dataclass (registered with toolkit.store.parts)
        topic = "audio"              # the word its warnings are printed under

        def applies(self, ctx): return True          # run for this episode?
        def run(self, ctx): return LoudnessPart(...)  # write into ctx.work, return the part
        def warnings(self, part): return ()          # lines the build summary shows
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from toolkit.fsutil import sha256_file
from toolkit.model import Episode, MediaFile, Show, Transcript
from toolkit.store import parts
from toolkit.store.addressed import copy_addressed  # noqa: F401 - the steps import it from here
from toolkit.store.record import Inputs
from toolkit.store.layout import Layout, site_key, url_for

if TYPE_CHECKING:
    from toolkit.audio.master import AudioResult

Progress = Callable[[str, float], None]


def _noop(stage: str, fraction: float) -> None:
    pass


@dataclass(frozen=True)
class BuildSettings:
    """Options of a build that are not in the show's files."""

    id3_version: int = 3
    force: bool = False             # rebuild even when the record says nothing changed
    claim: str | None = None        # a cluster build's id: attempts race for one promotion


@dataclass(frozen=True)
class EpisodeJob:
    """Everything a worker needs to build one episode (picklable: no catalogue reload)."""

    root: Path
    show: Show
    episode: Episode
    inputs: Inputs
    cover: str                      # site key of the show's published cover
    settings: BuildSettings = BuildSettings()


class Folder:
    """An episode's private work folder, addressed by the keys its files will have once promoted."""

    def __init__(self, work: Path, final: Path, site: Path, base_url: str) -> None:
        self.work, self.final, self.site, self.base_url = work, final, site, base_url
        self.prefix = site_key(site, final)

    def url(self, path: Path) -> str:
        """The public URL a file in the work folder will have."""
        return url_for(self.base_url, f"{self.prefix}/{path.relative_to(self.work).as_posix()}")

    def media(self, path: Path, mime: str, duration: float | None = None) -> MediaFile:
        """A built file as the record keeps it: its final path, URL, size and hash."""
        return MediaFile(path=self.final / path.relative_to(self.work), url=self.url(path),
                         mime=mime, size=path.stat().st_size, sha256=sha256_file(path),
                         duration=duration)

    def moved(self, m: MediaFile) -> MediaFile:
        """A MediaFile written into the work folder, as it will be after promotion."""
        return replace(m, path=self.final / Path(m.path).relative_to(self.work))


@dataclass
class Context:
    """One episode's build in progress: the job, where to write, what earlier steps made.

    `parts` is what goes into the record; the other fields are what steps hand on to
    later steps in memory only (the audio stage's result, the loaded transcripts).
    """

    job: EpisodeJob
    folder: Folder
    reports: Path                   # the episode's private reports folder (notes.md, QC, cue)
    progress: Progress = _noop
    parts: dict[str, Any] = field(default_factory=dict)
    master: AudioResult | None = None          # set by the audio step
    texts: list[Transcript] = field(default_factory=list)   # set by the transcripts step
    transcript_html: str = ""                  # the first transcript as the page shows it

    @property
    def show(self) -> Show:
        """The show being built."""
        return self.job.show

    @property
    def episode(self) -> Episode:
        """The episode being built."""
        return self.job.episode

    @property
    def work(self) -> Path:
        """The private folder that becomes the episode's stage folder."""
        return self.folder.work

    @property
    def layout(self) -> Layout:
        """Where the show's build files are."""
        return Layout(self.job.root)

    @property
    def audio(self) -> AudioResult:
        """The audio stage's result (the audio step runs first)."""
        if self.master is None:
            raise RuntimeError("the audio step has not run")
        return self.master

    @property
    def page_url(self) -> str:
        """The URL the episode's page will have (tags and notes link to it)."""
        from toolkit.site import notes     # jinja2: only a build needs it
        return url_for(self.show.base_url, notes.episode_page_key(self.episode.slug))

    def add(self, name: str, part: Any) -> None:
        """Keep step `name`'s part for the record."""
        self.parts[name] = part

    def part(self, name: str, default: Any = None) -> Any:
        """The part an earlier step added (`default` when it did not run)."""
        return self.parts.get(name, default)


class Step:
    """One step of the episode build (see the module docstring)."""

    name: ClassVar[str]
    part_type: ClassVar[type]
    topic: ClassVar[str] = ""       # e.g. "audio": printed as `episodes/<slug>: audio: warning: ...`

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "part_type" in cls.__dict__:
            parts.register(cls.name, cls.part_type)

    def applies(self, ctx: Context) -> bool:
        """Whether this step runs for the episode in `ctx` (by default it always does)."""
        return True

    def run(self, ctx: Context) -> Any:
        """Do the step's work in `ctx.work`/`ctx.reports`; return its part of the record."""
        raise NotImplementedError

    def warnings(self, part: Any) -> tuple[str, ...]:
        """What the producer should hear about this step's part (one line each)."""
        return ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def link_or_copy(src: Path, dst: Path) -> None:
    """Put `src` at `dst`: a hard link (cache files are replaced, never rewritten), else a copy."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)
