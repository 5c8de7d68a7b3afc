"""Loudness normalization: one gain, a look-ahead true-peak limiter, optional levelling.

Everything is planned from the 10 ms block summaries a `loudness.Meter` recorded
(K-weighted energy and true peak per block), before a single output sample is
written:

1. the static gain that brings the integrated loudness to the target;
2. optional gentle levelling (a slow gain riding the short-term loudness) when the
   loudness range is wider than the preset allows;
3. the limiter's gain envelope: wherever the gained true peak would pass the ceiling,
   the gain dips just enough, starting one block (10 ms) early (look-ahead), held over
   the neighbouring blocks and released exponentially (200 ms), so speech does not
   pump and nothing is clipped;
4. the loudness that envelope removes is predicted from the same block energies and the
   static gain raised to compensate, iterating a few times (no second pass over audio).

`GainApplier` then applies the per-block plan to the streamed samples, interpolating
linearly between block edges; each edge takes the lower gain of its two blocks, so every
sample gets at most the gain its block was planned with and the ceiling holds.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from toolkit.audio import loudness
from toolkit.errors import MediaError
from toolkit.model import Limiting

log = logging.getLogger(__name__)

#: LAME moves true peaks by up to about ±0.4 dB: plan this far under the ceiling.
CEILING_MARGIN_DB = 0.5
RELEASE_S = 0.2              # limiter release time constant
HOLD_BLOCKS = 1              # blocks held either side of a peak (10 ms each)
MAX_LEVELLING_DB = 8.0       # levelling never moves a passage further than this
LEVELLING_SMOOTH_S = 3.0     # levelling gain changes over seconds, not syllables
MAX_RATIO = 3.0              # gentlest compression of the loudness range that still helps
#: Limiting is reported as heavy (a warning on the build line, cue sheet and qc.json) when
#: the limiter acts on more than this share of the programme, or takes more than this.
HEAVY_LIMITING_SHARE = 0.10
HEAVY_LIMITING_DB = 3.0
#: Less programme than this (seconds inside blocks that pass the BS.1770 gates; or half
#: the audio, for shorter audio) is not a programme: a click, a bump, a DC offset.
MIN_PROGRAMME_S = 1.0
#: The gain search stops once the plan lands this close to the target (LU) ...
PLAN_TOLERANCE_LU = 0.005
#: ... or after this many rounds (it converges in three or four: the limiter takes less
#: each time the gain rises into it).
PLAN_ROUNDS = 12
#: A block counts as limited when the limiter takes more than this (dB): below it the
#: reduction is rounding, not limiting.
LIMITED_DB = 0.01


@dataclass(frozen=True)
class Plan:
    """How a programme will be normalized; `gains_db` is per 10 ms block."""

    sample_rate: int
    block: int
    gain_db: float                  # static gain (what gain alone would have been + limiter makeup)
    gains_db: np.ndarray            # per-block total gain in dB (static + levelling - limiting)
    ceiling_dbtp: float             # what the plan holds peaks under (before encoding)
    before: loudness.LoudnessStats  # the input as measured
    predicted_integrated: float     # LUFS the plan produces (before encoding)
    predicted_lra: float
    predicted_true_peak: float      # upper bound, dBTP
    limiter_max_db: float           # deepest limiter gain reduction
    limited_s: float                # seconds during which the limiter acts
    levelled: bool = False
    encoder_loss_db: float = 0.0    # loudness the plan adds for the lossy encoder to take


def check_measurable(log_: loudness.BlockLog, stats: loudness.LoudnessStats,
                     path: str | Path | None) -> None:
    """MediaError (naming `path`) for audio no gain can normalize: silent, too short, too quiet."""
    if log_.frames < 0.4 * log_.sample_rate:
        raise MediaError(f"audio is {log_.frames / log_.sample_rate:.3f} s long, shorter than "
                         "one 400 ms loudness block", path=path)
    if stats.sample_peak == -math.inf:
        raise MediaError("audio is digital silence: there is no loudness to normalize", path=path)
    if not math.isfinite(stats.integrated):
        raise MediaError(f"audio is quieter than the {loudness.ABSOLUTE_GATE:.0f} LUFS absolute "
                         f"gate (sample peak {stats.sample_peak:.1f} dBFS): nothing to normalize",
                         path=path)
    # A DC offset, a click or a few bumps in near-silence pass the gates for a moment; gain
    # to the target on that would be tens of dB, the limiter flattening the click by a
    # hundred: a "successful" build far off target. There is no programme to normalize.
    programme = loudness.gated_seconds(log_.segment_energy())
    duration = log_.frames / log_.sample_rate
    if programme < min(MIN_PROGRAMME_S, duration / 2):
        raise MediaError(f"audio is too quiet: only {programme:.1f} s of its {duration:.1f} s "
                         f"is above the loudness gates (at {stats.integrated:.1f} LUFS, sample "
                         f"peak {stats.sample_peak:.1f} dBFS: a click or an offset, no "
                         "programme to normalize); check the source file", path=path)


# Per-block arrays are float32 (a 3-hour programme has a million blocks): dB values
# and gains need no more, and memory stays small next to the audio pipeline's.

def _edges_db(gains_db: np.ndarray) -> np.ndarray:
    """Gain at each block edge: the lower of the two blocks it joins (one more than blocks)."""
    g = gains_db.astype(np.float32)
    return np.concatenate([g[:1], np.minimum(g[:-1], g[1:]), g[-1:]])


def _effective(gains_db: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean-square power gain, largest amplitude gain) of each block as applied."""
    e = _edges_db(gains_db)
    e *= np.float32(1.0 / 20.0)
    np.power(np.float32(10.0), e, out=e)
    a, b = e[:-1], e[1:]
    # The mean of a linear ramp's square from a to b is (a² + ab + b²) / 3.
    power = a * a
    power += a * b
    power += b * b
    power /= 3.0
    return power, np.maximum(a, b)


