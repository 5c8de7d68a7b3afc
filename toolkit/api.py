"""The library API: one show folder, the same steps as the `podkit` commands.

    from toolkit import Project
    project = Project("path/to/show")
    problems = project.check()            # [] when the show is valid
    results = project.build(jobs=2)       # one BuildResult per episode
    project.feed()                        # feed.xml, index and archive from the records
    findings = project.validate()
    reports = project.publish()

The CLI is a thin layer over the same functions. Each call loads the catalogue once;
results are frozen dataclasses. Errors are `toolkit.errors.PodkitError`s naming the file
and the field.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from toolkit.episode_build import BuildSettings, BuildSummary
from toolkit.errors import Problem


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


class Project:
    """A show folder (feeds/, episodes/, templates/, build/) and what podkit does with it."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()

    def check(self, *, probe_media: bool = True) -> list[Problem]:
        """Every problem `podkit check` lists (errors and warnings); writes nothing but memos."""
        from toolkit.crosscheck import load_catalog
        return list(load_catalog(self.root, probe_media=probe_media).problems)

    def build(self, *slugs: str, feed: str | None = None, jobs: int = 1,
              force: bool = False) -> list[BuildResult]:
        """Build the episodes (all by default), like `podkit build`; failures are results."""
        from toolkit import pipeline
        results = pipeline.build(self.root, tuple(slugs), feed, jobs=jobs,
                                 settings=BuildSettings(force=force))
        return [BuildResult(r.key, r.value, r.error) for r in results]

    def feed(self, *, feed: str | None = None, now: dt.datetime | None = None) -> list:
        """Write each show's feed and pages from the build records (`release.FeedResult`s)."""
        from toolkit import pipeline, release
        return release.write_feed(self.root, feed, now=now or pipeline.now())

    def validate(self, *, feed: str | None = None) -> list:
        """Our own feed checked against the rules, the built files and the records
        (`validate.Finding`s; errors have severity 'error')."""
        from toolkit import release
        return release.validate_own(self.root, feed)

    def publish(self, *, feed: str | None = None, dry_run: bool = False,
                delete: bool = False) -> list:
        """Upload what changed, media first, the feed last (`publish.Report`s)."""
        from toolkit import release
        return release.publish_show(self.root, feed, dry_run=dry_run, delete=delete)
