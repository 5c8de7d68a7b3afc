"""Rules every feed <item> must satisfy (RSS 2.0, Apple, Podcasting 2.0), on the parsed tree."""
from __future__ import annotations

from email.utils import parsedate_to_datetime

from toolkit.feed import p20rules
from toolkit.feed.findings import Report
from toolkit.feed.rules import (
    CHAPTERS_MIME,
    ENCLOSURE_EXT,
    ITUNES,
    RFC2822_RE,
    TRANSCRIPT_EXT,
    TRANSCRIPT_TYPES,
    Item,
    ParsedFeed,
    check_description,
    check_explicit,
    check_person,
    check_url,
    is_url,
    text,
)
from toolkit.standards import renditions, stdcheck

#: Below this an enclosure cannot be a real episode: most likely a duration or a typo.
MIN_ENCLOSURE_BYTES = 1024


def check_items(feed: ParsedFeed, report: Report) -> None:
    """Check every item, then the rules across items (unique guids and enclosure URLs)."""
    guids: dict[str, int] = {}
    urls: dict[str, int] = {}
    for it in feed.items:
        _rss(it, report, guids, urls)
        _apple(it, report)
        _p20(it, feed.p20, report)
    _p20_urls(feed, report)


def _ext(url: str) -> str:
    path = url.split("?")[0].split("#")[0]
    last = path.rsplit("/", 1)[-1]
    return last.rsplit(".", 1)[-1].lower() if "." in last else ""


def _rss(it: Item, report: Report, guids: dict[str, int], urls: dict[str, int]) -> None:
    # The RSS item rules in the order docs/feed.md lists them.
    _rss_identity(it, report, guids)
    _rss_enclosure(it, report, urls)


def _rss_identity(it: Item, report: Report, guids: dict[str, int]) -> None:
    """Title, guid (present, unique, isPermaLink right) and pubDate."""
    el, i = it.el, it.id
    if not text(el.find("title")):
        report.error("rss.item.title", i, "title", f"item {it.index} has no <title>")
    guid_el = el.find("guid")
    guid = text(guid_el)
    if not guid:
        report.error("rss.item.guid", i, "guid", "no <guid>; apps identify episodes by it")
    elif guid in guids:
        report.error("rss.item.guid.unique", i, "guid",
                     f"item {guids[guid]} has the same guid; Apple ignores the later one")
    else:
        guids[guid] = it.index
        # RSS 2.0: isPermaLink defaults to true, which claims the guid is a URL.
        if guid_el is not None and guid_el.get("isPermaLink", "true") != "false" and not is_url(guid):
            report.error("rss.item.guid.permalink", i, "guid@isPermaLink",
                         'a guid that is not a URL needs isPermaLink="false"')
    pub = text(el.find("pubDate"))
    if not pub:
        report.error("rss.item.pubdate", i, "pubDate", "no <pubDate>")
    else:
        try:
            ok = bool(RFC2822_RE.match(pub)) and not stdcheck.date_problem(parsedate_to_datetime(pub))
        except (TypeError, ValueError):
            ok = False
        if not ok:
            report.error("rss.item.pubdate", i, "pubDate",
                         f"{pub!r} is not an RFC 2822 date with a zone "
                         "('Thu, 07 Mar 2019 18:00:00 +0900')")


def _rss_enclosure(it: Item, report: Report, urls: dict[str, int]) -> None:
    """The enclosure: one, complete, a unique URL, a byte length, a type that fits it."""
    el, i = it.el, it.id
    encs = el.findall("enclosure")
    if not encs:
        report.error("rss.item.enclosure", i, "enclosure", "no <enclosure> (the episode's media)")
        return
    if len(encs) > 1:
        report.warning("rss.item.enclosure", i, "enclosure",
                       f"{len(encs)} enclosures; apps use only the first")
    enc = encs[0]
    for attr in ("url", "length", "type"):
        if not enc.get(attr, "").strip():
            report.error("rss.item.enclosure", i, f"enclosure@{attr}", f"enclosure has no {attr}")
    url, mime, length = enc.get("url", "").strip(), enc.get("type", "").strip(), \
        enc.get("length", "").strip()
    if url:
        check_url(report, i, "enclosure@url", url)
        if url in urls:
            report.error("rss.item.enclosure.unique", i, "enclosure@url",
                         f"item {urls[url]} has the same enclosure URL")
        urls.setdefault(url, it.index)
    if length and not length.isdigit():
        report.error("rss.item.enclosure.length", i, "enclosure@length",
                     f"{length!r} is not a whole number of bytes")
    elif length:
        n = int(length)
        if it.duration is not None and n > 0 and abs(n - it.duration) <= 1:
            report.error("rss.item.enclosure.length", i, "enclosure@length",
                         f"{n} equals itunes:duration; length is the file's size in bytes")
        elif n < MIN_ENCLOSURE_BYTES:
            report.error("rss.item.enclosure.length", i, "enclosure@length",
                         f"{n} bytes is not a media file's size")
    expected = ENCLOSURE_EXT.get(_ext(url))
    if mime and expected and mime not in expected:
        report.error("rss.item.enclosure.type", i, "enclosure@type",
                     f"{mime!r} for a .{_ext(url)} file; use {expected[0]}")
    elif mime and not expected and not mime.startswith(("audio/", "video/")):
        report.warning("rss.item.enclosure.type", i, "enclosure@type",
                       f"{mime!r} is not an audio or video type")


