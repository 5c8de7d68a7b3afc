"""The feed stage: a show and its built episodes become RSS 2.0 bytes (feedgen).

This is the only module that imports feedgen. feedgen writes the RSS core and the
iTunes tags through its bundled `podcast` extension; the Podcasting 2.0 tags come
from our own extension (registered as `podcastindex`, because feedgen's iTunes
extension already owns the name `podcast`) which writes the literal prefix
`podcast:`, as Podcast Index's and Podverse's parsers require.

The output is a pure function of its inputs: `lastBuildDate` is the newest included
episode's date, items are ordered newest first with a fixed tiebreak, and nothing
reads the clock. The feed never touches audio: sizes and durations come from the
`MediaFile`s the build recorded.

Text policy: characters that XML 1.0 cannot carry (C0 controls other than tab, LF
and CR; lone surrogates; U+FFFE/U+FFFF) or discourages (C1 controls) are removed from every text and attribute,
with a warning in the log naming the file and field; CR and CRLF become LF (what any
XML parser would read anyway). Titles are also folded onto one line. HTML goes into CDATA; HTML that itself contains `]]>` is written as
escaped text instead, which every XML parser reads back as the same string.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from toolkit import fsutil, model
from toolkit.errors import FeedError
from toolkit.feed import p20extra
from toolkit.standards import categories, prefix, renditions, stdcheck
from toolkit.standards.contenttypes import ATOM_NS, ITUNES_NS, NOT_XML_RE, PODCAST_NS
from toolkit.standards.contenttypes import CHAPTERS_TYPE as CHAPTERS_MIME

log = logging.getLogger(__name__)

GENERATOR = "podkit"

_ILLEGAL_XML = NOT_XML_RE     # dropped from text, refused in identifiers


def xml_safe(text: str, *, where: str | Path | None = None, field: str | None = None) -> str:
    """`text` as XML 1.0 can carry it: illegal characters removed (and logged), line ends LF.

    Parsers turn CR and CRLF into LF (and CDATA cannot escape a CR), so normalizing
    here makes the feed say exactly what every reader will get.
    """
    cleaned, count = _ILLEGAL_XML.subn("", text)
    if count:
        log.warning("%s: %s: removed %d character(s) that XML cannot carry",
                    where or "feed", field or "text", count)
    return cleaned.replace("\r\n", "\n").replace("\r", "\n")


def one_line(text: str, *, where: str | Path | None = None, field: str | None = None) -> str:
    """An XML-safe title: whitespace runs (newlines too) folded into single spaces."""
    return " ".join(xml_safe(text, where=where, field=field).split())


def _num(value: float) -> str:
    """Seconds as the shortest exact decimal ('190', '12.5'): no float noise in the feed."""
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _sub(parent: etree._Element, ns: str, tag: str, text: str | None = None,
         **attrs: str | None) -> etree._Element:
    """Append `<ns:tag attrs>text</ns:tag>`; attributes whose value is None are left out."""
    el = etree.SubElement(parent, f"{{{ns}}}{tag}",
                          {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        el.text = text
    return el


def _cdata(html: str) -> str | etree.CDATA:
    # lxml refuses ']]>' inside CDATA; escaped text carries the same string.
    return html if "]]>" in html else etree.CDATA(html)


class _P20Feed(BaseExtension):
    """Channel-level Podcasting 2.0 tags plus `itunes:explicit` as true/false."""

    def __init__(self) -> None:
        self.show: model.Show | None = None
        self.guid = ""
        self.has_items = True
        self.where: Path | None = None

    def extend_ns(self) -> dict[str, str]:
        return {"podcast": PODCAST_NS}

    def extend_rss(self, feed: etree._Element) -> etree._Element:
        channel = feed[0]
        show = self.show
        if show is None:
            return feed
        if not self.has_items:
            # No episode to pin the date to: leave lastBuildDate out rather than use the clock.
            for el in channel.findall("lastBuildDate"):
                channel.remove(el)
        w = self.where
        desc = channel.find("description")
        if desc is not None:
            # The show's description is plain text; apps render a channel description as
            # HTML, so it goes out as HTML whose every character is text (what an old feed
            # showed as '<script>' stays the text '<script>'), in CDATA like the items'.
            desc.text = _cdata(stdcheck.description_html(xml_safe(
                show.description, where=w, field="description")))
        if show.publish.websub_hub:
            # WebSub discovery: the hub next to the self link (feedgen writes only rel=self).
            self_link = channel.find(f"{{{ATOM_NS}}}link[@rel='self']")
            hub = etree.Element(f"{{{ATOM_NS}}}link", rel="hub", href=show.publish.websub_hub)
            if self_link is not None:
                self_link.addnext(hub)
            else:
                channel.append(hub)
        # feedgen's itunes_explicit() only knows yes/no/clean, which Apple now calls legacy.
        _sub(channel, ITUNES_NS, "explicit", "true" if show.explicit else "false")
        _sub(channel, PODCAST_NS, "guid", self.guid)
        _sub(channel, PODCAST_NS, "locked", "yes" if show.locked else "no",
             owner=xml_safe(show.locked_owner, where=w, field="locked_owner")
             if show.locked_owner else None)
        for f in show.funding:
            _sub(channel, PODCAST_NS, "funding", xml_safe(f.label, where=w, field="funding.label"),
                 url=f.url)
        _persons(channel, show.persons, w)
        if show.medium:
            _sub(channel, PODCAST_NS, "medium", show.medium)
        if show.license:
            _sub(channel, PODCAST_NS, "license", xml_safe(show.license, where=w, field="license"))
        p20extra.channel(channel, show, safe=xml_safe, line=one_line)
        return feed


class _P20Entry(BaseEntryExtension):
    """Item-level Podcasting 2.0 tags, `itunes:explicit` true/false, and CDATA descriptions."""

    def __init__(self) -> None:
        self.built: model.BuiltEpisode | None = None
        self.show: model.Show | None = None
        self.explicit = False
        self.description = ""

    def extend_ns(self) -> dict[str, str]:
        return {"podcast": PODCAST_NS}

    def extend_rss(self, item: etree._Element) -> etree._Element:
        be = self.built
        if be is None:
            return item
        ep, w = be.episode, be.episode.path
        # feedgen writes <description> as escaped text; Apple wants its HTML in CDATA.
        desc = item.find("description")
        if desc is not None:
            desc.text = _cdata(self.description)
        _sub(item, ITUNES_NS, "explicit", "true" if self.explicit else "false")
        for t in be.transcripts:
            _sub(item, PODCAST_NS, "transcript", url=t.url, type=t.mime, language=t.language,
                 rel=t.rel)
        if be.chapters_file is not None:
            _sub(item, PODCAST_NS, "chapters", url=be.chapters_file.url, type=CHAPTERS_MIME)
        if be.extra_audio:
            _alternates(item, be, self.show)
        if ep.season is not None:
            _sub(item, PODCAST_NS, "season", str(ep.season),
                 name=one_line(ep.season_name, where=w, field="season_name")
                 if ep.season_name else None)
        if ep.number is not None:
            _sub(item, PODCAST_NS, "episode", str(ep.number),
                 display=one_line(ep.episode_display, where=w, field="episode_display")
                 if ep.episode_display else None)
        _persons(item, ep.persons, w)
        for sb in ep.soundbites:
            _sub(item, PODCAST_NS, "soundbite",
                 one_line(sb.title, where=w, field="soundbites.title") if sb.title else None,
                 startTime=_num(sb.start), duration=_num(sb.duration))
        p20extra.item(item, ep, safe=xml_safe, line=one_line)
        return item


def _alternates(item: etree._Element, be: model.BuiltEpisode, show: model.Show | None) -> None:
    """One `podcast:alternateEnclosure` per published rendition (toolkit.standards.renditions).

    The MP3 is listed too, as `default="true"`: the spec's way of saying it is the file
    of the <enclosure>. Sources carry the analytics prefix, like the enclosure: an app
    downloading the Opus is a download all the same.
    """
    settings = be.episode.encoding or (show.preset.encoding if show else None)
    for media in (be.audio, *be.extra_audio):
        fmt = renditions.by_ext(media.url)
        if fmt is None or not fmt.in_feed:
            continue
        bitrate = renditions.average_bitrate(fmt, settings, media.size, media.duration)
        alt = _sub(item, PODCAST_NS, "alternateEnclosure", type=media.mime,
                   length=str(media.size), bitrate=str(bitrate) if bitrate else None,
                   title=fmt.label, codecs=fmt.codecs,
                   default="true" if media is be.audio else None)
        _sub(alt, PODCAST_NS, "source",
             uri=prefix.apply(show.enclosure_prefix if show else None, media.url))


def _persons(parent: etree._Element, persons: Iterable[model.Person], where: Path | None) -> None:
    for p in persons:
        _sub(parent, PODCAST_NS, "person", one_line(p.name, where=where, field="persons.name"),
             role=p.role, group=p.group, img=p.img, href=p.href)


def select_episodes(episodes: Iterable[model.BuiltEpisode], *,
                    now: datetime) -> list[model.BuiltEpisode]:
    """The episodes the feed lists at `now`, newest first.

    Drafts and episodes dated after `now` are left out (a later run includes them).
    Equal dates are ordered by season, number and slug, so the order never depends
    on the order the caller passed.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    chosen = [be for be in episodes if not be.episode.draft and be.episode.date <= now]
    chosen.sort(key=lambda be: (be.episode.date.timestamp(), be.episode.season or 0,
                                be.episode.number or 0, be.episode.slug), reverse=True)
    return chosen


