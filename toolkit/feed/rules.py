"""Rules any podcast feed must satisfy: RSS 2.0, Apple Podcasts, Podcasting 2.0.

Works on the parsed tree only (no network, no files); `toolkit.feed.builtfiles` adds the
checks of our own feed against the built files. Sources and the reasons behind each
rule are in specs/feed.md; rule ids and one-line summaries are in `findings.RULES`.
"""
from __future__ import annotations

import functools
import json
import re
import uuid
from dataclasses import dataclass
from importlib import resources
from xml.etree.ElementTree import Element

from toolkit.feed import p20rules
from toolkit.feed.findings import Report
from toolkit.standards import contenttypes, stdcheck
from toolkit.standards.categories import check_category

ITUNES_URI = contenttypes.ITUNES_NS
ITUNES = "{" + ITUNES_URI + "}"
ATOM = "{" + contenttypes.ATOM_NS + "}"
P20_URI = contenttypes.PODCAST_NS
#: The namespace's first home; some parsers (podcastparser) still only know this one.
P20_LEGACY_URI = contenttypes.PODCAST_NS_OLD

TRANSCRIPT_TYPES = {"text/plain", "text/html", "text/vtt", "application/json",
                    "application/x-subrip"}
TRANSCRIPT_EXT = {"txt": "text/plain", "html": "text/html", "htm": "text/html", "vtt": "text/vtt",
                  "json": "application/json", "srt": "application/x-subrip"}
#: Enclosure MIME types by file extension, Apple's preferred one first.
ENCLOSURE_EXT = {"mp3": ("audio/mpeg",), "m4a": ("audio/x-m4a", "audio/mp4"),
                 "mp4": ("video/mp4",), "m4v": ("video/x-m4v", "video/mp4"),
                 "mov": ("video/quicktime",), "pdf": ("application/pdf",),
                 "ogg": ("audio/ogg",), "opus": ("audio/ogg", "audio/opus")}
MEDIUMS = {"podcast", "music", "video", "film", "audiobook", "newsletter", "blog", "publisher",
           "course", "mixed"}
CHAPTERS_MIME = contenttypes.CHAPTERS_TYPE
DESCRIPTION_TAGS = {"p", "ol", "ul", "li", "a"}
MAX_DESCRIPTION_BYTES = 4000

_URL_BAD_CHAR = re.compile(r"[^!-~]")     # anything but printable ASCII (spaces included)
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TAG_RE = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)(?=[\s/>])")
_XMLNS_RE = re.compile(r"xmlns:([A-Za-z_][\w.-]*)\s*=\s*([\"'])(.*?)\2")
RFC2822_RE = re.compile(
    r"^(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|"
    r"Nov|Dec) \d{4} \d{2}:\d{2}(?::\d{2})? (?:[+-]\d{4}|UT|GMT|Z|[ECMP][SD]T)$")
_DURATION_RE = re.compile(r"^(?:(?:(\d+):)?(\d{1,2}):)?(\d+)(\.\d+)?$")


@dataclass
class Item:
    """One <item>, with the name findings use for it."""

    el: Element
    id: str
    index: int
    duration: float | None      # itunes:duration in seconds, when readable


@dataclass
class ParsedFeed:
    """The parts of a feed the own-file checks need."""

    channel: Element
    items: list[Item]
    p20: str                    # "{uri}" the feed's podcast: tags use


def text(el: Element | None) -> str:
    """The stripped text of an element ('' when absent)."""
    return (el.text or "").strip() if el is not None else ""


def is_url(value: str) -> bool:
    """True for an absolute http(s) URL."""
    return value.startswith(("http://", "https://"))


def parse_duration(value: str) -> float | None:
    """itunes:duration ('61', '1:01', '0:01:01') in seconds; None when malformed ('99:99')."""
    m = _DURATION_RE.match(value.strip())
    if not m:
        return None
    h, mnt, s, frac = m.groups()
    if (mnt is not None or h is not None) and int(s) > 59 or (h is not None and int(mnt) > 59):
        return None
    return int(h or 0) * 3600 + int(mnt or 0) * 60 + int(s) + float(frac or 0)


