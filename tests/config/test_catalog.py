"""The catalogue: loaded once per command, from a memo while episode folders are unchanged.

The memo must never hand back an episode its sources no longer say: every test changes
one thing the loader reads and checks that the next load sees it.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from toolkit.config import catalog


@pytest.fixture
def root(show_root: Path) -> Path:
    (show_root / "build").mkdir()          # the memo lives in build/cache
    return show_root


def episode(root: Path):  # noqa: ANN201 - the one test episode, loaded
    cat = catalog.load(root)
    assert not cat.errors, cat.errors
    (ep,) = cat.episodes
    return cat, ep


def test_an_unchanged_folder_is_not_read_again(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, first = episode(root)
    assert (root / "build/cache/catalogue.json").is_file()
    monkeypatch.setattr(catalog, "read_episode", lambda *a, **k: pytest.fail("read again"))
    _, again = episode(root)
    assert again == first


def test_a_notes_file_edit_is_seen(root: Path) -> None:
    toml = root / "episodes/first-episode/episode.toml"
    text = toml.read_text().replace('notes = "Some *notes* with [a link](https://www.example.org/)."',
                                    'notes_file = "notes.md"')
    toml.write_text(text)
    notes = root / "episodes/first-episode/notes.md"
    notes.write_text("Old notes.\n")
    assert episode(root)[1].notes == "Old notes."
    stat = notes.stat()
    notes.write_text("New notes.\n")          # same size
    os.utime(notes, ns=(stat.st_atime_ns, stat.st_mtime_ns))   # even with the old mtime
    assert episode(root)[1].notes == "New notes."


def test_a_feed_change_is_seen(root: Path) -> None:
    assert episode(root)[1].loudness is None
    guid_before = episode(root)[1].guid
    feed = root / "feeds/test-radio.toml"
    feed.write_text(feed.read_text().replace("media.example.org/test-radio/feed.xml",
                                             "media.example.org/moved/feed.xml"))
    assert episode(root)[1].guid != guid_before   # derived from the feed's guid


def test_warnings_come_back_with_the_memoized_episode(root: Path) -> None:
    with (root / "episodes/first-episode/episode.toml").open("a") as f:
        f.write("\n[[soundbites]]\nstart = 1\nduration = 2\n")
    cat, _ = episode(root)
    first = [str(p) for p in cat.problems]
    assert any("soundbites" in p for p in first)
    cat, _ = episode(root)
    assert [str(p) for p in cat.problems] == first


def test_an_error_is_never_memoized(root: Path) -> None:
    toml = root / "episodes/first-episode/episode.toml"
    episode(root)
    toml.write_text(toml.read_text().replace('title = "First episode"', "title = 5"))
    for _ in range(2):
        cat = catalog.load(root)
        assert cat.episodes == [] and any(p.field == "title" for p in cat.errors)
