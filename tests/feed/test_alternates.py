"""Renditions in the feed: podcast:alternateEnclosure for each published rendition, read back
by real parsers, and `validate`'s alternate-enclosure rules on our own and broken feeds."""
from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import feed_fixtures as F
import feedparser
import pytest
from lxml import etree
from test_validate import LATER, NS, first, mutate

from toolkit import ffmpeg, fsutil, model
from toolkit.errors import Severity
from toolkit.feed import rss, validate
from toolkit.standards import renditions
from toolkit.store import layout

P20 = "{https://podcastindex.org/namespace/1.0}"


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    """Real, tiny MP3, AAC and Opus files of the same tone."""
    d = tmp_path_factory.mktemp("renditions")
    out = {"mp3": F.make_mp3(d / "tone.mp3")}
    for key, args in (("aac", ["-c:a", "aac", "-b:a", "48k"]),
                      ("opus", ["-c:a", "libopus", "-b:a", "48k"])):
        path = d / f"tone.{renditions.get(key).ext}"
        ffmpeg.run(["-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=2",
                    *args, "-y", str(path)], what="test rendition", path=path)
        out[key] = path
    return out


def _site(tmp_path: Path, sources: dict[str, Path], prefix: str | None = None):
    """A built site whose first episode also has its AAC and Opus: show, episodes, feed bytes."""
    show, eps, cover, site = F.make_site(tmp_path, sources["mp3"])
    if prefix:
        show = replace(show, enclosure_prefix=prefix)
    folder = site / "episodes" / eps[0].episode.slug
    extra = []
    for key in ("aac", "opus"):
        fmt = renditions.get(key)
        path = folder / layout.media_name(eps[0].episode.slug, fsutil.sha256_file(sources[key]),
                                          fmt.ext)
        shutil.copyfile(sources[key], path)
        extra.append(model.MediaFile(path, layout.url_for(F.BASE_URL, layout.site_key(site, path)),
                                     fmt.mime, path.stat().st_size, fsutil.sha256_file(path),
                                     duration=2.0))
    enc = replace(show.preset.encoding, renditions=("mp3", "aac", "opus"))
    eps[0] = replace(eps[0], extra_audio=tuple(extra),
                     episode=replace(eps[0].episode, encoding=enc))
    data = rss.build_feed(show, eps, cover_url=cover, now=LATER)
    (site / "feed.xml").write_bytes(data)
    own = validate.own_context(site, F.BASE_URL, F.FEED_URL, enclosure_prefix=prefix)
    return show, eps, data, own


def test_each_published_rendition_is_an_alternate_enclosure(tmp_path, sources):
    show, eps, data, own = _site(tmp_path, sources)
    root = etree.fromstring(data)
    item = root.xpath("/rss/channel/item[podcast:episode='1']", namespaces=NS)[0]
    alts = item.findall(P20 + "alternateEnclosure")
    enc = item.find("enclosure")
    got = [(a.get("type"), a.get("title"), a.get("codecs"), a.get("default"), a.get("bitrate"),
            a.get("length"), a.find(P20 + "source").get("uri")) for a in alts]
    be = eps[0]
    assert got == [
        ("audio/mpeg", "MP3", None, "true", "128000", str(be.audio.size), enc.get("url")),
        ("audio/x-m4a", "AAC (.m4a)", "mp4a.40.2", None, "96000", str(be.extra_audio[0].size),
         be.extra_audio[0].url),
        ("audio/opus", "Opus", "opus", None, "64000", str(be.extra_audio[1].size),
         be.extra_audio[1].url)]
    # The MP3 stays the enclosure; an episode with only the MP3 gets no alternates at all.
    assert enc.get("type") == "audio/mpeg"
    other = root.xpath("/rss/channel/item[podcast:episode='2']", namespaces=NS)[0]
    assert other.findall(P20 + "alternateEnclosure") == []
    # A real parser reads the feed as before, the enclosure being the MP3.
    d = feedparser.parse(data)
    assert not d.bozo
    assert [e.type for e in d.entries[-1].enclosures] == ["audio/mpeg"]
    assert validate.validate_feed(data, source="f", own=own) == []


def test_alternate_sources_go_through_the_analytics_prefix(tmp_path, sources):
    pre = "https://op3.dev/e/"
    _show, eps, data, own = _site(tmp_path, sources, prefix=pre)
    root = etree.fromstring(data)
    uris = [s.get("uri") for s in root.iter(P20 + "source")]
    assert uris and all(u.startswith(pre + "media.example.org/") for u in uris)
    assert validate.validate_feed(data, source="f", own=own) == []


ITEM = "/rss/channel/item[podcast:alternateEnclosure]"     # the first episode


def _alt(n: int) -> str:
    return f"{ITEM}/podcast:alternateEnclosure[{n}]"


BROKEN = [
    ("opus listed as audio/mpeg", lambda r: first(r, _alt(3)).set("type", "audio/mpeg"),
     "p20.alternateEnclosure.type", "podcast:alternateEnclosure[2]@type"),
    ("length off by one", lambda r: first(r, _alt(2)).set(
        "length", str(int(first(r, _alt(2)).get("length")) + 1)),
     "p20.alternateEnclosure.length", "podcast:alternateEnclosure[1]@length"),
    ("length not a number", lambda r: first(r, _alt(2)).set("length", "big"),
     "p20.alternateEnclosure.length", "podcast:alternateEnclosure[1]@length"),
    ("no source", lambda r: first(r, _alt(2)).remove(first(r, _alt(2) + "/podcast:source")),
     "p20.alternateEnclosure", "podcast:alternateEnclosure[1]/podcast:source"),
    ("two defaults", lambda r: first(r, _alt(3)).set("default", "true"),
     "p20.alternateEnclosure", "podcast:alternateEnclosure@default"),
    ("relative source", lambda r: first(r, _alt(3) + "/podcast:source").set("uri", "a.opus"),
     "p20.alternateEnclosure", "podcast:alternateEnclosure[2]/podcast:source@uri"),
    ("source not built", lambda r: first(r, _alt(3) + "/podcast:source").set(
        "uri", "https://media.example.org/korea-az/episodes/other.opus"),
     "own.file", "podcast:alternateEnclosure[2]/podcast:source@uri"),
    ("http source", lambda r: first(r, _alt(3) + "/podcast:source").set(
        "uri", first(r, _alt(3) + "/podcast:source").get("uri").replace("https:", "http:")),
     "p20.url.https", "podcast:alternateEnclosure[2]/podcast:source@uri"),
]


@pytest.mark.parametrize("what, change, rule, field", BROKEN, ids=[b[0] for b in BROKEN])
def test_validate_names_each_broken_alternate_enclosure(tmp_path, sources, what, change, rule,
                                                        field):
    _show, _eps, data, own = _site(tmp_path, sources)
    findings = validate.validate_feed(mutate(data, change), source="f", own=own)
    errors = {(f.rule, f.field) for f in findings if f.severity is Severity.ERROR}
    assert (rule, field) in errors, [str(f) for f in findings]


def test_a_default_that_is_not_the_enclosure_is_an_error(tmp_path, sources):
    _show, _eps, data, own = _site(tmp_path, sources)
    def change(r):
        first(r, _alt(1)).attrib.pop("default")
        first(r, _alt(2)).set("default", "true")
    findings = validate.validate_feed(mutate(data, change), source="f", own=own)
    assert [(f.rule, f.field) for f in findings] == [
        ("p20.alternateEnclosure", "podcast:alternateEnclosure[1]@default")]
    assert "no source is the enclosure's URL" in findings[0].message
