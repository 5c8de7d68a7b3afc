"""The speech leveller and the figures that show what speech processing did.

The leveller is a slow, gated gain riding on the loudness of speech, planned from the
first render's 10 ms loudness blocks (no extra pass over the audio):

1. the loudness of speech around each 100 ms segment: a gated mean over +-1.5 s that
   only counts segments with speech in them (momentary loudness within 20 LU of the
   levelled parts' integrated loudness), so pauses do not pull a speaker down;
2. the wanted gain brings that half-way between the loud and the quiet speech (10th
   and 90th percentile), at most MAX_GAIN_DB either way; pauses keep the gain of the speech around them (no noise swelling up);
3. the gain never moves faster than MAX_RATE_DB_S (a centred slew limit: the mean of a
   forward and a backward limited curve, so a change of speaker is met half-way, not
   late), then a 0.5 s moving average rounds the corners (which keeps the bound).

It is added to the loudness plan's per-block gain, ahead of the static gain and the
true-peak limiter (toolkit/audio/normalize.py).

`Analyzer` measures noise floor and hum in pauses, `spread` the level spread of speakers.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import scipy.fft
from scipy import signal

from toolkit.audio import loudness
from toolkit.audio.speech import mono_mix

MAX_GAIN_DB = 12.0          # the leveller never moves speech further than this
MAX_RATE_DB_S = 6.0         # nor faster than this (stated in docs/processing.md)
WINDOW_S = 3.0              # speech loudness is judged over this much time, centred
GATE_LU = -20.0             # segments quieter than this re the integrated are pauses
ROUND_S = 0.5               # the final moving average


def _momentary(seg: np.ndarray) -> np.ndarray:
    """400 ms loudness (LUFS) per 100 ms segment, centred."""
    k = loudness.SEGMENTS_PER_GATE
    padded = np.pad(seg, (k // 2, k - 1 - k // 2), mode="edge")
    return loudness.lufs(np.convolve(padded, np.ones(k) / k, mode="valid"))


def _slew(x: np.ndarray, step: float) -> np.ndarray:
    """x limited to change at most `step` per sample, met half-way (centred)."""
    def forward(v: np.ndarray) -> np.ndarray:
        out = v.copy()
        for i in range(1, len(out)):   # one step per 100 ms segment: cheap
            out[i] = min(max(out[i], out[i - 1] - step), out[i - 1] + step)
        return out
    return (forward(x) + forward(x[::-1])[::-1]) / 2


def leveller_gain(log_: loudness.BlockLog, spans: Sequence[tuple[int, int]]) -> np.ndarray:
    """Per-block gain (dB) that evens out speech levels inside `spans` (frames); 0 elsewhere."""
    seg = log_.segment_energy()
    n = len(seg)
    frames_per_seg = log_.block * loudness.BLOCKS_PER_SEGMENT
    inside = np.zeros(n, dtype=bool)
    for start, end in spans:
        inside[start // frames_per_seg:-(-end // frames_per_seg)] = True
    nb = len(log_.energy)
    if not inside.any():
        return np.zeros(nb, dtype=np.float32)
    integrated = loudness.gated_integrated(seg[inside])
    if not math.isfinite(integrated):
        return np.zeros(nb, dtype=np.float32)
    active = inside & (_momentary(seg) > integrated + GATE_LU)
    half = round(WINDOW_S * 5)                  # segments either side
    c_e = np.concatenate([[0.0], np.cumsum(np.where(active, seg, 0.0))])
    c_n = np.concatenate([[0], np.cumsum(active)])
    lo, hi = np.clip(np.arange(n) - half, 0, n), np.clip(np.arange(n) + half + 1, 0, n)
    count = c_n[hi] - c_n[lo]
    with np.errstate(divide="ignore", invalid="ignore"):
        level = loudness.lufs((c_e[hi] - c_e[lo]) / np.maximum(count, 1))
    want = np.zeros(n)
    idx = np.flatnonzero(active)
    if len(idx):
        # Speakers meet in the middle (half-way between the 10th and 90th percentile of
        # speech levels, whoever talks longer), so a quiet one is not lifted all the way
        # to the loudest: the loudness target does the rest.
        ref = float(np.percentile(level[idx], [10, 90]).mean())
        gains = np.clip(ref - level[idx], -MAX_GAIN_DB, MAX_GAIN_DB)
        want = np.interp(np.arange(n), idx, gains)
    want[~inside] = 0.0
    want = _slew(want, MAX_RATE_DB_S / 10.0)
    width = max(1, round(ROUND_S * 10))
    want = np.convolve(np.pad(want, (width // 2, width - 1 - width // 2), mode="edge"),
                       np.ones(width) / width, mode="valid")
    # Interpolated to the blocks (not repeated): the gain moves smoothly within a segment.
    centres = (np.arange(n) + 0.5) * loudness.BLOCKS_PER_SEGMENT
    return np.interp(np.arange(nb) + 0.5, centres, want).astype(np.float32)


def spread(segment_energy: np.ndarray) -> float:
    """Level spread of speakers (LU): the gap between the loud and the quiet talk.

    3 s windows with speech in them (within 20 LU of the integrated loudness) are split
    in two groups where the split separates them best (Otsu's threshold); the spread is
    the difference of the groups' mean loudness. Two speakers 12 LU apart give about 12;
    one even speaker gives the 2-3 LU natural variation of speech.
    """
    k = loudness.SEGMENTS_PER_SHORT
    n = len(segment_energy) // k
    if n < 2:
        return 0.0
    st = loudness.lufs(segment_energy[:n * k].reshape(n, k).mean(axis=1))
    ref = loudness.gated_integrated(segment_energy)
    st = np.sort(st[st > ref + GATE_LU]) if math.isfinite(ref) else np.zeros(0)
    if len(st) < 2:
        return 0.0
    best, split = -1.0, 1
    for i in range(1, len(st)):
        a, b = st[:i], st[i:]
        score = len(a) * len(b) * (b.mean() - a.mean()) ** 2
        if score > best:
            best, split = score, i
    return float(st[split:].mean() - st[:split].mean())


class Analyzer:
    """Noise floor and hum of a programme in its pauses, from streamed chunks.

    Mono frames of about 0.19 s (5.4 Hz bins at 44.1 kHz): per frame the power at the
    harmonics of 50 and of 60 Hz above their neighbourhood (hum) and the power of all
    other bins (noise). The pauses are the quietest 10 % of frames. Levels are RMS
    dBFS (a full-scale sine is -3 dBFS). Per frame only the total, the noise and the
    spectrum below 500 Hz are kept (about 2 MB an hour); hum is worked out at the end,
    for the quiet frames alone.
    """

    QUIET_SHARE = 0.10

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.n = 1 << round(math.log2(0.186 * rate))
        self._win = signal.get_window("hann", self.n).astype(np.float32)
        res = rate / self.n
        self._scale = np.float32(2.0 / (self.n * float((self._win.astype(np.float64) ** 2).sum())))
        bins = self.n // 2 + 1
        self._hum: dict[float, list[tuple[np.ndarray, np.ndarray]]] = {}
        hum_bins = np.zeros(bins, dtype=bool)
        for f0 in (50.0, 60.0):
            rows = []
            for k in range(1, 9):
                c = round(f0 * k / res)
                near = np.arange(c - 1, c + 2)
                around = np.setdiff1d(np.arange(c - 5, c + 6), np.arange(c - 2, c + 3))
                rows.append((near, around))
                hum_bins[c - 2:c + 3] = True
            self._hum[f0] = rows
        self._low = int(np.flatnonzero(hum_bins).max()) + 6     # bins kept per frame
        self._noise_bins = ~hum_bins
        self._noise_bins[0] = False
        self._carry = np.zeros(0, dtype=np.float32)
        self._totals: list[np.ndarray] = []     # rows: total, noise
        self._lows: list[np.ndarray] = []       # the spectrum below ~500 Hz

    def feed(self, chunk: np.ndarray) -> None:
        """Add the next chunk (frames, channels)."""
        mono = mono_mix(chunk)
        self._carry = np.concatenate([self._carry, mono])
        nf = len(self._carry) // self.n
        if not nf:
            return
        frames = self._carry[:nf * self.n].reshape(nf, self.n) * self._win
        self._carry = self._carry[nf * self.n:]
        spec = scipy.fft.rfft(frames, axis=1)
        p = spec.real ** 2
        p += spec.imag ** 2
        p *= self._scale
        total = p.sum(axis=1, dtype=np.float64)
        hum_part = p[:, :len(self._noise_bins)][:, ~self._noise_bins].sum(axis=1, dtype=np.float64)
        self._totals.append(np.stack([total, total - hum_part], axis=1))
        self._lows.append(p[:, :self._low].copy())

    def _hum_power(self, low: np.ndarray, f0: float) -> np.ndarray:
        hum = np.zeros(len(low))
        for near, around in self._hum[f0]:
            floor = np.median(low[:, around], axis=1)
            hum += np.maximum(low[:, near].sum(axis=1) - len(near) * floor, 0.0)
        return hum

    def figures(self) -> dict[str, float | None]:
        """noise_floor_dbfs and hum_dbfs in the pauses, speech_dbfs (the louder half's level)."""
        none: dict[str, float | None] = {"noise_floor_dbfs": None, "hum_dbfs": None,
                                         "speech_dbfs": None}
        if not self._totals:
            return none
        totals, lows = np.concatenate(self._totals), np.concatenate(self._lows)
        keep = totals[:, 0] > 1e-12                 # digital silence is no pause
        totals, lows = totals[keep], lows[keep]
        if not len(totals):
            return none
        order = np.argsort(totals[:, 0], kind="stable")
        quiet = order[:max(1, int(len(totals) * self.QUIET_SHARE))]
        hum = max(self._hum_power(lows[quiet], f0).mean() for f0 in (50.0, 60.0))

        def db(v: float) -> float:
            return round(10 * math.log10(max(v, 1e-15)), 1)
        return {"noise_floor_dbfs": db(totals[quiet, 1].mean()), "hum_dbfs": db(hum),
                "speech_dbfs": db(totals[order[len(totals) // 2:], 0].mean())}
