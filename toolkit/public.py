"""What the public gets after the build: pick what is public, write the feed and the index
page, validate them against the built files, publish (`podkit release` runs these and more:
toolkit.showlife.golive).

    stage (all builds) -> select (not draft, date <= now) -> site: feed.xml, index.html,
    cover, included episodes (hard links) -> validate against the built files -> publish

None of this touches audio or the episodes' sources: it reads the build records (and
refuses episodes whose sources changed since their build). The site folder holds exactly
what is published, so drafts and scheduled episodes never leak to the bucket or preview.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.config.catalog import Catalog
from toolkit.errors import NotBuiltError, Problem, ProblemsError, PublishError, Severity
from toolkit.feed.findings import Finding
from toolkit.fsutil import atomic_path, mirror, public_files
from toolkit.model import BuiltEpisode, Episode, Person, Show, TargetKind
from toolkit.pipeline import select, show_cover
from toolkit.store.layout import FEED_FILE, url_for
from toolkit.store.record import EpisodeRecord, transcript_fragment

# Each command imports what it needs where it needs it (feedgen and jinja2 for `feed`, the
# rules for `validate`, boto3 for `publish`): every command starts faster without the others.
if TYPE_CHECKING:
    from toolkit.publish import notify, sync
    from toolkit.site import notes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeedResult:
    """What `podkit feed` wrote for one show."""

    show: Show
    path: Path
    changed: bool
    included: tuple[str, ...]       # slugs in the feed, newest first
    waiting: tuple[str, ...]        # scheduled for later
    drafts: tuple[str, ...]


def is_public(episode: Episode, now: dt.datetime) -> bool:
    """True when an episode belongs in the feed at `now` (not a draft, not scheduled later)."""
    return not episode.draft and episode.date <= now


def _built(show: Show, rec: EpisodeRecord) -> BuiltEpisode:
    """The feed item of a built episode, from its record alone."""
    ep = rec.episode
    persons = merged_persons(show, ep)
    # Most episodes name nobody of their own: copying a 40-field dataclass for an equal
    # one costs 2,000 copies per feed.
    if persons != ep.persons:
        ep = replace(ep, persons=persons)
    return BuiltEpisode(episode=ep, audio=rec.audio,
                        chapters=rec.chapters, transcripts=rec.transcripts,
                        chapters_file=rec.chapters_file, page_url=rec.page_url,
                        image_url=rec.image_url, description_html=rec.description_html,
                        content_html=rec.content_html, loudness=rec.loudness_after,
                        extra_audio=rec.extra_audio)


def merged_persons(show: Show, ep: Episode) -> tuple[Person, ...]:
    """An item's podcast:person list: the show's people, then the episode's own, once each.

    Item-level persons replace the channel's in Podcasting 2.0 apps, so an episode that
    names a guest must name the host again or lose them. None of its own: none needed.
    """
    if not ep.persons:
        return ()
    seen, out = set(), []
    for p in (*show.persons, *ep.persons):
        key = (p.name.casefold(), p.role, p.group)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return tuple(out)


def collect(cat: Catalog, show: Show, now: dt.datetime) -> list[EpisodeRecord]:
    """The records of the show's episodes that are public at `now`, all current.

    Raises ProblemsError listing every public episode that is not built, or whose
    sources changed since its build (stale), naming what changed.
    """
    records, problems = [], []
    for ep in cat.episodes_of(show.id):
        try:
            rec = cat.load_record(ep)
        except NotBuiltError as exc:
            if is_public(ep, now):
                problems.append(Problem(f"episodes/{ep.slug}", "build", exc.message))
            continue
        public = is_public(rec.episode, now) or is_public(ep, now)
        changed = cat.stale(ep, rec) if public else []
        if changed:
            problems.append(Problem(f"episodes/{ep.slug}", "build",
                                    f"stale: changed since its build: {', '.join(changed)}; "
                                    f"run `podkit build {ep.slug}`"))
        elif is_public(rec.episode, now):
            records.append(rec)
    cat.save()
    if problems:
        raise ProblemsError(problems)
    return records


def write_feed(root: Path | Catalog, feed_id: str | None = None, *,
               now: dt.datetime) -> list[FeedResult]:
    """Write each show's site from the build records: feed.xml, index.html, cover, episodes.

    Every public episode must be built and current; all that are not are listed in one
    error. Nothing is written while `podkit check` finds an error: an episode whose
    episode.toml does not load would otherwise silently drop out of the public feed.
    """
    from toolkit.feed import rss
    from toolkit.site import notes
    cat, episodes = select(root, (), feed_id)
    layout = cat.layout
    if cat.errors:
        raise ProblemsError([*cat.errors, Problem("build/site", "", "no feed written: fix the "
                                                  "problems above (`podkit check` lists them)")])
    results = []
    shows = [cat.shows[feed_id]] if feed_id else [cat.shows[k] for k in sorted(cat.shows)]
    for show in shows:
        mine = [e for e in episodes if e.feed == show.id]
        cover = show_cover(show, layout)        # a cover that cannot go up stops it all first
        records = collect(cat, show, now)
        items = [_built(show, rec) for rec in records]
        site, stage = layout.site(show.id), layout.stage(show.id)
        # The site is the stage minus what is not public yet: hard links, no copies.
        inodes: dict[str, int] = {}     # the mirror compares them with the site's
        keys = {cover} | {key for rec in records for key in public_files(
            cat.episode_folder(rec.episode), f"episodes/{rec.slug}/", inodes=inodes)}
        body = rss.build_feed(show, items, cover_url=url_for(show.base_url, cover), now=now)
        pages = _index_pages(cat, show, records)
        index = notes.render_index(show, pages, show.templates, cover=cover,
                                   total=len(records)).encode("utf-8")
        archive = notes.render_archive(show, [r.episode for r in records],
                                       show.templates).encode("utf-8")
        changed = _replace_site(stage, site, keys, {FEED_FILE: body, notes.INDEX_PAGE: index,
                                                    notes.ARCHIVE_PAGE: archive,
                                                    notes.ROBOTS_FILE: notes.ROBOTS_TXT},
                                inodes)
        ordered = [i.episode.slug for i in rss.select_episodes(items, now=now)]
        results.append(FeedResult(show, site / FEED_FILE, changed, tuple(ordered),
                                  tuple(e.slug for e in mine if not e.draft and e.date > now),
                                  tuple(e.slug for e in mine if e.draft)))
    return results


def _replace_site(stage: Path, site: Path, keys: set[str], written: dict[str, bytes],
                  inodes: dict[str, int] | None = None) -> bool:
    """Bring the site to `keys` (hard links into the stage) plus the `written` files.

    The new feed and index are written to temp files first: a full disk or a write error
    then leaves the site exactly as it was. They are renamed into place after the
    episodes' files, the feed last. Returns True when the feed's bytes changed.
    """
    site.mkdir(parents=True, exist_ok=True)
    changed = False
    with ExitStack() as renames:       # leaving it renames the temp files, last entered first
        temps = set()
        for name in (*(n for n in written if n != FEED_FILE), FEED_FILE):
            path = site / name
            if path.is_file() and path.read_bytes() == written[name]:
                continue
            tmp = renames.enter_context(atomic_path(path))
            tmp.write_bytes(written[name])
            temps.add(tmp.name)
            changed = changed or name == FEED_FILE
        mirror(stage, site, keys, keep={*written, *temps}, src_inodes=inodes)
    return changed


def _index_pages(cat: Catalog, show: Show, records: list[EpisodeRecord]) -> list[notes.PageData]:
    """The index page's entries: the newest INDEX_EPISODES (the archive page lists all).
    Only the newest episode's transcript is read: the index shows it in full and links
    the others (templates/README.md says so)."""
    from toolkit.site import notes
    from toolkit.site.pages import record_page
    shown = sorted(records, key=lambda r: (r.episode.date, r.slug),
                   reverse=True)[:notes.INDEX_EPISODES]
    newest = shown[0] if shown else None
    pages = []
    for rec in shown:
        fragment = ""
        if rec is newest and rec.has_transcript_html:
            fragment = transcript_fragment(cat.layout.episode_stage(show.id, rec.slug))
        pages.append(record_page(show, rec, fragment))
    return pages


@dataclass(frozen=True)
class RenditionLoudness:
    """One published audio file's loudness, as its build measured it on the file itself."""

    slug: str
    kind: str               # a toolkit.standards.renditions key: mp3, aac, opus, wav
    integrated: float       # LUFS
    true_peak: float        # dBTP
    target: float           # LUFS the build aimed at
    ceiling: float          # dBTP
    as_delivered: bool = False  # passthrough: published as delivered, no target to meet
    tolerance: float = 1.0  # LU either side of the target (a cut's own, e.g. 0.5 for EBU R 128)


