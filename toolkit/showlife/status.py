"""`podkit status`: where every episode stands, from the catalogue and the build records.

    report = status.show_status(root, now=now)
    for row in report.rows: ...        # one EpisodeStatus per episode folder

An episode is, first match wins:

    invalid       its episode.toml does not load (`podkit check` says why)
    draft         draft = true (the detail says whether it is built)
    not built     no build record
    stale         its sources changed since the build (the detail names what)
    scheduled     dated after now: built, waiting for its date
    differs       public, and the published copy is not what is built (or the
                  published feed does not list it)
    published     public, and the published copy is exactly what is built
    built         public and built, not published yet

Nothing is built, written or uploaded. Sources are not read either: input hashes come
from the catalogue's hash memo, so the command stats files. "Published" is decided
against the local publish target's folder: its feed's enclosure URLs, and the files of
the episode's stage folder compared with the target's by size and time (a target file
written after the built one, of the same size, is its copy, as `make` reasons); only
same-size files written before are hashed. An S3 target is not asked unless `remote`:
then the publish plan (one LIST per 1,000 objects, no upload) decides.
"""
from __future__ import annotations

import datetime as dt
import html
import logging
import os
import re
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path

from toolkit import codec
from toolkit.config.catalog import Catalog
from toolkit.deliver.record import DeliveryLog
from toolkit.fsutil import public_files, sha256_file
from toolkit.model import Episode, Show, TargetKind, clock
from toolkit.pipeline import select
from toolkit.store.record import EpisodeRecord
from toolkit.store.layout import FEED_FILE

log = logging.getLogger(__name__)

#: Enclosure URLs in a feed podkit wrote (attribute values are XML-escaped).
_ENCLOSURE_RE = re.compile(rb'<enclosure\b[^>]*?\burl="([^"]*)"')


class State(str, Enum):
    """Where an episode stands."""

    INVALID = "invalid"
    DRAFT = "draft"
    NOT_BUILT = "not built"
    STALE = "stale"
    SCHEDULED = "scheduled"
    DIFFERS = "differs from published"
    PUBLISHED = "published"
    BUILT = "built"


@dataclass(frozen=True)
class EpisodeStatus:
    """One line of `podkit status`."""

    slug: str
    feed: str | None
    state: State
    detail: str = ""                      # what changed, the schedule date, which files differ
    number: int | None = None
    date: dt.datetime | None = None
    duration: float | None = None         # seconds, from the build record
    integrated: float | None = None       # LUFS of the MP3 as built
    true_peak: float | None = None        # dBTP of the MP3 as built
    limiting: str | None = None           # the limiter's warning, if it worked hard
    warnings: tuple[str, ...] = ()        # every build step's warning, "topic: message"
    cuts: tuple[dict, ...] = ()           # each named cut as built: name, file, loudness, slot
    delivery: str = ""                    # per delivery target: delivered, outdated, not yet

    def as_dict(self) -> dict[str, object]:
        """The row as JSON-ready values."""
        return {"slug": self.slug, "feed": self.feed, "number": self.number,
                "date": self.date.isoformat() if self.date else None, "state": self.state.value,
                "detail": self.detail, "duration_s": _round(self.duration, 3),
                "integrated_lufs": _round(self.integrated, 2),
                "true_peak_dbtp": _round(self.true_peak, 2), "limiting": self.limiting,
                "warnings": list(self.warnings), "cuts": list(self.cuts),
                "delivery": self.delivery}

    @property
    def cuts_text(self) -> str:
        """The cuts in one cell: 'air -23.0 LUFS 6:00 (slot 6:00)'."""
        out = []
        for c in self.cuts:
            text = f"{c['name']} {c['integrated']:.1f} LUFS {clock(c['duration'])}"
            if c.get("slot") is not None:
                err = c.get("slot_error") or 0.0
                miss = "" if abs(err) <= c.get("slot_tolerance", 1.0) else \
                    f" {abs(err):.1f} s {'OVER' if err > 0 else 'UNDER'}"
                text += f" (slot {clock(c['slot'])}{miss})"
            out.append(text)
        return "; ".join(out)


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


@dataclass(frozen=True)
class StatusReport:
    """Every episode's status and the totals."""

    rows: tuple[EpisodeStatus, ...]
    now: dt.datetime
    remote_checked: tuple[str, ...] = ()   # feeds whose target was asked (S3 with remote)
    unknown_remote: tuple[str, ...] = ()   # S3 feeds not asked: published state unknown

    @property
    def totals(self) -> dict[str, int]:
        """Episodes per state (only states that occur), in the order of `State`."""
        counts = {s.value: 0 for s in State}
        for row in self.rows:
            counts[row.state.value] += 1
        return {k: v for k, v in counts.items() if v}

    @property
    def duration(self) -> float:
        """Seconds of built audio over all episodes."""
        return sum(r.duration or 0.0 for r in self.rows)

    def as_dict(self) -> dict[str, object]:
        """The report as JSON-ready values."""
        return {"now": self.now.isoformat(), "episodes": [r.as_dict() for r in self.rows],
                "totals": {"episodes": len(self.rows), **self.totals,
                           "duration_s": round(self.duration, 3)},
                "remote_checked": list(self.remote_checked),
                "unknown_remote": list(self.unknown_remote)}


