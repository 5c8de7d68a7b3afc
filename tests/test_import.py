"""`podkit import`: host-shaped feeds served with their media from a local HTTP server,
imported, checked, built and fed; then read back with feedparser and compared."""
from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import feedparser
import podcastparser
import pytest
from mutagen.id3 import ID3

from corpus_support import podkit_inprocess
from import_hosts import HOSTS, Server, build_feed
from toolkit import catalog, importer, pipeline, release

BASE = "https://media.example.org/moved/"
LATER = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)


@pytest.fixture
def server():  # noqa: ANN201
    s = Server()
    yield s
    s.stop()


def _show(tmp_path: Path) -> Path:
    root = tmp_path / "show"
    root.mkdir()
    return root


def _toml(path: Path) -> dict:
    return tomllib.loads(path.read_text("utf-8"))


def _by_guid(root: Path) -> dict[str, dict]:
    out = {}
    for toml in sorted((root / "episodes").glob("*/episode.toml")):
        data = _toml(toml)
        out[data["guid"]] = {**data, "_dir": toml.parent}
        # each imported guid appears exactly once
    return out


def _build_and_feed(root: Path) -> feedparser.FeedParserDict:
    results = pipeline.build(root, jobs=2)
    assert all(r.ok for r in results), [r.error for r in results]
    release.write_feed(root, now=LATER)
    return feedparser.parse((root / "build/site").glob("*/feed.xml").__next__().read_bytes())


@pytest.mark.parametrize("host", HOSTS)
def test_host_feed_imports_builds_and_keeps_identity(host: str, server: Server, tmp_path: Path) -> None:
    hf = build_feed(server, host, tmp_path / "src")
    root = _show(tmp_path)
    report = importer.import_feed(root, hf.url, base_url=BASE, feed_id="moved")
    assert report.failures == []
    assert len(report.created) == len(hf.episodes)
    cat = catalog.load(root)
    assert cat.errors == [], [str(p) for p in cat.errors]
    eps = _by_guid(root)
    src = feedparser.parse(server.files[f"/{host}/feed.xml"][0])
    assert set(eps) == {e.get("id") or e.enclosures[0].href for e in src.entries}
    for ep in hf.episodes:
        guid = ep.guid or ep.url                    # no guid: the enclosure URL stands in
        got = eps[guid]
        assert got["date"] == ep.date and got["date"].utcoffset() == ep.date.utcoffset()
        assert (got.get("number"), got.get("season")) == (ep.number, ep.season)
        assert got.get("type", "full") == ep.type
        assert (got["_dir"] / got["audio"]).read_bytes() == ep.mp3
        assert got["passthrough"] is True and got["keep_tags"] is True
    show = _toml(root / "feeds/moved.toml")
    assert show["link"].startswith("https://") and show["categories"] == ["Technology", "News > Tech News"]
    assert any("Made Up Category" in n for n in report.notes)

    out = _build_and_feed(root)
    assert [e.id for e in out.entries] == [e.get("id") or e.enclosures[0].href for e in src.entries]
    for new, old in zip(out.entries, src.entries):
        assert new.published_parsed == old.published_parsed
        stated = int(old.enclosures[0].length or 0)
        real = len(server.files[_path(old.enclosures[0].href, server)][0])
        assert int(new.enclosures[0].length) == (stated if stated == real else real)
    if hf.guid:                                     # podcast:guid pinned, never re-derived
        assert show["podcast"]["guid"] == hf.guid
        assert f"<podcast:guid>{hf.guid}</podcast:guid>" in (root / "build/site/moved/feed.xml").read_text()


def _path(href: str, server: Server) -> str:
    """The server path of the real file behind an enclosure URL (tracking prefixes undone)."""
    path = href.split(server.hostport, 1)[-1].split("?")[0]
    for prefix in ("/track/redirect.mp3/", "/prefix301/"):
        if path.startswith(prefix):
            path = path.split(server.hostport, 1)[-1]
    return path