def check_url(report: Report, item: str, field: str, url: str) -> None:
    """A media URL is https and plain ASCII without spaces (Apple rejects the rest, apps mangle it)."""
    if not url.startswith("https://"):
        report.error("url.https", item, field, f"not an https URL: {url}")
    if _URL_BAD_CHAR.search(url):
        report.error("url.ascii", item, field,
                     f"URL has spaces or non-ASCII characters; percent-encode them: {url!r}")


def check_description(report: Report, item: str, field: str, html: str) -> None:
    """Apple: at most 4000 bytes; only p, ol, ul, li and a survive in the HTML."""
    size = len(html.encode("utf-8"))
    if size > MAX_DESCRIPTION_BYTES:
        report.error("apple.description.length", item, field,
                     f"{size} bytes; Apple allows at most {MAX_DESCRIPTION_BYTES}")
    other = sorted({t.lower() for t in TAG_RE.findall(html)} - DESCRIPTION_TAGS)
    if other:
        report.warning("apple.description.html", item, field,
                       f"Apple shows only p, ol, ul, li and a; drops: {', '.join(other)}")


def check_explicit(report: Report, item: str, el: Element) -> None:
    """itunes:explicit is true or false; yes/no/clean are legacy values."""
    value = text(el)
    if value not in ("true", "false"):
        legacy = " (a legacy value)" if value.lower() in ("yes", "no", "clean", "explicit") else ""
        report.error("apple.explicit", item, "itunes:explicit",
                     f"{value!r}{legacy}; use true or false")


@functools.lru_cache(maxsize=None)
def person_taxonomy() -> dict[str, tuple[str, ...]]:
    """The Podcast Taxonomy's groups and their roles (toolkit/data/podcast_taxonomy.json)."""
    data = json.loads(resources.files("toolkit").joinpath("data/podcast_taxonomy.json")
                      .read_text("utf-8"))
    return {k: tuple(v) for k, v in data.items() if not k.startswith("_")}


def check_person(report: Report, item: str, el: Element) -> None:
    """podcast:person: a name as its text; role and group from the Podcast Taxonomy [PI].

    Case-insensitive, as the spec says. A role is matched against an explicit group only:
    without one the spec assumes cast, yet real feeds write role="producer" alone and mean
    the producer, so that is no finding.
    """
    if not text(el):
        report.error("p20.person", item, "podcast:person", "podcast:person needs a name as its text")
    groups = {g.lower(): g for g in person_taxonomy()}
    roles: dict[str, list[str]] = {}
    for g, rs in person_taxonomy().items():
        for r in rs:
            roles.setdefault(r.lower(), []).append(g.lower())
    role, group = el.get("role"), el.get("group")
    if group is not None and group.strip().lower() not in groups:
        report.warning("p20.person", item, "podcast:person@group",
                       f"{group!r} is not a group in the Podcast Taxonomy "
                       f"({', '.join(g.lower() for g in groups.values())})")
    if role is not None and role.strip().lower() not in roles:
        report.warning("p20.person", item, "podcast:person@role",
                       f"{role!r} is not a role in the Podcast Taxonomy (podcasttaxonomy.com)")
    elif role is not None and group is not None and group.strip().lower() in groups \
            and group.strip().lower() not in roles[role.strip().lower()]:
        report.warning("p20.person", item, "podcast:person@role",
                       f"{role!r} is not a role of the group {group!r} (it is in "
                       f"{' and '.join(roles[role.strip().lower()])}); apps list people by group")