def show_status(root: Path | Catalog, feed_id: str | None = None, *, now: dt.datetime,
                remote: bool = False) -> StatusReport:
    """The status of every episode (of one feed, or all), as of `now`."""
    cat, episodes = select(root, (), feed_id)
    rows: list[EpisodeStatus] = []
    checked, unknown = [], []
    for show in ([cat.shows[feed_id]] if feed_id else [cat.shows[k] for k in sorted(cat.shows)]):
        mine = [e for e in cat.episodes_of(show.id)]
        if show.publish.kind is TargetKind.S3 and not remote:
            compare = None
            unknown.append(show.id)
        elif show.publish.kind is TargetKind.S3:
            compare = _RemotePlan(cat, show)
            checked.append(show.id)
        else:
            compare = _LocalTarget(cat, show)
        sent = DeliveryLog(cat.layout.delivery_record(show.id)) if show.delivery else None
        for ep in mine:
            row = _status(cat, ep, now, compare)
            if sent is not None and row.state is not State.DRAFT:
                row = replace(row, delivery=_delivery(show, sent, cat.record(ep)))
            rows.append(row)
    rows += _invalid(cat, feed_id, {e.slug for e in episodes})
    if cat.layout.build.is_dir():
        cat.save()          # the hash memo only, as `podkit check` does
    rows.sort(key=lambda r: (r.feed or "", r.date or dt.datetime.max.replace(tzinfo=dt.timezone.utc),
                             r.slug))
    return StatusReport(tuple(rows), now, tuple(checked), tuple(unknown))


def _invalid(cat: Catalog, feed_id: str | None, loaded: set[str]) -> list[EpisodeStatus]:
    """Episode folders whose episode.toml does not load (only when listing every feed)."""
    if feed_id is not None:
        return []
    out: dict[str, EpisodeStatus] = {}
    for p in cat.errors:
        parts = p.path.split("/")
        if parts[0] == "episodes" and len(parts) > 1 and parts[1] not in loaded:
            out.setdefault(parts[1], EpisodeStatus(parts[1], None, State.INVALID,
                                                   f"{p.field}: {p.message}" if p.field else p.message))
    return list(out.values())


def _status(cat: Catalog, ep: Episode, now: dt.datetime,
            compare: _LocalTarget | _RemotePlan | None) -> EpisodeStatus:
    rec = cat.record(ep)      # read fast: the header, the audio parts; the episode if stale
    base: dict = dict(slug=ep.slug, feed=ep.feed, number=ep.number, date=ep.date)
    if rec is not None:
        loud = rec.renditions.get("mp3") or rec.loudness_after
        base.update(duration=rec.audio.duration, integrated=loud.integrated if loud else None,
                    true_peak=loud.true_peak if loud else None,
                    limiting=rec.limiting.warning if rec.limiting else None,
                    warnings=tuple(f"{topic}: {m}" for topic, m in rec.warnings),
                    cuts=tuple(_cut_brief(codec.dump(c)) for c in rec.cuts))
    changed = cat.stale(ep, rec) if rec is not None else []
    if ep.draft:
        how = "not built" if rec is None else f"stale: {', '.join(changed)}" if changed else "built"
        return EpisodeStatus(state=State.DRAFT, detail=how, **base)
    if rec is None:
        when = f"scheduled for {_day(ep.date)}" if ep.date > now else "due: run `podkit build`"
        return EpisodeStatus(state=State.NOT_BUILT, detail=when, **base)
    if changed:
        return EpisodeStatus(state=State.STALE, detail=f"changed: {', '.join(changed)}", **base)
    if ep.date > now:
        return EpisodeStatus(state=State.SCHEDULED, detail=f"for {_day(ep.date)}", **base)
    if compare is None:
        return EpisodeStatus(state=State.BUILT, detail="S3 target not asked (use --remote)", **base)
    state, detail = compare.state(ep, rec)
    return EpisodeStatus(state=state, detail=detail, **base)


def _day(when: dt.datetime) -> str:
    return when.isoformat(timespec="minutes")


def _feed_urls(feed: Path) -> set[str]:
    """The enclosure URLs of a feed podkit wrote (empty when there is none).

    A regular expression, not an XML parser: the file is our own output, and parsing
    2,000 items would cost more than the whole rest of the command.
    """
    try:
        data = feed.read_bytes()
    except OSError:
        return set()
    return {html.unescape(m.decode("utf-8", "replace")) for m in _ENCLOSURE_RE.findall(data)}


