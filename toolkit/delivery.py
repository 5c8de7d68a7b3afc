"""`podkit deliver`: every built cut sent to the targets its feed declares (`[[delivery]]`).

    reports = delivery.deliver(cat, slugs, feed_id, force=False, dry_run=False, on_line=print)

The wiring of the delivery stage (toolkit.deliver: the engine, watch folders, SFTP) and
the publish stage's S3 client (toolkit.publish.deliver_s3), which stay apart. Reads build
records only: the cuts an episode's build made (`cut_files`, the one reader of the
record's cuts), and refuses an episode whose sources changed since its build (stale), as
`podkit feed` does: an old cut must not go to air. Drafts are not delivered; episodes
dated in the future are (a station needs the file before it airs).
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from toolkit.config.catalog import Catalog
from toolkit.deliver import Action, Endpoint, Item, Outcome, send
from toolkit.deliver import sidecar as sidecars
from toolkit.deliver.record import DeliveryLog
from toolkit.delivermodel import CutFile, DeliveryKind, DeliveryTarget, Sidecar
from toolkit.errors import DeliveryError, NotBuiltError, Problem, ProblemsError
from toolkit.fsutil import write_bytes
from toolkit.model import Show
from toolkit.pipeline import select
from toolkit.store.layout import Layout
from toolkit.store.record import EpisodeRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TargetReport:
    """What one target received in one run."""

    feed: str
    target: DeliveryTarget
    outcomes: tuple[Outcome, ...]

    def count(self, action: Action) -> int:
        """How many files ended with `action`."""
        return sum(1 for o in self.outcomes if o.action is action)

    def lines(self) -> list[str]:
        """One line per file sent (or that would be), then the target's summary."""
        if not self.outcomes:
            return [f"{self.target.name}: no built {self.target.cut} cut to deliver"]
        out = [f"{o.action.value} {o.item.name} ({o.item.slug}, {o.item.cut}) to "
               f"{self.target.name}" + (f": verified by {o.verified}" if o.verified else "")
               for o in self.outcomes if o.action in (Action.SENT, Action.WOULD_SEND)]
        out.append(f"delivered to {self.target.describe()}: {self.count(Action.SENT)} sent, "
                   f"{self.count(Action.UNCHANGED)} unchanged, {self.count(Action.IMPORTED)} "
                   "already imported by the station"
                   + (f", {self.count(Action.WOULD_SEND)} to send (dry run)"
                      if self.count(Action.WOULD_SEND) else ""))
        return out


def cut_files(rec: EpisodeRecord, layout: Layout, show: Show) -> list[CutFile]:
    """The cuts an episode's build made, from its record (the only place delivery reads them).

    `rec.cuts` holds one `CutOutput` per cut (path relative to build/); the sidecar's
    title, date, out-cue and kill date come from the episode as built and its cut table.
    """
    declared = {c.name: c for c in (*show.cuts, *rec.episode.cuts)}  # the episode's win
    out = []
    for c in rec.cuts:
        cut = declared.get(c.name)
        kill = cut.kill_date if cut is not None else None
        out.append(CutFile(
            slug=rec.slug, cut=c.name, path=layout.build / c.path, size=c.size,
            sha256=c.sha256, format=c.format, duration=c.duration, integrated=c.integrated,
            true_peak=c.true_peak, cart=c.cart or "", title=rec.episode.title,
            artist=(cut.artist if cut and cut.artist else show.author),
            date=rec.episode.date.date().isoformat(),
            end_date=kill.isoformat() if kill else "",
            out_cue=rec.cue.out_cue if rec.cue else ""))
    return out


def open_endpoint(target: DeliveryTarget, layout: Layout) -> Endpoint:
    """The endpoint for one target (asyncssh and boto3 are imported only when needed)."""
    if target.kind is DeliveryKind.FOLDER:
        from toolkit.deliver.folder import FolderEndpoint
        assert target.directory is not None
        inside_build = layout.build.resolve() in target.directory.resolve().parents
        return FolderEndpoint(target.name, target.directory, create=inside_build)
    if target.kind is DeliveryKind.SFTP:
        from toolkit.deliver.sftp import SftpEndpoint
        return SftpEndpoint(target)
    from toolkit.publish.deliver_s3 import S3Endpoint
    return S3Endpoint(target)