def _check_inputs(show: model.Show, episodes: Sequence[model.BuiltEpisode], cover_url: str) -> None:
    """Refuse what feedgen would silently drop or mangle, naming the file and field."""
    for name in ("title", "link", "description"):
        if not _ILLEGAL_XML.sub("", getattr(show, name)).strip():
            raise FeedError("is empty; RSS requires it", path=show.path, field=name)
    if not show.categories:
        raise FeedError("at least one Apple category is required", path=show.path,
                        field="categories")
    for cat in show.categories:
        problem = categories.check_category(cat.name, cat.sub)
        if problem:
            raise FeedError(problem, path=show.path, field="categories")
    if not cover_url.lower().endswith((".jpg", ".png")):
        # feedgen drops any other itunes:image URL without a word.
        raise FeedError(f"artwork URL must end in .jpg or .png: {cover_url}", path=show.path,
                        field="artwork")
    # Identifiers and URLs cannot be cleaned silently (a changed guid re-downloads an
    # episode): a control character in one is refused, where lxml would only raise ValueError.
    plain: list[tuple[str | None, Path, str]] = [
        (show.link, show.path, "link"), (show.feed_url, show.path, "feed_url"),
        (show.language, show.path, "language"), (show.owner.email, show.path, "owner.email"),
        (show.locked_owner, show.path, "locked_owner"), (show.guid, show.path, "podcast.guid"),
        (show.medium, show.path, "medium"), (cover_url, show.path, "artwork"),
        (show.publish.websub_hub, show.path, "publish.websub_hub"),
        (show.enclosure_prefix, show.path, "enclosure_prefix")]
    plain += [(f.url, show.path, "funding.url") for f in show.funding]
    seen: dict[str, Path] = {}
    for be in episodes:
        ep = be.episode
        plain += [(ep.guid, ep.path, "guid"), (be.audio.url, be.audio.path, "url"),
                  (be.audio.mime, be.audio.path, "mime"), (be.page_url, ep.path, "page_url"),
                  (be.image_url, ep.path, "art")]
        plain += [(m.url, m.path, "url") for m in be.extra_audio]
        for t in be.transcripts:
            plain += ((t.url, t.path, "url"), (t.mime, t.path, "mime"),
                      (t.language, t.path, "language"), (t.rel, t.path, "rel"))
        if be.chapters_file is not None:
            plain.append((be.chapters_file.url, be.chapters_file.path, "url"))
        if ep.guid in seen:
            raise FeedError(f"guid {ep.guid} is also used by {seen[ep.guid]}", path=ep.path,
                            field="guid")
        seen[ep.guid] = ep.path
        if be.audio.size <= 0:
            raise FeedError("enclosure length must be the published file's size in bytes, "
                            f"got {be.audio.size}", path=be.audio.path, field="size")
        if be.image_url and not be.image_url.lower().endswith((".jpg", ".png")):
            raise FeedError(f"episode art URL must end in .jpg or .png: {be.image_url}",
                            path=ep.path, field="art")
    for person, path in [(p, show.path) for p in show.persons] + \
            [(p, be.episode.path) for be in episodes for p in be.episode.persons]:
        plain += [(person.role, path, "persons.role"), (person.group, path, "persons.group"),
                  (person.img, path, "persons.img"), (person.href, path, "persons.href")]
    # One search over all of them (a newline is no match and joins them): a 2,000-item
    # feed has some 40,000 values; the one at fault is looked for only when there is one.
    if not _ILLEGAL_XML.search("\n".join(v for v, _, _ in plain if v)):
        return
    for value, path, field in plain:
        if value and _ILLEGAL_XML.search(value):
            raise FeedError(f"contains a control character XML cannot carry: {value!r}",
                            path=path, field=field)


