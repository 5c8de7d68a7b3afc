"""Analytics prefixes (toolkit.standards.prefix): the feed's enclosures go through OP3 or Podtrac, and
everything that maps feed URLs back to built files (validate, publish, preview) still finds
them. Real feeds parsed by feedparser and lxml, real files, a real local publish and a real
preview server on 127.0.0.1."""
from __future__ import annotations

import threading
import urllib.request
from dataclasses import replace
from datetime import datetime, timezone

import feed_fixtures as F
import feedparser
import pytest
from lxml import etree

from toolkit import model
from toolkit.errors import PublishError
from toolkit.feed import rss, validate
from toolkit.publish import plan, preview, sync
from toolkit.standards import prefix
from toolkit.store.layout import site_key

LATER = datetime(2030, 1, 1, tzinfo=timezone.utc)
OP3 = "https://op3.dev/e/"
PODTRAC = "https://dts.podtrac.com/redirect.mp3/"


@pytest.fixture(scope="module")
def mp3(tmp_path_factory):
    return F.make_mp3(tmp_path_factory.mktemp("src") / "tone.mp3")


def _site(tmp_path, mp3, tracker: str):
    show, eps, cover, site = F.make_site(tmp_path, mp3)
    show = replace(show, enclosure_prefix=tracker)
    data = rss.build_feed(show, eps, cover_url=cover, now=LATER)
    (site / "feed.xml").write_bytes(data)
    return show, eps, site, data


@pytest.mark.parametrize("tracker", [OP3, PODTRAC])
def test_only_the_enclosures_carry_the_prefix(tmp_path, mp3, tracker):
    show, eps, _, data = _site(tmp_path, mp3, tracker)
    d = feedparser.parse(data)
    assert not d.bozo
    by_guid = {be.episode.guid: be for be in eps}
    for entry in d.entries:
        own = by_guid[entry.id].audio.url
        (enc,) = entry.enclosures
        # The documented form: the prefix, then the file's URL without https://.
        assert enc.href == tracker + own.removeprefix("https://")
        assert prefix.strip(tracker, enc.href) == own
    root = etree.fromstring(data)
    others = [e.get("url") or e.get("href") for e in root.iter()
              if e.tag != "enclosure" and (e.get("url") or e.get("href"))]
    assert others and not [u for u in others if u.startswith(tracker)]
    assert [e.text for e in root.iter("link") if e.text and e.text.startswith(tracker)] == []


def test_validate_matches_prefixed_enclosures_to_the_built_files(tmp_path, mp3):
    show, eps, site, _ = _site(tmp_path, mp3, OP3)
    own = validate.own_context(site, F.BASE_URL, F.FEED_URL, enclosure_prefix=OP3)
    assert validate.validate_source(str(site / "feed.xml"), own=own) == []
    # Through the prefix the file really is compared: a wrong length is found.
    eps[0] = replace(eps[0], audio=replace(eps[0].audio, size=eps[0].audio.size + 1))
    (site / "feed.xml").write_bytes(rss.build_feed(show, eps, cover_url=F.BASE_URL
                                                    + "cover-0123456789ab.jpg", now=LATER))
    found = {(f.rule, f.field) for f in validate.validate_source(str(site / "feed.xml"), own=own)}
    assert ("rss.item.enclosure.length", "enclosure@length") in found
    # Without the prefix the enclosures are no files of this build.
    bare = validate.own_context(site, F.BASE_URL, F.FEED_URL)
    found = {(f.rule, f.field) for f in validate.validate_source(str(site / "feed.xml"), own=bare)}
    assert ("own.file", "enclosure@url") in found


def test_publish_maps_prefixed_enclosures_to_keys_and_refuses_a_missing_file(tmp_path, mp3):
    show, eps, site, _ = _site(tmp_path, mp3, PODTRAC)
    refs = [r for r in plan.feed_references(site / "feed.xml", F.BASE_URL, PODTRAC)
            if r.what == "enclosure"]
    assert sorted(r.key for r in refs) == sorted(site_key(site, be.audio.path) for be in eps)
    target = model.PublishTarget(directory=tmp_path / "public")
    report = sync.publish(site, target, base_url=F.BASE_URL, enclosure_prefix=PODTRAC,
                             hash_cache=None)
    assert report.feed_uploaded
    assert (tmp_path / "public" / site_key(site, eps[0].audio.path)).is_file()
    # A feed pointing (through the prefix) at audio the site lacks never goes up.
    eps[0].audio.path.unlink()
    with pytest.raises(PublishError, match="the site has no episodes/"):
        sync.publish(site, target, base_url=F.BASE_URL, enclosure_prefix=PODTRAC,
                        hash_cache=None)


def test_preview_serves_prefixed_enclosures_itself(tmp_path, mp3):
    _, eps, site, _ = _site(tmp_path, mp3, OP3)
    server = preview.make_server(site, "127.0.0.1", 0, base_url=F.BASE_URL, enclosure_prefix=OP3)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        with urllib.request.urlopen(server.url + "feed.xml") as resp:
            d = feedparser.parse(resp.read())
        hrefs = [e.enclosures[0].href for e in d.entries]
        assert len(hrefs) == len(eps) and all(h.startswith(server.url) for h in hrefs)
        with urllib.request.urlopen(hrefs[0]) as resp:
            assert resp.read() == mp3.read_bytes()
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("value, words", [
    ("https://op3.dev/e/", None), ("https://dts.podtrac.com/redirect.mp3/", None),
    ("http://op3.dev/e/", "https://"), ("https://op3.dev/e", "end with '/'"),
    ("https://t.example.net/r?x=1/", "query"), ("https://t.example.net/r/#x/", "query")])
def test_prefix_rules(value, words):
    why = prefix.problem(value)
    assert (why is None) if words is None else (words in why)