def _items(cuts: list[CutFile], target: DeliveryTarget, layout: Layout, feed: str) -> list[Item]:
    """What goes to one target: per cut its sidecar (first: importers that trigger on the
    audio find it there), then the audio."""
    items = []
    for cut in cuts:
        if target.sidecar is not Sidecar.NONE:
            data = sidecars.render(cut, target.sidecar)
            path = layout.sidecars(feed, target.name) / sidecars.name_for(cut, target.sidecar)
            write_bytes(path, data)
            items.append(Item(cut.slug, cut.cut, path.name, path, len(data),
                              hashlib.sha256(data).hexdigest(), sidecar=True))
        items.append(Item(cut.slug, cut.cut, cut.name, cut.path, cut.size, cut.sha256))
    return items


def _check_files(cuts: list[CutFile]) -> None:
    for c in cuts:
        try:
            size = c.path.stat().st_size
        except OSError:
            raise NotBuiltError(f"the {c.cut} cut's file is missing: run `podkit build "
                                f"{c.slug}`", path=c.path) from None
        if size != c.size:
            raise NotBuiltError(f"the {c.cut} cut's file is not the one built ({size} bytes, "
                                f"the record says {c.size}): run `podkit build {c.slug}`",
                                path=c.path)


def deliver(cat: Catalog, slugs: tuple[str, ...] = (), feed_id: str | None = None, *,
            force: bool = False, dry_run: bool = False,
            on_line: Callable[[str], None] | None = None) -> list[TargetReport]:
    """Send every built cut to its targets.

    A target that fails does not stop the others; then the one DeliveryError (naming the
    target and what failed) is raised, or a ProblemsError with one line per failed target.
    """
    cat, episodes = select(cat, slugs, feed_id)
    layout = cat.layout
    reports: list[TargetReport] = []
    failures: list[DeliveryError] = []
    for show_id in sorted({e.feed for e in episodes}):
        show = cat.shows[show_id]
        if not show.delivery:
            continue
        cuts = _cuts_of_show(cat, show, [e for e in episodes if e.feed == show_id], layout,
                             explicit=bool(slugs))
        _check_files(cuts)
        log_ = DeliveryLog(layout.delivery_record(show.id))
        for target in show.delivery:
            try:
                report = _deliver_one(target, cuts, layout, show.id, log_, force=force,
                                      dry_run=dry_run)
            except DeliveryError as exc:
                # Like a batch of builds: the other targets still get their files; every
                # failure is listed at the end, one line each, and the run exits 1.
                failures.append(exc)
                log.debug("%s", exc)
                continue
            reports.append(report)
            for line in report.lines():
                log.info("%s", line)
                if on_line:
                    on_line(line)
    if len(failures) == 1:
        raise failures[0]
    if failures:
        raise ProblemsError([Problem(f.path or "", f.field or "", f.message) for f in failures])
    return reports


def _deliver_one(target: DeliveryTarget, cuts: list[CutFile], layout: Layout, feed: str,
                 log_: DeliveryLog, *, force: bool, dry_run: bool) -> TargetReport:
    """Send one target its cut's files (connecting only when there is something to check)."""
    mine = [c for c in cuts if c.cut == target.cut]
    if not mine:
        log.info("%s: no built %s cut to deliver", target.name, target.cut)
        return TargetReport(feed, target, ())
    items = _items(mine, target, layout, feed)
    endpoint = open_endpoint(target, layout)
    try:
        outcomes = send(items, endpoint, delivered=log_.sent(target.name), force=force,
                        dry_run=dry_run, on_outcome=lambda o: log_.note(target.name, o))
    finally:
        endpoint.close()
    return TargetReport(feed, target, tuple(outcomes))


def _cuts_of_show(cat: Catalog, show: Show, episodes: list, layout: Layout, *,
                  explicit: bool) -> list[CutFile]:
    """The cuts of the show's built, current, non-draft episodes (stale ones are errors)."""
    cuts, problems = [], []
    for ep in sorted(episodes, key=lambda e: (e.date, e.slug)):
        if ep.draft and not explicit:
            continue
        try:
            rec = cat.load_record(ep)
        except NotBuiltError as exc:
            if explicit:
                problems.append(Problem(f"episodes/{ep.slug}", "build", exc.message))
            continue
        changed = cat.stale(ep, rec)
        if changed:
            problems.append(Problem(f"episodes/{ep.slug}", "build",
                                    f"stale: changed since its build: {', '.join(changed)}; "
                                    f"run `podkit build {ep.slug}` before delivering"))
            continue
        cuts.extend(cut_files(rec, layout, show))
    cat.save()
    if problems:
        raise ProblemsError(problems)
    return cuts


__all__ = ["DeliveryError", "TargetReport", "cut_files", "deliver", "open_endpoint"]
