"""Loudness measurement per ITU-R BS.1770-4 and EBU R 128 (Tech 3341 / 3342).

`Meter` is fed float32 chunks of shape (frames, channels) and keeps only small
per-block summaries, so memory does not grow with the audio (a 3-hour programme
keeps about 13 MB of summaries). From them it derives:

- integrated loudness: K-weighting (two biquads recomputed for the sample rate),
  400 ms blocks with 75 % overlap, absolute gate -70 LUFS, relative gate -10 LU;
- short-term loudness (3 s windows every 100 ms) and the loudness range (Tech 3342:
  absolute gate -70, relative gate -20 LU, 10th to 95th percentile);
- sample peak and true peak (4x oversampling with the Annex 2 interpolation filter).

The summaries are kept per 10 ms block (K-weighted energy and true peak), which is
what `toolkit.audio.normalize` plans its gain and limiter from.
"""
from __future__ import annotations

import math
import os
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from toolkit import ffmpeg
from toolkit.audio import sources, truepeak
from toolkit.audio.truepeak import EXACT_PEAK_FLOOR, TP_TAPS
from toolkit.errors import MediaError
from toolkit.model import LoudnessStats

ABSOLUTE_GATE = -70.0        # LUFS (BS.1770-4 and Tech 3342)
RELATIVE_GATE = -10.0        # LU below the absolutely gated loudness (integrated)
LRA_RELATIVE_GATE = -20.0    # LU (Tech 3342)
BLOCKS_PER_SEGMENT = 10      # 10 ms blocks, 100 ms hop segments
SEGMENTS_PER_GATE = 4        # 400 ms gating block
SEGMENTS_PER_SHORT = 30      # 3 s short-term window
_WORKERS: dict[int, ThreadPoolExecutor] = {}


def _worker() -> ThreadPoolExecutor:
    """This process's meter worker thread (a forked build worker gets its own)."""
    pid = os.getpid()
    if pid not in _WORKERS:
        _WORKERS[pid] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="podkit-meter")
    return _WORKERS[pid]


_ANTIDENORMAL = np.tile(np.array([1e-25, -1e-25], dtype=np.float32), 1 << 16)[:, None]


def _antidenormal(frames: int) -> np.ndarray:
    """A tiny alternating signal (shape (frames, 1)), far below any gate or meter reading."""
    if frames <= len(_ANTIDENORMAL):
        return _ANTIDENORMAL[:frames]
    return np.resize(_ANTIDENORMAL, (frames, 1))


#: The filter functions, once scipy.signal is imported: "inplace" is scipy's Cython
#: kernel behind sosfilt (None if a scipy lacks it), "sosfilt" the public function.
_FILTERS: dict[str, Any] = {}
_FILTERS_LOCK = threading.Lock()


def _filters() -> dict[str, Any]:
    """Import scipy.signal on first use: about 1.3 s of imports that `preload()` can hide."""
    with _FILTERS_LOCK:
        if not _FILTERS:
            from scipy import signal
            try:
                # Filters C-contiguous rows in place; the public wrapper costs ~0.3 ms per
                # call in checks and copies. Private API, hence the fallback.
                from scipy.signal._sosfilt import _sosfilt as inplace
            except ImportError:  # pragma: no cover  (a future scipy)
                inplace = None
            _FILTERS.update(inplace=inplace, sosfilt=signal.sosfilt)
    return _FILTERS


def preload() -> threading.Thread:
    """Start importing the filters (scipy.signal) on a background thread.

    A build calls this before hashing its inputs (file reads and a digest that releases
    the GIL), so the imports overlap the hashing; the first Meter waits for them.
    """
    thread = threading.Thread(target=_filters, name="podkit-import-scipy", daemon=True)
    thread.start()
    return thread


def _filter_rows(sos: np.ndarray, rows: np.ndarray, zi: np.ndarray) -> None:
    """Filter float32 rows (signals, frames) in place; zi (signals, sections, 2) is updated."""
    if not len(rows):
        return
    filters = _FILTERS or _filters()
    if filters["inplace"] is not None:
        filters["inplace"](sos, rows, zi)
        return
    for r in range(len(rows)):
        rows[r], zi[r] = filters["sosfilt"](sos, rows[r], zi=zi[r])