def _add_item(fg: FeedGenerator, show: model.Show, be: model.BuiltEpisode) -> None:
    ep, w = be.episode, be.episode.path
    title = one_line(ep.title, where=w, field="title")
    if not title:
        raise FeedError("is empty once characters XML cannot carry are removed", path=w,
                        field="title")
    fe = fg.add_entry(order="append")
    fe.title(title)
    # The guid comes from the show and episode identity (model.episode_guid), never the URL.
    fe.guid(ep.guid, permalink=False)
    fe.pubDate(ep.date)
    if be.page_url:
        fe.link(href=be.page_url)
    # An analytics prefix (OP3, Podtrac) counts app downloads: the enclosure only.
    fe.enclosure(prefix.apply(show.enclosure_prefix, be.audio.url), str(be.audio.size),
                 be.audio.mime)
    description = xml_safe(be.description_html, where=w, field="description") or \
        f"<p>{_escape(xml_safe(ep.summary or ep.title, where=w, field='summary'))}</p>"
    fe.description(description)  # placeholder text, replaced by CDATA in _P20Entry
    if be.content_html:
        content = xml_safe(be.content_html, where=w, field="notes")
        fe.content(content, type=None if "]]>" in content else "CDATA")
    itunes = fe.podcast
    if be.audio.duration is not None:
        itunes.itunes_duration(str(round(be.audio.duration)))
    else:
        log.warning("%s: duration: unknown, itunes:duration left out", be.audio.path)
    if ep.number is not None:
        itunes.itunes_episode(ep.number)
    if ep.season is not None:
        itunes.itunes_season(ep.season)
    itunes.itunes_episode_type(ep.type.value)
    if be.image_url:
        itunes.itunes_image(be.image_url)
    p20 = fe.podcastindex
    p20.built = be
    p20.show = show
    p20.explicit = show.explicit if ep.explicit is None else ep.explicit
    p20.description = description


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build_feed(show: model.Show, episodes: Sequence[model.BuiltEpisode], *, cover_url: str,
               now: datetime) -> bytes:
    """The RSS 2.0 feed (UTF-8 bytes) listing the episodes published at `now`.

    `episodes` may include drafts and future episodes: they are left out here.
    `cover_url` is the public URL of the show's artwork (.jpg or .png). Raises
    FeedError naming the file and field for input feedgen cannot represent.
    Two calls with equal inputs return identical bytes.
    """
    included = select_episodes(episodes, now=now)
    _check_inputs(show, included, cover_url)
    w = show.path
    title = one_line(show.title, where=w, field="title")
    fg = FeedGenerator()
    fg.load_extension("podcast")          # feedgen's iTunes tags
    fg.register_extension("podcastindex", _P20Feed, _P20Entry)
    fg.title(title)
    # feedgen writes the href of the *last* link() as <link>: the self link goes first.
    fg.link(href=show.feed_url, rel="self", type="application/rss+xml")
    fg.link(href=show.link, rel="alternate")
    fg.description(xml_safe(show.description, where=w, field="description"))
    fg.language(show.language)
    if show.copyright:
        fg.copyright(xml_safe(show.copyright, where=w, field="copyright"))
    fg.generator(GENERATOR)
    fg.docs("https://www.rssboard.org/rss-specification")
    fg.image(url=cover_url, title=title, link=show.link)
    if included:
        fg.lastBuildDate(included[0].episode.date)
    itunes = fg.podcast
    itunes.itunes_author(one_line(show.author, where=w, field="author"))
    itunes.itunes_owner(name=one_line(show.owner.name, where=w, field="owner.name"),
                        email=show.owner.email)
    itunes.itunes_category([{"cat": c.name, "sub": c.sub} if c.sub else {"cat": c.name}
                            for c in show.categories])
    itunes.itunes_image(cover_url)
    itunes.itunes_type(show.type.value)
    p20 = fg.podcastindex
    p20.show = show
    p20.guid = show.guid or model.podcast_guid(show.feed_url)
    p20.has_items = bool(included)
    p20.where = w
    for be in included:
        _add_item(fg, show, be)
    log.debug("feed %s: %d of %d episodes included", show.id, len(included), len(episodes))
    return fg.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)


def write_feed(target: Path, show: model.Show, episodes: Sequence[model.BuiltEpisode], *,
               cover_url: str, now: datetime) -> bool:
    """Build the feed and write it atomically to `target`; False when the file already held it."""
    return fsutil.write_bytes(Path(target), build_feed(show, episodes, cover_url=cover_url, now=now))
