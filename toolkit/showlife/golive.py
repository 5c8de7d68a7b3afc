"""`podkit release`: check, build, feed, validate and publish in one command, for cron and CI.

    result = golive.release(root, now=pipeline.now(), jobs=2, on_step=print)

Each step runs only when the one before it passed, so nothing is published when any
step fails: a `ReleaseError` then names the step and carries its problems. Run daily,
it is what makes a scheduled episode go live on its date: `podkit feed` at that time
puts it in the feed, and publish uploads it (docs/scheduling.md).

The catalogue is loaded once; build records are read fresh by every later step.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from toolkit import pipeline
from toolkit import deliver as rel
from toolkit.crosscheck import load_catalog
from toolkit.errors import PodkitError, ProblemsError

log = logging.getLogger(__name__)

STEPS = ("check", "build", "feed", "validate", "publish")


class ReleaseError(PodkitError):
    """A step of `podkit release` failed; nothing was published."""

    def __init__(self, step: str, lines: list[str]) -> None:
        super().__init__(f"{step} failed; nothing was published", field="release")
        self.step = step
        self.lines = lines          # the step's own problems, printed before this line


@dataclass(frozen=True)
class ReleaseResult:
    """What a release did, step by step (the lines the CLI prints)."""

    lines: tuple[str, ...]
    feeds: tuple[rel.FeedResult, ...]
    published: tuple[object, ...]     # publish.Report per feed


def release(root: Path, feed_id: str | None = None, *, now: dt.datetime, jobs: int = 1,
            on_step: Callable[[str], None] | None = None) -> ReleaseResult:
    """Check, build, write the feed, validate and publish; stop at the first failing step."""
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        log.info("%s", line)
        if on_step:
            on_step(line)

    # 1. check: every definition, media opened (a broken file fails here, not mid-build)
    try:
        cat = load_catalog(root, probe_media=True)
    except PodkitError as exc:
        raise ReleaseError("check", [str(exc)]) from exc
    if cat.errors:
        raise ReleaseError("check", [str(p) for p in cat.problems])
    say(f"check: {len(cat.shows)} feed(s), {len(cat.episodes)} episode(s)")
    # 2. build: only what changed; every failure listed
    results = _step("build", lambda: pipeline.build(cat, (), feed_id, jobs=jobs))
    failed = [r for r in results if not r.ok]
    if failed:
        raise ReleaseError("build", [f"failed {r.key}: {r.error}" for r in failed])
    built = [r for r in results if not r.value.unchanged]
    say(f"build: {len(built)} built, {len(results) - len(built)} unchanged")
    # 3. feed: what is public at `now` (a scheduled episode whose date has come goes in)
    feeds = _step("feed", lambda: rel.write_feed(cat, feed_id, now=now))
    for f in feeds:
        say(f"feed: {f.show.id}: {len(f.included)} episode(s)"
            + (f", {len(f.waiting)} scheduled" if f.waiting else "")
            + (f", {len(f.drafts)} draft(s)" if f.drafts else "")
            + ("" if f.changed else " (unchanged)"))
    # 4. validate: errors stop the release; warnings are only counted
    findings = _step("validate", lambda: rel.validate_own(cat, feed_id))
    errors = [f for f in findings if f.severity.value == "error"]
    if errors:
        from toolkit.feed import validate
        raise ReleaseError("validate", validate.format_findings(errors))
    say(f"validate: no errors, {len(findings)} warning(s)")
    # 5. publish: media first, feed last (toolkit.publish.sync)
    reports = _step("publish", lambda: rel.publish_show(cat, feed_id))
    for report in reports:
        for line in report.summary_lines():
            say(f"publish: {line}")
    return ReleaseResult(tuple(lines), tuple(feeds), tuple(reports))


def _step(name: str, run: Callable[[], object]):  # noqa: ANN202 - returns what `run` returns
    """Run one step; any PodkitError becomes a ReleaseError naming the step."""
    try:
        return run()
    except ProblemsError as exc:
        raise ReleaseError(name, [str(p) for p in exc.problems]) from exc
    except PodkitError as exc:
        raise ReleaseError(name, [str(exc)]) from exc
