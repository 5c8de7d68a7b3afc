"""Another host's podcast feed, read into what `podkit import` maps (pure: no I/O).

    show = importfeed.parse(foreign.read_feed(url).text, source=url)
    show.title, show.guid, show.items[0].guid, show.items[0].enclosure.url ...

The XML is parsed with defusedxml (no entities, no external declarations). Hosts write
the same facts in different places (Libsyn, Anchor/Spotify, Buzzsprout, Transistor,
Podbean, Megaphone); each field is taken from where it is most complete:
content:encoded before description before itunes:summary for the notes, itunes:image
before the RSS image, and so on. What cannot be read into podkit's model is listed in
`notes` ("item <guid>: itunes:season: 'two' is not a number"), never silently dropped.
"""
from __future__ import annotations

import datetime as dt
import email.utils
import html
import re
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
import nh3
from defusedxml import DefusedXmlException

from toolkit.errors import FeedError
from toolkit.migrate import importextras
from toolkit.model import Person
from toolkit.standards import contenttypes
from toolkit.urls import parse_length

ITUNES = f"{{{contenttypes.ITUNES_NS}}}"
CONTENT = f"{{{contenttypes.CONTENT_NS}}}"
ATOM = f"{{{contenttypes.ATOM_NS}}}"
#: The Podcasting 2.0 namespace, and the GitHub URL early feeds declared instead.
PODCAST_NS = (f"{{{contenttypes.PODCAST_NS}}}", f"{{{contenttypes.PODCAST_NS_OLD}}}")
#: The largest season or episode number read (beyond it, a typo or a hostile feed).
_MAX_NUMBER = 10 ** 9


@dataclass(frozen=True)
class Link:
    """A file an item points at: enclosure, transcript, chapters, picture."""

    url: str
    type: str = ""
    length: int = 0                   # bytes as the feed states them (0: not stated)
    language: str | None = None
    rel: str | None = None


@dataclass(frozen=True)
class Item:
    """One `<item>`, read but not yet checked against podkit's rules."""

    guid: str
    title: str
    date: dt.datetime | None
    notes_html: str                   # the richest description found, as the host wrote it
    summary: str                      # itunes:subtitle, plain text
    enclosure: Link | None
    season: int | None = None
    number: int | None = None
    type: str = "full"
    explicit: bool | None = None
    persons: tuple[Person, ...] = ()
    transcripts: tuple[Link, ...] = ()
    chapters: Link | None = None
    image: str | None = None
    duration: float | None = None     # itunes:duration, seconds (the build measures its own)
    extras: importextras.Extras | None = None   # Podcasting 2.0 extras, tags left behind


@dataclass(frozen=True)
class Channel:
    """The channel, read but not yet checked against podkit's rules."""

    title: str
    description: str                  # plain text
    link: str | None
    language: str | None
    author: str | None
    owner_name: str | None
    owner_email: str | None
    explicit: bool | None
    type: str | None
    categories: tuple[tuple[str, str | None], ...]
    image: str | None
    copyright: str | None
    guid: str | None                  # podcast:guid
    locked: bool | None
    locked_owner: str | None
    self_url: str | None              # atom:link rel="self"
    new_feed_url: str | None          # itunes:new-feed-url: the feed says it moved
    keywords: tuple[str, ...] = ()
    persons: tuple[Person, ...] = ()
    funding: tuple[tuple[str, str], ...] = ()
    license: str | None = None
    medium: str | None = None
    items: tuple[Item, ...] = ()
    notes: tuple[str, ...] = field(default=())   # what could not be mapped
    extras: importextras.Extras | None = None


