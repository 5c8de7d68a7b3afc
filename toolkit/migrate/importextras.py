"""What `podkit import` reads beyond the basics: the Podcasting 2.0 tags a show's apps use
(value for value, trailers, location, podroll, txt, soundbites, season names, episode
display), the item's itunes:summary as its summary, non-audio enclosures, and the list
of every tag left behind.

    extras = channel_extras(channel_element, notes)   # -> Extras(table, unmapped)
    extras = item_extras(item_element, where, notes)

`table` holds TOML-ready keys for feeds/<id>.toml or episode.toml (checked here with
the same rules `podkit check` applies, toolkit.standards.p20: what would fail is left
out with a note); `unmapped` names each tag podkit does not carry, which the importer
reports as one `not mapped:` line per tag. Pure: no I/O.
"""
from __future__ import annotations

import datetime as dt
import email.utils
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

from toolkit.standards import contenttypes
from toolkit.standards import p20 as spec

_P20 = (f"{{{contenttypes.PODCAST_NS}}}", f"{{{contenttypes.PODCAST_NS_OLD}}}")
#: Prefixes for the namespaces feeds use, to name a tag the way its feed writes it.
PREFIXES = {contenttypes.ITUNES_NS: "itunes", contenttypes.CONTENT_NS: "content",
            contenttypes.ATOM_NS: "atom", contenttypes.PODCAST_NS: "podcast",
            contenttypes.PODCAST_NS_OLD: "podcast",
            "http://www.google.com/schemas/play-podcasts/1.0": "googleplay",
            "http://search.yahoo.com/mrss/": "media", "http://purl.org/dc/elements/1.1/": "dc",
            "http://www.spotify.com/ns/rss": "spotify", "http://podlove.org/simple-chapters": "psc",
            "http://purl.org/rss/1.0/modules/syndication/": "sy",
            "http://www.rssboard.org/media-rss": "media"}

#: Channel tags podkit carries (importfeed, importmap, this module) ...
CHANNEL_MAPPED = {
    "title", "description", "link", "language", "copyright", "image", "item",
    "itunes:author", "itunes:owner", "itunes:explicit", "itunes:type", "itunes:category",
    "itunes:image", "itunes:summary", "itunes:keywords", "itunes:new-feed-url",
    "podcast:guid", "podcast:locked", "podcast:funding", "podcast:person", "podcast:license",
    "podcast:medium", "podcast:value", "podcast:trailer", "podcast:location", "podcast:podroll",
    "podcast:txt"}
#: ... and those it writes anew from its own facts (dates of the newest episode, its own
#: self link, generator), which are not losses.
CHANNEL_REGENERATED = {"lastBuildDate", "pubDate", "generator", "docs", "atom:link"}
ITEM_MAPPED = {
    "title", "guid", "pubDate", "description", "content:encoded", "enclosure", "itunes:title",
    "itunes:subtitle", "itunes:summary", "itunes:image", "itunes:episode", "itunes:season",
    "itunes:episodeType", "itunes:explicit", "itunes:keywords", "podcast:transcript",
    "podcast:chapters", "podcast:person", "podcast:soundbite", "podcast:season",
    "podcast:episode", "podcast:value", "podcast:location", "podcast:txt"}
#: The item's page link and duration: podkit publishes its own page and measures the file.
ITEM_REGENERATED = {"link", "itunes:duration"}
#: Enclosure types carried as delivered although podkit cannot master them (video).
DELIVERED_TYPES = {"video/mp4": ".mp4", "video/x-m4v": ".m4v", "video/quicktime": ".mov"}


@dataclass(frozen=True)
class Extras:
    """What one channel or item adds to its TOML table, and the tags left behind."""

    table: dict[str, Any] = field(default_factory=dict)
    unmapped: tuple[str, ...] = ()


def tag_name(tag: str) -> str:
    """`{uri}local` as its feed would write it: `itunes:author`, `podcast:value`."""
    if tag.startswith("{"):
        uri, local = tag[1:].split("}", 1)
        return f"{PREFIXES[uri]}:{local}" if uri in PREFIXES else f"{{{uri}}}{local}"
    return tag


def _all(el: Element, tag: str) -> list[Element]:
    return [f for ns in _P20 for f in el.findall(ns + tag)]


def _text(el: Element) -> str:
    return " ".join((el.text or "").split())


def _https(url: str | None) -> bool:
    return bool(url) and url.startswith("https://") and url.isascii() and \
        not any(c.isspace() for c in url)  # type: ignore[union-attr]


def _unmapped(el: Element, mapped: set[str], regenerated: set[str]) -> tuple[str, ...]:
    names = [tag_name(c.tag) for c in el if isinstance(c.tag, str)]
    return tuple(dict.fromkeys(n for n in names if n not in mapped and n not in regenerated))