#: How far a rendition may land from its target before `validate` calls it an error
#: (Apple asks for -16 LUFS "within 1 dB").
LOUDNESS_TOLERANCE_LU = 1.0


def validate_own(root: Path | Catalog, feed_id: str | None = None,
                 loudness: list[RenditionLoudness] | None = None) -> list[Finding]:
    """Validate our own feed(s) against the rules, the built files and the build records.

    Durations and lengths are compared with what the build measured (its records), so
    no audio is opened and no process started per item. Each rendition's loudness, as
    measured on its own file by the build, is checked against its target and appended
    to `loudness` when a list is given (the CLI reports them).
    """
    from toolkit.feed import validate
    cat, _ = select(root, (), feed_id)
    layout = cat.layout
    findings: list[Finding] = []
    for show in ([cat.shows[feed_id]] if feed_id else [cat.shows[k] for k in sorted(cat.shows)]):
        path = layout.feed_file(show.id)
        if not path.is_file():
            raise NotBuiltError("no feed yet: run `podkit feed`", path=path)
        durations, rows = {}, []
        heavy: set[str] = set()         # episodes whose build reported heavy limiting
        for ep in cat.episodes_of(show.id):
            rec = cat.record(ep)
            if rec is not None:
                durations.update({m.url: m.duration for m in (rec.audio, *rec.extra_audio)
                                  if m.duration is not None})
                rows += _loudness_rows(show, rec)
                if rec.limiting and rec.limiting.warning:
                    heavy.add(rec.slug)
        own = validate.own_context(layout.site(show.id), show.base_url, show.feed_url,
                                   podcast_guid=show.guid, durations=durations,
                                   enclosure_prefix=show.enclosure_prefix)
        findings += validate.validate_source(str(path), own=own)
        findings += [_loudness_finding(r, path, r.slug in heavy) for r in rows if _off_target(r)]
        if loudness is not None:
            loudness += rows
    return findings


