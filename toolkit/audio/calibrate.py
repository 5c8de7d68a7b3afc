"""Encoder calibration: what the MP3 encoder will do to this programme, measured on
excerpts before the full encode, so the full encode is right the first time.

LAME at 128 kbps takes 0.1 to 0.5 LU of loudness (its low-pass) and, on limited,
noisy material, its quantisation noise moves each 10 ms block's true peak by a
random amount (measured here: mean +0.1 dB, standard deviation 0.5 dB), so over an
hour of blocks held at the ceiling the worst one lands 1.5 to 2 dB over. While the
programme is measured, `Excerpts` keeps a few short windows: some evenly spaced
(representative loudness) and the hottest ones (where the limiter holds the signal
at the ceiling). After planning, those windows get the plan's gain, are encoded and
decoded once (about 35 s of audio), and compared block by block. The worst
overshoot over the whole programme is then extrapolated from that sample with the
Gaussian extreme-value estimate mean + sd·sqrt(2 ln N), N being the number of
programme blocks planned near the ceiling.
"""
from __future__ import annotations

import heapq
import logging
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from toolkit import ffmpeg
from toolkit.audio import encode, loudness, normalize
from toolkit.model import EncodingSettings
from toolkit.standards import renditions

T = TypeVar("T")

log = logging.getLogger(__name__)

WINDOW_S = 0.5          # excerpt length
EVEN_COUNT = 40         # evenly spaced excerpts (loudness)
HOT_COUNT = 30          # hottest excerpts (peaks)
GAP_S = 0.05            # silence between excerpts in the calibration file
FADE_S = 0.005          # fades at excerpt ends: joins must not add clicks
PEAK_SAFETY_DB = 0.1    # added to the extrapolated worst overshoot
NEAR_CEILING_DB = 3.0   # blocks planned this close to the ceiling can overshoot it


@dataclass(frozen=True)
class Calibration:
    """What the encoder did to the excerpts."""

    loudness_shift: float     # LU, encoded minus planned (negative: the encoder took loudness)
    overshoot_mean: float     # dB, encoded minus planned block true peak, near the ceiling
    overshoot_sd: float
    overshoot_max: float      # the worst block seen in the excerpts
    samples: int              # blocks compared


