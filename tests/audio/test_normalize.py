"""Gain, true-peak limiter, loudness correction and levelling, measured on the output."""
from __future__ import annotations

import numpy as np
import pytest
from audiosignals import speech_like, tone

from toolkit.audio import loudness, normalize
from toolkit.errors import MediaError

RATE = 44100


def _measure(x: np.ndarray) -> tuple[loudness.LoudnessStats, loudness.BlockLog]:
    meter = loudness.Meter(RATE, x.shape[1], exact_peaks=True)
    for i in range(0, len(x), 65536):
        meter.feed(x[i:i + 65536])
    return meter.stats(), meter.block_log()


def _normalize(x: np.ndarray, target: float, ceiling: float = -1.0, **kw):
    stats, log = _measure(x)
    plan = normalize.plan(log, stats, target, ceiling, path="test.wav", **kw)
    applier = normalize.GainApplier(plan)
    # Apply in uneven chunks, as a stream would.
    out = np.concatenate([applier.apply(x[i:i + 30001]) for i in range(0, len(x), 30001)])
    return plan, out, loudness.measure_array(out, RATE)


def test_gain_and_limiter_reach_the_target_under_the_ceiling():
    x = speech_like(30, rate=RATE, level_db=-26)
    before = loudness.measure_array(x, RATE)
    # Gain alone would push the plosives far over the ceiling.
    assert before.true_peak + (-16 - before.integrated) > 3.0
    plan, out, after = _normalize(x, -16.0)
    assert after.integrated == pytest.approx(-16.0, abs=0.05)
    assert after.true_peak <= -1.0 - normalize.CEILING_MARGIN_DB + 0.05
    # The loudness the limiter took was given back through more gain.
    assert plan.gain_db > -16.0 - before.integrated + 0.05
    assert plan.limiter_max_db > 3.0
    assert plan.predicted_integrated == pytest.approx(after.integrated, abs=0.05)


def _with_transients(seconds: float) -> np.ndarray:
    """Speech with tapered (never clipped) loud transients, so any flat top is ours."""
    x = speech_like(seconds, rate=RATE, level_db=-24, hot_peaks=False)
    taper = 1 + 2 * np.hanning(400)[:, None]
    for p in np.random.default_rng(5).integers(0, len(x) - 400, int(seconds)):
        x[p:p + 400] *= taper
    x *= 0.9 / np.abs(x).max()
    return x.astype(np.float32)


def test_limiter_is_smooth_no_clipping_no_pumping():
    x = _with_transients(20)
    _plan, out, _after = _normalize(x, -16.0)
    mask = np.abs(x[:, 0]) > 1e-3
    gain = np.ones(len(x))
    gain[mask] = out[mask, 0] / x[mask, 0]
    # Hard clipping would make the gain jump from sample to sample; ours glides.
    steps = np.abs(np.diff(gain[mask]))
    assert np.percentile(steps, 99.9) < 0.01
    # No flat tops: the loudest output samples are not a run of identical values.
    top = np.sort(np.abs(out[:, 0]))[-50:]
    assert len(np.unique(np.round(top, 6))) > 40
    # Release: after the deepest dip, the gain comes back over tens of ms, not at once.
    g_db = 20 * np.log10(np.maximum(gain, 1e-6))
    low = int(np.argmin(np.where(mask, g_db, 0)))
    idx = np.flatnonzero(mask)
    after = idx[(idx > low) & (idx < low + int(0.03 * RATE))]
    assert (g_db[after] < g_db.max() - 0.5).mean() > 0.5


def test_no_limiting_when_gain_is_negative():
    x = tone(-3, 10, rate=RATE)
    plan, out, after = _normalize(x, -23.0)
    assert plan.limiter_max_db == 0.0
    assert after.integrated == pytest.approx(-23.0, abs=0.05)
    np.testing.assert_allclose(out, x * 10 ** (plan.gain_db / 20), rtol=1e-5, atol=1e-7)


def test_levelling_narrows_a_wide_range_and_keeps_the_target():
    quiet = speech_like(20, rate=RATE, level_db=-40, seed=1, hot_peaks=False)
    loud = speech_like(20, rate=RATE, level_db=-22, seed=2, hot_peaks=False)
    x = np.concatenate([loud, quiet, loud, quiet])
    before = loudness.measure_array(x, RATE)
    assert before.lra > 14
    plan, _out, after = _normalize(x, -16.0, levelling=True, max_lra=8.0)
    assert plan.levelled
    assert after.lra < before.lra - 4
    assert after.integrated == pytest.approx(-16.0, abs=0.1)
    # Without the switch only the limiter touches the range (it trims the loud peaks).
    plan_off, _o, after_off = _normalize(x, -16.0, levelling=False, max_lra=8.0)
    assert not plan_off.levelled
    assert after_off.lra > after.lra + 4


@pytest.mark.parametrize("samples, words", [
    (np.zeros((RATE * 2, 2), np.float32), "digital silence"),
    (tone(-20, 0.3, rate=RATE), "400 ms"),
    (tone(-85, 2, rate=RATE), "-70 LUFS"),
])
def test_unusable_audio_is_a_clear_error_not_an_infinite_gain(samples, words):
    stats, log = _measure(samples)
    with pytest.raises(MediaError) as err:
        normalize.plan(log, stats, -16.0, -1.0, path="episodes/x/intro.wav")
    assert words in str(err.value)
    assert "episodes/x/intro.wav" in str(err.value)
