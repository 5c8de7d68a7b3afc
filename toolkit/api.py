"""The library API: one show folder, the same steps as the `podkit` commands.

    from toolkit import Project
    project = Project("path/to/show")
    checked = project.check()             # CheckResult: problems, errors, feed/episode counts
    results = project.build(jobs=2)       # one BuildResult per episode
    project.feed()                        # feed.xml, index and archive from the records
    findings = project.validate()
    reports = project.publish()
    project.deliver()                     # the air cuts to the stations the feeds name

The `podkit` command is a thin layer over these methods: it parses options, calls one,
and prints what comes back. A Project reads the show folder (the catalogue) when first
needed and keeps it for its later calls, as one command does; `reload()` after changing
files in the folder. Results are frozen dataclasses; errors are
`toolkit.errors.PodkitError`s naming the file and the field.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.errors import Problem, Severity

if TYPE_CHECKING:       # types only: importing them would load every stage at `import toolkit`
    from toolkit.cluster import ClusterTarget
    from toolkit.config.catalog import Catalog
    from toolkit.delivery import TargetReport
    from toolkit.episode_build import BuildSummary
    from toolkit.feed.findings import Finding
    from toolkit.model import AlignReport, Episode, Show
    from toolkit.publish.sync import Progress, Report
    from toolkit.public import FeedResult, RenditionLoudness
    from toolkit.runner import Progress as BuildProgress
    from toolkit.showlife.golive import ReleaseResult
    from toolkit.showlife.showinit import ShowSettings
    from toolkit.showlife.status import StatusReport


@dataclass(frozen=True)
class BuildResult:
    """One episode of a build: its summary, or the one-line error that stopped it."""

    slug: str
    summary: BuildSummary | None
    error: str | None

    @property
    def ok(self) -> bool:
        """True when the episode built (or was already current)."""
        return self.error is None


@dataclass(frozen=True)
class CheckResult:
    """What `podkit check` found: every problem, and how much it read."""

    problems: tuple[Problem, ...]
    feeds: int
    episodes: int

    @property
    def errors(self) -> tuple[Problem, ...]:
        """The problems that fail the check (the rest are warnings)."""
        return tuple(p for p in self.problems if p.severity is Severity.ERROR)


class Project:
    """A show folder (feeds/, episodes/, templates/, build/) and what podkit does with it."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self._catalog: Catalog | None = None

    @classmethod
    def init(cls, folder: str | Path, settings: ShowSettings) -> tuple[Project, list[Path]]:
        """Start a show in `folder` (`podkit init`); never overwrites a file."""
        from toolkit.showlife.showinit import init_show
        written = init_show(Path(folder).resolve(), settings)
        return cls(folder), written

    @property
    def catalog(self) -> Catalog:
        """Every feed and episode as read from the folder (loaded once, see `reload`)."""
        if self._catalog is None:
            from toolkit.config import catalog
            self._catalog = catalog.load(self.root)
        return self._catalog

    def reload(self) -> None:
        """Forget the catalogue: the next call reads the folder again."""
        self._catalog = None

    def check(self, *, probe_media: bool = True) -> CheckResult:
        """Every problem `podkit check` lists (errors and warnings); writes nothing but memos.
        With `probe_media` every audio and image file is opened."""
        from toolkit.crosscheck import load_catalog
        self._catalog = cat = load_catalog(self.root, probe_media=probe_media)
        return CheckResult(tuple(cat.problems), len(cat.shows), len(cat.episodes))

    def new_episode(self, slug: str, **options: object) -> Path:
        """Scaffold episodes/<slug>/ (`podkit new`; options as `scaffold.new_episode`)."""
        from toolkit.showlife.scaffold import new_episode
        path = new_episode(self.root, slug, **options)  # type: ignore[arg-type]
        self.reload()
        return path

    def select(self, *slugs: str, feed: str | None = None) -> list[Episode]:
        """The episodes a command on `slugs` / `feed` would act on; unknown names are errors."""
        from toolkit import pipeline
        return pipeline.select(self.catalog, tuple(slugs), feed)[1]

    def build(self, *slugs: str, feed: str | None = None, jobs: int = 1, force: bool = False,
              id3_version: int = 3, progress: BuildProgress | None = None,
              cluster: ClusterTarget | None = None) -> list[BuildResult]:
        """Build the episodes (all by default), like `podkit build`; failures are results.
        `progress(slug, stage, fraction)` is called as each one goes. With `cluster`
        (toolkit.cluster.ClusterTarget) the episodes are built on a Dask cluster."""
        from toolkit import pipeline
        from toolkit.episode_build import BuildSettings
        results = pipeline.build(self.catalog, tuple(slugs), feed, jobs=jobs, progress=progress,
                                 settings=BuildSettings(force=force, id3_version=id3_version),
                                 cluster=cluster)
        return [BuildResult(r.key, r.value, r.error) for r in results]

    def align(self, *slugs: str, feed: str | None = None, jobs: int = 1,
              progress: BuildProgress | None = None) -> list[tuple[str, tuple[AlignReport, ...]]]:
        """Each episode's alignment reports (`podkit align`), building what is not current."""
        from toolkit import pipeline
        return pipeline.align(self.catalog, tuple(slugs), feed, jobs=jobs, progress=progress)

    def clip(self, slug: str, start: float, duration: float, *,
             shape: str = "square") -> tuple[Path, bool]:
        """A one-off video clip of built episode `slug` (`podkit clip`): the MP4 written
        (into its reports folder) and whether it has captions."""
        from toolkit.clipping import one_clip
        return one_clip(self.catalog, slug, start, duration, shape)

    def feed(self, *, feed: str | None = None, now: dt.datetime | None = None) -> list[FeedResult]:
        """Write each show's feed and pages from the build records (`podkit feed`)."""
        from toolkit import pipeline, public
        return public.write_feed(self.catalog, feed, now=now or pipeline.now())

    def validate(self, *, feed: str | None = None,
                 loudness: list[RenditionLoudness] | None = None) -> list[Finding]:
        """Our own feed checked against the rules, the built files and the records
        (errors have severity 'error'); `loudness` receives every rendition's figures."""
        from toolkit import public
        return public.validate_own(self.catalog, feed, loudness=loudness)

    def cue(self, *slugs: str, feed: str | None = None) -> list[Path]:
        """Write the radio cue sheets of built episodes (`podkit cue`); the paths written."""
        from toolkit import pipeline
        return pipeline.write_cues(self.catalog, tuple(slugs), feed)

    def publish(self, *, feed: str | None = None, dry_run: bool = False, delete: bool = False,
                progress: Callable[[Progress], None] | None = None) -> list[Report]:
        """Upload what changed, media first, the feed last (`podkit publish`)."""
        from toolkit import public
        return public.publish_show(self.catalog, feed, dry_run=dry_run, delete=delete,
                                    progress=progress)

    def deliver(self, *slugs: str, feed: str | None = None, force: bool = False,
                dry_run: bool = False,
                on_line: Callable[[str], None] | None = None) -> list[TargetReport]:
        """Send each built cut to the targets its feed declares (`podkit deliver`):
        incremental, verified, atomic at the target; DeliveryError naming the target."""
        from toolkit import delivery
        return delivery.deliver(self.catalog, tuple(slugs), feed, force=force, dry_run=dry_run,
                                on_line=on_line)

    def preview_folder(self, *, feed: str | None = None,
                       published: bool = False) -> tuple[Show, Path]:
        """The show and the folder `podkit preview` serves (the build, or the last publish)."""
        from toolkit import public
        return public.preview_folder(self.catalog, feed, published=published)

    def status(self, *, feed: str | None = None, now: dt.datetime | None = None,
               remote: bool = False) -> StatusReport:
        """Where every episode stands (`podkit status`), from the records; builds nothing."""
        from toolkit import pipeline
        from toolkit.showlife import status
        return status.show_status(self.catalog, feed, now=now or pipeline.now(), remote=remote)

    def import_feed(self, source: str, **options: object) -> object:
        """Move another host's podcast in (`podkit import`; options as
        `migrate.importer.import_feed`); returns its ImportReport."""
        from toolkit.migrate import importer
        report = importer.import_feed(self.root, source, **options)  # type: ignore[arg-type]
        self.reload()
        return report

    def release(self, *, feed: str | None = None, now: dt.datetime | None = None, jobs: int = 1,
                on_step: Callable[[str], None] | None = None,
                cluster: ClusterTarget | None = None) -> ReleaseResult:
        """Check, build, feed, validate and publish; nothing published when a step fails.
        With `cluster` the build step runs on a Dask cluster."""
        from toolkit import pipeline
        from toolkit.showlife import golive
        result = golive.release(self.root, feed, now=now or pipeline.now(), jobs=jobs,
                                on_step=on_step, cluster=cluster)
        self.reload()
        return result