def k_weighting(sample_rate: int) -> np.ndarray:
    """The BS.1770 K-weighting filter (shelf, then high-pass) as scipy sos for any rate.

    The analogue prototypes behind the 48 kHz coefficients printed in the standard
    are re-discretised with the bilinear transform, so 44.1 kHz and 96 kHz are exact too.
    """
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / sample_rate)
    vh = 10.0 ** (gain_db / 20.0)
    vb = vh ** 0.4996667741545416
    a0 = 1.0 + k / q + k * k
    shelf = [(vh + vb * k / q + k * k) / a0, 2.0 * (k * k - vh) / a0,
             (vh - vb * k / q + k * k) / a0, 1.0, 2.0 * (k * k - 1.0) / a0,
             (1.0 - k / q + k * k) / a0]
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / sample_rate)
    a0 = 1.0 + k / q + k * k
    highpass = [1.0, -2.0, 1.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    return np.array([shelf, highpass])


def channel_weights(channels: int) -> np.ndarray:
    """BS.1770 channel weights in ffmpeg's channel order (LFE excluded, surrounds 1.41)."""
    if channels == 6:    # FL FR FC LFE BL BR
        return np.array([1.0, 1.0, 1.0, 0.0, 1.41, 1.41])
    if channels == 5:    # FL FR FC BL BR
        return np.array([1.0, 1.0, 1.0, 1.41, 1.41])
    return np.ones(channels)


def lufs(energy: np.ndarray | float) -> np.ndarray | float:
    """Mean-square K-weighted energy to LUFS (-inf for zero)."""
    with np.errstate(divide="ignore"):
        return -0.691 + 10.0 * np.log10(energy)


def db(value: float) -> float:
    """Linear amplitude to dB (-inf for zero)."""
    return 20.0 * math.log10(value) if value > 0 else -math.inf


def block_frames(sample_rate: int) -> int:
    """Frames in one 10 ms summary block (100 ms segments are 10 of them)."""
    return max(1, round(sample_rate / 100))


def gated_integrated(segment_energy: np.ndarray) -> float:
    """Integrated loudness (LUFS) from 100 ms segment mean-square energies (BS.1770-4 gating)."""
    if len(segment_energy) < SEGMENTS_PER_GATE:
        return -math.inf
    c = np.concatenate([[0.0], np.cumsum(segment_energy, dtype=np.float64)])
    z = (c[SEGMENTS_PER_GATE:] - c[:-SEGMENTS_PER_GATE]) / SEGMENTS_PER_GATE
    z = z[lufs(z) > ABSOLUTE_GATE]
    if not len(z):
        return -math.inf
    z = z[lufs(z) > lufs(z.mean()) + RELATIVE_GATE]
    return float(lufs(z.mean()))


def gated_seconds(segment_energy: np.ndarray) -> float:
    """Seconds of the programme inside the 400 ms blocks that pass both BS.1770 gates: how
    much there is for the integrated loudness to speak for (a click alone: under a second)."""
    if len(segment_energy) < SEGMENTS_PER_GATE:
        return 0.0
    c = np.concatenate([[0.0], np.cumsum(segment_energy, dtype=np.float64)])
    z = (c[SEGMENTS_PER_GATE:] - c[:-SEGMENTS_PER_GATE]) / SEGMENTS_PER_GATE
    passed = lufs(z) > ABSOLUTE_GATE
    if not passed.any():
        return 0.0
    passed &= lufs(z) > lufs(z[passed].mean()) + RELATIVE_GATE
    covered = np.zeros(len(segment_energy), dtype=bool)
    for k in range(SEGMENTS_PER_GATE):      # each block covers its four 100 ms segments
        covered[k:k + len(passed)] |= passed
    return float(covered.sum()) * BLOCKS_PER_SEGMENT / 100


def short_term_series(segment_energy: np.ndarray) -> np.ndarray:
    """Short-term loudness (LUFS) of 3 s windows every 100 ms; the first ends at 3 s."""
    if len(segment_energy) < SEGMENTS_PER_SHORT:
        return np.zeros(0)
    c = np.concatenate([[0.0], np.cumsum(segment_energy, dtype=np.float64)])
    st = (c[SEGMENTS_PER_SHORT:] - c[:-SEGMENTS_PER_SHORT]) / SEGMENTS_PER_SHORT
    return lufs(np.maximum(st, 0.0))


def loudness_range(segment_energy: np.ndarray) -> float:
    """Loudness range (LU) per EBU Tech 3342 from 100 ms segment energies."""
    st = short_term_series(segment_energy)
    st = st[st > ABSOLUTE_GATE]
    if len(st) < 2:
        return 0.0
    power_mean = lufs(np.mean(10.0 ** ((st + 0.691) / 10.0)))
    st = st[st > power_mean + LRA_RELATIVE_GATE]
    if len(st) < 2:
        return 0.0
    lo, hi = np.percentile(st, [10.0, 95.0])
    return float(hi - lo)


@dataclass(frozen=True)
class BlockLog:
    """Per-10 ms summaries of a programme: what normalization plans from.

    `energy` is the channel-weighted K-weighted mean square of each block and
    `peak` its true peak (linear, largest over channels).
    """

    sample_rate: int
    channels: int
    block: int              # frames per block
    frames: int             # frames measured
    energy: np.ndarray      # float64, one per block
    peak: np.ndarray        # float32, one per block

    def segment_energy(self, gain_db: np.ndarray | float = 0.0) -> np.ndarray:
        """Mean-square energy per 100 ms segment, after an optional per-block gain (dB)."""
        return self.segment_power(10.0 ** (np.asarray(gain_db, dtype=np.float64) / 10.0))

    def segment_power(self, power: np.ndarray | float = 1.0) -> np.ndarray:
        """Mean-square energy per 100 ms segment, after a per-block power gain (linear)."""
        e = self.energy * power
        n = len(e) // BLOCKS_PER_SEGMENT
        return e[:n * BLOCKS_PER_SEGMENT].reshape(n, BLOCKS_PER_SEGMENT).mean(axis=1)


#: Chunks a meter may have waiting for its worker thread (bounds the audio held).
_MAX_QUEUED = 2


class Meter:
    """A streaming BS.1770-4 / R128 meter: `feed()` chunks, then read `stats()`.

    The programme's true peak is exact; it is only interpolated in blocks that could
    beat the running maximum. With `exact_peaks` the meter also keeps a per-block peak
    for the limiter, exact wherever it comes within 18 dB of the loudest sample.

    The work is shared by two threads: the feeding thread K-weights the first half of
    the channels, the meter's worker thread the other half, then sums block energies
    and finds the peaks, one chunk behind. The filters' inner loops, BLAS and large
    ufuncs release the GIL, so a meter keeps two cores busy; results do not depend on
    the timing (one worker runs the chunks in order).
    """

    def __init__(self, sample_rate: int, channels: int, *, exact_peaks: bool = False) -> None:
        self.sample_rate = sample_rate
        self.channels = channels
        self.block = block_frames(sample_rate)
        self.exact_peaks = exact_peaks
        self._sos = k_weighting(sample_rate).astype(np.float32)
        self._zi = np.zeros((channels, self._sos.shape[0], 2), dtype=np.float32)
        self._split = channels // 2          # channels [0, split) are filtered by the feeder
        self._weights = channel_weights(channels).astype(np.float32)
        self._history = np.zeros((TP_TAPS - 1, channels), dtype=np.float32)
        self._pending = np.zeros((0, channels), dtype=np.float32)
        self._queue: deque[Future[None]] = deque()
        self._energy: list[np.ndarray] = []
        self._peaks: list[np.ndarray] = []
        self._sample_peaks: list[np.ndarray] = []
        self._frames = 0
        self._last_block_peak = 0.0
        self._sample_peak = 0.0
        self._true_peak = 0.0

    def feed(self, chunk: np.ndarray) -> None:
        """Measure the next chunk (frames, channels) of float samples."""
        chunk = np.asarray(chunk, dtype=np.float32).reshape(-1, self.channels)
        have, h = len(self._pending), TP_TAPS - 1
        usable = (have + len(chunk)) // self.block * self.block
        if not usable:
            self._pending = np.concatenate([self._pending, chunk])
            return
        take = usable - have
        # One copy holds the true-peak filter's history, the held partial block and
        # the whole blocks of this chunk.
        padded = np.empty((h + usable, self.channels), dtype=np.float32)
        padded[:h] = self._history
        padded[h:h + have] = self._pending
        padded[h + have:] = chunk[:take]
        self._pending = chunk[take:].copy()
        self._history = padded[-h:].copy()
        self._frames += usable
        # The filters run on channel rows plus a -500 dBFS Nyquist tone, which keeps
        # their state out of subnormal numbers that silence would otherwise decay into
        # (~20x slower on x86); it is far below any gate. The peaks see the samples.
        rows = np.empty((self.channels, usable), dtype=np.float32)
        np.add(padded[h:].T, _antidenormal(usable).T, out=rows)
        _filter_rows(self._sos, rows[:self._split], self._zi[:self._split])
        if len(self._queue) >= _MAX_QUEUED:
            self._queue.popleft().result()
        self._queue.append(_worker().submit(self._summarise, padded, rows))

    def _summarise(self, padded: np.ndarray, rows: np.ndarray) -> None:
        """Worker side of feed(): the other channels' filters, block energies, peaks."""
        _filter_rows(self._sos, rows[self._split:], self._zi[self._split:])
        nb = rows.shape[1] // self.block
        np.square(rows, out=rows)
        # Sums of squares per channel and block (pairwise in float32), then weighted.
        power = rows.reshape(self.channels, nb, self.block).sum(axis=2).astype(np.float64)
        self._energy.append(self._weights.astype(np.float64) @ power / self.block)
        x = padded[TP_TAPS - 1:].reshape(nb, -1)
        sp = np.maximum(x.max(axis=1), -x.min(axis=1))     # no |x| temporary
        self._sample_peaks.append(sp)
        self._sample_peak = max(self._sample_peak, float(sp.max()))
        # Far below the loudest sample so far a block could only reach the ceiling under
        # extreme limiting; there the bound (never below the truth) is enough. Without
        # exact_peaks, only blocks that could raise the running maximum are interpolated.
        floor = self._sample_peak * EXACT_PEAK_FLOOR if self.exact_peaks else self._true_peak
        peaks = truepeak.exact_where(padded, sp, self._last_block_peak, floor, self.block)
        self._last_block_peak = float(sp[-1])
        if self.exact_peaks:
            self._peaks.append(peaks)
        self._true_peak = max(self._true_peak, float(peaks.max()))

    def _drain(self) -> None:
        while self._queue:
            self._queue.popleft().result()

    def block_log(self) -> BlockLog:
        """The per-block summaries measured so far (whole blocks only)."""
        self._drain()
        energy = np.concatenate(self._energy) if self._energy else np.zeros(0)
        peak = np.concatenate(self._peaks) if self._peaks else np.zeros(0, np.float32)
        return BlockLog(self.sample_rate, self.channels, self.block, self._frames, energy, peak)

    def sample_peaks(self) -> np.ndarray:
        """The largest sample magnitude of each whole block so far (the waveform envelope)."""
        self._drain()
        if not self._sample_peaks:
            return np.zeros(0, np.float32)
        return np.concatenate(self._sample_peaks).astype(np.float32, copy=False)

    @property
    def frames(self) -> int:
        """Frames fed so far (including a partial block not yet measured)."""
        return self._frames + len(self._pending)

    def stats(self) -> LoudnessStats:
        """Integrated loudness, LRA, true and sample peak, duration of what was fed."""
        self._drain()
        if len(self._pending):
            # The partial last block still counts for peaks (not for loudness blocks).
            tail = self._pending
            self._sample_peak = max(self._sample_peak, float(np.abs(tail).max()))
            padded = np.concatenate([self._history, tail])
            tail_peak = truepeak.interpolated_peaks(padded, np.zeros(1, dtype=np.intp), len(tail))
            self._true_peak = max(self._true_peak, float(tail_peak[0]), self._sample_peak)
        seg = self.block_log().segment_energy()
        return LoudnessStats(integrated=gated_integrated(seg), lra=loudness_range(seg),
                             true_peak=db(max(self._true_peak, self._sample_peak)),
                             sample_peak=db(self._sample_peak),
                             duration=self.frames / self.sample_rate)

    def short_term(self) -> np.ndarray:
        """Short-term loudness series (LUFS, 3 s windows every 100 ms)."""
        return short_term_series(self.block_log().segment_energy())


def measure_array(samples: np.ndarray, sample_rate: int) -> LoudnessStats:
    """Measure an in-memory signal of shape (frames, channels) or (frames,)."""
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim == 1:
        samples = samples[:, None]
    meter = Meter(sample_rate, samples.shape[1])
    for start in range(0, len(samples), ffmpeg.CHUNK_FRAMES):
        meter.feed(samples[start:start + ffmpeg.CHUNK_FRAMES])
    return meter.stats()


def measure_file(path: Path) -> LoudnessStats:
    """Measure an audio file at its own sample rate and channels, streaming (flat memory).

    MediaError names the file if it is not audio or holds no samples.
    """
    info = ffmpeg.probe(path)
    meter = Meter(info.sample_rate, info.channels)
    with threadpool_limits(limits=1, user_api="blas"):   # small products: threads only cost
        for chunk in sources.stream(path, sample_rate=info.sample_rate, channels=info.channels,
                                    info=info):
            meter.feed(chunk)
    if meter.frames == 0:
        raise MediaError("no audio samples could be decoded", path=path)
    return meter.stats()
