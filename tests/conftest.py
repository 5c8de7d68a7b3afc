"""Shared fixtures: a small but complete show folder built in tmp_path with real files."""
from __future__ import annotations

import shutil
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image

from toolkit import ffmpeg

# Test modules import helpers from their neighbours in other folders (test_corpus_feeds
# takes test_feedread's feeds). pytest puts a folder on sys.path only when it collects a
# file from it, so that worked by collection order alone: with a subset of the files, or
# split across xdist workers, it did not. Every test folder is on the path from the start.
for _folder in sorted(p for p in Path(__file__).parent.iterdir()
                      if p.is_dir() and not p.name.startswith((".", "_"))):
    if str(_folder) not in sys.path:
        sys.path.append(str(_folder))

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

    from toolkit import pipeline, public
    root = write_show(tmp_path_factory.mktemp("built") / "show", _media_cache)
    results = pipeline.build(root)
    assert all(r.ok for r in results), [r.error for r in results]
    public.write_feed(root, now=dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc))
    return root


#: The slow lane: end-to-end tests that take seconds each (real builds of whole shows,
#: real servers, synthesis and alignment). `make test` runs everything; `make test-fast`
#: (-m "not slow") leaves these out for the edit loop. Marked here, in one list, rather
#: than in each file: a file named here is slow as a whole; `file::test` names one test
#: (parametrized cases included). `@pytest.mark.slow` on a test does the same.
SLOW = (
    "tests/showlife/test_showlife.py",
    "tests/migrate/test_import.py",
    "tests/text/test_align.py",
    "tests/text/test_align_long.py",
    "tests/test_corpus_audio.py",
    "tests/test_corpus_audio_faults.py",
    "tests/test_corpus_import.py",
    "tests/test_corpus_showlife.py",
    "tests/audio/test_master.py",
    "tests/audio/test_processing.py",
    "tests/audio/test_normalize.py",
    "tests/audio/test_calibrate.py",
    "tests/publish/test_publish_integrity.py",
    "tests/publish/test_notify.py",
    "tests/publish/test_publish_cli.py",
    "tests/publish/test_publish_faults.py",
    "tests/test_corpus_fuzz.py",                 # hypothesis: hundreds of examples each
    "tests/test_corpus_faults.py",               # full disks, S3 faults, killed builds
    "tests/test_corpus_preview.py",              # preview servers in child processes
    "tests/test_pipeline.py",                    # the demo sequence end to end
    "tests/test_truth.py",                       # builds, rebuilds and kills of a show
    "tests/test_runner.py",                      # forked build workers
    "tests/audio/test_sample_show_levels.py",    # the sample show's episodes mastered
    "tests/audio/test_cutaudio.py",              # radio cuts rendered and measured
    "tests/audio/test_mix.py",
    "tests/test_cuts.py",
    "tests/site/test_pages_browser.py",          # headless Chromium
    "tests/migrate/test_moving_in.py",           # a 15-item show imported and released
    "tests/publish/test_notify_bounds.py",       # deadlines waited out
    "tests/deliver/test_deliver_cli.py",         # SFTP servers, builds with air cuts
    "tests/deliver/test_sftp.py",
    "tests/publish/test_publish.py",             # a real S3 server, a site per test
    "tests/audio/test_loudness.py::test_tech3341_integrated",
    "tests/audio/test_loudness.py::test_tech3342_lra",
    "tests/test_corpus_config.py::test_build_case",
    "tests/test_corpus_limits.py::test_limits_case[transcript-json-no-last-end]",
    "tests/test_corpus_feeds.py::test_fuzz_a_truthful_declaration_reads_any_title_exactly",
    "tests/test_corpus_feeds.py::test_fuzz_arbitrary_bytes",
    "tests/test_corpus_feeds.py::test_fuzz_xmlish_documents",
    "tests/text/test_align_bounds.py::test_far_too_much_text_is_a_mismatch_without_any_search[2MB-on-5s]",
    "tests/tags/test_tag.py::test_large_cover_is_scaled_and_deterministic",
    "tests/tags/test_tag.py::test_output_is_identical_across_processes",
    "tests/test_check.py::test_check_warns_when_built_audio_overruns_the_slot",
    "tests/test_api.py::test_the_documented_example_runs",
    "tests/test_cli.py::test_transcript_command_names_a_bad_line_number",
    "tests/test_cli.py::test_error_is_one_line_without_traceback",
)


#: Files whose module-scoped fixtures cost seconds (a synthesised programme and its
#: alignment, a Dask cluster, a built sample show, a browser): `make test` runs with
#: `--dist loadgroup`, which sends each of these files to one worker as a whole, so the
#: fixture is made once rather than once on each worker that gets one of its tests.
WHOLE_FILE = (
    "tests/text/test_align.py",
    "tests/site/test_pages_browser.py",
    "tests/test_cluster.py",
    "tests/test_cuts.py",
    "tests/clips/test_clip_step.py",
    "tests/clips/test_render.py",
    "tests/deliver/test_deliver_cli.py",
    "tests/test_corpus_showlife.py",
    "tests/showlife/test_showlife.py",
    "tests/audio/test_sample_show_levels.py",
)


#: Tests of several seconds of one core's work each (a long programme synthesised and
#: aligned), handed out near the end. xdist sends the `xdist_group`s first, largest first,
#: then single tests in the order given here, a few at a time to each worker as it runs low.
#: At the start, beside the browser, the Dask cluster and the video encodes, the long
#: alignment took 20 s; alone, 7 s. So each of these goes out with TAIL short tests after it
#: (about 10 s of the other workers' work), one to a worker, rather than last of all to one
#: worker while the others stand idle.
LAST = (
    "tests/text/test_align_long.py",
)
TAIL = 150


# tryfirst: xdist's own hook reads the `xdist_group` marks, so they must be on before it runs.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the SLOW tests `slow`: by file, by file::test (all its parameters) or by the
    exact id of one parametrized case; group the WHOLE_FILE tests by file; order the rest
    longest first, with the LAST tests each TAIL tests apart near the end."""
    slow, whole = set(SLOW), set(WHOLE_FILE)
    for item in items:
        node = item.nodeid
        if {node, node.split("[")[0], node.split("::")[0]} & slow:
            item.add_marker(pytest.mark.slow)
        if node.split("::")[0] in whole:
            item.add_marker(pytest.mark.xdist_group(node.split("::")[0]))
    # Longest first: the grouped files, then the files with slow tests, then the rest, each
    # file's tests kept together and in their order. xdist hands out the single tests in
    # this order, so the seconds-long files do not come last to one worker while the others
    # have finished.
    rank: dict[str, int] = {}
    for item in items:
        name = item.nodeid.split("::")[0]
        here = 0 if name in whole else 1 if item.get_closest_marker("slow") else 2
        rank[name] = min(rank.get(name, 2), here)
    items.sort(key=lambda item: rank[item.nodeid.split("::")[0]])
    last = [item for item in items if item.nodeid.split("::")[0] in LAST]
    items[:] = [item for item in items if item.nodeid.split("::")[0] not in LAST]
    for k, item in enumerate(last):
        items.insert(max(0, len(items) - (len(last) - k) * TAIL), item)
