"""One source of truth: what the build produced is what the feed, pages, validation and
publishing show; a failed build leaves nothing behind; check knows what build knows.

Each test runs the real commands (in-process CLI) on a copy of the built test show and
reads the real artefacts back: the feed with feedparser, the MP3's tags with mutagen.
"""
from __future__ import annotations

import json
import struct
import subprocess
import zlib
from pathlib import Path

import feedparser
import pytest
from corpus_support import copy_show, podkit_inprocess, tree_hash
from mutagen.id3 import ID3

from toolkit import deliver, ffmpeg, pipeline
from toolkit.config import catalog
from toolkit.config import episode as episode_mod
from toolkit.store.layout import Layout

EP = "episodes/first-episode"
STAGE = "build/stage/test-radio"
SITE = "build/site/test-radio"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text, (old, path)
    path.write_text(text.replace(old, new, 1), "utf-8")


def ok(root: Path, *args: str) -> str:
    run = podkit_inprocess(root, *args)
    assert run.rc == 0, run
    return run.stdout


def feed_of(root: Path) -> feedparser.FeedParserDict:
    return feedparser.parse((root / SITE / "feed.xml").read_bytes())


def mp3_of(root: Path) -> Path:
    (mp3,) = (root / STAGE / "episodes/first-episode").glob("first-episode-*.mp3")
    return mp3


@pytest.fixture
def show(built_show: Path, tmp_path: Path) -> Path:
    return copy_show(built_show, tmp_path / "show")


# ---- 1. a changed source is stale until it is built ----------------------------------------

def test_changed_title_is_refused_by_feed_until_built(show: Path) -> None:
    feed_before = (show / SITE / "feed.xml").read_bytes()
    edit(show / EP / "episode.toml", 'title = "First episode"', 'title = "First, retitled"')
    run = podkit_inprocess(show, "feed")
    assert run.rc == 1 and run.err_lines[0] == (
        "podkit: episodes/first-episode: build: stale: changed since its build: "
        "episodes/first-episode/episode.toml (title); run `podkit build first-episode`"), run
    assert (show / SITE / "feed.xml").read_bytes() == feed_before
    check = podkit_inprocess(show, "check")
    assert check.rc == 0 and "episodes/first-episode/episode.toml: build: warning: stale" in \
        check.stderr + check.stdout, check
    # Built again, every output says the same thing.
    ok(show, "build")
    ok(show, "feed")
    assert feed_of(show).entries[0].title == "First, retitled"
    assert str(ID3(mp3_of(show))["TIT2"]) == "First, retitled"
    page = (show / SITE / "episodes/first-episode/index.html").read_text("utf-8")
    assert "First, retitled" in page and "First episode<" not in page
    assert "First, retitled" in (show / SITE / "index.html").read_text("utf-8")
    assert "ok" in ok(show, "validate")


def test_notes_and_cover_changes_are_named(show: Path) -> None:
    edit(show / EP / "episode.toml", "Some *notes*", "Other *notes*")
    (show / "feeds/test-radio.jpg").write_bytes((show / "feeds/test-radio.jpg").read_bytes() + b"\0")
    run = podkit_inprocess(show, "feed")
    assert run.rc == 1 and "episode.toml (notes), feeds/test-radio.toml;" in run.stderr, run


