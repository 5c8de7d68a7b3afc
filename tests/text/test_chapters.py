"""Chapters: which win, validation against the audio, Podcast Index JSON, notes timestamps."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toolkit.errors import ConfigError
from toolkit.model import Chapter, Episode
from toolkit.text import chapters


def episode(tmp_path: Path, chs: tuple[Chapter, ...] = ()) -> Episode:
    return Episode(slug="ep", dir=tmp_path, path=tmp_path / "episode.toml", feed="show", title="Ep",
                   date=datetime(2024, 1, 1, tzinfo=timezone.utc), parts=(), guid="g", chapters=chs)


PARTS = (Chapter(0.0, "Intro"), Chapter(30.0, "Body"), Chapter(95.5, "Outro"))


def test_episode_chapters_win_over_parts(tmp_path):
    own = (Chapter(0, "Start"), Chapter(60, "Middle", url="https://example.org/m"))
    got = chapters.resolve(episode(tmp_path, own), PARTS, 120.0)
    assert [(c.start, c.end, c.title) for c in got] == [(0, 60, "Start"), (60, 120.0, "Middle")]
    assert got[1].url == "https://example.org/m"


def test_parts_give_chapters_by_default_with_ends_filled(tmp_path):
    got = chapters.resolve(episode(tmp_path), PARTS, 100.25)
    assert [(c.start, c.end) for c in got] == [(0, 30), (30, 95.5), (95.5, 100.25)]


def test_no_chapters_at_all(tmp_path):
    assert chapters.resolve(episode(tmp_path), (), 10.0) == ()


@pytest.mark.parametrize("chs, field, words", [
    ((Chapter(0, "a"), Chapter(130, "b")), "chapters[1].start", "after the end of the audio"),
    ((Chapter(10, "a"), Chapter(5, "b")), "chapters[1].start", "ascending"),
    ((Chapter(10, "a"), Chapter(10, "b")), "chapters[1].start", "ascending"),
    ((Chapter(-1, "a"),), "chapters[0].start", "not a time position"),
    ((Chapter(0, "a", end=0),), "chapters[0].end", "not after its start"),
    ((Chapter(0, "a", end=125),), "chapters[0].end", "after the end of the audio"),
    ((Chapter(0, "a", end=70), Chapter(60, "b")), "chapters[0].end", "after the next chapter"),
])
def test_bad_chapters_name_the_file_and_chapter(tmp_path, chs, field, words):
    with pytest.raises(ConfigError) as err:
        chapters.resolve(episode(tmp_path, chs), (), 120.0)
    assert err.value.path == str(tmp_path / "episode.toml")
    assert err.value.field == field
    assert words in str(err.value)
    assert "\n" not in str(err.value)


def test_bad_part_chapter_names_the_part(tmp_path):
    with pytest.raises(ConfigError, match=r"parts \(chapter 'Outro'\)\.start"):
        chapters.resolve(episode(tmp_path), PARTS, 90.0)


def test_end_within_tolerance_is_clipped(tmp_path):
    got = chapters.resolve(episode(tmp_path, (Chapter(0, "a", end=120.3),)), (), 120.0)
    assert got[0].end == 120.0


def test_json_follows_podcast_index_1_2(tmp_path):
    chs = chapters.resolve(episode(tmp_path, (
        Chapter(0, "Intro", img="intro.jpg"),
        Chapter(61.25, "Summit", url="https://example.org/s", img="https://cdn.example.org/s.png"),
        Chapter(90, "Hidden", toc=False))), (), 120.5)
    text = chapters.to_json(chs, base_url_for_img=lambda p: f"https://media.example.org/ep/{p}")
    doc = json.loads(text)
    assert doc["version"] == "1.2.0"
    assert doc["chapters"] == [
        {"startTime": 0, "title": "Intro", "img": "https://media.example.org/ep/intro.jpg", "endTime": 61.25},
        {"startTime": 61.25, "title": "Summit", "img": "https://cdn.example.org/s.png",
         "url": "https://example.org/s", "endTime": 90},
        {"startTime": 90, "title": "Hidden", "toc": False, "endTime": 120.5},
    ]
    # deterministic and sorted whatever order it is given in
    assert chapters.to_json(list(reversed(chs)), base_url_for_img=lambda p: f"https://media.example.org/ep/{p}") == text
    assert text.endswith("\n")


def test_json_without_image_urls_leaves_local_images_out(tmp_path, caplog):
    doc = json.loads(chapters.to_json([Chapter(0, "Intro", img="intro.jpg")]))
    assert "img" not in doc["chapters"][0]
    assert "intro.jpg" in caplog.text


@pytest.mark.parametrize("seconds, text", [
    (0, "00:00"), (59.999, "00:59"), (60, "01:00"), (754.5, "12:34"), (3599, "59:59"),
    (3600, "1:00:00"), (3723.9, "1:02:03"), (36000, "10:00:00"),
])
def test_timestamps(seconds, text):
    assert chapters.format_timestamp(seconds) == text


def test_notes_lines_skip_hidden_chapters():
    lines = chapters.notes_lines([Chapter(0, "A"), Chapter(65, "B", toc=False), Chapter(130, "C")])
    assert lines == [("00:00", 0, "A"), ("02:10", 130, "C")]


@given(st.lists(st.floats(min_value=0, max_value=999, allow_nan=False), min_size=1, max_size=12,
                unique=True))
def test_resolved_chapters_tile_the_audio(starts):
    starts = sorted(starts)
    ep = episode(Path("/nonexistent"), tuple(Chapter(s, f"c{i}") for i, s in enumerate(starts)))
    got = chapters.resolve(ep, (), 1000.0)
    assert [c.start for c in got] == starts
    assert all(c.end is not None and c.end > c.start for c in got)
    assert [c.end for c in got[:-1]] == starts[1:] and got[-1].end == 1000.0