def _declarations(raw: str, report: Report) -> str:
    """Check the namespace declarations on the document's text; return the P2.0 namespace."""
    decls = [(p, u) for p, _, u in _XMLNS_RE.findall(raw)]
    uris = {u for _, u in decls}
    if ITUNES_URI not in uris:
        wrong = sorted(u for u in uris if u.lower() == ITUNES_URI.lower())
        msg = (f"declared as {wrong[0]}; the URI is case-sensitive: {ITUNES_URI}" if wrong
               else f"the iTunes namespace {ITUNES_URI} is not declared")
        report.error("rss.namespace.itunes", "feed", "xmlns:itunes", msg)
    p20 = P20_URI
    for prefix, uri in decls:
        if uri in (P20_URI, P20_LEGACY_URI):
            p20 = uri
            if prefix != "podcast":
                report.error("p20.namespace", "feed", f"xmlns:{prefix}",
                             "bind the Podcasting 2.0 namespace to the prefix 'podcast': "
                             "Podcast Index's and Podverse's parsers match it literally")
            if uri == P20_LEGACY_URI:
                report.warning("p20.namespace", "feed", f"xmlns:{prefix}",
                               f"old namespace URI; use {P20_URI}")
        elif prefix == "podcast":
            report.error("p20.namespace", "feed", "xmlns:podcast",
                         f"the prefix 'podcast' is bound to {uri}, not {P20_URI}")
    return "{" + p20 + "}"


def check_feed(raw: str, root: Element, report: Report, *,
               own_feed_url: str | None = None) -> ParsedFeed | None:
    """Check the document and channel rules; the parsed parts, or None when there is no channel."""
    p20 = _declarations(raw, report)
    if root.tag != "rss" or root.get("version") != "2.0":
        report.error("rss.version", "feed", "rss", f"root element is <{root.tag}> version "
                     f"{root.get('version')!r}; podcast feeds are <rss version=\"2.0\">")
    channel = root.find("channel")
    if channel is None:
        report.error("rss.version", "feed", "channel", "no <channel> element")
        return None
    items = [_item(el, i) for i, el in enumerate(channel.findall("item"), 1)]
    _channel_rss(channel, report, own_feed_url)
    _channel_apple(channel, items, report)
    _channel_p20(channel, p20, report)
    return ParsedFeed(channel, items, p20)


def _item(el: Element, index: int) -> Item:
    name = text(el.find("guid")) or text(el.find("title")) or f"item {index}"
    dur = el.find(ITUNES + "duration")
    return Item(el, name, index, parse_duration(text(dur)) if dur is not None else None)


def _channel_rss(channel: Element, report: Report, own_feed_url: str | None) -> None:
    c = "channel"
    for tag in ("title", "description"):
        if not text(channel.find(tag)):
            report.error(f"rss.channel.{tag}", c, tag, f"the channel has no <{tag}>")
    check_description(report, c, "description", text(channel.find("description")))
    selfs = [el.get("href", "") for el in channel.findall(ATOM + "link") if el.get("rel") == "self"]
    if not selfs or not selfs[0]:
        report.error("rss.channel.self", c, "atom:link",
                     'no atom:link rel="self" with the canonical feed URL')
    elif own_feed_url is not None and selfs[0] != own_feed_url:
        report.error("rss.channel.self", c, "atom:link@href",
                     f"{selfs[0]} is not the feed's URL {own_feed_url}")
    link = text(channel.find("link"))
    feed_urls = {u.rstrip("/") for u in [*selfs[:1], own_feed_url or ""] if u}
    if not link:
        report.error("rss.channel.link", c, "link", "the channel has no <link> to the show's website")
    elif not is_url(link):
        # RSS 2.0 asks for a URL; a relative one has nothing to be relative to in an app.
        report.error("rss.channel.link", c, "link",
                     f"{link!r} is not an absolute http(s) URL of the show's website")
    elif link.rstrip("/") in feed_urls:
        report.error("rss.channel.link", c, "link",
                     f"{link} is the feed itself; <link> must be the show's website")
    lang = text(channel.find("language"))
    if not lang:
        report.error("apple.language", c, "language", "no <language> (an ISO 639 code such as en)")
    elif problem := stdcheck.language_problem(lang):  # the rule `podkit check` applies too
        report.error("apple.language", c, "language", problem)


