"""The Podcasting 2.0 tables of feeds/<id>.toml and episode.toml: value for value,
trailers, location, podroll, txt (docs/formats.md), read and checked.

    [[value]]                          # feed or episode (an episode's replaces the feed's)
    type = "lightning"
    method = "keysend"
    suggested = "0.00000005000"
    [[value.recipients]]
    name = "Host"
    type = "node"
    address = "03ae9f91a0cb8ff43840e3c322c4c61f019d8c1c3cea15a25cfc425ac605e61a4a"
    split = 90

    [[trailers]]                       # feed only
    title = "Season 2 is coming"
    url = "https://media.example.org/show/trailer-s2.mp3"
    date = 2024-03-01T08:00:00Z
    length = 498537
    type = "audio/mpeg"
    season = 2

    [location]                         # feed or episode
    name = "Austin, TX"
    geo = "geo:30.2672,-97.7431"
    osm = "R113314"

    [[podroll]]                        # feed only
    feed_guid = "917393e3-1b1e-5cef-ace4-edaa54e1f810"
    feed_url = "https://example.org/other/feed.xml"

    [[txt]]                            # feed or episode
    text = "naj3eEZaWVVY9a38uhX8FekACyhtqP4JN"
    purpose = "verify"

The rules are toolkit.standards.p20's, which `podkit validate` applies to the XML.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from toolkit.config.show import MEDIUMS, check_https
from toolkit.config.tomlread import Table
from toolkit.model import Location, RemoteItem, Trailer, Txt, Value, ValueRecipient
from toolkit.standards import p20


def read_channel(t: Table) -> dict[str, Any]:
    """The feed's Podcasting 2.0 fields (keyword arguments of `Show`), problems recorded."""
    return {"value": read_value(t), "trailers": _trailers(t), "location": read_location(t),
            "podroll": _podroll(t), "txts": read_txts(t)}


def read_item(t: Table) -> dict[str, Any]:
    """An episode's Podcasting 2.0 fields (keyword arguments of `Episode`)."""
    return {"value": read_value(t), "location": read_location(t), "txts": read_txts(t)}


def _problem(t: Table, key: str, problem: str | None) -> bool:
    if problem:
        t.error(key, problem)
    return problem is None


def read_value(t: Table) -> tuple[Value, ...]:
    """`[[value]]` blocks with their `[[value.recipients]]`."""
    out = []
    for vt in t.tables("value"):
        vtype, method = vt.text("type", required=True), vt.text("method", required=True)
        suggested = vt.data.get("suggested") if vt.has("suggested") else None
        if isinstance(suggested, (int, float)) and not isinstance(suggested, bool):
            # A TOML float would be written back with float noise: keep what was meant.
            # repr is the shortest exact text of the float; Decimal writes it without an
            # exponent (5e-08 -> 0.00000005), as the spec's examples do.
            suggested = format(Decimal(repr(suggested)), "f")
        elif suggested is not None and not isinstance(suggested, str):
            vt.error("suggested", f"must be a decimal amount, not {suggested!r}")
            suggested = None
        ok = all([_problem(vt, "type", p20.slug_problem(vtype, "type")) if vtype else False,
                  _problem(vt, "method", p20.slug_problem(method, "method")) if method else False,
                  _problem(vt, "suggested", p20.suggested_problem(suggested))])
        recipients = []
        for rt in vt.tables("recipients"):
            rtype, address = rt.text("type", required=True), rt.text("address", required=True)
            split = rt.get("split", int, required=True)
            fee = bool(rt.flag("fee", default=False))
            name = rt.text("name")
            key, value = rt.text("custom_key"), rt.text("custom_value")
            if (key is None) != (value is None):
                rt.error("custom_key" if key is None else "custom_value",
                         "custom_key and custom_value go together")
            rt.finish()
            good = rtype is not None and address is not None and split is not None and \
                _problem(rt, "type", p20.slug_problem(rtype, "type")) and \
                _problem(rt, "split", p20.split_problem(split))
            if good:
                recipients.append(ValueRecipient(rtype, address, int(split), name, key, value,
                                                 fee))
            ok = ok and good
        if not vt.has("recipients") or recipients:
            ok = _problem(vt, "recipients", p20.recipients_problem(
                [r.split for r in recipients])) and ok
        vt.finish()
        if ok and vtype and method:
            out.append(Value(vtype, method, tuple(recipients), suggested))
    return tuple(out)


def _trailers(t: Table) -> tuple[Trailer, ...]:
    out = []
    for tt in t.tables("trailers"):
        title, url = tt.text("title", required=True), tt.text("url", required=True)
        date = tt.datetime("date", required=True)
        length, season = tt.integer("length", positive=True), tt.integer("season", positive=True)
        mime = tt.text("type")
        n = len(tt.problems)
        if title is not None:
            _problem(tt, "title", p20.text_problem(title, "title", p20.MAX_TITLE))
        check_https(tt, "url", url)
        _problem(tt, "type", p20.mime_problem(mime))
        tt.finish()
        if len(tt.problems) == n and title and url and date:
            out.append(Trailer(title, url, date, length, mime, season))
    return tuple(out)


def read_location(t: Table) -> Location | None:
    """`[location]`: a name, and optionally geo, osm and rel."""
    lt = t.table("location")
    if lt is None:
        return None
    name, geo, osm, rel = (lt.text(k) for k in ("name", "geo", "osm", "rel"))
    ok = all([_problem(lt, "name", p20.text_problem(name, "name", p20.MAX_TITLE)),
              _problem(lt, "geo", p20.geo_problem(geo)),
              _problem(lt, "osm", p20.osm_problem(osm)),
              _problem(lt, "rel", p20.rel_problem(rel))])
    lt.finish()
    return Location(name, geo, osm, rel) if ok and name else None


def _podroll(t: Table) -> tuple[RemoteItem, ...]:
    out = []
    for pt in t.tables("podroll"):
        guid, url = pt.text("feed_guid", required=True), pt.text("feed_url")
        item, medium = pt.text("item_guid"), pt.text("medium")
        n = len(pt.problems)
        if guid is not None:
            _problem(pt, "feed_guid", p20.guid_problem(guid))
        check_https(pt, "feed_url", url)
        if medium and medium.removesuffix("L") not in MEDIUMS:
            pt.error("medium", f"{medium!r} is not a podcast:medium value")
        pt.finish()
        if len(pt.problems) == n and guid:
            out.append(RemoteItem(guid, url, item, medium))
    return tuple(out)


def read_txts(t: Table) -> tuple[Txt, ...]:
    """`[[txt]]`: text (at most 4000 characters) and an optional purpose."""
    out = []
    for xt in t.tables("txt"):
        text = xt.get("text", str, required=True)   # kept as written: a token is exact
        purpose = xt.text("purpose")
        ok = all([_problem(xt, "text", p20.text_problem(text, "text", p20.MAX_TXT))
                  if text is not None else False,
                  _problem(xt, "purpose", p20.text_problem(purpose, "purpose", p20.MAX_PURPOSE)
                           if purpose is not None else None)])
        xt.finish()
        if ok and text:
            out.append(Txt(text, purpose))
    return tuple(out)