def _loudness_rows(show: Show, rec: EpisodeRecord) -> list[RenditionLoudness]:
    target = rec.episode.loudness or show.preset.loudness
    master = rec.part("audio")
    encoding = getattr(master, "remastered", None) or rec.episode.encoding or show.preset.encoding
    aim = target.for_channels(encoding.channels)
    # A passthrough file is the old host's master: measured, reported, never "off target"
    # (a rebuild cannot change it; `[encoding] remaster = true` does). A re-mastered one
    # went through the limiter, whose report only a mastered build has.
    delivered = rec.episode.passthrough and rec.limiting is None
    rows = [RenditionLoudness(rec.slug, rec.audio.path.suffix.lstrip(".") if delivered else kind,
                              s.integrated, s.true_peak, aim, target.true_peak, delivered,
                              LOUDNESS_TOLERANCE_LU)
            for kind, s in sorted(rec.renditions.items(), key=lambda r: r[0] != "mp3")]
    # Each named cut (air...) against its own target, measured on its own file.
    return rows + [RenditionLoudness(rec.slug, c.name, c.integrated, c.true_peak, c.target,
                                     c.ceiling, tolerance=c.tolerance) for c in rec.cuts]


def _off_target(r: RenditionLoudness) -> bool:
    if r.as_delivered:
        return False
    # The build's meter rounds to 0.01: a hair over the ceiling is rounding, not a miss.
    return abs(r.integrated - r.target) > r.tolerance or r.true_peak > r.ceiling + 0.05