def parse(text: str, *, source: str) -> Channel:
    """Read an RSS feed's channel and items; FeedError naming `source` if it is no RSS feed."""
    try:
        root = SafeET.fromstring(text)
    except ParseError as exc:
        raise FeedError(f"not well-formed XML: {exc}", path=source, field="xml") from exc
    except DefusedXmlException as exc:
        raise FeedError(f"entity or external declarations are not allowed ({exc})", path=source,
                        field="xml") from exc
    channel = root.find("channel") if root.tag == "rss" else None
    if channel is None:
        raise FeedError(f"not an RSS feed (the root element is <{root.tag}>)", path=source,
                        field="rss")
    notes: list[str] = []
    title = _text(channel, "title")
    if not title:
        raise FeedError("the channel has no <title>", path=source, field="channel.title")
    items = tuple(it for i, el in enumerate(channel.findall("item"))
                  if (it := _item(el, i, notes)) is not None)
    owner = channel.find(f"{ITUNES}owner")
    locked = _p20(channel, "locked")
    extras = importextras.channel_extras(channel, notes)
    return Channel(
        title=_one_line(title),
        description=plain_text(_text(channel, "description") or _text(channel, f"{ITUNES}summary")
                               or ""),
        link=_text(channel, "link"), language=_text(channel, "language"),
        author=_text(channel, f"{ITUNES}author"),
        owner_name=_text(owner, f"{ITUNES}name") if owner is not None else None,
        owner_email=_text(owner, f"{ITUNES}email") if owner is not None else None,
        explicit=_explicit(_text(channel, f"{ITUNES}explicit")),
        type=(_text(channel, f"{ITUNES}type") or "").lower() or None,
        categories=_categories(channel), image=_image(channel),
        copyright=_text(channel, "copyright"), guid=_p20_text(channel, "guid"),
        locked=None if locked is None else (locked.text or "").strip().lower() == "yes",
        locked_owner=locked.get("owner") if locked is not None else None,
        self_url=next((a.get("href") for a in channel.findall(f"{ATOM}link")
                       if a.get("rel") == "self" and a.get("href")), None),
        new_feed_url=_text(channel, f"{ITUNES}new-feed-url"),
        keywords=tuple(k.strip() for k in (_text(channel, f"{ITUNES}keywords") or "").split(",")
                       if k.strip()),
        persons=_persons(channel), license=_p20_text(channel, "license"),
        medium=_p20_text(channel, "medium"),
        funding=tuple((f.get("url") or "", _one_line(f.text or "") or "Support the show")
                      for f in _p20_all(channel, "funding") if f.get("url")),
        items=items, notes=tuple(notes), extras=extras)


# ---- small readers -----------------------------------------------------------------------------

def _text(el: Element | None, tag: str) -> str | None:
    found = el.find(tag) if el is not None else None
    text = (found.text or "").strip() if found is not None else ""
    return text or None


def _p20(el: Element, tag: str) -> Element | None:
    return next((f for ns in PODCAST_NS if (f := el.find(ns + tag)) is not None), None)


def _p20_text(el: Element, tag: str) -> str | None:
    found = _p20(el, tag)
    return (found.text or "").strip() or None if found is not None else None


def _p20_all(el: Element, tag: str) -> list[Element]:
    return [f for ns in PODCAST_NS for f in el.findall(ns + tag)]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def plain_text(markup: str) -> str:
    """HTML (or text) as plain text: tags removed, entities decoded, paragraphs kept."""
    markup = re.sub(r"(?i)<br\s*/?>|</p\s*>", "\n", markup)
    text = html.unescape(nh3.clean(markup, tags=set(), clean_content_tags={"script", "style"}))
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n|\n", text)]
    return "\n\n".join(p for p in paragraphs if p)


def _explicit(text: str | None) -> bool | None:
    if text is None:
        return None
    return {"yes": True, "true": True, "explicit": True, "no": False, "false": False,
            "clean": False}.get(text.strip().lower())


def _categories(channel: Element) -> tuple[tuple[str, str | None], ...]:
    out = []
    for cat in channel.findall(f"{ITUNES}category"):
        name = (cat.get("text") or "").strip()
        subs = [(s.get("text") or "").strip() for s in cat.findall(f"{ITUNES}category")]
        if name:
            out += [(name, sub) for sub in subs if sub] or [(name, None)]
    return tuple(out)


def _image(el: Element) -> str | None:
    img = el.find(f"{ITUNES}image")
    if img is not None and (img.get("href") or "").strip():
        return (img.get("href") or "").strip()
    rss = el.find("image")
    return _text(rss, "url") if rss is not None else None


def _persons(el: Element) -> tuple[Person, ...]:
    return tuple(Person(name=_one_line(p.text or ""), role=(p.get("role") or "host").lower(),
                        group=(p.get("group") or "cast").lower(), img=p.get("img"),
                        href=p.get("href"))
                 for p in _p20_all(el, "person") if (p.text or "").strip())


