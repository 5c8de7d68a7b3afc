"""The mix against the speech (issue 23, item 6), on real builds through the audio stage.

A weekly segment: a loud music sting, two voices 12 LU apart with the leveller on, the
sting again. The speakers' spread is measured on speech alone (the stings are no
speaker), each part's loudness is reported relative to the speech with a warning for a
sting far above it, and `level = "-6 LU"` sets a music part relative to the speech.
"""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from audiosignals import ebur128, speech_like, tone, two_voices, write_wav

from toolkit.audio import master, mix
from toolkit.config import presets
from toolkit.model import AudioPart, Episode, Processing

RATE = 44100


def _sting(seconds: float = 4.0) -> np.ndarray:
    """A held chord, as hot as music is mastered, far above the talk."""
    chord = sum(tone(-16.0, seconds, RATE, freq=f) for f in (220.0, 277.2, 329.6, 440.0))
    fade = np.minimum(1.0, np.linspace(0, seconds / 0.05, len(chord)))[:, None]
    return (chord * fade * fade[::-1]).astype(np.float32)


@pytest.fixture(scope="module")
def segment(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("segment")
    voices, _turns = two_voices(6.0, 4, RATE)       # 12 LU apart
    return (write_wav(folder / "sting.wav", _sting(), RATE),
            write_wav(folder / "talk.wav", voices, RATE),
            write_wav(folder / "one-voice.wav", speech_like(20.0, RATE, hot_peaks=False), RATE))


def _build(tmp_path: Path, segment: tuple[Path, Path, Path], level: float | None,
           one_voice: bool = False):
    sting, talk, voice = segment
    talk = voice if one_voice else talk
    parts = [AudioPart(sting, title="Sting", level_re_speech=level),
             AudioPart(talk, title="Talk", processing=Processing(level=True)),
             AudioPart(sting, title="Outro", level_re_speech=level)]
    ep = Episode(slug="seg", dir=tmp_path, path=tmp_path / "episode.toml", feed="show",
                 title="Segment", date=datetime(2024, 1, 2, tzinfo=timezone.utc),
                 parts=tuple(parts), guid="g")
    preset = presets.get("podcast")
    result = master.build_audio(ep, preset, preset.loudness, tmp_path / "cache")
    return result, json.loads(result.qc_json.read_text("utf-8"))


def test_spread_is_speech_only_and_a_loud_sting_is_reported(tmp_path: Path, segment) -> None:
    result, qc = _build(tmp_path, segment, None)
    spread = qc["processing"]
    # The voices were 12 LU apart and the leveller brought them together: the report says
    # so (with the stings counted it said the spread got worse).
    assert spread["before"]["speaker_spread_lu"] >= 9.0, spread
    assert spread["after"]["speaker_spread_lu"] <= 4.0, spread
    rows = {r["title"]: r for r in qc["mix"]["parts"]}
    assert rows["Talk"]["re_speech_lu"] == pytest.approx(0.0, abs=1.0)
    assert rows["Sting"]["re_speech_lu"] > mix.MUSIC_MARGIN_LU
    assert len(result.mix_warnings) == 2 and "part 1 (Sting) stands" in result.mix_warnings[0]
    assert qc["mix"]["warnings"] == list(result.mix_warnings)


def test_level_sets_music_relative_to_the_speech(tmp_path: Path, segment) -> None:
    result, qc = _build(tmp_path, segment, -6.0, one_voice=True)
    rows = {r["title"]: r for r in qc["mix"]["parts"]}
    assert rows["Sting"]["re_speech_lu"] == pytest.approx(-6.0, abs=1.0), rows
    assert rows["Outro"]["re_speech_lu"] == pytest.approx(-6.0, abs=1.0), rows
    assert result.mix_warnings == () and qc["mix"]["warnings"] == []
    assert ebur128(result.mp3)["I"] == pytest.approx(-16.0, abs=0.5)
    # Cached: the same result, warnings and all.
    again, _ = _build(tmp_path, segment, -6.0, one_voice=True)
    assert again.cached and again.mix_warnings == ()


def test_voice_activity_tells_talk_from_held_music(segment) -> None:
    from toolkit.audio import loudness
    sting, talk, _voice = segment
    for path, speech in ((talk, True), (sting, False)):
        meter = loudness.Meter(RATE, 2, exact_peaks=True)
        from audiosignals import decode_all
        meter.feed(decode_all(path, RATE, 2))
        meter.stats()
        share = float(mix.voice_activity(meter.block_log()).mean())
        assert (share > 0.6) if speech else (share < 0.1), (path.name, share)