def _apple(it: Item, report: Report) -> None:
    el, i = it.el, it.id
    dur = el.find(ITUNES + "duration")
    if dur is None:
        report.warning("apple.duration", i, "itunes:duration", "no itunes:duration")
    elif it.duration is None:
        report.error("apple.duration", i, "itunes:duration",
                     f"{text(dur)!r} is not a duration (seconds, or h:mm:ss)")
    elif not text(dur).isdigit():
        report.warning("apple.duration", i, "itunes:duration",
                       f"{text(dur)!r}: Apple asks for whole seconds")
    for tag, rule in (("episode", "apple.episode"), ("season", "apple.season")):
        num = el.find(ITUNES + tag)
        if num is not None and not (text(num).isdigit() and int(text(num)) > 0):
            report.error(rule, i, f"itunes:{tag}", f"{text(num)!r} is not a positive integer")
    kind = el.find(ITUNES + "episodeType")
    if kind is not None and text(kind) not in ("full", "trailer", "bonus"):
        report.error("apple.episode-type", i, "itunes:episodeType",
                     f"{text(kind)!r}; use full, trailer or bonus")
    explicit = el.find(ITUNES + "explicit")
    if explicit is not None:
        check_explicit(report, i, explicit)
    image = el.find(ITUNES + "image")
    if image is not None:
        href = image.get("href", "").strip()
        check_url(report, i, "itunes:image@href", href)
        if not href.lower().split("?")[0].endswith((".jpg", ".jpeg", ".png")):
            report.error("apple.image", i, "itunes:image@href",
                         f"episode art must be a .jpg or .png file: {href}")
    desc = el.find("description")
    if desc is not None:
        check_description(report, i, "description", desc.text or "")


def _p20(it: Item, p20: str, report: Report) -> None:
    el, i = it.el, it.id
    p20rules.check_common(el, i, p20, report)
    for t in el.findall(p20 + "transcript"):
        url, mime, rel = t.get("url", ""), t.get("type", ""), t.get("rel")
        if not url or not mime:
            report.error("p20.transcript", i, "podcast:transcript", "needs url and type")
        elif mime not in TRANSCRIPT_TYPES:
            report.error("p20.transcript", i, "podcast:transcript@type",
                         f"{mime!r}; use one of {', '.join(sorted(TRANSCRIPT_TYPES))}")
        elif TRANSCRIPT_EXT.get(_ext(url), mime) != mime:
            report.warning("p20.transcript", i, "podcast:transcript@type",
                           f"{mime!r} for a .{_ext(url)} file")
        if rel is not None and rel != "captions":
            report.warning("p20.transcript", i, "podcast:transcript@rel",
                           f"{rel!r}; the only defined rel is captions")
        elif rel == "captions" and mime in ("text/plain", "text/html"):
            report.warning("p20.transcript", i, "podcast:transcript@rel",
                           f"rel=captions on {mime}, which has no timing")
    for ch in el.findall(p20 + "chapters"):
        if not ch.get("url"):
            report.error("p20.chapters", i, "podcast:chapters@url", "podcast:chapters needs a url")
        if ch.get("type") != CHAPTERS_MIME:
            report.error("p20.chapters", i, "podcast:chapters@type",
                         f"{ch.get('type')!r}; use {CHAPTERS_MIME}")
    for tag in ("season", "episode"):
        for num in el.findall(p20 + tag):
            try:
                float(text(num))
            except ValueError:
                report.error("p20.value", i, f"podcast:{tag}", f"{text(num)!r} is not a number")
    for sb in el.findall(p20 + "soundbite"):
        try:
            ok = float(sb.get("startTime", "")) >= 0 and float(sb.get("duration", "")) > 0
        except ValueError:
            ok = False
        if not ok:
            report.error("p20.value", i, "podcast:soundbite",
                         "startTime (>= 0) and duration (> 0) must be seconds")
    for p in el.findall(p20 + "person"):
        check_person(report, i, p)
    _alternates(it, p20, report)


