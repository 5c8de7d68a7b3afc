"""True peak per BS.1770-4 Annex 2: 4x oversampling with the standard's interpolation filter.

The meter (`toolkit.audio.loudness`) keeps a true peak per 10 ms block. Interpolating every
block would cost more than the rest of the meter, so a block is interpolated only where
its bound (the largest nearby sample times the filter's gain) could matter; elsewhere the
bound, never below the truth, stands in for it.
"""
from __future__ import annotations

import functools

import numpy as np

#: Exact per-block true peaks are computed down to 18 dB below the loudest sample seen.
EXACT_PEAK_FLOOR = 10.0 ** (-18.0 / 20.0)

#: BS.1770-4 Annex 2 interpolation filter: 4 phases of 12 taps (phase 3 mirrors phase 0).
_PHASE0 = [0.0017089843750, 0.0109863281250, -0.0196533203125, 0.0332031250000,
           -0.0594482421875, 0.1373291015625, 0.9721679687500, -0.1022949218750,
           0.0476074218750, -0.0266113281250, 0.0148925781250, -0.0083007812500]
_PHASE1 = [-0.0291748046875, 0.0292968750000, -0.0517578125000, 0.0891113281250,
           -0.1665039062500, 0.4650878906250, 0.7797851562500, -0.2003173828125,
           0.1015625000000, -0.0582275390625, 0.0330810546875, -0.0189208984375]
TP_FIR = np.array([_PHASE0, _PHASE1, _PHASE1[::-1], _PHASE0[::-1]], dtype=np.float64)
TP_TAPS = TP_FIR.shape[1]
#: No interpolated value can exceed this multiple of the largest nearby sample.
TP_BOUND = float(np.abs(TP_FIR).sum(axis=1).max())
#: True peak is computed a row of _TP_ROW frames at a time: one matrix product maps a
#: row's window (_TP_ROW + 11 frames, channels interleaved) to every phase of every frame
#: and channel in it. Rows of 9 frames copy 2.2x the audio into the window matrix where
#: one 12-tap window per frame copied 12x; pieces of ~16k frames keep it in cache.
_TP_ROW = 9
_TP_PIECE_FRAMES = 16384


@functools.lru_cache(maxsize=None)
def _tp_matrix(channels: int) -> np.ndarray:
    """(window values, outputs) matrix for one row: outputs are (frame, channel, phase)."""
    r, c, h = _TP_ROW, channels, TP_TAPS - 1
    m = np.zeros(((r + h) * c, r * c * 4), dtype=np.float32)
    for frame in range(r):
        for ch in range(c):
            col = (frame * c + ch) * 4
            for tap in range(TP_TAPS):
                # Output frame `frame` (window position frame + h) takes tap k from k frames back.
                m[(frame + h - tap) * c + ch, col:col + 4] = TP_FIR[:, tap]
    return m


def _piece_peaks(seg: np.ndarray, count: int, block: int) -> np.ndarray:
    """Largest interpolated magnitude of each of `count` blocks; seg holds 11 frames of history."""
    c = seg.shape[1]
    frames = count * block
    rows = -(-frames // _TP_ROW)
    if rows * _TP_ROW != frames:       # whole rows only: pad, and ignore the padded outputs
        seg = np.concatenate([seg, np.zeros((rows * _TP_ROW - frames, c), np.float32)])
    flat = np.ascontiguousarray(seg, dtype=np.float32).reshape(-1)
    # Overlapping windows, one per row, as a view (the rows lie inside `flat`).
    win = np.ndarray(((rows, (_TP_ROW + TP_TAPS - 1) * c)), np.float32, flat,
                     strides=(_TP_ROW * c * 4, 4))
    y = np.ascontiguousarray(win) @ _tp_matrix(c)
    np.abs(y, out=y)
    return y.reshape(-1)[:frames * c * 4].reshape(count, -1).max(axis=1)


#: Blocks needing interpolation this close together are filtered as one run (per-call
#: overhead outweighs the few blocks computed for nothing).
_RUN_GAP = 8


def interpolated_peaks(padded: np.ndarray, blocks: np.ndarray, block: int) -> np.ndarray:
    """Largest 4x-interpolated magnitude in each of `blocks` (padded has TP_TAPS-1 history)."""
    # Runs of nearby blocks are filtered as contiguous slices, in cache-sized pieces.
    breaks = np.flatnonzero(np.diff(blocks) > _RUN_GAP) + 1
    firsts = blocks[np.concatenate([[0], breaks])]
    lasts = blocks[np.concatenate([breaks - 1, [len(blocks) - 1]])]
    step = max(1, _TP_PIECE_FRAMES // block)
    got = np.empty(int(lasts[-1]) + 1 if len(blocks) else 0, dtype=np.float32)
    for first, last in zip(firsts.tolist(), lasts.tolist()):
        for s in range(first, last + 1, step):
            count = min(last + 1, s + step) - s
            seg = padded[s * block:(s + count) * block + TP_TAPS - 1]
            got[s:s + count] = _piece_peaks(seg, count, block)
    return got[blocks]


def exact_where(padded: np.ndarray, sp: np.ndarray, before: float, floor: float,
                 block: int) -> np.ndarray:
    """Per-block true peak, interpolated where its bound exceeds `floor`, else the bound.

    `before` is the sample peak of the block preceding the first one (0 at the start).
    """
    # The interpolated values of a block also depend on the previous block's last 11
    # samples, so a block's bound uses the larger of its own and its neighbour's peak.
    near = np.maximum(sp, np.concatenate([[before], sp[:-1]]).astype(sp.dtype))
    bound = (near * TP_BOUND).astype(np.float32)
    todo = np.flatnonzero(bound > floor)
    if todo.size:
        bound[todo] = np.maximum(interpolated_peaks(padded, todo, block), sp[todo])
    return bound
