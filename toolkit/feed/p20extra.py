"""Podcasting 2.0 tags a show keeps for its apps, written into the feed: value for value,
trailers, location, podroll, txt (podcastindex namespace, docs/tags/*.md).

Called by the feed's Podcasting 2.0 extension (toolkit.feed.rss `_P20Feed`, `_P20Entry`)
with the channel or item element; every text passes the same XML-safety as the rest.
"""
from __future__ import annotations

import email.utils
from collections.abc import Callable
from pathlib import Path

from lxml import etree

from toolkit import model
from toolkit.standards.contenttypes import PODCAST_NS

Text = Callable[..., str]        # rss.xml_safe / rss.one_line: (text, where=, field=) -> str


def _sub(parent: etree._Element, tag: str, text: str | None = None,
         **attrs: str | None) -> etree._Element:
    el = etree.SubElement(parent, f"{{{PODCAST_NS}}}{tag}",
                          {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        el.text = text
    return el


def _values(parent: etree._Element, values: tuple[model.Value, ...], where: Path | None,
            safe: Text) -> None:
    for v in values:
        block = _sub(parent, "value", type=v.type, method=v.method, suggested=v.suggested)
        for r in v.recipients:
            _sub(block, "valueRecipient",
                 name=safe(r.name, where=where, field="value.recipients.name") if r.name else None,
                 customKey=r.custom_key, customValue=r.custom_value, type=r.type,
                 address=safe(r.address, where=where, field="value.recipients.address"),
                 split=str(r.split), fee="true" if r.fee else None)


def _location(parent: etree._Element, loc: model.Location | None, where: Path | None,
              line: Text) -> None:
    if loc is not None:
        _sub(parent, "location", line(loc.name, where=where, field="location.name"),
             rel=loc.rel, geo=loc.geo, osm=loc.osm)


def _txts(parent: etree._Element, txts: tuple[model.Txt, ...], where: Path | None,
          safe: Text) -> None:
    for t in txts:
        _sub(parent, "txt", safe(t.text, where=where, field="txt.text"),
             purpose=safe(t.purpose, where=where, field="txt.purpose") if t.purpose else None)


def channel(el: etree._Element, show: model.Show, *, safe: Text, line: Text) -> None:
    """The channel's value blocks, trailers, location, podroll and txt."""
    w = show.path
    _values(el, show.value, w, safe)
    for t in show.trailers:
        _sub(el, "trailer", line(t.title, where=w, field="trailers.title"),
             pubdate=email.utils.format_datetime(t.date), url=t.url,
             length=str(t.length) if t.length is not None else None, type=t.type,
             season=str(t.season) if t.season is not None else None)
    _location(el, show.location, w, line)
    if show.podroll:
        roll = _sub(el, "podroll")
        for r in show.podroll:
            _sub(roll, "remoteItem", feedGuid=r.feed_guid, feedUrl=r.feed_url,
                 itemGuid=r.item_guid, medium=r.medium)
    _txts(el, show.txts, w, safe)


def item(el: etree._Element, ep: model.Episode, *, safe: Text, line: Text) -> None:
    """An item's own value blocks (they replace the channel's for it), location and txt."""
    _values(el, ep.value, ep.path, safe)
    _location(el, ep.location, ep.path, line)
    _txts(el, ep.txts, ep.path, safe)