def _channel_apple(channel: Element, items: list[Item], report: Report) -> None:
    c = "channel"
    image = channel.find(ITUNES + "image")
    href = image.get("href", "").strip() if image is not None else ""
    if not href:
        report.error("apple.image", c, "itunes:image", "no itunes:image href (the show's artwork)")
    else:
        check_url(report, c, "itunes:image@href", href)
        if not href.lower().split("?")[0].endswith((".jpg", ".jpeg", ".png")):
            report.error("apple.image", c, "itunes:image@href",
                         f"artwork must be a .jpg or .png file: {href}")
    cats = channel.findall(ITUNES + "category")
    if not cats:
        report.error("apple.category", c, "itunes:category", "no itunes:category")
    for cat in cats:
        name = cat.get("text", "")
        subs: list[str | None] = [s.get("text", "") for s in cat.findall(ITUNES + "category")]
        for sub in subs or [None]:
            problem = check_category(name, sub)
            if problem:
                report.error("apple.category", c, "itunes:category", problem)
                break
    explicit = channel.find(ITUNES + "explicit")
    if explicit is None:
        report.error("apple.explicit", c, "itunes:explicit", "no itunes:explicit (true or false)")
    else:
        check_explicit(report, c, explicit)
    if not text(channel.find(ITUNES + "author")):
        report.warning("apple.author", c, "itunes:author", "no itunes:author")
    owner, email = channel.find(ITUNES + "owner"), channel.find(f"{ITUNES}owner/{ITUNES}email")
    if owner is None:
        report.warning("apple.owner.email", c, "itunes:owner",
                       "no itunes:owner with an itunes:email (validators still ask for it)")
    elif not text(email):
        report.warning("apple.owner.email", c, "itunes:owner/itunes:email",
                       "itunes:owner has no itunes:email (validators still ask for it)")
    elif not _EMAIL_RE.match(text(email)):
        report.warning("apple.owner.email", c, "itunes:owner/itunes:email",
                       f"{text(email)!r} is not an email address")
    kind = channel.find(ITUNES + "type")
    if kind is not None and text(kind) not in ("episodic", "serial"):
        report.error("apple.type", c, "itunes:type", f"{text(kind)!r}; use episodic or serial")
    if text(kind) == "serial":
        for it in items:
            if it.el.find(ITUNES + "episode") is None:
                report.error("apple.type.serial", it.id, "itunes:episode",
                             "a serial show numbers every episode")


def _channel_p20(channel: Element, p20: str, report: Report) -> None:
    c = "channel"
    guid = channel.find(p20 + "guid")
    if guid is None:
        report.warning("p20.guid", c, "podcast:guid", "no podcast:guid (UUIDv5 of the feed URL)")
    else:
        try:
            uuid.UUID(text(guid))
        except ValueError:
            report.error("p20.guid", c, "podcast:guid", f"{text(guid)!r} is not a UUID")
    locked = channel.find(p20 + "locked")
    if locked is not None:
        if text(locked) not in ("yes", "no"):
            report.error("p20.locked", c, "podcast:locked", f"{text(locked)!r}; use yes or no")
        owner = locked.get("owner")
        if owner is not None and not _EMAIL_RE.match(owner):
            report.warning("p20.locked", c, "podcast:locked@owner", f"{owner!r} is not an email")
    for f in channel.findall(p20 + "funding"):
        if not f.get("url"):
            report.error("p20.value", c, "podcast:funding@url", "podcast:funding needs a url")
    for p in channel.findall(p20 + "person"):
        check_person(report, c, p)
    p20rules.check_channel(channel, p20, report)
    medium = channel.find(p20 + "medium")
    if medium is not None and text(medium).removesuffix("L") not in MEDIUMS:
        report.warning("p20.value", c, "podcast:medium", f"{text(medium)!r} is not a known medium")