def test_feed_reads_records_not_sources(show: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`podkit feed` renders nothing from the sources: transcripts and notes are not read."""
    from toolkit.site import markup
    from toolkit.text import transcript
    for module, name in ((transcript, "load"), (markup, "render_notes")):
        monkeypatch.setattr(module, name, lambda *a, **k: pytest.fail(f"{name} called by feed"))
    (show / SITE / "feed.xml").unlink()
    ok(show, "feed")
    assert feed_of(show).entries[0].title == "First episode"


# ---- 2. a failed or killed build leaves the last good one ------------------------------------

def huge_png(path: Path, width: int = 30000, height: int = 30000) -> None:
    """A tiny PNG file whose header declares width x height pixels (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def test_refused_chapter_image_leaves_no_trace(show: Path) -> None:
    huge_png(show / EP / "map.png")
    with (show / EP / "episode.toml").open("a") as f:
        f.write('\n[[chapters]]\nstart = 0\ntitle = "Opening"\nimg = "map.png"\n')
    before = tree_hash(show / "build")
    run = podkit_inprocess(show, "build")
    assert run.rc == 1 and "failed first-episode: " in run.stderr and "map.png" in run.stderr, run
    assert tree_hash(show / "build") == before       # not a byte of the attempt
    # The attempt is invisible: feed refuses the changed episode, the published site stays.
    assert podkit_inprocess(show, "feed").rc == 1
    assert "ok" in ok(show, "validate")
    ok(show, "publish")
    public = show / "build/public/test-radio"
    assert not any(p.name.startswith("chapter-") for p in public.rglob("*"))


def test_killed_build_leftovers_are_removed_by_the_next_build(show: Path) -> None:
    layout = Layout(show)
    final = layout.episode_stage("test-radio", "first-episode")
    work = final.parent / ".work-first-episode"
    work.mkdir()
    (work / "half-written.mp3").write_bytes(b"x")
    part = layout.cache("test-radio", "first-episode") / ".first-episode-0123.mp3.x1.mp3.part"
    part.write_bytes(b"x")
    ok(show, "build")                                  # nothing to build, but leftovers go
    assert not work.exists() and not part.exists()


def test_promotion_cut_short_is_rolled_back(show: Path) -> None:
    final = Layout(show).episode_stage("test-radio", "first-episode")
    final.rename(final.parent / ".old-first-episode")  # killed between the two renames
    cat = catalog.load(show)
    rec = cat.record(cat.episodes[0])
    assert rec is not None and final.is_dir() and rec.audio.path.is_file()


# ---- 4. cost: load once, no process per item -------------------------------------------------

def test_build_loads_each_episode_once(show: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = show / EP
    for n, slug in ((2, "second"), (3, "third")):
        dst = show / "episodes" / slug
        copy_show(src, dst)
        edit(dst / "episode.toml", "number = 1", f"number = {n}")
    calls: list[str] = []
    real = episode_mod.read_episode
    monkeypatch.setattr(catalog, "read_episode",
                        lambda folder, *a, **k: calls.append(folder.name) or real(folder, *a, **k))
    results = pipeline.build(show, jobs=1)
    assert all(r.ok for r in results) and sorted(calls) == ["first-episode", "second", "third"]
    assert [r.value.unchanged for r in results] == [True, False, False]
    calls.clear()
    again = pipeline.build(show, jobs=1)        # a no-op build: records only, no worker
    assert all(r.value.unchanged for r in again) and calls == []   # from the memo
    edit(show / "episodes/second/episode.toml", "number = 2", "number = 22")
    pipeline.build(show, jobs=1)
    assert calls == ["second"]                  # only the changed folder is read again


def test_validate_starts_no_process_per_item(show: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("validate started a process")
    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(ffmpeg, "probe", refuse)
    findings = deliver.validate_own(show)
    assert [f for f in findings if f.severity.value == "error"] == []


def test_validate_compares_durations_with_the_record(show: Path) -> None:
    feed = show / SITE / "feed.xml"
    text = feed.read_text("utf-8")
    duration = text.split("<itunes:duration>")[1].split("<")[0]
    feed.write_text(text.replace(f"<itunes:duration>{duration}<",
                                 f"<itunes:duration>{int(duration) + 30}<"), "utf-8")
    findings = deliver.validate_own(show)
    assert any(f.rule == "apple.duration" and "the build measured" in f.message
               for f in findings), findings


def test_validate_reports_each_rendition_and_refuses_an_off_target_one(show: Path) -> None:
    out = ok(show, "validate")
    assert "loudness as built: 1 MP3 -16.0 to -16.0 LUFS" in out, out
    rec = next((show / STAGE / "episodes/first-episode").glob(".podkit-build.json"))
    data = json.loads(rec.read_text("utf-8"))
    data["steps"]["audio"]["renditions"]["mp3"]["integrated"] = -19.5     # as if the build had missed
    rec.write_text(json.dumps(data), "utf-8")
    run = podkit_inprocess(show, "validate", "--json")
    doc = json.loads(run.stdout)
    assert run.rc == 1 and [f["rule"] for f in doc["findings"]] == ["own.loudness"], run
    assert doc["loudness"][0]["integrated"] == -19.5 and doc["loudness"][0]["kind"] == "mp3"


# ---- 5. check knows what build knows -----------------------------------------------------------

def test_check_refuses_a_chapter_after_the_audio(show_root: Path) -> None:
    with (show_root / EP / "episode.toml").open("a") as f:   # the parts add up to 5 s
        f.write('\n[[chapters]]\nstart = 0\ntitle = "A"\n[[chapters]]\nstart = 7\ntitle = "B"\n')
    run = podkit_inprocess(show_root, "check")
    assert run.rc == 1 and any(
        ln.startswith("episodes/first-episode/episode.toml: chapters[1].start: starts at 00:07")
        for ln in run.err_lines), run
    assert podkit_inprocess(show_root, "build").rc == 1      # and the build agrees


def test_check_refuses_a_cue_after_the_audio(show_root: Path) -> None:
    (show_root / EP / "t.srt").write_text("1\n00:00:00,000 --> 00:00:02,000\nHello.\n\n"
                                          "2\n00:00:06,000 --> 00:00:07,000\nToo late.\n")
    with (show_root / EP / "episode.toml").open("a") as f:
        f.write('\n[[transcripts]]\nfile = "t.srt"\n')
    run = podkit_inprocess(show_root, "check")
    assert run.rc == 1 and any("t.srt: cue 2 at 00:06.000: starts after the end of the audio"
                               in ln for ln in run.err_lines), run


# ---- defects: descriptions, persons, chapters -------------------------------------------------

def test_summary_survives_when_chapters_exist(show: Path) -> None:
    edit(show / EP / "episode.toml", 'notes = "Some *notes* with [a link](https://www.example.org/)."\n', "")
    ok(show, "build")
    ok(show, "feed")
    description = feed_of(show).entries[0].description
    assert "The first one." in description and "Intro" in description and "Talk" in description


def test_item_persons_keep_the_show_people(show: Path) -> None:
    with (show / "feeds/test-radio.toml").open("a") as f:
        f.write('\n[[persons]]\nname = "Ann Host"\nrole = "host"\n')
    with (show / EP / "episode.toml").open("a") as f:
        f.write('\n[[persons]]\nname = "Gus Guest"\nrole = "guest"\n'
                '[[persons]]\nname = "Ann Host"\nrole = "host"\n')
    ok(show, "build")
    ok(show, "feed")
    xml = (show / SITE / "feed.xml").read_text("utf-8")
    item = xml[xml.index("<item>"):]
    assert item.count("Ann Host</podcast:person>") == 1
    assert item.count("Gus Guest</podcast:person>") == 1


def test_single_file_without_chapters_gets_none(show: Path) -> None:
    text = (show / EP / "episode.toml").read_text("utf-8")
    (show / EP / "episode.toml").write_text(text[:text.index("[[parts]]")]
                                            + 'audio = "body.flac"\n', "utf-8")
    ok(show, "build")
    ok(show, "feed")
    tags = ID3(mp3_of(show))
    assert not tags.getall("CHAP") and not tags.getall("CTOC")
    assert not (show / STAGE / "episodes/first-episode/chapters.json").exists()
    assert "Chapters" not in (show / "build/reports/test-radio/first-episode/notes.md").read_text()
    assert "podcast:chapters" not in (show / SITE / "feed.xml").read_text("utf-8")


def test_index_shows_the_newest_and_the_archive_lists_all(show: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from toolkit.site import notes
    second = show / "episodes" / "second"
    copy_show(show / EP, second)
    edit(second / "episode.toml", "number = 1", "number = 2")
    edit(second / "episode.toml", 'title = "First episode"', 'title = "Second episode"')
    edit(second / "episode.toml", "2024-05-01", "2024-05-08")
    ok(show, "build")
    monkeypatch.setattr(notes, "INDEX_EPISODES", 1)     # 50 in a real show
    deliver.write_feed(show, now=release_now())
    index = (show / SITE / "index.html").read_text("utf-8")
    archive = (show / SITE / "archive.html").read_text("utf-8")
    assert "Second episode" in index and "First episode" not in index
    assert 'href="archive.html">All 2 episodes<' in index
    assert archive.index("Second episode") < archive.index("First episode")
    assert 'href="episodes/first-episode/index.html"' in archive
    assert len(feed_of(show).entries) == 2                # the feed lists every episode


def release_now():  # noqa: ANN201 - a datetime after every test episode
    import datetime as dt
    return dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
