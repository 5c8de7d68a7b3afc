"""The bundled sample show builds without warnings (issue 23, item 7).

`make demo` is the first thing a new producer runs: a heavy-limiting warning about the
sample itself teaches them to ignore warnings. The sample's speech had the peaks of raw
speech synthesis (18-21 dB above its loudness); it now comes as a station delivers a
voice track (scripts/sample_audio.voice_chain). Real audio, podkit's own audio stage.
"""
from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from toolkit.audio import loudness, master
from toolkit.config import catalog

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> catalog.Catalog:
    root = tmp_path_factory.mktemp("sample") / "show"
    for folder in ("feeds", "templates", "episodes"):
        shutil.copytree(REPO / folder, root / folder)
    return catalog.load(root)


@pytest.mark.parametrize("slug", ["hanoi-summit", "pyeongchang-hockey"])
def test_the_sample_episodes_master_without_a_limiting_warning(sample, tmp_path: Path,
                                                               slug: str) -> None:
    (episode,) = [e for e in sample.episodes if e.slug == slug]
    show = sample.shows[episode.feed]
    # The MP3 alone: the other renditions share its plan and its limiting.
    preset = replace(show.preset, encoding=replace(episode.encoding or show.preset.encoding,
                                                   renditions=("mp3",)))
    result = master.build_audio(episode, preset, episode.loudness or show.preset.loudness,
                                tmp_path / "cache")
    assert result.limiting is not None and result.limiting.warning is None, result.limiting
    assert result.limiting.max_db < 1.5 and result.limiting.share < 0.02
    assert result.after.integrated == pytest.approx(-16.0, abs=0.5)
    assert result.mix_warnings == ()        # no sting far above the speech either


def test_the_sample_speech_has_a_delivered_voice_tracks_peaks(sample) -> None:
    """Speech parts peak at most 16 dB above their loudness (they were 18-21 dB)."""
    hanoi = REPO / "episodes" / "hanoi-summit"
    for path in (hanoi / "host-intro.ogg", hanoi / "analysis.ogg", hanoi / "host-close.ogg",
                 REPO / "episodes" / "pyeongchang-hockey" / "episode.ogg"):
        stats = loudness.measure_file(path)
        assert stats.true_peak - stats.integrated <= 16.0, (path.name, stats)
