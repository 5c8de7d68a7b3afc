"""Releasing a show: pick what is public, write the feed and the index page, validate, publish.

    stage (all builds) -> select (not draft, date <= now) -> site: feed.xml, index.html,
    cover, included episodes (hard links) -> validate against the built files -> publish

None of this touches audio: it reads the build manifests. The site folder holds exactly
what is published, so drafts and scheduled episodes never leak to the bucket or preview.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from toolkit import feed, manifest, markup, notes, publish, transcript, validate
from toolkit.errors import NotBuiltError, Problem, ProblemsError
from toolkit.fsutil import mirror
from toolkit.layout import FEED_FILE, Layout, site_key, url_for
from toolkit.model import BuiltEpisode, Episode, Show, TargetKind
from toolkit.pipeline import page_data, page_notes, select, show_cover

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


def _built(layout: Layout, show: Show, ep: Episode,
           cover: str) -> tuple[BuiltEpisode, notes.PageData]:
    """The feed item and page data of a built episode, from its manifest (no audio work)."""
    built = manifest.load(layout, show.id, ep.slug)
    page_url = built.data.get("page_url") or url_for(show.base_url, notes.episode_page_key(ep.slug))
    ep_notes = notes.episode_notes(ep, built.chapters, show.templates, page_url=page_url)
    texts = [transcript.load(src, duration=None) for src in ep.transcripts[:1]]
    item = BuiltEpisode(episode=ep, audio=built.audio, chapters=built.chapters,
                        transcripts=built.transcripts, chapters_file=built.chapters_file,
                        page_url=page_url, image_url=built.data.get("image_url"),
                        description_html=ep_notes.description_html or _summary_html(ep),
                        content_html=ep_notes.content_html, loudness=built.loudness_after,
                        extra_audio=built.extra_audio)
    page = page_data(show, ep, built.audio, built.chapters, built.transcripts, built.chapters_file,
                     built.extra_audio, page_notes(ep, page_url),
                     transcript.to_html(texts[0]) if texts else "",
                     built.data.get("image_url") or cover)
    return item, page


def _episode_files(folder: Path, item: BuiltEpisode) -> list[Path]:
    """The built files of an episode that go public: everything in its stage folder except
    temp files and audio versions its manifest does not name (left by a failed rebuild)."""
    slug = item.episode.slug
    audio = re.compile(rf"^{re.escape(slug)}-[0-9a-f]{{12}}\.(?:mp3|m4a)$")
    current = {m.path.name for m in (item.audio, *item.extra_audio)}
    return [p for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith(".")
            and (p.name in current or not audio.match(p.name))]


def _summary_html(ep: Episode) -> str:
    """An episode without notes is described by its summary (Apple needs a description)."""
    return markup.render_notes(ep.summary).description if ep.summary else ""


def write_feed(root: Path, feed_id: str | None = None, *, now: dt.datetime) -> list[FeedResult]:
    """Write each show's site: feed.xml, index.html, cover and its public episodes.

    Every public episode must be built; all that are not are listed in one error. Nothing
    is written while `podkit check` finds an error: an episode whose episode.toml does
    not load would otherwise silently drop out of the public feed.
    """
    cat, episodes = select(root, (), feed_id)
    layout = Layout(root)
    if cat.errors:
        raise ProblemsError([*cat.errors, Problem("build/site", "", "no feed written: fix the "
                                                  "problems above (`podkit check` lists them)")])
    results = []
    shows = [cat.shows[feed_id]] if feed_id else [cat.shows[k] for k in sorted(cat.shows)]
    for show in shows:
        mine = [e for e in episodes if e.feed == show.id]
        public = [e for e in mine if is_public(e, now)]
        items, pages, missing = [], [], []
        cover = show_cover(show, layout)
        for ep in public:
            try:
                item, page = _built(layout, show, ep, cover)
            except NotBuiltError as exc:
                missing.append(Problem(f"episodes/{ep.slug}", "build", exc.message))
                continue
            items.append(item)
            pages.append(page)
        if missing:
            raise ProblemsError(missing)
        site, stage = layout.site(show.id), layout.stage(show.id)
        # The site is the stage minus what is not public yet: hard links, no copies.
        keys = {cover} | {site_key(stage, p) for item in items
                          for p in _episode_files(layout.episode_stage(show.id, item.episode.slug),
                                                  item)}
        mirror(stage, site, keys, keep={FEED_FILE, notes.INDEX_PAGE})
        changed = feed.write_feed(site / FEED_FILE, show, items,
                                  cover_url=url_for(show.base_url, cover), now=now)
        notes.write_page(site / notes.INDEX_PAGE,
                         notes.render_index(show, pages, show.templates, cover=cover))
        ordered = [i.episode.slug for i in feed.select_episodes(items, now=now)]
        results.append(FeedResult(show, site / FEED_FILE, changed, tuple(ordered),
                                  tuple(e.slug for e in mine if not e.draft and e.date > now),
                                  tuple(e.slug for e in mine if e.draft)))
    return results


def validate_own(root: Path, feed_id: str | None = None) -> list[validate.Finding]:
    """Validate our own feed(s) against the rules and against the built files."""
    cat, _ = select(root, (), feed_id)
    layout = Layout(root)
    findings: list[validate.Finding] = []
    for show in ([cat.shows[feed_id]] if feed_id else [cat.shows[k] for k in sorted(cat.shows)]):
        path = layout.feed_file(show.id)
        if not path.is_file():
            raise NotBuiltError("no feed yet: run `podkit feed`", path=path)
        own = validate.own_context(layout.site(show.id), show.base_url, show.feed_url,
                                   podcast_guid=show.guid)
        findings += validate.validate_source(str(path), own=own)
    return findings


def publish_show(root: Path, feed_id: str | None = None, *, dry_run: bool = False,
                 delete: bool = False,
                 progress: Callable[[publish.Progress], None] | None = None) -> list[publish.Report]:
    """Publish each show's site to its target: media first, feed last."""
    cat, _ = select(root, (), feed_id)
    layout = Layout(root)
    reports = []
    for show in ([cat.shows[feed_id]] if feed_id else [cat.shows[k] for k in sorted(cat.shows)]):
        reports.append(publish.publish(layout.site(show.id), show.publish, base_url=show.base_url,
                                       feed_url=show.feed_url, delete=delete, dry_run=dry_run,
                                       progress=progress))
    return reports


def preview_folder(root: Path, feed_id: str | None = None, *,
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
    site = Layout(root).site(show.id)
    if not (site / FEED_FILE).is_file():
        raise NotBuiltError("nothing to serve: run `podkit feed` (or `make demo`) first", path=site)
    return show, site
