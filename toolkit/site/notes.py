"""Show notes and the show's web pages, rendered from jinja2 templates.

Per episode: `notes.md` (the notes with chapter timestamps, for producers and other
platforms), `notes.html` (the sanitized feed description) and the episode page
`episodes/<slug>/index.html`; per show: the index page `index.html`.

Templates come from the show's `templates/` folder first, then the defaults shipped
in `toolkit/templates/`, so a producer overrides one by placing a file of the same
name in the show's folder; `{% extends "default/episode.html.j2" %}` reaches the
default behind an override. Autoescape is on for everything but Markdown/text/TOML
templates, and undefined variables are errors (StrictUndefined).

This is the only module that imports jinja2. The HTML it is given (notes, transcript)
is sanitized here again before it reaches a template, whatever the caller did.

How the pipeline calls it (templates = show.templates or layout.templates_dir):

    key = notes.episode_page_key(ep.slug)
    n = notes.episode_notes(ep, chapters, templates, page_url=layout.url_for(show.base_url, key))
    notes.write_notes(layout.reports(show.id, ep.slug), n)    # notes.md + notes.html
    # BuiltEpisode(description_html=n.description_html, content_html=n.content_html, ...)
    page = notes.PageData(episode=ep, audio=site_key_of_mp3, duration=seconds,
                          chapters=chapters, notes_html=n.content_html,
                          transcript_html=..., transcripts=(notes.Link("WebVTT", key, "text/vtt"),),
                          cover=site_key_of_cover, chapters_file=key_of_chapters_json)
    notes.write_page(site / key, notes.render_episode_page(show, page, templates))
    notes.write_page(site / notes.INDEX_PAGE, notes.render_index(show, pages, templates, cover=...))
"""
from __future__ import annotations

import logging
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from markupsafe import Markup, escape

from toolkit import fsutil
from toolkit.errors import PodkitError
from toolkit.model import Chapter, Episode, Show, is_slug
from toolkit.site import markup
from toolkit.site.markup import NotesHTML, render_notes

# The jinja2 environment (filters, loaders, one error per template problem) is its own
# module; notes and pages render through it.
from toolkit.site.templating import (  # noqa: F401
    DEFAULTS_DIR,
    _md_escape,
    _render,
    environment,
    safe_url,
    timestamp,
)
from toolkit.store import layout

__all__ = ["Link", "NotesHTML", "PageData", "EpisodeNotes", "render_notes", "episode_notes",
           "write_notes", "render_episode_page", "render_embed", "render_index", "render_scaffold",
           "episode_page_key", "embed_page_key", "write_page", "safe_url", "INDEX_PAGE", "ARCHIVE_PAGE",
           "ROBOTS_FILE", "ROBOTS_TXT", "render_archive", "DEFAULTS_DIR", "timestamp", "environment"]

log = logging.getLogger(__name__)

#: Site keys of the pages (paths inside the published folder).
INDEX_PAGE = "index.html"
ARCHIVE_PAGE = "archive.html"
#: The site's robots.txt: a show's pages are public and meant to be found (Lighthouse's
#: SEO audit, and search engines, ask for one at the site's root).
ROBOTS_FILE = "robots.txt"
ROBOTS_TXT = b"# Written by podkit: every page and file of this show may be crawled.\nUser-agent: *\nAllow: /\n"
#: Episodes the index page shows in full (player, chapters); the archive lists them all.
INDEX_EPISODES = 50
EPISODE_PAGE = "episodes/{slug}/index.html"
EMBED_PAGE = "episodes/{slug}/embed.html"
#: Template names.
EPISODE_TEMPLATE = "episode.html.j2"
EMBED_TEMPLATE = "embed.html.j2"
#: The iframe the episode page offers to other sites (the embed page is laid out for it).
EMBED_WIDTH, EMBED_HEIGHT = 600, 200
INDEX_TEMPLATE = "index.html.j2"
ARCHIVE_TEMPLATE = "archive.html.j2"
NOTES_TEMPLATE = "notes.md.j2"
SCAFFOLD_TEMPLATE = "episode.toml.j2"