def _int(text: str | None, what: str, where: str, notes: list[str]) -> int | None:
    # ASCII digits with a bound: str.isdigit() accepts '²' and '³', which int() refuses,
    # and int() refuses more than 4,300 digits; both were tracebacks.
    if text is None:
        return None
    value = parse_length(text, bound=_MAX_NUMBER)
    if value:
        return value
    shown = text if len(text) <= 40 else text[:37] + "..."
    notes.append(f"{where}: {what}: {shown!r} is not a positive whole number (at most "
                 f"{_MAX_NUMBER}); left out")
    return None


def parse_duration(text: str | None) -> float | None:
    """itunes:duration as seconds: '1234', '1234.5', '20:34' or '1:20:34'; None if unreadable."""
    if not text:
        return None
    parts = text.strip().split(":")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        return None
    if len(values) > 3 or any(v < 0 for v in values):
        return None
    seconds = 0.0
    for v in values:
        seconds = seconds * 60 + v
    return seconds


def parse_date(text: str | None) -> dt.datetime | None:
    """An RFC 822 pubDate with its own offset kept (UTC when it names none)."""
    if not text:
        return None
    try:
        when = email.utils.parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # email.utils reads a year below 100 as 19xx/20xx (RFC 822's two-digit years): right for
    # '23', wrong for '0000' or '0023', which a feed writer printed as it was.
    year = re.search(r"\b\d{1,2}\s+[A-Za-z]{3,}\s+(\d+)\b", text)
    if year and len(year.group(1)) > 2 and int(year.group(1)) != when.year:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def _item(el: Element, index: int, notes: list[str]) -> Item | None:
    enc = el.find("enclosure")
    enclosure = None
    if enc is not None and (enc.get("url") or "").strip():
        length = (enc.get("length") or "").strip()
        size = parse_length(length) if length else 0
        if size is None:
            shown = length if len(length) <= 40 else length[:37] + "..."
            notes.append(f"item {index + 1}: enclosure length: {shown!r} is not a number of "
                         "bytes; the downloaded file's size is used")
        enclosure = Link(url=(enc.get("url") or "").strip(), type=(enc.get("type") or "").strip(),
                         length=size or 0)
    guid = _text(el, "guid")
    title = _one_line(_text(el, "title") or _text(el, f"{ITUNES}title") or "")
    where = f"item {index + 1}" + (f" ({title})" if title else "")
    if guid is None:
        if enclosure is None:
            notes.append(f"{where}: guid: no guid and no enclosure: skipped")
            return None
        # Apps that met no guid identified the item by its enclosure URL: keep that identity.
        guid = enclosure.url
        notes.append(f"{where}: guid: none in the feed; the enclosure URL is kept as the guid")
    where = f"item {guid}"
    date_text = _text(el, "pubDate")
    date = parse_date(date_text)
    if date is None:
        notes.append(f"{where}: pubDate: {date_text!r} is not an RFC 822 date: skipped")
        return None
    notes_html = (_text(el, f"{CONTENT}encoded") or _text(el, "description")
                  or _text(el, f"{ITUNES}summary") or "")
    ep_type = (_text(el, f"{ITUNES}episodeType") or "full").lower()
    if ep_type not in ("full", "trailer", "bonus"):
        notes.append(f"{where}: itunes:episodeType: {ep_type!r} is not full, trailer or bonus; "
                     "full used")
        ep_type = "full"
    transcripts = tuple(Link(url=t.get("url") or "", type=(t.get("type") or "").lower(),
                             language=t.get("language"), rel=t.get("rel"))
                        for t in _p20_all(el, "transcript") if t.get("url"))
    ch = _p20(el, "chapters")
    return Item(
        guid=guid, title=title, date=date, notes_html=notes_html,
        summary=plain_text(_text(el, f"{ITUNES}subtitle") or ""), enclosure=enclosure,
        season=_int(_text(el, f"{ITUNES}season"), "itunes:season", where, notes),
        number=_int(_text(el, f"{ITUNES}episode"), "itunes:episode", where, notes),
        type=ep_type, explicit=_explicit(_text(el, f"{ITUNES}explicit")),
        persons=_persons(el), transcripts=transcripts,
        chapters=Link(ch.get("url") or "", (ch.get("type") or "").lower())
        if ch is not None and ch.get("url") else None,
        image=_image(el), duration=parse_duration(_text(el, f"{ITUNES}duration")),
        extras=importextras.item_extras(el, where, notes))
