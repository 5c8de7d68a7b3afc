"""`passthrough = true`: an already mastered MP3 is published without a second encode.

The built MP3's audio frames must be the source's, bit for bit (read back with mutagen
and ffmpeg's per-packet hashes); only the tag in front changes. With `keep_tags` the
whole file is the source's.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from pathlib import Path

import feedparser
import pytest
from conftest import make_tone
from mutagen.id3 import ID3, TIT2
from mutagen.mp3 import MP3

from toolkit import deliver, ffmpeg, pipeline
from toolkit.audio import loudness
from toolkit.config import catalog
from toolkit.tags import id3

EPISODE = """\
feed = "test-radio"
title = "Mastered elsewhere"
date = 2023-03-01T06:00:00-05:00
audio = "mastered.mp3"
passthrough = true
"""


def make_mastered_mp3(path: Path, seconds: float = 3.0) -> Path:
    """An MP3 as another host would serve it: LAME VBR, its own ID3 tag."""
    wav = make_tone(path.with_suffix(".wav"), seconds, 330, volume_db=-14.0)
    ffmpeg.run(["-v", "error", "-i", str(wav), "-c:a", "libmp3lame", "-q:a", "4", "-y", str(path)],
               what="making a mastered MP3")
    wav.unlink()
    tags = ID3(path)
    tags.add(TIT2(encoding=3, text="Old host's title"))
    tags.save(path, v2_version=4)
    return path


def frame_hashes(path: Path) -> list[str]:
    """ffmpeg's MD5 of every audio packet, stream-copied (nothing decoded or re-encoded)."""
    proc = ffmpeg.run(["-v", "error", "-i", str(path), "-map", "0:a", "-c:a", "copy",
                       "-f", "framemd5", "-"], what="hashing frames")
    return [ln.rsplit(",", 1)[1].strip() for ln in proc.stdout.decode().splitlines()
            if ln and not ln.startswith("#")]


def audio_bytes(path: Path) -> bytes:
    start, end = id3.audio_span(path)
    with open(path, "rb") as f:
        f.seek(start)
        return f.read(end - start)


@pytest.fixture
def passthrough_root(show_root: Path) -> Path:
    ep = show_root / "episodes" / "mastered"
    ep.mkdir()
    make_mastered_mp3(ep / "mastered.mp3")
    (ep / "episode.toml").write_text(EPISODE, "utf-8")
    return show_root


def _build(root: Path, slug: str = "mastered"):  # noqa: ANN202
    results = pipeline.build(root, (slug,))
    assert all(r.ok for r in results), [r.error for r in results]
    return catalog.load(root)


def test_passthrough_keeps_every_audio_frame_and_retags(passthrough_root: Path) -> None:
    src = passthrough_root / "episodes" / "mastered" / "mastered.mp3"
    before = src.read_bytes()
    cat = _build(passthrough_root)
    rec = cat.load_record(next(e for e in cat.episodes if e.slug == "mastered"))
    built = rec.audio.path
    assert src.read_bytes() == before                       # the source is only read
    assert audio_bytes(built) == audio_bytes(src)           # same frames, byte for byte
    assert frame_hashes(built) == frame_hashes(src)
    assert str(ID3(built)["TIT2"]) == "Mastered elsewhere"  # podkit's tag replaced the host's
    # The record holds the file's own measurement, not a target it was pushed to.
    measured = loudness.measure_file(src)
    assert rec.loudness_after.integrated == pytest.approx(measured.integrated, abs=0.01)
    assert rec.duration == pytest.approx(MP3(src).info.length, abs=0.05)
    assert rec.renditions["mp3"].true_peak == pytest.approx(measured.true_peak, abs=0.01)


def test_keep_tags_publishes_the_file_byte_for_byte(passthrough_root: Path) -> None:
    toml = passthrough_root / "episodes" / "mastered" / "episode.toml"
    toml.write_text(EPISODE + "keep_tags = true\n", "utf-8")
    src = toml.parent / "mastered.mp3"
    _build(passthrough_root)
    pipeline.build(passthrough_root)
    deliver.write_feed(passthrough_root, now=dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc))
    feed = feedparser.parse((passthrough_root / "build/site/test-radio/feed.xml").read_bytes())
    item = next(e for e in feed.entries if e.title == "Mastered elsewhere")
    enclosure = item.enclosures[0]
    assert int(enclosure.length) == src.stat().st_size
    published = passthrough_root / "build/site/test-radio" / enclosure.href.split("/test-radio/")[1]
    assert hashlib.sha256(published.read_bytes()).digest() == hashlib.sha256(src.read_bytes()).digest()
    assert str(ID3(published)["TIT2"]) == "Old host's title"
    assert item.itunes_duration == str(round(MP3(src).info.length))


def test_passthrough_measures_once_then_uses_the_cache(passthrough_root: Path) -> None:
    _build(passthrough_root)
    toml = passthrough_root / "episodes" / "mastered" / "episode.toml"
    toml.write_text(EPISODE.replace("Mastered elsewhere", "Renamed"), "utf-8")
    results = pipeline.build(passthrough_root, ("mastered",))
    assert results[0].ok and results[0].value.cached      # notes edit: nothing decoded again


def test_passthrough_refuses_aac_data_named_mp3(passthrough_root: Path, tmp_path: Path) -> None:
    ep = passthrough_root / "episodes" / "mastered"
    make_tone(tmp_path / "aac.m4a", 2.0)
    shutil.copyfile(tmp_path / "aac.m4a", ep / "mastered.mp3")
    results = pipeline.build(passthrough_root, ("mastered",))
    assert not results[0].ok
    assert "episodes/mastered/episode.toml: passthrough:" in results[0].error
    assert "not MP3" in results[0].error


def test_passthrough_ignores_renditions_with_a_warning(passthrough_root: Path) -> None:
    """A mastered MP3 is never re-encoded, so no other format can be made of it."""
    toml = passthrough_root / "episodes" / "mastered" / "episode.toml"
    toml.write_text(toml.read_text() + '\n[encoding]\nrenditions = ["mp3", "opus"]\n', "utf-8")
    feed = passthrough_root / "feeds" / "test-radio.toml"
    feed.write_text(feed.read_text() + '\n[encoding]\nrenditions = ["mp3", "aac"]\n', "utf-8")
    cat = catalog.load(passthrough_root)
    assert [str(p) for p in cat.problems] == [
        "episodes/mastered/episode.toml: encoding: warning: ignored with passthrough = true: "
        "the MP3 is published as mastered"]
    cat = _build(passthrough_root)
    rec = cat.load_record(next(e for e in cat.episodes if e.slug == "mastered"))
    assert rec.extra_audio == () and set(rec.renditions) == {"mp3"}
