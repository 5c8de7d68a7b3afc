"""`podkit release`: check, build, feed, validate, publish and deliver in one command, for cron and CI.

    result = golive.release(root, now=pipeline.now(), jobs=2, on_step=print)

Each step runs only when the one before it passed, so nothing is published when any
step fails: a `ReleaseError` then names the step and carries its problems. Delivery to
the stations a feed names (`[[delivery]]`, toolkit.delivery) comes last, after the show is
published; its failure fails the release (exit 1) with the show already out. Run daily,
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
from typing import TYPE_CHECKING

from toolkit import pipeline
from toolkit import public as rel
from toolkit.config.catalog import Catalog
from toolkit.crosscheck import load_catalog
from toolkit.errors import PodkitError, ProblemsError
from toolkit.publish import sync

if TYPE_CHECKING:  # the dask extra is optional
    from toolkit.cluster import ClusterTarget

log = logging.getLogger(__name__)

STEPS = ("check", "build", "feed", "validate", "publish", "deliver")


class ReleaseError(PodkitError):
    """A step of `podkit release` failed; `outcome` says what reached the target (nothing,
    unless the publish step itself failed midway)."""

    def __init__(self, step: str, lines: list[str], outcome: str | None = None) -> None:
        if outcome is None:
            # Delivery runs after publishing: by then the show is out, only a station lacks a cut.
            outcome = "the show was published; the station did not get every cut" \
                if step == "deliver" else "nothing was published"
        super().__init__(f"{step} failed; {outcome}", field="release")
        self.step = step
        self.lines = lines          # the step's own problems, printed before this line
        self.outcome = outcome


@dataclass(frozen=True)
class ReleaseResult:
    """What a release did, step by step (the lines the CLI prints)."""

    lines: tuple[str, ...]
    feeds: tuple[rel.FeedResult, ...]
    published: tuple[object, ...]     # publish.Report per feed
    #: Check's and the build's warnings, each once (`path: field: warning: message`).
    warnings: tuple[str, ...] = ()
    delivered: tuple[object, ...] = ()  # delivery.TargetReport per station target


def release(root: Path, feed_id: str | None = None, *, now: dt.datetime, jobs: int = 1,
            on_step: Callable[[str], None] | None = None,
            cluster: ClusterTarget | None = None) -> ReleaseResult:
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
    warnings = [str(p) for p in cat.problems]      # no errors here: warnings only
    say(f"check: {len(cat.shows)} feed(s), {len(cat.episodes)} episode(s)"
        + (f", {len(dict.fromkeys(warnings))} warning(s)" if warnings else ""))
    # 2. build: only what changed; every failure listed
    results = _step("build", lambda: pipeline.build(cat, (), feed_id, jobs=jobs,
                                                    cluster=cluster))
    failed = [r for r in results if not r.ok]
    if failed:
        raise ReleaseError("build", [f"failed {r.key}: {r.error}" for r in failed])
    built = [r for r in results if not r.value.unchanged]
    # An overrun check already named (from the last build's record) is not said twice.
    overrun = {w.split(": max_duration: ")[0] for w in warnings if ": max_duration: " in w}
    build_warnings = [line for r in built for line in r.value.warning_lines()
                      if line not in warnings and line.split(": max_duration: ")[0] not in overrun]
    warnings += build_warnings
    say(f"build: {len(built)} built, {len(results) - len(built)} unchanged"
        + (f", {len(dict.fromkeys(build_warnings))} warning(s)" if build_warnings else ""))
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
    reports = _publish(cat, feed_id)
    for report in reports:
        for line in report.summary_lines():
            say(f"publish: {line}")
    # 6. deliver: each built cut to the stations the feeds name (only feeds that name one)
    delivered: list = []
    if any(s.delivery for s in cat.shows.values() if feed_id in (None, s.id)):
        from toolkit import delivery
        delivered = _step("deliver", lambda: delivery.deliver(
            cat, (), feed_id, on_line=lambda line: say(f"deliver: {line}")))
    return ReleaseResult(tuple(lines), tuple(feeds), tuple(reports),
                         tuple(dict.fromkeys(warnings)), tuple(delivered))


def _step(name: str, run: Callable[[], object]):  # noqa: ANN202 - returns what `run` returns
    """Run one step; any PodkitError becomes a ReleaseError naming the step."""
    try:
        return run()
    except ProblemsError as exc:
        raise ReleaseError(name, [str(p) for p in exc.problems]) from exc
    except PodkitError as exc:
        raise ReleaseError(name, [str(exc)]) from exc


def _publish(cat: Catalog, feed_id: str | None) -> list[sync.Report]:
    """Publish feed by feed, so a failure can say what did reach the target: the feeds
    published before it, and the files the failing one uploaded (its feed is unchanged)."""
    reports: list[sync.Report] = []
    for sid in [feed_id] if feed_id else sorted(cat.shows):
        try:
            reports += _step("publish", lambda sid=sid: rel.publish_show(cat, sid))
        except ReleaseError as exc:
            cause = exc.__cause__
            raise ReleaseError("publish", exc.lines, _outcome(reports, sid, cause)) from cause
    return reports


def _outcome(done: list[sync.Report], failed: str, exc: BaseException | None) -> str:
    """What a failed publish step did publish, in one clause."""
    parts = [f"{r.plan.target}: {len(r.uploaded)} file(s) uploaded"
             + (", the new feed is up" if r.feed_uploaded else "") for r in done if r.uploaded]
    uploaded = exc.uploaded if isinstance(exc, sync.PublishFailed) else ()
    if uploaded:
        shown = ", ".join(uploaded[:3]) + (f" and {len(uploaded) - 3} more" if len(uploaded) > 3 else "")
        feed = ("the new feed is up" if exc.feed_published  # type: ignore[union-attr]
                else "its feed was not changed, so no app sees them yet")
        parts.append(f"feed {failed!r}: {len(uploaded)} file(s) reached the target ({shown}); {feed}")
    return "; ".join(parts) if parts else "nothing was published"