_RELEASE_SEGMENT = 1 << 16


def _release(reduction: np.ndarray, block_s: float) -> np.ndarray:
    """Peak-hold with exponential decay: R[n] = max over k <= n of red[k]·α^(n-k).

    Solved in closed form with a running maximum in the log domain, so it is
    vectorised instead of a per-sample recursion; done in segments (carrying the last
    value) so the float64 temporaries stay small.
    """
    if not reduction.any():
        return reduction
    ln_a = -block_s / RELEASE_S
    out = np.empty(len(reduction), dtype=np.float32)
    carry = 0.0
    k_all = np.arange(_RELEASE_SEGMENT + 1, dtype=np.float64)
    for start in range(0, len(reduction), _RELEASE_SEGMENT):
        red = reduction[start:start + _RELEASE_SEGMENT].astype(np.float64)
        k = k_all[1:len(red) + 1]
        with np.errstate(divide="ignore"):
            # The carried value enters as the element just before the segment (k = 0).
            v = np.concatenate([[np.log(carry) if carry > 0 else -np.inf], np.log(red) - k * ln_a])
        seg = np.exp(np.maximum.accumulate(v)[1:] + k * ln_a)
        carry = float(seg[-1])
        out[start:start + len(red)] = seg
    out[out < 1e-3] = 0.0     # below a thousandth of a dB: let it go
    return out


def limiter_reduction(peak: np.ndarray, gains_db: np.ndarray, ceiling_db: float,
                      block_s: float) -> np.ndarray:
    """Gain reduction (dB, >= 0) per block keeping `peak`·gain under `ceiling_db`."""
    with np.errstate(divide="ignore"):
        red = np.log10(peak.astype(np.float32))
    red *= np.float32(20.0)
    red += gains_db
    red -= np.float32(ceiling_db)
    np.maximum(red, 0.0, out=red)
    for _ in range(HOLD_BLOCKS):
        # A peak near a block edge is attributed to one block by the meter's filter
        # delay; holding over the neighbours keeps the envelope conservative.
        held = red.copy()
        np.maximum(held[1:], red[:-1], out=held[1:])
        np.maximum(held[:-1], red[1:], out=held[:-1])
        red = held
    return _release(red, block_s)