@dataclass(frozen=True)
class Link:
    """A link shown on a page: `href` is a site key ('episodes/x/transcript.vtt') or an absolute URL."""

    label: str
    href: str
    type: str | None = None


@dataclass(frozen=True)
class PageData:
    """What an episode's page shows besides the Episode itself.

    Every href is either a site key (a path inside the published folder, such as
    'episodes/x/x-1a2b.mp3', linked relatively so the page works from any host and
    from disk) or an absolute URL (used as is; one under the show's base_url is
    turned back into a relative link).
    """

    episode: Episode
    audio: str                              # the MP3: site key or URL
    duration: float                         # seconds
    audio_type: str = "audio/mpeg"
    audio_size: int | None = None           # bytes, shown next to the download link
    chapters: tuple[Chapter, ...] = ()
    notes_html: str = ""                    # full notes HTML (NotesHTML.content); sanitized again
    transcript_html: str = ""               # rendered transcript fragment; sanitized again
    transcripts: tuple[Link, ...] = ()      # transcript files (VTT, SRT, JSON, text)
    cover: str | None = None                # episode art, else the show's; site key or URL
    chapters_file: str | None = None        # chapters.json: site key or URL
    downloads: tuple[Link, ...] = ()        # other renditions (.m4a...)
    clips: tuple[ClipLink, ...] = ()        # soundbite video clips (toolkit.clips)


@dataclass(frozen=True)
class ClipLink:
    """A video clip the page shows: its MP4 and poster (site keys or URLs) and frame size."""

    title: str
    href: str
    poster: str
    width: int
    height: int
    size: int | None = None


@dataclass(frozen=True)
class EpisodeNotes:
    """An episode's notes in all three shapes: notes.md, the feed description and content."""

    markdown: str
    description_html: str
    content_html: str


# ---- notes ------------------------------------------------------------------------------------

def episode_notes(episode: Episode, chapters: Sequence[Chapter], templates_dir: Path | None,
                  *, page_url: str | None = None) -> EpisodeNotes:
    """Render an episode's notes: notes.md from the `notes.md.j2` template (the Markdown notes,
    else the summary, followed by the chapter timestamps), then that Markdown to sanitized HTML.

    `page_url` (the episode page's public URL) resolves relative links in the notes.
    """
    # Notes if given, else the summary (plain text, so escaped as Markdown): an episode
    # with chapters but no notes must not be described by its chapter list alone.
    text = episode.notes.strip() or _md_escape(episode.summary.strip())
    md = _render(templates_dir, NOTES_TEMPLATE, {
        "episode": episode, "notes": text,
        "chapters": [c for c in sorted(chapters, key=lambda c: c.start) if c.toc]})
    md = md.strip() + "\n" if md.strip() else ""
    html = render_notes(md, base_url=page_url)
    return EpisodeNotes(markdown=md, description_html=html.description, content_html=html.content)


def write_notes(folder: Path, notes: EpisodeNotes) -> list[Path]:
    """Write notes.md and notes.html (the Apple-safe description) into `folder`, atomically.

    Returns the paths written (unchanged files are left untouched and not listed).
    """
    written = []
    for name, text in (("notes.md", notes.markdown),
                       ("notes.html", notes.description_html + "\n" if notes.description_html else "")):
        path = Path(folder) / name
        if fsutil.write_text(path, text):
            written.append(path)
    return written


# ---- pages ------------------------------------------------------------------------------------

def episode_page_key(slug: str) -> str:
    """The site key of an episode's page ('episodes/<slug>/index.html')."""
    return EPISODE_PAGE.format(slug=slug)


def embed_page_key(slug: str) -> str:
    """The site key of an episode's embeddable player ('episodes/<slug>/embed.html')."""
    return EMBED_PAGE.format(slug=slug)


