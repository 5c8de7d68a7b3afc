"""Speech processing: high-pass, hum, noise, leveller, measured on real builds.

Real WAVs through the real audio stage (master.build_audio, ffmpeg, LAME); loudness
checked with ffmpeg's ebur128, noise and hum with speechlevel.Analyzer's band figures.
"""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from audiosignals import (
    convert,
    decode_all,
    ebur128,
    pink_noise,
    speech_like,
    tone,
    two_voices,
    write_wav,
)

from toolkit.audio import assemble, master, processing, speech, speechlevel
from toolkit.config import presets, speechconf
from toolkit.config.tomlread import Table
from toolkit.errors import MediaError, Problem
from toolkit.model import AudioPart, Episode, Processing

RATE = 44100
CLEANUP = Processing(highpass_hz=80.0, dehum=True, denoise_db=18.0)   # all but the leveller


def _episode(tmp_path: Path, parts, processing=None) -> Episode:
    return Episode(slug="ep-1", dir=tmp_path, path=tmp_path / "episode.toml", feed="show",
                   title="A test", date=datetime(2024, 1, 2, tzinfo=timezone.utc),
                   parts=tuple(parts), guid="g", processing=processing)


def _build(tmp_path: Path, ep: Episode, cache: str = "cache", preset: str = "podcast"):
    p = presets.get(preset)
    return master.build_audio(ep, p, p.loudness, tmp_path / cache)


@pytest.fixture(scope="module")
def noisy(tmp_path_factory) -> tuple[Path, Path]:
    """(speech with pink noise at -50 dBFS and 50 Hz hum at -40 dBFS, the clean speech)."""
    d = tmp_path_factory.mktemp("noisy")
    clean = speech_like(12.0, rate=RATE, hot_peaks=False)
    dirty = clean + pink_noise(12.0, RATE, -50.0) + tone(-40.0, 12.0, RATE, freq=50.0)
    return write_wav(d / "noisy.wav", dirty, RATE), write_wav(d / "clean.wav", clean, RATE)


def _figures(path: Path) -> dict:
    a = speechlevel.Analyzer(RATE)
    a.feed(decode_all(path, RATE, 2))
    return a.figures()


def test_noise_and_hum_come_down_and_speech_loudness_stays(tmp_path, noisy):
    src, _clean = noisy
    plain = _build(tmp_path, _episode(tmp_path, [AudioPart(src)]), "plain")
    done = _build(tmp_path, _episode(tmp_path, [AudioPart(src)], CLEANUP), "done")
    # Both at the loudness target (ffmpeg's meter), so their pauses compare directly.
    for r in (plain, done):
        assert ebur128(r.mp3)["I"] == pytest.approx(-16.0, abs=0.5)
    before, after = _figures(plain.mp3), _figures(done.mp3)
    assert before["noise_floor_dbfs"] - after["noise_floor_dbfs"] >= 12.0
    assert before["hum_dbfs"] - after["hum_dbfs"] >= 20.0
    # The processing itself moved the speech's loudness by at most 1 LU: the static gain
    # the loudness plan needed is the same within 1 dB.
    q_plain, q_done = (json.loads(r.qc_json.read_text()) for r in (plain, done))
    assert abs(q_plain["gain_db"] - q_done["gain_db"]) <= 1.0
    section = q_done["processing"]
    assert "processing" not in q_plain
    assert section["parts"][0]["hum_hz"] == 50.0
    assert section["after"]["noise_floor_re_speech_db"] <= section["before"][
        "noise_floor_re_speech_db"] - 12.0
    assert section["after"]["hum_re_speech_db"] <= section["before"]["hum_re_speech_db"] - 20.0
    assert section["leveller"] is None
    assert not list((tmp_path / "done").glob("*.f32"))     # staged copies are removed


def test_processed_render_keeps_length_and_repeats_exactly(tmp_path, noisy):
    src, _clean = noisy
    ep = _episode(tmp_path, [AudioPart(src, title="a"), AudioPart(src, title="b", gap_s=0.5)],
                  CLEANUP)
    p = presets.get("podcast")
    prep = processing.prepare(ep, p, RATE, 2, tmp_path / "stage")
    render = assemble.Render(ep.parts, RATE, 2, prep.stages)
    first = np.concatenate(list(render))
    spans = list(render.spans)
    second = np.concatenate(list(render))
    prep.remove()
    plain = assemble.Render(ep.parts, RATE, 2)
    raw = np.concatenate(list(plain))
    assert np.array_equal(first, second) and render.spans == spans
    assert len(first) == len(raw) and spans == plain.spans
    assert not np.array_equal(first, raw)
    assert not list(tmp_path.glob("stage*"))


