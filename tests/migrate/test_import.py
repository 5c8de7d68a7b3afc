"""`podkit import`: host-shaped feeds served with their media from a local HTTP server,
imported, checked, built and fed; then read back with feedparser and compared."""
from __future__ import annotations

import datetime as dt
import io
import tomllib
from pathlib import Path

import feedparser
import podcastparser
import pytest
from corpus_support import podkit_inprocess
from import_hosts import HOSTS, Server, build_feed, server  # noqa: F401
from import_hosts import empty_show as _show
from mutagen.id3 import ID3

from toolkit import deliver, pipeline
from toolkit.config import catalog
from toolkit.migrate import importer

BASE = "https://media.example.org/moved/"
LATER = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)




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
    deliver.write_feed(root, now=LATER)
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


def test_reimport_updates_and_never_duplicates(server: Server, tmp_path: Path) -> None:
    hf = build_feed(server, "libsyn", tmp_path / "src")
    root = _show(tmp_path)
    importer.import_feed(root, hf.url, base_url=BASE, feed_id="moved")
    served = len(server.log)
    again = importer.import_feed(root, hf.url, base_url=BASE, feed_id="moved")
    assert again.created == again.updated == again.downloaded == []
    assert len(again.unchanged) == 3
    assert not any("/media/" in p for p, _ in server.log[served:])   # no audio fetched again
    # The host renames one episode and publishes a new one; the producer edited another.
    edited = root / "episodes" / again.unchanged[0] / "episode.toml"
    edited.write_text(edited.read_text() + 'keywords = ["mine"]\n', "utf-8")
    xml, ctype = server.files["/libsyn/feed.xml"]
    newest = hf.episodes[-1]
    extra = xml.decode().replace(newest.title, "Renamed by the host").replace(
        "<item>", "<item><title>Brand new</title><guid>new-guid-1</guid>"
        "<pubDate>Mon, 01 May 2023 10:00:00 +0000</pubDate>"
        f'<enclosure url="{newest.url}" length="{len(newest.mp3)}" type="audio/mpeg"/></item><item>', 1)
    server.files["/libsyn/feed.xml"] = (extra.encode(), ctype)
    third = importer.import_feed(root, hf.url, base_url=BASE, feed_id="moved")
    assert len(third.created) == 1 and len(third.updated) == 1
    assert any("edited since it was imported" in n for n in third.notes)
    eps = _by_guid(root)
    assert len(eps) == 4 == len(list((root / "episodes").iterdir()))
    assert eps[newest.guid]["title"] == "Renamed by the host"
    assert "keywords" in _toml(edited)                 # the producer's edit is kept


def test_no_media_first_then_the_audio(server: Server, tmp_path: Path) -> None:
    hf = build_feed(server, "buzzsprout", tmp_path / "src")
    root = _show(tmp_path)
    first = podkit_inprocess(root, "import", hf.url, "--base-url", BASE, "--feed", "moved",
                             "--no-media")
    assert first.rc == 0, first
    assert "3 waiting for their audio" in first.stdout
    assert not list((root / "episodes").glob("*/audio.mp3"))
    assert list((root / "episodes").glob("*/transcript.srt"))       # the small files came
    check = podkit_inprocess(root, "check", "--no-media")
    assert check.rc == 1 and "audio" in check.stderr
    second = podkit_inprocess(root, "import", hf.url, "--base-url", BASE, "--feed", "moved")
    assert second.rc == 0, second
    assert second.stdout.count("downloaded ") == 3
    for ep in hf.episodes:
        assert (_by_guid(root)[ep.guid]["_dir"] / "audio.mp3").read_bytes() == ep.mp3
    assert podkit_inprocess(root, "check").rc == 0


def test_a_cut_download_resumes_with_a_range_request(server: Server, tmp_path: Path) -> None:
    hf = build_feed(server, "megaphone", tmp_path / "src")
    root = _show(tmp_path)
    ep = hf.episodes[1]
    path = f"/megaphone/media/ep{ep.n}.mp3"
    server.cut[path] = 10_000
    first = podkit_inprocess(root, "import", hf.url, "--base-url", BASE, "--feed", "moved")
    assert first.rc == 1 and "Traceback" not in first.stderr
    assert "run again to resume" in first.stderr and "1 download(s) failed" in first.stderr
    folder = _by_guid(root)[ep.guid]["_dir"]
    assert not (folder / "audio.mp3").exists()
    assert (folder / ".audio.mp3.part").stat().st_size == 10_000
    second = podkit_inprocess(root, "import", hf.url, "--base-url", BASE, "--feed", "moved")
    assert second.rc == 0, second
    assert (path, "bytes=10000-") in server.log
    assert (folder / "audio.mp3").read_bytes() == ep.mp3
    assert "resumed at 10000 bytes" in second.stdout
    assert not (folder / ".audio.mp3.part").exists()


def test_imported_html_notes_stay_html_and_sanitized(server: Server, tmp_path: Path) -> None:
    hf = build_feed(server, "transistor", tmp_path / "src")
    root = _show(tmp_path)
    importer.import_feed(root, hf.url, base_url=BASE, feed_id="moved")
    out = _build_and_feed(root)
    content = out.entries[-1].content[0].value
    assert "<p>Show notes 1</p>" in content
    assert "<pre>line one\n\n    indented code</pre>" in content    # blank line and indent kept
    assert "<p>* not a list</p>" in content                           # not read as Markdown
    assert "script" not in content and "alert" not in content
    feed_xml = (root / "build/site/moved/feed.xml").read_bytes()
    parsed = podcastparser.parse(BASE + "feed.xml", io.BytesIO(feed_xml))
    assert [e["guid"] for e in parsed["episodes"]] == [e.guid for e in reversed(hf.episodes)]


@pytest.mark.slow
def test_fifty_items_keep_guid_date_and_length_through_build_and_feed(server: Server,
                                                                       tmp_path: Path) -> None:
    """Done when: a 50-item host feed re-emits every guid, date and enclosure length."""
    hf = build_feed(server, "megaphone", tmp_path / "src", count=50)
    root = _show(tmp_path)
    run = podkit_inprocess(root, "import", hf.url, "--base-url", BASE, "--feed", "moved")
    assert run.rc == 0, run
    assert podkit_inprocess(root, "build", "-j", "2").rc == 0
    assert podkit_inprocess(root, "feed", "--now", "2030-01-01T00:00:00Z").rc == 0
    old = podcastparser.parse(hf.url, io.BytesIO(server.files["/megaphone/feed.xml"][0]))
    new = podcastparser.parse(BASE + "feed.xml",
                              io.BytesIO((root / "build/site/moved/feed.xml").read_bytes()))
    assert len(old["episodes"]) == len(new["episodes"]) == 50
    real = {ep.guid: len(ep.mp3) for ep in hf.episodes}
    for a, b in zip(old["episodes"], new["episodes"]):
        assert b["guid"] == a["guid"]
        assert b["published"] == a["published"]
        stated = a["enclosures"][0]["file_size"]
        # Where the old feed stated the real size, the new one states the same number; the
        # one that was off (ad insertion) now states the size of the file it serves.
        assert b["enclosures"][0]["file_size"] == (stated if stated == real[a["guid"]]
                                                   else real[a["guid"]])
    fp_old = feedparser.parse(server.files["/megaphone/feed.xml"][0])
    fp_new = feedparser.parse((root / "build/site/moved/feed.xml").read_bytes())
    assert [e.id for e in fp_new.entries] == [e.id for e in fp_old.entries]
    assert [e.published_parsed for e in fp_new.entries] == [e.published_parsed for e in fp_old.entries]
