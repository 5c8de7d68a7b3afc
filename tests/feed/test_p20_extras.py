"""Podcasting 2.0 value, trailer, location, podroll and txt: written by the feed stage,
read back with XPath, and `podkit validate`'s rules for them (one per broken attribute)."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

import feed_fixtures as F
import pytest
from lxml import etree
from test_validate import LATER, NS, first, mp3, mutate  # noqa: F401 (fixtures)

from toolkit.errors import Severity
from toolkit.feed import rss, validate
from toolkit.model import Location, RemoteItem, Trailer, Txt, Value, ValueRecipient

NODE = "03ae9f91a0cb8ff43840e3c322c4c61f019d8c1c3cea15a25cfc425ac605e61a4a"
VALUE = Value("lightning", "keysend", (ValueRecipient("node", NODE, 95, "Host"),
                                       ValueRecipient("node", NODE[::-1], 5, "App", fee=True)),
              "0.00000005000")
CH = "/rss/channel"
I1 = "/rss/channel/item[podcast:location]"   # the episode with its own extras


@pytest.fixture
def extras(tmp_path, mp3):  # noqa: F811
    show, eps, cover, site = F.make_site(tmp_path, mp3)
    show = replace(show, value=(VALUE,), location=Location("Seoul", "geo:37.5665,126.978",
                                                           "R2297418", "subject"),
                   trailers=(Trailer("Season 2 & more", "https://example.org/t.mp3",
                                     dt.datetime(2024, 3, 1, 8, tzinfo=dt.timezone.utc), 1234,
                                     "audio/mpeg", 2),),
                   podroll=(RemoteItem("917393e3-1b1e-5cef-ace4-edaa54e1f810",
                                       "https://other.example.org/feed.xml"),),
                   txts=(Txt("naj3eEZaWVVY9a38uhX8FekACyhtqP4JN", "verify"),))
    ep = replace(eps[0].episode, value=(Value("lightning", "keysend",
                                              (ValueRecipient("node", NODE, 1, "Guest"),)),),
                 location=Location("Panmunjom"), txts=(Txt("made on the border"),))
    eps[0] = replace(eps[0], episode=ep)
    data = rss.build_feed(show, eps, cover_url=cover, now=LATER)
    (site / "feed.xml").write_bytes(data)
    return data, validate.own_context(site, F.BASE_URL, F.FEED_URL)


def test_the_extras_are_written_and_valid(extras) -> None:  # noqa: ANN001
    data, own = extras
    assert validate.validate_feed(data, source="f", own=own) == []
    root = etree.fromstring(data)
    x = lambda path: root.xpath(path, namespaces=NS)  # noqa: E731
    v = first(root, f"{CH}/podcast:value")
    assert dict(v.attrib) == {"type": "lightning", "method": "keysend",
                              "suggested": "0.00000005000"}
    assert [dict(r.attrib) for r in x(f"{CH}/podcast:value/podcast:valueRecipient")] == [
        {"name": "Host", "type": "node", "address": NODE, "split": "95"},
        {"name": "App", "type": "node", "address": NODE[::-1], "split": "5", "fee": "true"}]
    t = first(root, f"{CH}/podcast:trailer")
    assert t.text == "Season 2 & more"
    assert dict(t.attrib) == {"pubdate": "Fri, 01 Mar 2024 08:00:00 +0000",
                              "url": "https://example.org/t.mp3", "length": "1234",
                              "type": "audio/mpeg", "season": "2"}
    loc = first(root, f"{CH}/podcast:location")
    assert (loc.text, loc.get("geo"), loc.get("osm"), loc.get("rel")) == \
        ("Seoul", "geo:37.5665,126.978", "R2297418", "subject")
    assert x(f"{CH}/podcast:podroll/podcast:remoteItem/@feedGuid") == \
        ["917393e3-1b1e-5cef-ace4-edaa54e1f810"]
    assert x(f"{CH}/podcast:txt[@purpose='verify']/text()") == ["naj3eEZaWVVY9a38uhX8FekACyhtqP4JN"]
    items = x("/rss/channel/item")
    own_item = [i for i in items if i.find("podcast:value", NS) is not None]
    assert len(own_item) == 1
    assert own_item[0].xpath("podcast:value/podcast:valueRecipient/@name", namespaces=NS) == ["Guest"]
    assert own_item[0].findtext("podcast:location", namespaces=NS) == "Panmunjom"
    assert own_item[0].findtext("podcast:txt", namespaces=NS) == "made on the border"


def _set(path: str, attr: str, value: str | None):  # noqa: ANN202
    def change(r):  # noqa: ANN001, ANN202
        el = r.xpath(path, namespaces=NS)[0]
        if value is None:
            el.attrib.pop(attr)
        elif attr == "text()":
            el.text = value
        else:
            el.set(attr, value)
    return change


R = f"{CH}/podcast:value/podcast:valueRecipient[1]"


@pytest.mark.parametrize("change, rule, field", [
    (_set(f"{CH}/podcast:value", "method", None), "p20.value4value", "podcast:value@method"),
    (_set(f"{CH}/podcast:value", "suggested", "lots"), "p20.value4value", "podcast:value@suggested"),
    (_set(R, "split", "ninety"), "p20.value4value", "podcast:valueRecipient@split"),
    (_set(R, "address", None), "p20.value4value", "podcast:valueRecipient@address"),
    (_set(f"{CH}/podcast:trailer", "pubdate", "soon"), "p20.trailer", "podcast:trailer@pubdate"),
    (_set(f"{CH}/podcast:trailer", "text()", "x" * 129), "p20.trailer", "podcast:trailer"),
    (_set(f"{CH}/podcast:trailer", "season", "two"), "p20.trailer", "podcast:trailer@season"),
    (_set(f"{CH}/podcast:location", "geo", "37.5,126.9"), "p20.location", "podcast:location"),
    (_set(f"{CH}/podcast:location", "osm", "Seoul"), "p20.location", "podcast:location"),
    (_set(f"{I1}/podcast:location", "rel", "home"), "p20.location", "podcast:location"),
    (_set(f"{CH}/podcast:podroll/podcast:remoteItem", "feedGuid", "other-show"), "p20.podroll",
     "podcast:remoteItem@feedGuid"),
    (_set(f"{CH}/podcast:txt", "text()", "x" * 4001), "p20.txt", "podcast:txt"),
    (_set(f"{I1}/podcast:txt", "purpose", "p" * 129), "p20.txt", "podcast:txt"),
])
def test_each_broken_extra_is_one_finding(extras, change, rule, field) -> None:  # noqa: ANN001
    data, own = extras
    findings = validate.validate_feed(mutate(data, change), source="f", own=own)
    assert [(f.rule, f.severity, f.field) for f in findings] == [(rule, Severity.ERROR, field)], \
        [str(f) for f in findings]


def test_a_value_block_that_pays_nobody_is_an_error(extras) -> None:  # noqa: ANN001
    data, own = extras

    def change(r):  # noqa: ANN001, ANN202
        for rec in r.xpath(f"{CH}/podcast:value/podcast:valueRecipient", namespaces=NS):
            rec.set("split", "0")
    (f,) = validate.validate_feed(mutate(data, change), source="f", own=own)
    assert (f.rule, f.field) == ("p20.value4value", "podcast:value/podcast:valueRecipient")
    assert "nobody would be paid" in f.message
