"""Where speech is in the audio, cheaply: 10 ms frames marked speech or not, and the long
stretches without speech (a music sting, a bed between sections, silence).

    speech_frames(pcm)       -> bool per 10 ms frame of 16 kHz int16 PCM
    breaks(speech, min_len)  -> [(start, end)] frames of the stretches without speech

The aligner uses it where pocketsphinx cannot say: words no window placed are spread over
the speech between their placed neighbours, not evenly over a sting (align_text.
interpolate), and a window that fails across a sting is tried again on the audio before
it (align_window.place).

Speech changes its spectrum every few tens of milliseconds (one phone to the next);
music holds notes and chords, and silence (or a steady hum) is far below the voice. So a
frame is speech when the median spectral change over the second around it is high and
the frame is not far below the programme's loud level. A bed 16 dB under a voice keeps
the voice's spectral change (measured: 0.55-1.1 against 0.2-0.35 for a sting), which
energy alone would not.
"""
from __future__ import annotations

import numpy as np

FRAME = 160                     # samples per 10 ms frame at 16 kHz
_WIN = 320                      # 20 ms analysis window, 10 ms hop
#: Median spectral change (mean |difference| of log band energies between frames) over
#: CONTEXT frames above which the stretch is speech.
MIN_FLUX = 0.45
CONTEXT = 100
#: A frame this far below the programme's loud level (its 95th percentile) is silence.
QUIET_DB = 40.0
_BANDS = 16


def speech_frames(pcm: np.ndarray) -> np.ndarray:
    """True for each 10 ms frame of `pcm` (16 kHz int16) that looks like speech."""
    n = len(pcm) // FRAME
    if n < 3:
        return np.zeros(n, dtype=bool)
    x = pcm[:n * FRAME].astype(np.float32) / 32768.0
    energy = 10 * np.log10((x.reshape(n, FRAME) ** 2).mean(1) + 1e-10)
    loud = np.percentile(energy, 95)
    flux = np.zeros(n, dtype=np.float32)
    # In blocks: one spectrum per frame of a long programme would not fit in memory at once.
    hann = np.hanning(_WIN).astype(np.float32)
    prev = None
    block = 6000
    for b0 in range(0, n - 1, block):
        b1 = min(n - 1, b0 + block)
        idx = np.arange(b0, b1)[:, None] * FRAME + np.arange(_WIN)[None, :]
        spec = np.abs(np.fft.rfft(x[idx] * hann, axis=1))[:, 3:131] ** 2
        bands = np.log(spec.reshape(len(idx), _BANDS, -1).mean(2) + 1e-8)
        diff = np.abs(np.diff(bands, axis=0, prepend=bands[:1] if prev is None else prev))
        flux[b0:b1] = diff.mean(1)
        prev = bands[-1:]
    local = _running_median(flux, CONTEXT)
    return (local > MIN_FLUX) & (energy > loud - QUIET_DB)


def _running_median(values: np.ndarray, width: int) -> np.ndarray:
    """The median of `values` over `width` frames centred on each, computed on a 5-frame
    grid (the exact per-frame median of a long programme would cost more than the search)."""
    step = 5
    half = width // 2
    centres = np.arange(0, len(values), step)
    out = np.array([np.median(values[max(0, c - half):c + half]) for c in centres],
                   dtype=np.float32)
    return np.repeat(out, step)[:len(values)]


def breaks(speech: np.ndarray, min_len: int) -> list[tuple[int, int]]:
    """The stretches of at least `min_len` frames without speech: (start, end exclusive)."""
    out: list[tuple[int, int]] = []
    padded = np.concatenate(([True], speech.astype(bool), [True]))
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    for start, end in zip(edges[::2], edges[1::2]):
        if end - start >= min_len:
            out.append((int(start), int(end)))
    return out
