"""Moving a whole show in (issue 23, items 1 and 2): a host-style feed with a video bonus,
soundbites, value recipients, a trailer, seasons, location, podroll and txt, served on
127.0.0.1, imported with `podkit import`, released with `podkit release` (check, build,
feed, validate, publish to a folder), and read back from the published folder."""
from __future__ import annotations

import tomllib
from pathlib import Path

import feedparser
import pytest
from corpus_support import podkit_inprocess
from import_fullshow import (GUEST_NODE, ITEMS, MONO_ITEMS, NODE, SHOW_GUID, UNMAPPED_CHANNEL,
                             UNMAPPED_ITEM, VIDEO_ITEM, FullShow, build)
from import_hosts import Server, server  # noqa: F401
from lxml import etree
from mutagen.mp3 import MP3

BASE = "https://media.example.org/allotment/"
P = {"podcast": "https://podcastindex.org/namespace/1.0",
     "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd"}
NOW = "2031-01-01T00:00:00Z"


def _import(server: Server, tmp_path: Path) -> tuple[FullShow, Path, object]:
    show = build(server, tmp_path / "host")
    root = tmp_path / "show"
    root.mkdir()
    run = podkit_inprocess(root, "import", show.url, "--allow-private-hosts", "--base-url", BASE,
                           "--feed", "allotment")
    return show, root, run


@pytest.fixture
def imported(server: Server, tmp_path: Path):  # noqa: ANN201
    show, root, run = _import(server, tmp_path)
    assert run.rc == 0, run.stderr
    return show, root, run


def _episodes(root: Path) -> dict[str, dict]:
    out = {}
    for path in sorted((root / "episodes").glob("*/episode.toml")):
        data = tomllib.loads(path.read_text("utf-8"))
        out[data["guid"]] = {**data, "_dir": path.parent}
    return out


def test_a_moved_in_show_releases_with_every_item_and_tag(imported) -> None:  # noqa: ANN001
    show, root, run = imported
    # import: every tag it does not carry is named, and init's Makefile and .gitignore are there
    for tag in UNMAPPED_CHANNEL:
        assert f"not mapped: channel: {tag}: podkit has no place for it" in run.stderr, run.stderr
    for tag in UNMAPPED_ITEM:
        assert f"not mapped: items: {tag}: podkit has no place for it, in {ITEMS} item(s)" \
            in run.stderr
    assert "cue" in (root / "Makefile").read_text() or "release" in (root / "Makefile").read_text()
    assert "build/" in (root / ".gitignore").read_text()
    # a second import changes nothing and never overwrites the producer's Makefile
    (root / "Makefile").write_text("# mine\n")
    again = podkit_inprocess(root, "import", show.url, "--allow-private-hosts", "--base-url", BASE,
                           "--feed", "allotment")
    assert again.rc == 0 and f"0 episode(s) created, 0 updated, {ITEMS} unchanged" in again.stdout, again
    assert (root / "Makefile").read_text() == "# mine\n" and "wrote" not in again.stdout

    rel = podkit_inprocess(root, "release", "--now", NOW)
    assert rel.rc == 0, rel.stdout + rel.stderr
    published = root / "build" / "public" / "allotment"
    xml = (published / "feed.xml").read_bytes()
    tree = etree.fromstring(xml)
    items = {i.findtext("guid"): i for i in tree.iter("item")}
    assert sorted(items) == sorted(show.guids)          # every item, the video bonus too

    video = items[f"allotment-{VIDEO_ITEM:03d}"]
    enc = video.find("enclosure")
    assert enc.get("type") == "video/mp4"
    assert int(enc.get("length")) == len(show.files[f"allotment-{VIDEO_ITEM:03d}"])
    name = enc.get("url").rsplit("/", 1)[1]
    on_disk = next(published.rglob(name))
    assert on_disk.read_bytes() == show.files[f"allotment-{VIDEO_ITEM:03d}"]   # as delivered
    assert video.findtext("itunes:episodeType", namespaces=P) == "bonus"

    ch = tree.find("channel")
    value = ch.find("podcast:value", P)
    assert (value.get("type"), value.get("method"), value.get("suggested")) == \
        ("lightning", "keysend", "0.00000005000")
    recipients = [(r.get("name"), r.get("address"), r.get("split"), r.get("fee"))
                  for r in value.findall("podcast:valueRecipient", P)]
    assert recipients == [("Ann", NODE, "90", None), ("Podcast Index", GUEST_NODE, "10", "true")]
    trailer = ch.find("podcast:trailer", P)
    assert trailer.text == "Season two is coming" and trailer.get("season") == "2"
    assert trailer.get("url") == "https://allotment.example.org/trailer.mp3"
    assert trailer.get("type") == "audio/mpeg" and trailer.get("pubdate")
    loc = ch.find("podcast:location", P)
    assert (loc.text, loc.get("geo"), loc.get("osm")) == ("Cambridge, UK", "geo:52.2053,0.1218",
                                                          "R295355")
    remote = ch.find("podcast:podroll/podcast:remoteItem", P)
    assert remote.get("feedGuid") == "917393e3-1b1e-5cef-ace4-edaa54e1f810"
    assert remote.get("feedUrl") == "https://other.example.org/feed.xml"
    txt = ch.find("podcast:txt", P)
    assert (txt.text, txt.get("purpose")) == ("S6lpp-7ZCn8-dZfGc-OoyVG", "verify")
    assert ch.findtext("podcast:guid", namespaces=P) == SHOW_GUID

    for n in range(1, ITEMS + 1):
        item = items[f"allotment-{n:03d}"]
        season = item.find("podcast:season", P)
        assert season.get("name") == ("Spring digging" if n <= 7 else "Autumn harvest")
        if n != VIDEO_ITEM:
            number = n if n <= 7 else n - 7
            assert item.find("podcast:episode", P).get("display") == \
                f"Ep. {1 if n <= 7 else 2}.{number}"
        bites = item.findall("podcast:soundbite", P)
        assert [(b.get("startTime"), b.get("duration"), b.text) for b in bites] == \
            ([("0.5", "15", f"The slugs of week {n}")] if n % 3 == 0 else [])
    item_value = items["allotment-006"].find("podcast:value", P)
    assert [r.get("name") for r in item_value.findall("podcast:valueRecipient", P)] == \
        ["Host", "Guest 6"]
    assert items["allotment-010"].find("podcast:location", P).text == "Cambridge"
    assert items["allotment-011"].find("podcast:txt", P).get("purpose") == "release"

    # itunes:summary is the summary when there is no other: the index page shows it
    index = (published / "index.html").read_text("utf-8")
    assert "Week 13 on the plot: beans, &amp; slugs." in index
    # a real feed parser reads the published feed with every item
    parsed = feedparser.parse(xml)
    assert len(parsed.entries) == ITEMS and not parsed.bozo