class _LocalTarget:
    """Compares built episodes with a local publish folder."""

    def __init__(self, cat: Catalog, show: Show) -> None:
        self.stage = cat.layout.stage(show.id)
        self.root = show.publish.directory or cat.layout.public(show.id)
        self.published = _feed_urls(self.root / FEED_FILE)

    def state(self, ep: Episode, rec: EpisodeRecord) -> tuple[State, str]:
        """PUBLISHED, DIFFERS or BUILT, with what differs."""
        key = f"episodes/{ep.slug}"
        built, published = f"{self.stage}/{key}", f"{self.root}/{key}"
        if rec.audio.url not in self.published and not os.path.isdir(published):
            return State.BUILT, "not published yet"
        differ = [name for name in public_files(built)
                  if not _same(f"{built}/{name}", f"{published}/{name}")]
        if differ:
            names = ", ".join(differ[:3])
            more = f" and {len(differ) - 3} more" if len(differ) > 3 else ""
            return State.DIFFERS, f"{names}{more} not as built: run `podkit feed` and `podkit publish`"
        if rec.audio.url not in self.published:
            return State.DIFFERS, "not in the published feed: run `podkit feed` and `podkit publish`"
        return State.PUBLISHED, ""


def _same(built: str, published: str) -> bool:
    """True when the published file holds the built file's bytes.

    A copy written after the built file, of the same size, is taken as its copy (a rebuild
    renames a new file into place, newer than the old copy); otherwise both are hashed.
    """
    try:
        b, p = os.stat(built), os.stat(published)
    except OSError:
        return False
    if b.st_size != p.st_size:
        return False
    if p.st_mtime_ns >= b.st_mtime_ns:
        return True
    return sha256_file(Path(built)) == sha256_file(Path(published))


@dataclass
class _RemotePlan:
    """Compares built episodes with an S3 target through a dry-run publish plan."""

    cat: Catalog
    show: Show
    pending: dict[str, list[str]] = field(default_factory=dict)   # slug -> keys to upload
    error: str | None = None

    def __post_init__(self) -> None:
        from toolkit.publish import sync
        site = self.cat.layout.site(self.show.id)
        if not (site / FEED_FILE).is_file():
            self.error = "no feed written yet: run `podkit feed`"
            return
        plan = sync.make_plan(site, self.show.publish, base_url=self.show.base_url)
        self.site_keys = {e.key for e in plan.entries}
        for e in plan.of(sync.Action.UPLOAD):
            parts = e.key.split("/")
            if parts[0] == "episodes" and len(parts) > 2:
                self.pending.setdefault(parts[1], []).append(e.key)

    def state(self, ep: Episode, rec: EpisodeRecord) -> tuple[State, str]:
        """PUBLISHED, DIFFERS or BUILT, with what differs."""
        if self.error:
            return State.BUILT, self.error
        audio_key = rec.audio.url.removeprefix(self.show.base_url)
        if audio_key not in self.site_keys:
            return State.BUILT, "not in the feed yet: run `podkit feed`"
        pending = self.pending.get(ep.slug, [])
        if audio_key in pending:
            return State.BUILT, "not published yet"
        if pending:
            return State.DIFFERS, f"{len(pending)} file(s) to upload: run `podkit publish`"
        return State.PUBLISHED, ""


_CUT_KEYS = ("name", "path", "format", "integrated", "true_peak", "target", "ceiling",
             "duration", "slot", "slot_error", "slot_tolerance", "cart")


def _cut_brief(c: dict) -> dict:
    """A cut's record entry as status shows it (path relative to build/)."""
    return {k: c.get(k) for k in _CUT_KEYS}


def _delivery(show: Show, sent: DeliveryLog, rec: EpisodeRecord | None) -> str:
    """Per target: 'station: delivered 2026-12-07', 'outdated' (an older build of the cut
    was sent), 'not delivered', or 'no air cut built'."""
    out = []
    for target in show.delivery:
        files = [(Path(c.path).name, c.sha256) for c in (rec.cuts if rec else ())
                 if c.name == target.cut]
        got = sent.entries.get(target.name, {})
        if not files:
            out.append(f"{target.name}: no {target.cut} cut built")
        elif all(got.get(n, {}).get("sha256") == sha for n, sha in files):
            when = max(str(got[n].get("at", "")) for n, _ in files)[:10]
            out.append(f"{target.name}: delivered {when}")
        elif any(n in got for n, _ in files):
            out.append(f"{target.name}: outdated (rebuilt since; run `podkit deliver`)")
        else:
            out.append(f"{target.name}: not delivered")
    return "; ".join(out)
