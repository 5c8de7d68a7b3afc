"""Encoder calibration: the excerpts it keeps, and what it measures on a real LAME encode."""
from __future__ import annotations

import numpy as np
import pytest
from audiosignals import speech_like

from toolkit.audio import calibrate, loudness, normalize
from toolkit.model import EncodingSettings

RATE = 44100


def _fed(x: np.ndarray, sizes: list[int]) -> calibrate.Excerpts:
    ex = calibrate.Excerpts(len(x), RATE)
    pos, i = 0, 0
    while pos < len(x):
        step = sizes[i % len(sizes)]
        ex.feed(x[pos:pos + step])
        pos, i = pos + step, i + 1
    return ex


def test_excerpts_are_the_grid_and_the_hottest_windows_whatever_the_chunking():
    x = speech_like(60, rate=RATE)
    window = int(calibrate.WINDOW_S * RATE)
    whole = len(x) // window
    peaks = np.abs(x[:whole * window]).reshape(whole, -1).max(axis=1)
    hottest = sorted(np.argsort(-peaks, kind="stable")[:calibrate.HOT_COUNT] * window)
    for sizes in ([65536], [1000, 30000, 7], [window], [window + 1, window - 1]):
        ex = _fed(x, sizes)
        every = max(1, len(x) // window // calibrate.EVEN_COUNT)
        assert [s for s, _w in ex.even] == list(range(0, whole * window, every * window))
        assert [s for s, _w in ex.hot] == hottest
        for start, win in ex.even + ex.hot:      # each holds its own samples
            np.testing.assert_array_equal(win, x[start:start + window])


def test_calibration_measures_lame_on_the_planned_excerpts():
    x = speech_like(40, rate=RATE, level_db=-24)
    meter = loudness.Meter(RATE, 2, exact_peaks=True)
    ex = calibrate.Excerpts(len(x), RATE)
    for i in range(0, len(x), 65536):
        meter.feed(x[i:i + 65536])
        ex.feed(x[i:i + 65536])
    log = meter.block_log()
    plan = normalize.plan(log, meter.stats(), -16.0, -1.0)
    cal = calibrate.calibrate(ex, plan, EncodingSettings())
    assert cal is not None and cal.samples >= 20
    # LAME at 128 kbps takes a little loudness (its low-pass) and moves block peaks
    # both ways around the ceiling.
    assert -1.0 < cal.loudness_shift < 0.1
    assert cal.overshoot_sd > 0 and cal.overshoot_max > cal.overshoot_mean
    margin = calibrate.margin_db(cal, calibrate.near_ceiling(log, plan))
    assert margin >= normalize.CEILING_MARGIN_DB
    assert margin >= cal.overshoot_max + calibrate.PEAK_SAFETY_DB - 1e-9


@pytest.mark.parametrize("samples", [0, 5])
def test_too_few_calibration_blocks_fall_back_to_the_fixed_margin(samples):
    cal = calibrate.Calibration(loudness_shift=-0.3, overshoot_mean=0.1, overshoot_sd=0.5,
                                overshoot_max=3.0, samples=samples)
    assert calibrate.margin_db(cal, 10_000) == normalize.CEILING_MARGIN_DB