def levelling_gain(log_: loudness.BlockLog, integrated: float, lra: float,
                   max_lra: float) -> np.ndarray:
    """A slow per-block gain (dB) that narrows the loudness range towards `max_lra`."""
    seg = log_.segment_energy()
    n = len(seg)
    half = loudness.SEGMENTS_PER_SHORT // 2
    # Centred 3 s short-term loudness per 100 ms segment.
    c = np.concatenate([[0.0], np.cumsum(seg)])
    lo = np.clip(np.arange(n) - half, 0, n)
    hi = np.clip(np.arange(n) + half, 0, n)
    st = loudness.lufs((c[hi] - c[lo]) / np.maximum(hi - lo, 1))
    ratio = min(MAX_RATIO, lra / max_lra)
    active = st > integrated + loudness.LRA_RELATIVE_GATE
    want = np.zeros(n)
    if active.any():
        idx = np.flatnonzero(active)
        dev = (integrated - st[idx]) * (1.0 - 1.0 / ratio)
        # Pauses keep the gain of the speech around them (no breathing noise swell).
        want = np.interp(np.arange(n), idx, np.clip(dev, -MAX_LEVELLING_DB, MAX_LEVELLING_DB))
    width = max(1, int(LEVELLING_SMOOTH_S * 10))
    want = np.convolve(np.pad(want, (width // 2, width - 1 - width // 2), mode="edge"),
                       np.ones(width) / width, mode="valid")
    per_block = np.repeat(want, loudness.BLOCKS_PER_SEGMENT)
    nb = len(log_.energy)
    return np.pad(per_block, (0, max(0, nb - len(per_block))), mode="edge")[:nb]


def plan(log_: loudness.BlockLog, stats: loudness.LoudnessStats, target_lufs: float,
         ceiling_dbtp: float, *, levelling: bool = False, max_lra: float | None = None,
         encoder_loss_db: float = 0.0, ceiling_margin_db: float = CEILING_MARGIN_DB,
         path: str | Path | None = None, pre_gain_db: np.ndarray | None = None) -> Plan:
    """Plan gain, levelling and limiting so the output meets `target_lufs` under the ceiling.

    `ceiling_dbtp` is the deliverable's ceiling; the plan aims `ceiling_margin_db`
    lower for the encoder's peak overshoot. `encoder_loss_db` is loudness the encoder is expected to
    remove (its low-pass), added to the target here. `pre_gain_db` (per block) is a gain
    applied ahead of everything else: the speech leveller's.
    """
    check_measurable(log_, stats, path)
    inner_ceiling = ceiling_dbtp - ceiling_margin_db
    block_s = log_.block / log_.sample_rate
    aim = target_lufs + encoder_loss_db
    base = np.zeros(len(log_.energy), dtype=np.float32)
    if pre_gain_db is not None:
        base += pre_gain_db.astype(np.float32)
    levelled = bool(levelling and max_lra is not None and stats.lra > max_lra)
    if levelled:
        base += levelling_gain(log_, stats.integrated, stats.lra, float(max_lra)).astype(np.float32)
        after = loudness.gated_integrated(log_.segment_energy(base))
        base += np.float32(stats.integrated - after)   # levelling alone keeps the loudness
    gain = aim - stats.integrated
    for _ in range(PLAN_ROUNDS):
        gains = base + np.float32(gain)
        reduction = limiter_reduction(log_.peak, gains, inner_ceiling, block_s)
        gains -= reduction
        power, _amp = _effective(gains)
        result = loudness.gated_integrated(log_.segment_power(power))
        miss = aim - result
        if abs(miss) < PLAN_TOLERANCE_LU:
            break
        gain += miss       # the limiter took `miss` away: raise the gain into it
    power, amp = _effective(gains)
    seg = log_.segment_power(power)
    limited = reduction > LIMITED_DB
    result = Plan(sample_rate=log_.sample_rate, block=log_.block, gain_db=float(gain),
                  gains_db=gains.astype(np.float32), ceiling_dbtp=inner_ceiling, before=stats,
                  predicted_integrated=loudness.gated_integrated(seg),
                  predicted_lra=loudness.loudness_range(seg),
                  predicted_true_peak=loudness.db(float((log_.peak * amp).max(initial=0.0))),
                  limiter_max_db=float(reduction.max(initial=0.0)),
                  limited_s=float(limited.sum() * block_s), levelled=levelled,
                  encoder_loss_db=encoder_loss_db)
    log.info("%s: %.2f LUFS -> %.2f (gain %+.2f dB, limiter up to %.2f dB over %.1f s%s)",
             path or "programme", stats.integrated, result.predicted_integrated, gain,
             result.limiter_max_db, result.limited_s, ", levelled" if levelled else "")
    return result


def planned_peaks_db(log_: loudness.BlockLog, p: Plan) -> np.ndarray:
    """Each block's true peak after the plan (dBTP, an upper bound), before encoding."""
    _power, amp = _effective(p.gains_db)
    amp *= log_.peak
    with np.errstate(divide="ignore"):
        np.log10(amp, out=amp)
    amp *= np.float32(20.0)
    return amp


class GainApplier:
    """Applies a Plan to a stream of chunks, in order (stateful)."""

    def __init__(self, p: Plan) -> None:
        edges = 10.0 ** (_edges_db(p.gains_db) / 20.0)
        # One more edge so the partial block after the last whole one keeps the last gain.
        self._edges = np.concatenate([edges, edges[-1:]]).astype(np.float32)
        self._block = p.block
        # Where each frame sits between its block's edges (0 at the first edge).
        self._ramp = (np.arange(p.block) / p.block).astype(np.float32)
        self._pos = 0

    def gains(self, start: int, frames: int) -> np.ndarray:
        """The linear gain of frames [start, start + frames) of the programme."""
        if frames <= 0:
            return np.zeros(0, np.float32)
        first, last = start // self._block, (start + frames - 1) // self._block
        k = np.arange(first, last + 1)
        frac = np.broadcast_to(self._ramp, (len(k), self._block))
        beyond = k > len(self._edges) - 2
        if beyond.any():        # past the plan (never in a build): hold the last edge
            k = np.minimum(k, len(self._edges) - 2)
            frac = np.where(beyond[:, None], np.float32(1.0), frac)
        a, b = self._edges[k][:, None], self._edges[k + 1][:, None]
        # Linear between the block's edges, computed a block per row (no per-frame indices).
        ramp = (a + (b - a) * frac).reshape(-1)
        offset = start - first * self._block
        return ramp[offset:offset + frames]

    def apply(self, chunk: np.ndarray) -> np.ndarray:
        """The next chunk (frames, channels) with the planned gain applied (a new array)."""
        start, self._pos = self._pos, self._pos + len(chunk)
        first = min(start // self._block, len(self._edges) - 1)
        last = min((self._pos - 1) // self._block + 1, len(self._edges) - 1)
        edges = self._edges[first:last + 1]
        if edges.min() == edges.max():
            # Most of a programme is untouched by the limiter: one multiply per sample.
            return chunk * edges[0]
        return chunk * self.gains(start, len(chunk))[:, None]


def limiting_report(lim: Limiting) -> dict[str, object]:
    """A Limiting as JSON-ready data, with the thresholds its warning uses (qc.json)."""
    return {"seconds": lim.seconds, "share": lim.share, "max_db": lim.max_db,
            "warning": lim.warning,
            "threshold": {"share": HEAVY_LIMITING_SHARE, "max_db": HEAVY_LIMITING_DB}}


def limiting(p: Plan, duration: float) -> Limiting:
    """Summarise the plan's limiting over a programme of `duration` seconds.

    Heavy limiting is audible (flattened transients, pumping) and usually means the input
    has peaks far above its speech: the producer should hear about it, not find out later.
    """
    share = min(1.0, p.limited_s / duration) if duration > 0 else 0.0
    warning = None
    if share > HEAVY_LIMITING_SHARE or p.limiter_max_db > HEAVY_LIMITING_DB:
        warning = (f"heavy limiting: the limiter works on {p.limited_s:.1f} of {duration:.1f} s "
                   f"({100 * share:.0f} %), up to {p.limiter_max_db:.1f} dB (warned above "
                   f"{100 * HEAVY_LIMITING_SHARE:.0f} % or {HEAVY_LIMITING_DB:g} dB)")
    # Rounded as reports show them, so a cached result equals the fresh one.
    return Limiting(seconds=round(p.limited_s, 2), share=round(share, 4),
                    max_db=round(p.limiter_max_db, 2), warning=warning)
