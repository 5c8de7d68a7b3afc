"""Typed TOML reading: every unknown key is reported, with the known key it most resembles."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from toolkit.config.episode import read_episode
from toolkit.config.tomlread import Table
from toolkit.errors import Problem

REPO = Path(__file__).resolve().parents[2]


def _episode_keys(tmp_path: Path) -> list[str]:
    """The top-level keys the real loader asks for, recorded while it reads the sample show's
    episode (copied: sources are never touched)."""
    src = next(p.parent for p in sorted((REPO / "episodes").glob("*/episode.toml")))
    folder = shutil.copytree(src, tmp_path / "episodes" / src.name)
    asked: set[str] = set()
    real_finish = Table.finish

    def recording_finish(self: Table) -> None:
        if not self.prefix:
            asked.update(self._seen)
        real_finish(self)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Table, "finish", recording_finish)
        read_episode(folder, tmp_path, [])
    assert {"title", "summary", "parts"} <= asked, asked
    return sorted(asked)


def _typos(key: str) -> list[str]:
    """The common slips: a letter dropped, doubled, or two neighbours swapped."""
    mid = len(key) // 2
    return [key[:mid] + key[mid + 1:], key[:mid] + key[mid] + key[mid:],
            key[:mid - 1] + key[mid] + key[mid - 1] + key[mid + 1:]]


def test_every_known_key_is_suggested_for_its_typos(tmp_path: Path) -> None:
    keys = _episode_keys(tmp_path)
    missed = []
    for key in (k for k in keys if len(k) >= 4):
        for typo in _typos(key):
            if typo == key or typo in keys:
                continue
            problems: list[Problem] = []
            t = Table({typo: 1}, "episode.toml", problems)
            for known in keys:
                t.has(known)
            t.finish()
            (problem,) = problems
            if f"did you mean {key!r}" not in problem.message:
                missed.append(f"{typo} -> {problem.message}")
    assert missed == []


def test_no_suggestion_for_a_key_like_none_known() -> None:
    problems: list[Problem] = []
    t = Table({"colour": "red"}, "episode.toml", problems)
    for known in ("title", "summary", "transcript"):
        t.has(known)
    t.finish()
    assert [(p.field, p.message) for p in problems] == [("colour", "unknown key")]
