"""Cuts end to end: one build makes the -16 LUFS podcast and the -23 LUFS air WAV from the same
mix (generated material, not the sample show's), measured by ffmpeg's own meter; adding the
air cut leaves the podcast's bytes alone; slots over and under are reported at check and
build; `podkit cue` refuses a build its sources moved on from."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from wavinfo import WavInfoReader

from audio.test_cutaudio import read_cart
from audiosignals import ebur128, speech_like, tone, write_wav
from toolkit import pipeline
from toolkit.cli import cli
from toolkit.crosscheck import load_catalog
from toolkit.store.layout import Layout

AIR = """
cart = "ZZ0042"

[cuts.air]
preset = "ebu-r128"
name = "{cart}_{date:%Y%m%d}"
client = "TEST"
category = "NEWS"
"""
IDENT = """
[[parts]]
file = "ident.wav"
title = "Ident"
cuts = ["air"]
chapter = false
"""
PROMO = """
[[parts]]
file = "promo.wav"
title = "Podcast promo"
cuts = ["podcast"]
"""


def _media(root: Path) -> Path:
    """Replace the fixture show's tones with speech-like material and add the cut-only parts."""
    ep = root / "episodes" / "first-episode"
    for name in ("intro.flac", "body.flac"):
        (ep / name).unlink()
    write_wav(ep / "intro.wav", tone(-8.0, 2.0, 44100, 523.0), 44100)
    write_wav(ep / "body.wav", speech_like(24.0, 44100, -18.0, seed=11), 44100)
    write_wav(ep / "ident.wav", tone(-12.0, 3.0, 44100, 660.0), 44100)
    write_wav(ep / "promo.wav", speech_like(4.0, 44100, -30.0, seed=12), 44100)
    toml = ep / "episode.toml"
    # A line only in the podcast from the start: the air cut's parts are added later.
    toml.write_text(toml.read_text("utf-8").replace(".flac", ".wav") + PROMO, "utf-8")
    return toml


def _mp3(root: Path) -> Path:
    return next((Layout(root).episode_stage("test-radio", "first-episode")).glob("*.mp3"))