def _linker(show: Show, page_key: str) -> Any:
    """A function turning a site key or URL into an href as seen from the page at `page_key`."""
    base = show.base_url if show.base_url.endswith("/") else show.base_url + "/"
    here = posixpath.dirname(page_key)

    def href(target: str | None) -> str:
        if not target:
            return ""
        if target.startswith(base):          # in this site: link relatively
            target = target[len(base):]
        elif urlsplit(target).scheme or target.startswith("/"):
            return safe_url(target)
        path, _, fragment = target.partition("#")
        # From a page at the top (the index, the archive: 2,000 links) a plain key is
        # its own relative path, and one of unreserved characters its own quoting.
        rel = path if not here and _PLAIN_KEY.fullmatch(path) \
            else posixpath.relpath(path, here or ".")
        rel = rel if layout.UNRESERVED.fullmatch(rel) else quote(rel, safe="/-._~")
        return rel + (f"#{fragment}" if fragment else "")
    return href


#: A relative POSIX path posixpath.relpath(path, ".") returns unchanged: no empty, "." or
#: ".." segment.
_PLAIN_KEY = re.compile(r"(?!\.\.?(?:/|$))[^/]+(?:/(?!\.\.?(?:/|$))[^/]+)*")


def _absolute(show: Show, target: str) -> str:
    # Sharing previews (og:image) need a full URL, whatever the page links relatively.
    return target if urlsplit(target).scheme else layout.url_for(show.base_url, target.lstrip("/"))


def _chapter_rows(chapters: Sequence[Chapter]) -> list[dict[str, Any]]:
    # toc = false marks a chapter that players skip in their list: pages leave it out too.
    return [{"start": f"{c.start:.3f}".rstrip("0").rstrip("."), "time": timestamp(c.start),
             "title": c.title, "url": safe_url(c.url)}
            for c in sorted(chapters, key=lambda c: c.start) if c.toc]


def _episode_view(show: Show, page: PageData, href: Any) -> dict[str, Any]:
    """What a template sees of one episode: hrefs resolved, HTML sanitized and marked safe."""
    ep = page.episode
    key = episode_page_key(ep.slug)
    return {
        "episode": ep,
        "slug": ep.slug,
        "page": page,
        "page_href": href(key),
        "page_url": layout.url_for(show.base_url, key),
        # What other sites paste: absolute, since it runs on their pages (plain text here,
        # escaped again where a template shows it).
        "embed_code": (f'<iframe src="{escape(layout.url_for(show.base_url, embed_page_key(ep.slug)))}" '
                       f'title="{escape(ep.title)}" width="{EMBED_WIDTH}" height="{EMBED_HEIGHT}" '
                       'style="border:0" loading="lazy"></iframe>'),
        "player_id": f"player-{ep.slug}",
        "audio_href": href(page.audio),
        "audio_type": page.audio_type,
        "audio_size": page.audio_size,
        "duration": page.duration,
        "duration_text": timestamp(round(page.duration)),
        "date_iso": ep.date.isoformat(),
        "date_text": ep.date.strftime("%Y-%m-%d"),
        "cover_href": href(page.cover) if page.cover else "",
        "cover_url": _absolute(show, page.cover) if page.cover else "",
        "chapters": _chapter_rows(page.chapters),
        "chapters_href": href(page.chapters_file) if page.chapters_file else "",
        "notes_html": Markup(markup.clean_content(page.notes_html)),
        "transcript_html": Markup(markup.clean_transcript(page.transcript_html)),
        "transcripts": [{"label": t.label, "href": href(t.href), "type": t.type} for t in page.transcripts],
        "downloads": [{"label": d.label, "href": href(d.href), "type": d.type} for d in page.downloads],
        "clips": [{"title": c.title, "href": href(c.href), "poster_href": href(c.poster),
                   "url": _absolute(show, c.href), "poster_url": _absolute(show, c.poster),
                   "width": c.width, "height": c.height, "size": c.size} for c in page.clips],
    }


def _site_context(show: Show, page_key: str, href: Any) -> dict[str, Any]:
    return {
        "show": show,
        "href": href,
        "page_key": page_key,
        "canonical_url": layout.url_for(show.base_url, "" if page_key == INDEX_PAGE else page_key),
        "index_href": href(INDEX_PAGE),
        "feed_href": href(layout.FEED_FILE),
        "feed_url": show.feed_url,
    }


def render_episode_page(show: Show, page: PageData, templates_dir: Path | None) -> str:
    """Render an episode's web page (`episode.html.j2`): player, chapters that seek, notes,
    transcript, cover and subscribe instructions. Deterministic for the same inputs."""
    key = episode_page_key(page.episode.slug)
    href = _linker(show, key)
    return _render(templates_dir, EPISODE_TEMPLATE, {
        **_site_context(show, key, href), "item": _episode_view(show, page, href)})


