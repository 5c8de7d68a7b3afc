"""The QC outputs: the waveform envelope the picture is drawn from, the picture itself,
titles in scripts the bundled font lacks, and the limiting summary."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image

from toolkit.audio import qc

PEAK_RATE = 100.0          # 10 ms blocks
C0 = (0x1F, 0x77, 0xB4)    # matplotlib's first colour: the output's waveform


def _picture(path, peaks, title="ep-1: A test"):
    qc.write_picture(path, title=title, short_term_before=np.zeros(0),
                     short_term_after=np.zeros(0), peaks_after=peaks, peak_rate=PEAK_RATE,
                     target_lufs=-16.0, ceiling_dbtp=-1.0)
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.mark.parametrize("blocks", [1, 1399, 1400, 1401, 2 * 1400 + 1399, 360_000 + 7])
def test_envelope_keeps_every_block_up_to_the_end(blocks):
    # The outro is the only sound: the last (blocks mod 1400) blocks used to be dropped.
    peaks = np.zeros(blocks, np.float32)
    tail = min(blocks, 1399)
    peaks[-tail:] = np.linspace(0.1, 0.9, tail)
    t, env = qc.envelope(peaks, PEAK_RATE, qc.WAVEFORM_COLUMNS)
    assert len(t) == len(env) + 1 and len(env) <= qc.WAVEFORM_COLUMNS
    assert t[0] == 0.0 and t[-1] == pytest.approx(blocks / PEAK_RATE)   # to the very end
    assert np.all(np.diff(t) > 0)
    assert env.max() == pytest.approx(peaks.max())                       # nothing lost
    assert env[-1] == pytest.approx(peaks[-1])                           # the last block is drawn
    # Each column is the largest peak of the blocks it covers.
    edges = np.round(t * PEAK_RATE).astype(int)
    for i in (0, len(env) // 2, len(env) - 1):
        assert env[i] == peaks[edges[i]:edges[i + 1]].max()


def test_picture_draws_the_outro(tmp_path):
    # 2 x 1400 + 1399 blocks, sound only in the last 1399 (the part that vanished).
    peaks = np.zeros(2 * 1400 + 1399, np.float32)
    peaks[-1399:] = 0.8
    img = _picture(tmp_path / "qc.png", peaks)
    blue = np.all(np.abs(img.astype(int) - C0) <= 8, axis=2)
    cols = np.flatnonzero(blue.any(axis=0))
    assert len(cols) > 0, "the outro's waveform is missing from the picture"
    # The waveform spans the last third of the time axis (drawn up to the end).
    span = cols.max() - cols.min()
    assert span > 0.25 * img.shape[1]


def test_title_with_emoji_and_korean_draws_without_glyph_warnings(tmp_path):
    title = "ep-7: 서울 특파원 🎙️ Seoul 📻 report"
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # any warning (Glyph ... missing) fails the test
        _picture(tmp_path / "qc.png", np.full(500, 0.5, np.float32), title=title)
    shown = qc.drawable(title)
    # What the font has stays; the emoji (and the variation selector after one, which draws
    # nothing) and the Hangul go, leaving no double spaces.
    assert shown == "ep-7: Seoul report"


def test_same_inputs_same_picture_bytes(tmp_path):
    peaks = np.abs(np.sin(np.arange(3001) / 50.0)).astype(np.float32)
    _picture(tmp_path / "a.png", peaks)
    _picture(tmp_path / "b.png", peaks)
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