def _alternates(it: Item, p20: str, report: Report) -> None:
    """podcast:alternateEnclosure: a type matching its file, numbers where numbers go, a
    podcast:source with an absolute https uri, at most one default (the enclosure's file)."""
    el, i = it.el, it.id
    enc = el.find("enclosure")
    enclosure_url = (enc.get("url") or "").strip() if enc is not None else ""
    defaults = 0
    for n, alt in enumerate(el.findall(p20 + "alternateEnclosure")):
        field = f"podcast:alternateEnclosure[{n}]"
        mime = alt.get("type", "").strip()
        uris = [(s.get("uri") or "").strip() for s in alt.findall(p20 + "source")]
        if not mime:
            report.error("p20.alternateEnclosure", i, f"{field}@type", "needs a type")
        if not uris or not all(uris):
            report.error("p20.alternateEnclosure", i, f"{field}/podcast:source",
                         "needs a podcast:source with a uri")
        for attr in ("length", "bitrate"):
            value = alt.get(attr)
            if value is not None and not value.strip().isdigit():
                rule = "p20.alternateEnclosure.length" if attr == "length" \
                    else "p20.alternateEnclosure"
                report.error(rule, i, f"{field}@{attr}", f"{value!r} is not a whole number"
                             + (" of bytes" if attr == "length" else " of bits per second"))
        default = alt.get("default")
        if default is not None and default not in ("true", "false"):
            report.error("p20.alternateEnclosure", i, f"{field}@default",
                         f"{default!r}; use true or false")
        if default == "true":
            defaults += 1
            if enclosure_url and enclosure_url not in uris:
                report.error("p20.alternateEnclosure", i, f"{field}@default",
                             "default=\"true\" says this is the enclosure's file, but no "
                             "source is the enclosure's URL")
        for uri in (u for u in uris if u):
            if not is_url(uri):
                report.error("p20.alternateEnclosure", i, f"{field}/podcast:source@uri",
                             f"not an absolute http(s) URL: {uri}")
            elif not uri.startswith("https://"):
                report.error("p20.url.https", i, f"{field}/podcast:source@uri",
                             f"not an https URL: {uri}")
            expected = _types(uri)
            if mime and expected and mime not in expected:
                report.error("p20.alternateEnclosure.type", i, f"{field}@type",
                             f"{mime!r} for a .{_ext(uri)} file; use {expected[0]}")
    if defaults > 1:
        report.error("p20.alternateEnclosure", i, "podcast:alternateEnclosure@default",
                     f"{defaults} alternate enclosures say default=\"true\"; at most one may")


def _types(url: str) -> tuple[str, ...]:
    """The MIME types a media file's extension allows: podkit's own (the renditions
    registry) first, then the ones other producers use (ENCLOSURE_EXT)."""
    fmt = renditions.by_ext(_ext(url))
    own = (fmt.mime,) if fmt else ()
    return own + tuple(t for t in ENCLOSURE_EXT.get(_ext(url), ()) if t not in own)


def _p20_urls(feed: ParsedFeed, report: Report) -> None:
    """Every url/href/img attribute of a podcast: tag, on the channel or an item, is https [PI]."""
    scopes = [("channel", list(feed.channel))] + [(it.id, list(it.el)) for it in feed.items]
    for where, children in scopes:
        for el in children:
            if not isinstance(el.tag, str) or not el.tag.startswith(feed.p20):
                continue
            tag = "podcast:" + el.tag[len(feed.p20):]
            for attr in ("url", "href", "img"):
                value = el.get(attr)
                if value is not None and not value.startswith("https://"):
                    report.error("p20.url.https", where, f"{tag}@{attr}",
                                 f"not an https URL: {value}")