def test_passthrough_is_reported_as_delivered_never_an_error(imported) -> None:  # noqa: ANN001
    _, root, _ = imported
    build = podkit_inprocess(root, "build", "-j", "2")
    assert build.rc == 0, build.stderr
    lines = [ln for ln in build.stdout.splitlines() if ln.startswith("built ")]
    assert len(lines) == ITEMS and all("as delivered" in ln for ln in lines), build.stdout
    assert podkit_inprocess(root, "feed", "--now", NOW).rc == 0
    val = podkit_inprocess(root, "validate")
    assert val.rc == 0, val.stdout + val.stderr
    assert "own.loudness" not in val.stdout + val.stderr
    assert "--force" not in val.stdout + val.stderr
    assert "loudness as delivered (passthrough)" in val.stdout
    assert "remaster = true" in val.stdout


def test_remaster_keeps_each_files_channels_and_bitrate(imported) -> None:  # noqa: ANN001
    _, root, _ = imported
    feed = root / "feeds" / "allotment.toml"
    data = feed.read_text("utf-8")
    feed.write_text(data.replace("\n[owner]", "\n[encoding]\nremaster = true\n\n[owner]", 1))
    assert podkit_inprocess(root, "release", "--now", NOW).rc == 0
    eps = _episodes(root)
    published = root / "build" / "public" / "allotment"
    tree = etree.fromstring((published / "feed.xml").read_bytes())
    for item in tree.iter("item"):
        guid = item.findtext("guid")
        n = int(guid.rsplit("-", 1)[1])
        url = item.find("enclosure").get("url")
        path = next(published.rglob(url.rsplit("/", 1)[1]))
        if n == VIDEO_ITEM:       # a video is never turned into an MP3
            assert path.suffix == ".mp4"
            continue
        info = MP3(path).info
        src = MP3(eps[guid]["_dir"] / "audio.mp3").info
        assert info.channels == src.channels == (1 if n in MONO_ITEMS else 2)
        assert info.bitrate <= src.bitrate
    # validate passes: each re-mastered MP3 within 1 LU of its target (mono -19, stereo -16)
    val = podkit_inprocess(root, "validate")
    assert val.rc == 0, val.stdout
    assert "loudness as built: 14 MP3" in val.stdout and "(target -16/-19 LUFS" in val.stdout
    assert "as delivered (passthrough): 1 MP4" in val.stdout    # the video, still as delivered
