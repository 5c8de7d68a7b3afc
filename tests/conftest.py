"""Shared fixtures: a small but complete show folder built in tmp_path with real files."""
from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from PIL import Image

from toolkit import ffmpeg

FEED_TOML = """\
title = "Test Radio Hour"
description = "A programme used by podkit's tests."
link = "https://www.example.org/test-radio/"
language = "en"
author = "Example Radio"
explicit = false
categories = ["News > Politics", "Government"]
artwork = "test-radio.jpg"
base_url = "https://media.example.org/test-radio/"
feed_url = "https://media.example.org/test-radio/feed.xml"
preset = "podcast"

[owner]
name = "Example Radio"
email = "podcasts@example.org"
"""

EPISODE_TOML = """\
feed = "test-radio"
title = "First episode"
date = 2024-05-01T09:00:00+09:00
number = 1
season = 1
summary = "The first one."
notes = "Some *notes* with [a link](https://www.example.org/)."

[[parts]]
file = "intro.flac"
title = "Intro"
[[parts]]
file = "body.flac"
title = "Talk"
gap = 0.5
"""


def make_tone(path: Path, seconds: float = 2.0, freq: int = 440, rate: int = 44100,
              channels: int = 2, volume_db: float = -20.0) -> Path:
    """Write a sine tone with ffmpeg (format by extension)."""
    ffmpeg.run(["-v", "error", "-f", "lavfi", "-i",
                f"sine=frequency={freq}:sample_rate={rate}:duration={seconds}",
                "-af", f"volume={volume_db}dB", "-ac", str(channels), "-y", str(path)],
               what="making a test tone")
    return path


def make_cover(path: Path, size: int = 1400, mode: str = "RGB", fmt: str = "JPEG") -> Path:
    """Write a plain square cover image."""
    Image.new(mode, (size, size), "navy" if mode == "RGB" else 0).save(path, fmt)
    return path


@pytest.fixture(scope="session")
def _media_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("media")
    make_tone(folder / "intro.flac", 1.5, 880)
    make_tone(folder / "body.flac", 3.0, 440)
    make_cover(folder / "cover.jpg")
    return folder


def write_show(root: Path, media: Path) -> Path:
    """Write the test show (feeds/test-radio.toml, episodes/first-episode/) into `root`."""
    (root / "feeds").mkdir(parents=True)
    (root / "feeds" / "test-radio.toml").write_text(FEED_TOML, "utf-8")
    shutil.copy(media / "cover.jpg", root / "feeds" / "test-radio.jpg")
    ep = root / "episodes" / "first-episode"
    ep.mkdir(parents=True)
    (ep / "episode.toml").write_text(EPISODE_TOML, "utf-8")
    for name in ("intro.flac", "body.flac"):
        shutil.copy(media / name, ep / name)
    return root


@pytest.fixture
def show_root(tmp_path: Path, _media_cache: Path) -> Path:
    """A valid show folder: feeds/test-radio.toml and episodes/first-episode/."""
    return write_show(tmp_path / "show", _media_cache)


def dedent(text: str) -> str:
    """textwrap.dedent, for inline TOML in tests."""
    return textwrap.dedent(text)


@pytest.fixture(scope="session")
def built_show(tmp_path_factory: pytest.TempPathFactory, _media_cache: Path) -> Path:
    """The fixture show, built and its feed written once per session.

    Tests that change it must copy it first (shutil.copytree(built_show, tmp_path / "show")).
    """
    import datetime as dt

    from toolkit import deliver, pipeline
    root = write_show(tmp_path_factory.mktemp("built") / "show", _media_cache)
    results = pipeline.build(root)
    assert all(r.ok for r in results), [r.error for r in results]
    deliver.write_feed(root, now=dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc))
    return root