def _loudness_finding(r: RenditionLoudness, feed_xml: Path, heavy: bool) -> Finding:
    # `--force` rebuilds the record from the audio cache, which is keyed by the sources:
    # it mends a record that disagrees with its audio, never audio the limiter could not
    # bring to the target (the same sources give the same miss).
    hint = (f"the build missed it from this audio (it reported heavy limiting): rebuilding "
            f"gives the same; check the source audio of {r.slug} (near-silence, a click, "
            "peaks far above the speech)" if heavy else f"run `podkit build {r.slug} --force`")
    return Finding("own.loudness", Severity.ERROR, r.slug, r.kind,
                   f"{r.integrated:.1f} LUFS / {r.true_peak:.1f} dBTP, target "
                   f"{r.target:g} LUFS ±{r.tolerance:g} LU and at most "
                   f"{r.ceiling:g} dBTP; {hint}", str(feed_xml))


def publish_show(root: Path | Catalog, feed_id: str | None = None, *, dry_run: bool = False,
                 delete: bool = False,
                 progress: Callable[[sync.Progress], None] | None = None,
                 notify_settings: notify.NotifySettings | None = None) -> list[sync.Report]:
    """Publish each show's site to its target: media first, feed last; then, when the feed
    changed, tell the apps (WebSub, podping: `Report.notices`, failures only warnings)."""
    # Only publishing needs the S3 client and the HTTP stack: feed and validate start faster.
    from toolkit.publish import notify, shared, sync
    cat, _ = select(root, (), feed_id)
    # A feed whose definition has errors is left out of the catalogue: say so, rather
    # than publish nothing and exit 0 (a refused publish.directory, for one).
    bad = [p for p in cat.errors if p.path.startswith("feeds/")] if feed_id is None else []
    if bad:
        raise ProblemsError(bad)
    selected = [cat.shows[feed_id]] if feed_id else [cat.shows[k] for k in sorted(cat.shows)]
    # Checked against every feed, not only those selected: publishing one of two feeds that
    # share a target overwrites the other's feed.xml all the same.
    clash = shared.problems(cat.shows.values(), cat.root, {s.id for s in selected})
    if clash:
        raise ProblemsError(clash)
    if not dry_run and any(s.publish.podping_url for s in selected):
        # Found after the feed went up, a bad token would end in a traceback quoting it.
        if why := notify.token_problem(notify.environment_token()):
            raise PublishError(f"{why}; nothing was published", field=notify.TOKEN_ENV)
    layout = cat.layout
    reports = []
    for show in selected:
        report = sync.publish(layout.site(show.id), show.publish, base_url=show.base_url,
                              feed_url=show.feed_url, delete=delete, dry_run=dry_run,
                              progress=progress, enclosure_prefix=show.enclosure_prefix,
                              feed_id=show.id)
        if report.feed_uploaded and not dry_run:
            # Only a new feed is news; the apps are told once it is up (never raises).
            report = replace(report, notices=tuple(notify.announce(show, settings=notify_settings)))
        reports.append(report)
    return reports


def preview_folder(root: Path | Catalog, feed_id: str | None = None, *,
                   published: bool = False) -> tuple[Show, Path]:
    """The show and folder `podkit preview` serves: what `podkit feed` selected
    (build/site/<feed>), the build a producer wants to look at; with `published`, the copy
    last published to the feed's local target instead."""
    cat, _ = select(root, (), feed_id)
    if feed_id is None:
        if len(cat.shows) != 1:
            raise ProblemsError([Problem("feeds", "feed", "several feeds: choose one with --feed")])
        feed_id = next(iter(cat.shows))
    show = cat.shows[feed_id]
    if published:
        local = show.publish.directory
        if show.publish.kind is not TargetKind.LOCAL or local is None:
            raise NotBuiltError(f"--published: feed {show.id!r} publishes to a bucket, not a "
                                "folder: preview the build (without --published) or open its "
                                "public URL", field="publish")
        if not (local / FEED_FILE).is_file():
            raise NotBuiltError("--published: nothing published here yet: run `podkit publish` "
                                "(or preview the build without --published)", path=local)
        return show, local
    site = cat.layout.site(show.id)
    if not (site / FEED_FILE).is_file():
        raise NotBuiltError("nothing to serve: run `podkit feed` (or `make demo`) first", path=site)
    return show, site