class Excerpts:
    """Collects evenly spaced and hottest windows of a streamed programme (bounded memory)."""

    def __init__(self, expected_frames: int, sample_rate: int) -> None:
        self.window = max(1, int(WINDOW_S * sample_rate))
        self._every = max(1, expected_frames // self.window // EVEN_COUNT)
        self._rest: np.ndarray | None = None          # the start of the next window
        self._index = 0                              # next window's index on the grid
        self.even: list[tuple[int, np.ndarray]] = []  # (start frame, samples)
        self._hot: list[tuple[float, int, np.ndarray]] = []   # min-heap on peak

    def feed(self, chunk: np.ndarray) -> None:
        """Take the next chunk of the programme."""
        pos = 0
        if self._rest is not None and len(self._rest):
            # Only a window straddling two chunks is copied together.
            need = self.window - len(self._rest)
            if len(chunk) < need:
                self._rest = np.concatenate([self._rest, chunk])
                return
            self._windows(np.concatenate([self._rest, chunk[:need]]))
            pos = need
        whole = (len(chunk) - pos) // self.window
        if whole:
            self._windows(chunk[pos:pos + whole * self.window])
        self._rest = chunk[pos + whole * self.window:].copy()

    def _windows(self, data: np.ndarray) -> None:
        """Offer whole windows (len(data) is a multiple of the window), peaks in one pass."""
        flat = data.reshape(len(data) // self.window, -1)
        peaks = np.maximum(flat.max(axis=1), -flat.min(axis=1))
        for w, peak in enumerate(peaks.tolist()):
            self._offer(self._index, data[w * self.window:(w + 1) * self.window], peak)
            self._index += 1

    def _offer(self, index: int, win: np.ndarray, peak: float) -> None:
        start = index * self.window
        if index % self._every == 0 and len(self.even) < EVEN_COUNT * 2:
            self.even.append((start, win.copy()))
        if len(self._hot) < HOT_COUNT:
            heapq.heappush(self._hot, (peak, start, win.copy()))
        elif peak > self._hot[0][0]:
            heapq.heapreplace(self._hot, (peak, start, win.copy()))

    @property
    def hot(self) -> list[tuple[int, np.ndarray]]:
        """The hottest windows, in programme order."""
        return sorted((start, win) for _peak, start, win in self._hot)


def _faded(x: np.ndarray, rate: int) -> np.ndarray:
    n = min(int(FADE_S * rate), len(x) // 2)
    ramp = np.sin(np.linspace(0, np.pi / 2, n, dtype=np.float32))[:, None] ** 2
    x = x.copy()
    x[:n] *= ramp
    x[len(x) - n:] *= ramp[::-1]
    return x


def calibrate(excerpts: Excerpts, plan: normalize.Plan, settings: EncodingSettings,
              kind: str = "mp3") -> Calibration | None:
    """Encode the planned excerpts once with rendition `kind`'s encoder (a lossy
    toolkit.standards.renditions key: "mp3", "aac", "opus"); None when the programme gave none.

    Each lossy encoder takes its own loudness and moves peaks its own way (AAC at 96 kbps
    takes less loudness than LAME at 128; Opus resamples to 48 kHz), so each rendition is
    calibrated apart.
    """
    pieces = [(start, win) for start, win in excerpts.even] + excerpts.hot
    if not pieces:
        return None
    rate, channels = plan.sample_rate, pieces[0][1].shape[1]
    applier = normalize.GainApplier(plan)
    gap = np.zeros((int(GAP_S * rate), channels), dtype=np.float32)
    planned = [_faded(win * applier.gains(start, len(win))[:, None], rate)
               for start, win in pieces]
    n_even = len(excerpts.even)

    def level(parts: list[np.ndarray]) -> float:
        meter = loudness.Meter(rate, channels)
        for part in parts:
            meter.feed(part)
        return meter.stats().integrated

    def measure_planned() -> tuple[float, np.ndarray]:
        # The planned side is measured while the encoder runs.
        return (level(planned[:n_even]) if n_even else math.nan,
                _block_peaks([x for p in planned for x in (p, gap)], rate, channels))

    decoded, (level_before, peaks_before) = _round_trip(planned, gap, settings, kind, rate,
                                                        measure_planned)
    # The decoder removes the encoder's delay and padding (LAME's header, the .m4a's edit
    # list, the OpusHead pre-skip), so the pieces sit where they were put.
    offsets = np.cumsum([0] + [len(p) + len(gap) for p in planned])
    shift = 0.0
    if n_even:
        level_after = level([decoded[o:o + len(p)] for o, p in zip(offsets, planned[:n_even])])
        if np.isfinite(level_before) and np.isfinite(level_after):
            shift = level_after - level_before
    over = _overshoots(peaks_before, _block_peaks([decoded], rate, channels), plan.ceiling_dbtp)
    if not len(over):
        over = np.zeros(1)
    result = Calibration(loudness_shift=float(shift), overshoot_mean=float(over.mean()),
                         overshoot_sd=float(over.std()), overshoot_max=float(over.max()),
                         samples=len(over))
    log.info("%s encoder calibration: loudness %+.2f LU; block true peaks %+.2f ± %.2f dB "
             "(worst %+.2f, %d blocks)", kind.upper(), result.loudness_shift,
             result.overshoot_mean, result.overshoot_sd, result.overshoot_max, result.samples)
    return result


def _round_trip(planned: list[np.ndarray], gap: np.ndarray, settings: EncodingSettings,
                kind: str, rate: int, meanwhile: Callable[[], T]) -> tuple[np.ndarray, T]:
    """The pieces (each followed by `gap`) encoded with rendition `kind`'s encoder and
    decoded back, as one array; `meanwhile()` runs while the encoder works."""
    channels = gap.shape[1]
    total = sum(len(p) + len(gap) for p in planned)
    with tempfile.TemporaryDirectory(prefix="podkit-calib-") as tmp:
        raw = Path(tmp) / "excerpts.f32"
        encoded = Path(tmp) / f"excerpts.{renditions.get(kind).ext}"
        with open(raw, "wb") as f:          # piece by piece: no joined copy in memory
            for piece in planned:
                f.write(np.ascontiguousarray(piece, dtype="<f4").tobytes())
                f.write(gap.tobytes())
        with ffmpeg.popen(["-v", "error", "-f", "f32le", "-ar", str(rate), "-ac", str(channels),
                           "-i", str(raw), *encode.codec_args(settings, kind), "-y",
                           str(encoded)],
                          what=f"calibrating the {kind.upper()} encoder", path=encoded):
            side = meanwhile()
        decoded = np.zeros((total, channels), dtype=np.float32)
        pos = 0
        for chunk in ffmpeg.decode(encoded, sample_rate=rate, channels=channels):
            take = min(len(chunk), total - pos)
            decoded[pos:pos + take] = chunk[:take]
            pos += take
    return decoded, side

def _block_peaks(pieces: list[np.ndarray], rate: int, channels: int) -> np.ndarray:
    """Per-block true peaks of the pieces played one after the other (exact near the top)."""
    meter = loudness.Meter(rate, channels, exact_peaks=True)
    for piece in pieces:
        meter.feed(piece)
    return meter.block_log().peak.astype(np.float64)


def _overshoots(planned: np.ndarray, got: np.ndarray, ceiling: float) -> np.ndarray:
    """Encoded minus planned true peak (dB) of the blocks planned near the ceiling.

    Both are block peaks of the same excerpt file (planned and as decoded), so the
    blocks line up; the silent gaps between excerpts never come near the ceiling.
    """
    n = min(len(planned), len(got))
    with np.errstate(divide="ignore"):
        before, after = 20.0 * np.log10(planned[:n]), 20.0 * np.log10(got[:n])
    near = (before > ceiling - NEAR_CEILING_DB) & np.isfinite(after)
    return after[near] - before[near]


def margin_db(cal: Calibration | None, near_blocks: int) -> float:
    """How far under the ceiling to plan so the worst of `near_blocks` blocks stays under it."""
    if cal is None or cal.samples < 20:
        return normalize.CEILING_MARGIN_DB
    worst = cal.overshoot_mean + cal.overshoot_sd * np.sqrt(2.0 * np.log(max(near_blocks, 2)))
    return float(max(normalize.CEILING_MARGIN_DB, worst + PEAK_SAFETY_DB,
                     cal.overshoot_max + PEAK_SAFETY_DB))


def near_ceiling(log_: loudness.BlockLog, plan: normalize.Plan) -> int:
    """How many blocks the plan puts within NEAR_CEILING_DB of its ceiling."""
    return int((normalize.planned_peaks_db(log_, plan) > plan.ceiling_dbtp - NEAR_CEILING_DB).sum())