def _record(root: Path) -> dict:
    folder = Layout(root).episode_stage("test-radio", "first-episode")
    return json.loads((folder / ".podkit-build.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory, _media_cache: Path) -> tuple[Path, bytes]:
    """The show built without a cut (its MP3's bytes kept), then with the air cut, from
    an empty cache: the podcast is encoded again, not served from the first build."""
    from conftest import write_show
    root = write_show(tmp_path_factory.mktemp("cuts") / "show", _media_cache)
    toml = _media(root)
    assert all(r.ok for r in pipeline.build(root)), "first build"
    before = _mp3(root).read_bytes()
    text = toml.read_text("utf-8")
    head, parts = text.split("[[parts]]", 1)
    toml.write_text(head + AIR + IDENT + "[[parts]]" + parts, "utf-8")
    shutil.rmtree(Layout(root).build / "cache")
    results = pipeline.build(root)
    assert all(r.ok for r in results), [r.error for r in results]
    return root, before


def test_the_podcast_and_the_air_cut_each_land_on_their_own_target(both) -> None:
    root, _ = both
    mp3 = ebur128(_mp3(root))
    assert abs(mp3["I"] + 16.0) <= 0.5 and mp3["TP"] <= -1.0, mp3
    cut = _record(root)["steps"]["cuts"]["cuts"][0]
    wav = Layout(root).build / cut["path"]
    assert cut["path"] == "reports/test-radio/first-episode/ZZ0042_20240501.wav"
    air = ebur128(wav)
    assert abs(air["I"] + 23.0) <= 0.5 and air["TP"] <= -1.0, air
    assert abs(cut["integrated"] - air["I"]) <= 0.1 and cut["target"] == -23.0
    info = WavInfoReader(str(wav))
    assert (info.fmt.sample_rate, info.fmt.bits_per_sample, info.fmt.audio_format) == (48000, 24, 1)
    assert abs(info.bext.loudness_value - air["I"]) <= 0.1 and info.bext.version == 2
    assert info.bext.originator_ref.endswith("-AIR") and info.bext.originator_date == "2024-05-01"
    cart = read_cart(wav)
    assert (cart["cut_id"], cart["client"], cart["category"]) == ("ZZ0042", "TEST", "NEWS")
    assert (cart["start_date"], cart["start_time"]) == ("2024-05-01", "09:00:00")
    # The ident is only on air, the promo only in the podcast: 3 s more, 4 s less.
    rec = _record(root)
    podcast = rec["steps"]["tags"]["audio"]["duration"]
    assert cut["duration"] == pytest.approx(podcast + 3.0 - 4.0, abs=0.05)
    assert cut["sha256"] and cut["size"] == wav.stat().st_size and cut["cart"] == "ZZ0042"


def test_adding_an_air_cut_does_not_change_the_podcast_files_bytes(both) -> None:
    root, before = both
    assert _mp3(root).read_bytes() == before


def test_validate_and_status_report_each_cut_against_its_own_target(both) -> None:
    root, _ = both
    runner = CliRunner()
    assert runner.invoke(cli, ["--root", str(root), "feed", "--now", "2030-01-01T00:00:00Z"]
                         ).exit_code == 0
    out = runner.invoke(cli, ["--root", str(root), "validate"])
    assert out.exit_code == 0, out.output
    assert "1 MP3 -16.0 to -16.0 LUFS" in out.output and "(target -16 LUFS" in out.output
    assert "1 AIR -23.0 to -23.0 LUFS" in out.output and "(target -23 LUFS" in out.output
    status = runner.invoke(cli, ["--root", str(root), "status", "--json"])
    row = json.loads(status.output)["episodes"][0]
    assert row["cuts"][0]["name"] == "air" and row["cuts"][0]["target"] == -23.0


def test_a_slot_is_checked_over_and_under_and_cue_refuses_a_stale_build(both, tmp_path) -> None:
    root = shutil.copytree(both[0], tmp_path / "show")
    toml = root / "episodes" / "first-episode" / "episode.toml"
    duration = _record(root)["steps"]["cuts"]["cuts"][0]["duration"]
    runner = CliRunner()
    for slot, word in ((duration + 64.0, "under (dead air)"), (duration - 10.0, "over")):
        toml.write_text(toml.read_text("utf-8").replace(
            'category = "NEWS"\n', f'category = "NEWS"\nslot = {slot:.1f}\n'), "utf-8")
        cat = load_catalog(root)
        lines = [f"{p.field}: {p.message}" for p in cat.problems]
        assert any(line.startswith("cuts.air.slot") and word in line for line in lines), lines
        # The sheet on disk was made for another slot: cue refuses, naming what changed.
        out = runner.invoke(cli, ["--root", str(root), "cue"])
        said = out.output + str(out.exception)       # main() prints a PodkitError as one line
        assert out.exit_code == 1 and "stale" in said and "(cuts)" in said, said
        toml.write_text(toml.read_text("utf-8").replace(f"slot = {slot:.1f}\n", ""), "utf-8")
    # Built under its slot: the build warns, the cue sheet says dead air.
    toml.write_text(toml.read_text("utf-8").replace(
        'category = "NEWS"\n', f'category = "NEWS"\nslot = {duration + 64.0:.1f}\n'), "utf-8")
    results = pipeline.build(root)
    warnings = [m for r in results for _, m in r.value.warnings]
    assert any("dead air" in w for w in warnings), warnings
    assert runner.invoke(cli, ["--root", str(root), "cue"]).exit_code == 0
    sheet = (Layout(root).reports("test-radio", "first-episode") / "cue.txt").read_text()
    assert "UNDER by 1:04 (dead air)" in sheet and "Back-time:" in sheet