def channel_extras(channel: Element, notes: list[str]) -> Extras:
    """The channel's value blocks, trailers, location, podroll and txt, as feed TOML keys."""
    where = "channel"
    table: dict[str, Any] = {}
    _common(channel, where, table, notes)
    trailers = []
    for t in _all(channel, "trailer"):
        url, title = (t.get("url") or "").strip(), _text(t)
        when = _date(t.get("pubdate"))
        why = spec.text_problem(title, "title", spec.MAX_TITLE) or \
            (None if _https(url) else f"url {url!r} is not https://") or \
            (None if when else f"pubdate {t.get('pubdate')!r} is not an RFC 2822 date")
        if why:
            notes.append(f"{where}: podcast:trailer: {why}: left out")
            continue
        entry: dict[str, Any] = {"title": title, "url": url, "date": when}
        for key in ("length", "season"):
            value = (t.get(key) or "").strip()
            if value.isdigit() and int(value) > 0:
                entry[key] = int(value)
        if t.get("type") and not spec.mime_problem(t.get("type")):
            entry["type"] = t.get("type")
        trailers.append(entry)
    if trailers:
        table["trailers"] = trailers
    roll = []
    for r in (r for p in _all(channel, "podroll") for r in _all(p, "remoteItem")):
        guid = (r.get("feedGuid") or "").strip()
        if why := spec.guid_problem(guid, "feedGuid"):
            notes.append(f"{where}: podcast:podroll: {why}: left out")
            continue
        entry = {"feed_guid": guid}
        url = r.get("feedUrl")
        if url and _https(url):
            entry["feed_url"] = url
        elif url:
            notes.append(f"{where}: podcast:podroll: feedUrl {url!r} is not https://: left out")
        for attr, key in (("itemGuid", "item_guid"), ("medium", "medium")):
            if r.get(attr):
                entry[key] = r.get(attr, "").strip()
        roll.append(entry)
    if roll:
        table["podroll"] = roll
    return Extras(table, _unmapped(channel, CHANNEL_MAPPED, CHANNEL_REGENERATED))


def item_extras(el: Element, where: str, notes: list[str]) -> Extras:
    """An item's soundbites, season name, episode display, value, location, txt, keywords
    and itunes:summary, as episode TOML keys (`summary_fallback`: see merge_item)."""
    table: dict[str, Any] = {}
    _common(el, where, table, notes)
    soundbites = []
    for sb in _all(el, "soundbite"):
        start, dur = _number(sb.get("startTime")), _number(sb.get("duration"))
        if start is None or dur is None or start < 0 or dur <= 0:
            notes.append(f"{where}: podcast:soundbite: startTime {sb.get('startTime')!r} / "
                         f"duration {sb.get('duration')!r} are not times: left out")
            continue
        entry: dict[str, Any] = {"start": start, "duration": dur}
        if _text(sb):
            entry["title"] = _text(sb)
        soundbites.append(entry)
    if soundbites:
        table["soundbites"] = soundbites
    for tag, attr, key in (("season", "name", "season_name"), ("episode", "display",
                                                                "episode_display")):
        found = _all(el, tag)
        if found and (found[0].get(attr) or "").strip():
            table[key] = " ".join(found[0].get(attr, "").split())
        if found and tag == "season" and _text(found[0]).isdigit() and int(_text(found[0])) > 0:
            table["_season"] = int(_text(found[0]))     # when itunes:season is missing
    keywords = el.find(f"{{{contenttypes.ITUNES_NS}}}keywords")
    if keywords is not None:
        words = [k.strip() for k in (keywords.text or "").split(",") if k.strip()]
        if words:
            table["keywords"] = words
    summary = el.find(f"{{{contenttypes.ITUNES_NS}}}summary")
    if summary is not None and (summary.text or "").strip():
        table["_summary"] = summary.text
    return Extras(table, _unmapped(el, ITEM_MAPPED, ITEM_REGENERATED))


def _common(el: Element, where: str, table: dict[str, Any], notes: list[str]) -> None:
    """Value blocks, location and txt: the tags channel and item share."""
    values = [v for v in (_value(v, where, notes) for v in _all(el, "value")) if v]
    if values:
        table["value"] = values
    locations = _all(el, "location")
    if locations:
        loc = locations[0]
        entry: dict[str, Any] = {"name": _text(loc)}
        if why := spec.text_problem(entry["name"], "name", spec.MAX_TITLE):
            notes.append(f"{where}: podcast:location: {why}: left out")
        else:
            for attr, check in (("geo", spec.geo_problem), ("osm", spec.osm_problem),
                                ("rel", spec.rel_problem)):
                value = (loc.get(attr) or "").strip() or None
                if value and (why := check(value)):
                    notes.append(f"{where}: podcast:location: {why}: left out")
                elif value:
                    entry[attr] = value
            table["location"] = entry
        if len(locations) > 1:
            notes.append(f"{where}: podcast:location: {len(locations) - 1} more: only the "
                         "first is kept")
    txts = []
    for t in _all(el, "txt"):
        text, purpose = (t.text or "").strip(), t.get("purpose")
        why = spec.text_problem(text, "text", spec.MAX_TXT) or \
            (spec.text_problem(purpose, "purpose", spec.MAX_PURPOSE) if purpose else None)
        if why:
            notes.append(f"{where}: podcast:txt: {why}: left out")
            continue
        txts.append({"text": text, **({"purpose": purpose} if purpose else {})})
    if txts:
        table["txt"] = txts


