"""toolkit.feed.validate: a good feed passes clean; each broken feed fails with the right rule named."""
from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import feed_fixtures as F
import pytest
from lxml import etree

from toolkit.errors import Severity
from toolkit.feed import rss, validate
from toolkit.feed.findings import RULES

NS = {"itunes": rss.ITUNES_NS, "podcast": rss.PODCAST_NS, "atom": "http://www.w3.org/2005/Atom"}
LATER = datetime(2030, 1, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def mp3(tmp_path_factory):
    return F.make_mp3(tmp_path_factory.mktemp("src") / "tone.mp3")


@pytest.fixture
def built(tmp_path, mp3):
    """A built site with its feed written: (feed bytes, site folder, own context)."""
    show, eps, cover, site = F.make_site(tmp_path, mp3)
    data = rss.build_feed(show, eps, cover_url=cover, now=LATER)
    (site / "feed.xml").write_bytes(data)
    return data, site, validate.own_context(site, F.BASE_URL, F.FEED_URL)


def rules(findings, severity=Severity.ERROR):
    return {(f.rule, f.field) for f in findings if f.severity is severity}


def test_our_feed_passes_with_no_errors_and_no_warnings(built):
    data, site, own = built
    findings = validate.validate_source(str(site / "feed.xml"), own=own)
    assert findings == []
    assert not validate.has_errors(findings)


def test_the_own_context_maps_published_urls_to_files(built):
    _, site, own = built
    assert own.files[F.FEED_URL] == site / "feed.xml"
    assert all(url.startswith(F.BASE_URL) and path.is_file() for url, path in own.files.items())
    (site / ".feed.xml.123.part").write_bytes(b"half")    # a temp file is never published
    assert len(validate.own_context(site, F.BASE_URL, F.FEED_URL).files) == len(own.files)


def mutate(data: bytes, change: Callable[[etree._Element], None]) -> bytes:
    root = etree.fromstring(data, etree.XMLParser(strip_cdata=False))
    change(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def first(root, path):
    return root.xpath(path, namespaces=NS)[0]


def _set(path, attr, value):
    return lambda r: first(r, path).set(attr, value)


def _text(path, value):
    def change(r):
        first(r, path).text = value
    return change


def _drop(path):
    def change(r):
        el = first(r, path)
        el.getparent().remove(el)
    return change


def _drop_all(path):
    def change(r):
        for el in r.xpath(path, namespaces=NS):
            el.getparent().remove(el)
    return change


def _del_attr(path, attr):
    return lambda r: first(r, path).attrib.pop(attr)


def _copy_guid(r):
    a, b = r.xpath("/rss/channel/item/guid")
    b.text = a.text


def _copy_enclosure(r):
    a, b = r.xpath("/rss/channel/item/enclosure")
    b.set("url", a.get("url"))


def _serial(r):
    first(r, "/rss/channel/itunes:type").text = "serial"
    _drop("/rss/channel/item[2]/itunes:episode")(r)


I1 = "/rss/channel/item[1]"
BROKEN = [
    # (what, change, rule, field)
    ("missing enclosure length", _del_attr(f"{I1}/enclosure", "length"),
     "rss.item.enclosure", "enclosure@length"),
    ("length = duration", _set(f"{I1}/enclosure", "length", "2"),
     "rss.item.enclosure.length", "enclosure@length"),
    ("feedgen's length=None", _set(f"{I1}/enclosure", "length", "None"),
     "rss.item.enclosure.length", "enclosure@length"),
    ("duplicate guid", _copy_guid, "rss.item.guid.unique", "guid"),
    ("duplicate enclosure URL", _copy_enclosure, "rss.item.enclosure.unique", "enclosure@url"),
    ("http enclosure", lambda r: first(r, f"{I1}/enclosure").set(
        "url", first(r, f"{I1}/enclosure").get("url").replace("https:", "http:")),
     "url.https", "enclosure@url"),
    ("space in enclosure URL", lambda r: first(r, f"{I1}/enclosure").set(
        "url", first(r, f"{I1}/enclosure").get("url") + "?a b"), "url.ascii", "enclosure@url"),
    ("mp3 as audio/mp3", _set(f"{I1}/enclosure", "type", "audio/mp3"),
     "rss.item.enclosure.type", "enclosure@type"),
    ("bad category", _set("/rss/channel/itunes:category", "text", "news"),
     "apple.category", "itunes:category"),
    ("bad subcategory", _set("/rss/channel/itunes:category/itunes:category", "text", "Gossip"),
     "apple.category", "itunes:category"),
    ("no category", _drop_all("/rss/channel/itunes:category"), "apple.category", "itunes:category"),
    ("explicit yes", _text("/rss/channel/itunes:explicit", "yes"), "apple.explicit",
     "itunes:explicit"),
    ("item explicit clean", _text(f"{I1}/itunes:explicit", "clean"), "apple.explicit",
     "itunes:explicit"),
    ("no explicit", _drop("/rss/channel/itunes:explicit"), "apple.explicit", "itunes:explicit"),
    ("guid not a URL, isPermaLink missing", _del_attr(f"{I1}/guid", "isPermaLink"),
     "rss.item.guid.permalink", "guid@isPermaLink"),
    ("no guid", _drop(f"{I1}/guid"), "rss.item.guid", "guid"),
    ("no title", _drop(f"{I1}/title"), "rss.item.title", "title"),
    ("pubDate without zone", _text(f"{I1}/pubDate", "Thu, 14 Mar 2019 18:00:00"),
     "rss.item.pubdate", "pubDate"),
    ("ISO pubDate", _text(f"{I1}/pubDate", "2019-03-14T18:00:00+09:00"), "rss.item.pubdate",
     "pubDate"),
    ("no pubDate", _drop(f"{I1}/pubDate"), "rss.item.pubdate", "pubDate"),
    ("no enclosure", _drop(f"{I1}/enclosure"), "rss.item.enclosure", "enclosure"),
    ("language name", _text("/rss/channel/language", "english"), "apple.language", "language"),
    ("unknown language", _text("/rss/channel/language", "xx"), "apple.language", "language"),
    ("channel link is the feed", _text("/rss/channel/link", F.FEED_URL), "rss.channel.link",
     "link"),
    ("relative channel link", _text("/rss/channel/link", "/korea-az/"), "rss.channel.link",
     "link"),
    ("channel link without scheme", _text("/rss/channel/link", "www.example.org/korea-az/"),
     "rss.channel.link", "link"),
    ("no self link", _drop("/rss/channel/atom:link"), "rss.channel.self", "atom:link"),
    ("no channel title", _drop("/rss/channel/title"), "rss.channel.title", "title"),
    ("no channel description", _drop("/rss/channel/description"), "rss.channel.description",
     "description"),
    ("no artwork", _drop("/rss/channel/itunes:image"), "apple.image", "itunes:image"),
    ("webp artwork URL", _set("/rss/channel/itunes:image", "href", "https://x.example/a.webp"),
     "apple.image", "itunes:image@href"),
    ("type weekly", _text("/rss/channel/itunes:type", "weekly"), "apple.type", "itunes:type"),
    ("serial without numbers", _serial, "apple.type.serial", "itunes:episode"),
    ("episode 0", _text(f"{I1}/itunes:episode", "0"), "apple.episode", "itunes:episode"),
    ("season -1", _text(f"{I1}/itunes:season", "-1"), "apple.season", "itunes:season"),
    ("episodeType normal", _text(f"{I1}/itunes:episodeType", "normal"), "apple.episode-type",
     "itunes:episodeType"),
    ("duration 99:99", _text(f"{I1}/itunes:duration", "99:99"), "apple.duration",
     "itunes:duration"),
    ("description too long", _text(f"{I1}/description", "<p>" + "é" * 2100 + "</p>"),
     "apple.description.length", "description"),
    ("locked true", _text("/rss/channel/podcast:locked", "true"), "p20.locked", "podcast:locked"),
    ("malformed podcast:guid", _text("/rss/channel/podcast:guid", "korea-az"), "p20.guid",
     "podcast:guid"),
    ("http funding", _set("/rss/channel/podcast:funding", "url", "http://x.example/give"),
     "p20.url.https", "podcast:funding@url"),
    ("http transcript", lambda r: first(r, f"{I1}/podcast:transcript").set(
        "url", first(r, f"{I1}/podcast:transcript").get("url").replace("https:", "http:")),
     "p20.url.https", "podcast:transcript@url"),
    ("transcript type", _set(f"{I1}/podcast:transcript", "type", "text/srt"), "p20.transcript",
     "podcast:transcript@type"),
    ("chapters type", _set(f"{I1}/podcast:chapters", "type", "application/json"), "p20.chapters",
     "podcast:chapters@type"),
    ("person without a name", _text("/rss/channel/podcast:person", ""), "p20.person",
     "podcast:person"),
    ("soundbite without duration", _del_attr(f"{I1}/podcast:soundbite", "duration"), "p20.value",
     "podcast:soundbite"),
]


@pytest.mark.parametrize("what, change, rule, field", BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_feed_fails_with_the_rule_named(built, what, change, rule, field):
    data, _, own = built
    own = replace(own, probe_audio=False)     # durations have their own test; keep this quick
    findings = validate.validate_feed(mutate(data, change), source="feed.xml", own=own)
    assert (rule, field) in rules(findings), [str(f) for f in findings]
    # Nothing else fires (a changed URL is also, rightly, not a file we built).
    assert {r for r, _ in rules(findings)} - {"own.file"} == {rule}
    assert validate.has_errors(findings)
    hit = next(f for f in findings if f.rule == rule)
    assert hit.source == "feed.xml" and hit.item and hit.message


def test_item_findings_name_the_item_by_guid(built):
    data, _, own = built
    broken = mutate(data, _text(f"{I1}/itunes:episode", "0"))
    guid = etree.fromstring(data).xpath(f"{I1}/guid/text()")[0]
    (hit,) = [f for f in validate.validate_feed(broken, source="f", own=own) if f.rule == "apple.episode"]
    assert hit.item == guid


def test_disallowed_description_html_is_a_warning(built):
    data, _, own = built
    findings = validate.validate_feed(
        mutate(data, _text(f"{I1}/description", "<p>ok <div>no</div><br/></p>")), source="f", own=own)
    assert findings and not validate.has_errors(findings)
    (w,) = findings
    assert (w.rule, w.severity) == ("apple.description.html", Severity.WARNING)
    assert "br, div" in w.message


def test_missing_owner_email_and_author_are_warnings(built):
    data, _, own = built
    broken = mutate(mutate(data, _drop("/rss/channel/itunes:owner")), _drop("/rss/channel/itunes:author"))
    findings = validate.validate_feed(broken, source="f", own=own)
    assert rules(findings, Severity.WARNING) == {("apple.owner.email", "itunes:owner"),
                                                 ("apple.author", "itunes:author")}
    assert not validate.has_errors(findings)


def test_namespace_mistakes(built):
    data, _, own = built
    wrong_case = data.replace(b"http://www.itunes.com/dtds/podcast-1.0.dtd",
                              b"http://www.itunes.com/DTDs/Podcast-1.0.dtd")
    assert ("rss.namespace.itunes", "xmlns:itunes") in rules(
        validate.validate_feed(wrong_case, source="f"))
    other_prefix = re.sub(rb"\bpodcast:", b"pi:", data).replace(b"xmlns:podcast=", b"xmlns:pi=")
    assert ("p20.namespace", "xmlns:pi") in rules(validate.validate_feed(other_prefix, source="f"))


def test_not_xml_and_unsafe_xml(built):
    assert rules(validate.validate_feed(b"<rss><channel>", source="f")) == {("xml.wellformed", "xml")}
    bomb = (b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;">]><rss version="2.0"><channel>&b;</channel></rss>')
    assert rules(validate.validate_feed(bomb, source="f")) == {("xml.unsafe", "xml")}
    atom = b'<feed xmlns="http://www.w3.org/2005/Atom"><title>x</title></feed>'
    assert ("rss.version", "channel") in rules(validate.validate_feed(atom, source="f"))
    latin = b"<?xml version='1.0' encoding='ISO-8859-1'?><rss version='2.0'/>"
    assert ("xml.encoding", "encoding") in rules(validate.validate_feed(latin, source="f"))
    # An encoding nobody knows was a LookupError traceback; now a finding, read as UTF-8.
    bogus = b"<?xml version='1.0' encoding='bogus'?><rss version='2.0'/>"
    assert rules(validate.validate_feed(bogus, source="f")) >= {
        ("xml.encoding.declared", "encoding"), ("rss.version", "channel")}


# ---- our own feed against the built files ---------------------------------------------------

def test_wrong_podcast_guid_for_our_feed(built):
    data, _, own = built
    other = "917393e3-1b1e-5cef-ace4-edaa54e1f810"
    findings = validate.validate_feed(mutate(data, _text("/rss/channel/podcast:guid", other)),
                                      source="f", own=own)
    assert rules(findings) == {("p20.guid", "podcast:guid")}
    # Another show's feed is only checked for shape: a valid UUID passes.
    assert validate.validate_feed(mutate(data, _text("/rss/channel/podcast:guid", other)),
                                  source="f") == []
    # A guid pinned in the feed's TOML (the feed URL moved) is the one expected.
    pinned = validate.OwnFeedContext(own.feed_url, own.files, podcast_guid=other)
    assert validate.validate_feed(mutate(data, _text("/rss/channel/podcast:guid", other)),
                                  source="f", own=pinned) == []


@pytest.mark.parametrize("size, mode, fmt, rule", [
    ((1400, 1500), "RGB", "JPEG", "apple.image.square"),
    ((1000, 1000), "RGB", "JPEG", "apple.image.size"),
    ((3200, 3200), "RGB", "JPEG", "apple.image.size"),
    ((1400, 1400), "CMYK", "JPEG", "apple.image.rgb"),
    ((1400, 1400), "L", "JPEG", "apple.image.rgb"),
    ((1400, 1400), "RGB", "WEBP", "apple.image.file"),     # WebP data named .jpg
    ((1400, 1400), "RGB", "PNG", "apple.image.file"),      # PNG data named .jpg
])
def test_bad_artwork_fails(built, size, mode, fmt, rule):
    data, site, own = built
    F.make_art(site / "cover-0123456789ab.jpg", size=size, mode=mode, fmt=fmt)
    findings = validate.validate_feed(data, source="f", own=own)
    assert rules(findings) == {(rule, "itunes:image")}, [str(f) for f in findings]


def test_webp_named_png_fails(built):
    data, site, own = built
    F.make_art(site / "cover.png", fmt="WEBP")
    url = F.BASE_URL + "cover.png"
    own = validate.own_context(site, F.BASE_URL, F.FEED_URL)
    findings = validate.validate_feed(mutate(data, _set("/rss/channel/itunes:image", "href", url)),
                                      source="f", own=own)
    assert rules(findings) == {("apple.image.file", "itunes:image")}
    assert "WEBP" in findings[0].message


def test_transparent_png_is_a_warning(built):
    data, site, own = built
    F.make_art(site / "cover.png", mode="RGBA")
    own = validate.own_context(site, F.BASE_URL, F.FEED_URL)
    findings = validate.validate_feed(
        mutate(data, _set("/rss/channel/itunes:image", "href", F.BASE_URL + "cover.png")),
        source="f", own=own)
    assert [(f.rule, f.severity) for f in findings] == [("apple.image.rgb", Severity.WARNING)]


def test_enclosure_length_must_be_the_file_size(built):
    data, _, own = built
    real = etree.fromstring(data).xpath(f"{I1}/enclosure/@length")[0]
    findings = validate.validate_feed(
        mutate(data, _set(f"{I1}/enclosure", "length", str(int(real) + 1))), source="f", own=own)
    assert rules(findings) == {("rss.item.enclosure.length", "enclosure@length")}
    assert f"has {real}" in findings[0].message


def test_duration_must_match_the_audio_within_a_second(built):
    data, _, own = built
    assert validate.validate_feed(mutate(data, _text(f"{I1}/itunes:duration", "3")),
                                  source="f", own=own) == []      # 2.0 s audio: within 1 s
    findings = validate.validate_feed(mutate(data, _text(f"{I1}/itunes:duration", "5")),
                                      source="f", own=own)
    assert rules(findings) == {("apple.duration", "itunes:duration")}


def test_enclosure_that_is_not_a_built_file(built):
    data, _, own = built
    broken = mutate(data, _set(f"{I1}/enclosure", "url", F.BASE_URL + "episodes/x/missing.mp3"))
    assert rules(validate.validate_feed(broken, source="f", own=own)) == {("own.file", "enclosure@url")}


@pytest.mark.parametrize("body, field", [
    ('{"version": "1.2.0", "chapters": [{"startTime": 1}, {"startTime": 0}]}',
     "chapters.json: chapters[1].startTime"),
    ('{"version": "1.2.0", "chapters": [{"startTime": "0:00"}]}', "chapters.json: chapters[0].startTime"),
    ('{"chapters": [{"startTime": 0}]}', "chapters.json: version"),
    ('{"version": "1.2.0", "chapters": []}', "chapters.json: chapters"),
    ('{"version": "1.2.0", "chapters": [{"startTime": 0}, {"startTime": 60}]}',
     "chapters.json: chapters[1].startTime"),                     # after the 2 s episode ends
    ("not json", "chapters.json"),
])
def test_chapters_json_shape(built, body, field):
    data, site, own = built
    (site / "episodes" / "second" / "chapters.json").write_text(body, "utf-8")
    findings = validate.validate_feed(data, source="f", own=own)
    assert rules(findings) == {("p20.chapters", field)}, [str(f) for f in findings]


@pytest.mark.parametrize("name, body", [
    ("transcript.vtt", "1\n00:00:00,000 --> 00:00:01,000\nHello.\n"),   # SRT served as text/vtt
    ("transcript.txt", "WEBVTT\n\n00:00.000 --> 00:01.000\nHello.\n"),   # VTT served as text/plain
])
def test_transcript_content_must_match_its_type(built, name, body):
    data, site, own = built
    (site / "episodes" / "second" / name).write_text(body, "utf-8")
    findings = validate.validate_feed(data, source="f", own=own)
    assert rules(findings) == {("p20.transcript", "podcast:transcript@type")}


# ---- sources, output -------------------------------------------------------------------------

class _Server:
    """A real HTTP server on 127.0.0.1 serving fixed routes; stopped by the test."""

    def __init__(self, routes: dict[str, tuple[int, bytes, float]]) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                status, body, delay = routes.get(self.path, (404, b"no", 0.0))
                time.sleep(delay)
                self.send_response(status)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up on purpose (timeout and size-limit tests)

            def log_message(self, *args):
                pass
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_validating_a_url_fetches_it(built):
    data, _, _ = built
    legacy = mutate(data, _text("/rss/channel/itunes:explicit", "no"))
    server = _Server({"/feed.xml": (200, data, 0.0), "/legacy.xml": (200, legacy, 0.0),
                      "/slow.xml": (200, data, 2.0), "/big.xml": (200, b" " * 5000, 0.0)})
    try:
        assert validate.validate_source(server.url + "/feed.xml") == []
        (found,) = validate.validate_source(server.url + "/legacy.xml")
        assert (found.rule, found.source) == ("apple.explicit", server.url + "/legacy.xml")
        (gone,) = validate.validate_source(server.url + "/missing.xml")
        assert (gone.rule, gone.field) == ("source.read", "fetch") and "HTTP 404" in gone.message
        (slow,) = validate.validate_source(server.url + "/slow.xml", timeout=0.3)
        assert slow.rule == "source.read" and "timed out" in slow.message
        (big,) = validate.validate_source(server.url + "/big.xml", max_bytes=4096)
        assert big.rule == "source.read" and "larger than 4096" in big.message
    finally:
        server.close()


def test_unreadable_sources(tmp_path):
    (missing,) = validate.validate_source(str(tmp_path / "nope.xml"))
    assert missing.rule == "source.read" and "nope.xml" in missing.source
    (ftp,) = validate.validate_source("ftp://example.org/feed.xml")
    assert ftp.rule == "source.read"


def test_output_formats(built):
    data, _, own = built
    broken = mutate(mutate(data, _text("/rss/channel/itunes:explicit", "yes")),
                    _drop("/rss/channel/itunes:author"))
    findings = validate.validate_feed(broken, source="feed.xml", own=own)
    lines = validate.format_findings(findings)
    assert lines == [
        "feed.xml: apple.explicit: channel: itunes:explicit: 'yes' (a legacy value); use true or false",
        "feed.xml: apple.author: channel: itunes:author: warning: no itunes:author",
    ]
    doc = json.loads(validate.findings_json(findings))
    assert (doc["errors"], doc["warnings"]) == (1, 1)
    assert doc["findings"][0] == {"rule": "apple.explicit", "severity": "error", "item": "channel",
                                  "field": "itunes:explicit", "source": "feed.xml",
                                  "message": "'yes' (a legacy value); use true or false"}


def test_every_rule_is_documented_and_used():
    src = "".join(p.read_text("utf-8") for p in Path(validate.__file__).parent.glob("*.py"))
    used = set(re.findall(r'"((?:xml|rss|url|apple|p20|own|source)\.[a-z0-9.-]+)"', src))
    assert used <= set(RULES)
    # Every documented rule has at least one test naming it (in any test module).
    tests = "".join(p.read_text("utf-8") for p in Path(__file__).resolve().parents[1].rglob("test_*.py"))
    untested = {r for r in RULES if f'"{r}"' not in tests}
    assert untested == set(), untested
    docs = (Path(__file__).resolve().parents[2] / "docs" / "feed.md").read_text("utf-8")
    assert {r for r in RULES if f"`{r}`" not in docs} == set()