def test_denoiser_passes_audio_untouched_without_noise():
    """With a zero noise profile every gain is 1: the STFT reconstructs its input."""
    x = speech_like(3.0, rate=RATE, hot_peaks=False)
    n = speech._pow2(speech.STFT_S, RATE)
    chain = speech.Chain(Processing(denoise_db=18.0),
                         speech.Profile(None, (), np.zeros(n // 2 + 1)), RATE, 2)
    out = [chain.process(c) for c in np.array_split(x, 7)] + [chain.flush()]
    y = np.concatenate(out)
    assert y.shape == x.shape
    assert np.max(np.abs(y - x)) < 1e-5


def test_60_hz_hum_is_detected(tmp_path):
    x = speech_like(8.0, rate=RATE, hot_peaks=False) + tone(-40.0, 8.0, RATE, freq=60.0)
    x += tone(-50.0, 8.0, RATE, freq=180.0)
    src = write_wav(tmp_path / "hum60.wav", x, RATE)
    prof = speech.analyse(AudioPart(src), Processing(dehum=True), RATE, 2)
    assert prof.hum_hz == 60.0
    assert any(abs(f - 60.0) < 1.5 for f in prof.notches)
    assert any(abs(f - 180.0) < 2.5 for f in prof.notches)
    clean = write_wav(tmp_path / "clean.wav", speech_like(8.0, rate=RATE, hot_peaks=False), RATE)
    assert speech.analyse(AudioPart(clean), Processing(dehum=True), RATE, 2).hum_hz is None


def test_music_tones_near_hum_harmonics_are_not_hum(tmp_path):
    """A sting's chord (D3 146.8 Hz, D4 293.7 Hz) is not 50 Hz hum's 3rd and 6th harmonic."""
    x = speech_like(8.0, rate=RATE, hot_peaks=False)
    for f in (146.83, 293.66):
        x += tone(-30.0, 8.0, RATE, freq=f)
    src = write_wav(tmp_path / "chord.wav", x, RATE)
    prof = speech.analyse(AudioPart(src), Processing(dehum=True), RATE, 2)
    assert prof.hum_hz is None and prof.notches == ()


def test_highpass_takes_rumble_away(tmp_path):
    x = speech_like(6.0, rate=RATE, hot_peaks=False) + tone(-30.0, 6.0, RATE, freq=25.0)
    src = write_wav(tmp_path / "rumble.wav", x, RATE)
    ep = _episode(tmp_path, [AudioPart(src)], Processing(highpass_hz=80.0))
    prep = processing.prepare(ep, presets.get("podcast"), RATE, 2, tmp_path / "stage")
    y = np.concatenate(list(assemble.Render(ep.parts, RATE, 2, prep.stages)))
    prep.remove()

    def band(sig: np.ndarray) -> float:
        spec = np.abs(np.fft.rfft(sig[:, 0])) ** 2
        f = np.fft.rfftfreq(len(sig), 1 / RATE)
        return 10 * np.log10(spec[(f > 22) & (f < 28)].sum())
    assert band(x) - band(y) >= 30.0          # 4th order at 80 Hz: about 40 dB at 25 Hz


def test_leveller_evens_out_two_voices(tmp_path):
    x, turns = two_voices(8.0, 4, RATE)
    src = write_wav(tmp_path / "voices.wav", x, RATE)
    preset = replace(presets.get("broadcast"), processing=Processing(level=True))
    ep = _episode(tmp_path, [AudioPart(src)])
    r = master.build_audio(ep, preset, preset.loudness, tmp_path / "cache")
    out = decode_all(r.others["wav"], RATE, 2) if "wav" in r.others else None
    assert out is not None
    ratio = out.shape[0] / x.shape[0]          # the WAV is 48 kHz

    def voice(v: int) -> float:
        keep = [out[round(s * ratio):round(e * ratio)] for w, s, e in turns if w == v]
        return ebur128(write_wav(tmp_path / f"v{v}.wav", np.concatenate(keep), RATE))["I"]
    before = [ebur128(write_wav(tmp_path / f"in{v}.wav", np.concatenate(
        [x[s:e] for w, s, e in turns if w == v]), RATE))["I"] for v in (0, 1)]
    assert before[0] - before[1] >= 11.0
    assert abs(voice(0) - voice(1)) <= 3.0
    assert ebur128(r.mp3)["I"] == pytest.approx(-23.0, abs=0.5)
    lev = json.loads(r.qc_json.read_text())["processing"]["leveller"]
    assert lev["max_rate_db_per_s"] <= speechlevel.MAX_RATE_DB_S + 1e-6


def test_leveller_gain_never_moves_faster_than_stated():
    x, _turns = two_voices(6.0, 4, RATE)
    from toolkit.audio import loudness
    m = loudness.Meter(RATE, 2)
    m.feed(x)
    gain = speechlevel.leveller_gain(m.block_log(), [(0, len(x))])
    per_s = np.abs(np.diff(gain)).max() * 100          # 10 ms blocks
    assert 0 < per_s <= speechlevel.MAX_RATE_DB_S + 1e-4
    assert np.abs(gain).max() <= speechlevel.MAX_GAIN_DB


def test_cache_key_follows_processing_and_off_keeps_the_old_key(tmp_path, noisy):
    src, _clean = noisy
    p = presets.get("podcast")
    plain = _episode(tmp_path, [AudioPart(src)])
    off = _episode(tmp_path, [AudioPart(src, processing=speechconf.OFF)], speechconf.SPEECH)
    on = _episode(tmp_path, [AudioPart(src)], speechconf.SPEECH)
    tuned = _episode(tmp_path, [AudioPart(src)], replace(speechconf.SPEECH, denoise_db=12.0))
    keys = [master.cache_key(e, p, p.loudness) for e in (plain, off, on, tuned)]
    assert keys[0] == keys[1]                 # off, however it is said, is the old key
    assert len(set(keys[1:])) == 3


def _read(data: dict) -> tuple[Processing | None, list[Problem]]:
    problems: list[Problem] = []
    t = Table(data, "episode.toml", problems)
    out = speechconf.read(t)
    t.finish()
    return out, problems


def test_processing_spellings():
    assert _read({"processing": "speech"}) == (speechconf.SPEECH, [])
    assert _read({"processing": "none"}) == (speechconf.OFF, [])
    assert _read({"processing": []}) == (speechconf.OFF, [])
    assert _read({"processing": ["highpass", "level"]})[0] == Processing(highpass_hz=80.0,
                                                                          level=True)
    table = {"processing": {"steps": ["dehum", "denoise"], "hum_hz": 60, "denoise_db": 10}}
    assert _read(table)[0] == Processing(dehum=True, hum_hz=60.0, denoise_db=10.0)
    assert _read({})[0] is None
    bad, problems = _read({"processing": {"preset": "speech", "highpass_hz": 5}})
    assert [p.field for p in problems] == ["processing.highpass_hz"]


def test_part_overrides_episode_overrides_feed(tmp_path):
    preset = replace(presets.get("podcast"), processing=speechconf.SPEECH)
    own = Processing(highpass_hz=100.0)
    ep = _episode(tmp_path, [AudioPart(tmp_path / "a.wav", processing=own),
                             AudioPart(tmp_path / "b.wav")])
    assert processing.resolved(ep, preset) == [own, speechconf.SPEECH]
    ep2 = replace(ep, processing=speechconf.OFF)
    assert processing.resolved(ep2, preset) == [own, speechconf.OFF]


def test_a_failed_processed_build_leaves_no_staged_file_and_the_old_result(tmp_path, noisy):
    src, _clean = noisy
    ep = _episode(tmp_path, [AudioPart(src)], CLEANUP)
    good = _build(tmp_path, ep)
    # A FLAC cut short: its header promises 12 s, the data holds 6 (an interrupted copy).
    data = convert(src, tmp_path / "whole.flac").read_bytes()
    cut = tmp_path / "cut.flac"
    cut.write_bytes(data[:len(data) // 2])
    from toolkit.errors import MediaError
    with pytest.raises(MediaError) as err:
        _build(tmp_path, replace(ep, parts=(AudioPart(cut),)))
    assert "truncated" in str(err.value) and str(err.value.path) == str(cut)
    assert not list((tmp_path / "cache").glob("*.f32"))
    assert good.mp3.is_file() and good.qc_json.is_file()


def test_mono_programme_is_processed(tmp_path):
    x = speech_like(6.0, rate=RATE, hot_peaks=False)[:, :1] + pink_noise(6.0, RATE, -50.0, channels=1)
    src = write_wav(tmp_path / "mono.wav", x, RATE)
    r = _build(tmp_path, _episode(tmp_path, [AudioPart(src)], speechconf.SPEECH),
               preset="mono-speech")
    section = json.loads(r.qc_json.read_text())["processing"]
    assert ebur128(r.mp3)["I"] == pytest.approx(-19.0, abs=0.5)
    assert section["after"]["noise_floor_re_speech_db"] < section["before"][
        "noise_floor_re_speech_db"] - 6.0


@pytest.mark.parametrize("signal", ["digital silence", "DC and one click"])
def test_speech_processing_of_silence_is_a_clear_media_error(tmp_path, signal):
    # The hum meter took log10(0) on digital silence: "math domain error", a traceback.
    x = np.zeros((RATE * 4, 2))
    if signal != "digital silence":
        x += 0.01
        x[RATE] = 0.9
    part = write_wav(tmp_path / "quiet.wav", x, RATE)
    ep = _episode(tmp_path, [AudioPart(part, title="Nothing")],
                  processing=speechconf.SPEECH)
    with pytest.raises(MediaError) as err:
        _build(tmp_path, ep)
    assert "quiet.wav" in str(err.value)
    assert ("digital silence" if signal == "digital silence" else "no programme") in str(err.value)