def _value(v: Element, where: str, notes: list[str]) -> dict[str, Any] | None:
    vtype, method = (v.get("type") or "").strip(), (v.get("method") or "").strip()
    suggested = (v.get("suggested") or "").strip() or None
    why = spec.slug_problem(vtype, "type") or spec.slug_problem(method, "method") or \
        spec.suggested_problem(suggested)
    recipients = []
    for r in _all(v, "valueRecipient"):
        rtype, address, split = (r.get(k, "").strip() for k in ("type", "address", "split"))
        rwhy = spec.slug_problem(rtype, "type") or (None if address else "address is required") \
            or spec.split_problem(split)
        if rwhy:
            why = why or f"recipient {r.get('name') or address!r}: {rwhy}"
            continue
        entry: dict[str, Any] = {"type": rtype, "address": address, "split": int(split)}
        for attr, key in (("name", "name"), ("customKey", "custom_key"),
                          ("customValue", "custom_value")):
            if (r.get(attr) or "").strip():
                entry[key] = r.get(attr, "").strip()
        if (r.get("fee") or "").strip().lower() == "true":
            entry["fee"] = True
        recipients.append(entry)
    why = why or spec.recipients_problem([r["split"] for r in recipients])
    if why:
        # A block that pays the wrong people is worse than none: all or nothing.
        notes.append(f"{where}: podcast:value: {why}: the block is left out")
        return None
    extra = [tag_name(c.tag) for c in v if isinstance(c.tag, str)
             and tag_name(c.tag) != "podcast:valueRecipient"]
    for name in dict.fromkeys(extra):
        notes.append(f"{where}: podcast:value: {name}: not mapped (the recipients are kept)")
    return {"type": vtype, "method": method, **({"suggested": suggested} if suggested else {}),
            "recipients": recipients}


def _number(text: str | None) -> float | None:
    try:
        value = float((text or "").strip())
    except ValueError:
        return None
    return value if value == value and value not in (float("inf"), float("-inf")) else None


def _date(text: str | None) -> dt.datetime | None:
    try:
        when = email.utils.parsedate_to_datetime((text or "").strip())
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else None


def delivered_name(url: str, mime: str) -> str | None:
    """The file name a video enclosure is carried under (video.mp4), None for other types."""
    ext = DELIVERED_TYPES.get(mime.split(";")[0].strip().lower())
    if ext is None and mime.lower().startswith("video/"):
        suffix = os.path.splitext(url.split("?")[0].split("#")[0])[1].lower()
        ext = suffix if suffix in DELIVERED_TYPES.values() else None
    return f"video{ext}" if ext else None


def merge_item(table: dict[str, Any], extras: Extras | None) -> None:
    """Add an item's extras to its episode table: summary from itunes:summary when there is
    no other, season number from podcast:season when itunes:season is missing."""
    if extras is None:
        return
    from toolkit.migrate.importfeed import plain_text     # (importfeed imports this module)
    found = dict(extras.table)
    summary, season = found.pop("_summary", None), found.pop("_season", None)
    if summary and not table.get("summary"):
        text = plain_text(summary)
        table["summary"] = text if len(text) <= 600 else text[:600].rsplit(" ", 1)[0] + " …"
    if season and "season" not in table:
        table["season"] = season
    if "season_name" in found and "season" not in table:
        found.pop("season_name")      # a name needs its number (podcast:season writes both)
    for key, value in found.items():
        table.setdefault(key, value)


def unmapped_lines(where_tags: Iterable[tuple[str, tuple[str, ...]]]) -> list[str]:
    """One `not mapped` note per tag: the channel's by name, the items' with their count."""
    lines, items = [], Counter[str]()
    for where, tags in where_tags:
        if where == "channel":
            lines += [f"channel: {t}: podkit has no place for it (left out)" for t in tags]
        else:
            items.update(tags)
    lines += [f"items: {t}: podkit has no place for it, in {n} item(s) (left out)"
              for t, n in sorted(items.items())]
    return lines