def render_embed(show: Show, page: PageData, templates_dir: Path | None) -> str:
    """Render an episode's embeddable player (`embed.html.j2`, for a 600x200 iframe): cover,
    title, play/pause, seek, clickable chapters, a link to the episode page. Self-contained:
    inline style and script (allowed by its hash), every link relative to the published site."""
    key = embed_page_key(page.episode.slug)
    href = _linker(show, key)
    return _render(templates_dir, EMBED_TEMPLATE, {
        **_site_context(show, key, href), "item": _episode_view(show, page, href),
        "width": EMBED_WIDTH, "height": EMBED_HEIGHT})


def render_index(show: Show, pages: Sequence[PageData], templates_dir: Path | None,
                 *, cover: str | None = None, total: int | None = None) -> str:
    """Render the show's index page (`index.html.j2`): the non-draft episodes given, newest
    first. With `total` above their number, the page links the archive of all of them.

    `cover` is the show's published artwork (site key or URL); None shows no cover.
    """
    href = _linker(show, INDEX_PAGE)
    listed = sorted((p for p in pages if not p.episode.draft),
                    key=lambda p: (p.episode.date, p.episode.slug), reverse=True)
    more = total is not None and total > len(listed)
    return _render(templates_dir, INDEX_TEMPLATE, {
        **_site_context(show, INDEX_PAGE, href),
        "items": [_episode_view(show, p, href) for p in listed],
        "archive_href": href(ARCHIVE_PAGE) if more else "", "total": total or len(listed),
        "cover_href": href(cover) if cover else "",
        "cover_url": _absolute(show, cover) if cover else ""})


def render_archive(show: Show, episodes: Sequence[Episode], templates_dir: Path | None) -> str:
    """Render `archive.html` (`archive.html.j2`): every published episode as one line (date,
    number, title, link), newest first; light enough for a 2,000-episode catalogue."""
    href = _linker(show, ARCHIVE_PAGE)
    listed = sorted(episodes, key=lambda e: (e.date, e.slug), reverse=True)
    return _render(templates_dir, ARCHIVE_TEMPLATE, {
        **_site_context(show, ARCHIVE_PAGE, href),
        "entries": [{"episode": e, "page_href": href(episode_page_key(e.slug)),
                     "date_iso": e.date.isoformat(), "date_text": e.date.strftime("%Y-%m-%d")}
                    for e in listed]})


def write_page(path: Path, html: str) -> bool:
    """Write a rendered page atomically; False when it already held exactly this."""
    return fsutil.write_text(path, html)


# ---- the episode scaffold ----------------------------------------------------------------------

def render_scaffold(templates_dir: Path | None, *, slug: str, feed: str, date: datetime,
                    number: int | None = None, title: str | None = None,
                    audio: str | None = None, transcripts: list[dict[str, str]] | None = None,
                    draft: bool = True, parts: list[dict[str, str]] | None = None,
                    season: int | None = None) -> str:
    """Render `episode.toml.j2` for `podkit new <slug>`: a commented episode.toml to fill in.

    `audio` (one file) or `parts` (each `file`, `title`, optional `bed`) and
    `transcripts` (each `file`, `language`) name files copied into the episode folder;
    `season` is the show's current season (None: no season); `draft` is the scaffold's
    `draft` value.
    """
    for name, value in (("slug", slug), ("feed", feed)):
        if not is_slug(value):
            raise PodkitError(f"{value!r} is not a valid {name} (lowercase a-z, 0-9 and inner "
                              f"hyphens, at most 80 characters)", field=name)
    if date.tzinfo is None:
        raise PodkitError("the date needs a time zone", field="date")
    return _render(templates_dir, SCAFFOLD_TEMPLATE, {
        "slug": slug, "feed": feed, "date": date.isoformat(), "number": number,
        "title": title or slug.replace("-", " ").capitalize(), "audio": audio,
        "transcripts": transcripts or [], "draft": draft, "parts": parts or [],
        "season": season})
