"""Pass 2 of the audio stage (toolkit.audio.master): the programme rendered again, each
lossy rendition's plan applied, one ffmpeg encoder per plan, and what each wrote measured.

    measured = encodepass.encode_and_check(render, [Rendition("mp3", plan, targets)], enc,
                                           expected, progress, where)
    measured["mp3"].after          # LoudnessStats of the file as written
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from toolkit.audio import assemble, encode, loudness, normalize
from toolkit.model import EncodingSettings, LoudnessStats

# The audio stage's messages keep the logger they always had (log configs name it).
log = logging.getLogger("toolkit.audio.master")

#: Told (stage, fraction done) as the programme is rendered: "measure", "encode", ...
Progress = Callable[[str, float], None]


def tracked(chunks: Iterator[np.ndarray], stage: str, expected: int,
            progress: Progress | None) -> Iterator[np.ndarray]:
    """The chunks passed on, `progress` told the share of `expected` frames done (at most
    once per hundredth, and never 1.0: the caller says when a stage is done)."""
    done, last = 0, -1.0
    for chunk in chunks:
        done += len(chunk)
        frac = min(0.99, done / expected)
        if progress and frac - last >= 0.01:
            progress(stage, frac)
            last = frac
        yield chunk


@dataclass(frozen=True)
class Rendition:
    """A lossy rendition with its own plan (the MP3 carries the WAV: same samples)."""

    kind: str                   # a lossy toolkit.standards.renditions key: "mp3", "aac", "opus"
    plan: normalize.Plan
    targets: encode.Targets


@dataclass(frozen=True)
class Measured:
    """A rendition as measured while it was written."""

    after: LoudnessStats
    peaks: np.ndarray           # block sample peaks: the QC waveform
    short_term: np.ndarray


def encode_and_check(render: assemble.Render, rends: list[Rendition], enc: EncodingSettings,
                     expected: int, progress: Progress | None, where: Path,
                     tap: Callable[[np.ndarray], None] | None = None) -> dict[str, Measured]:
    """Pass 2 (render, apply each plan, encode) and the measurement of what was written.

    One ffmpeg per rendition, all fed from the same render: each gets its own gain and
    is decoded and measured while it is written (encode's monitor). `tap` sees the
    first rendition's samples as they go to its encoder.
    """
    rate = rends[0].plan.sample_rate
    meters = [loudness.Meter(rate, render.channels) for _ in rends]
    clock = time.perf_counter()
    with ExitStack() as stack:
        encoders = [(normalize.GainApplier(r.plan), stack.enter_context(encode.open_encoder(
            r.targets, enc, sample_rate=rate, channels=render.channels,
            lossless_gain_db=-r.plan.encoder_loss_db, monitor=meter.feed)))
            for r, meter in zip(rends, meters)]
        for chunk in tracked(iter(render), "encode", expected, progress):
            for n, (applier, encoder) in enumerate(encoders):
                out = applier.apply(chunk)
                if tap is not None and n == 0:
                    tap(out)
                encoder.write(out)
    out = {}
    for r, meter, (_applier, encoder) in zip(rends, meters, encoders):
        m = meter.stats()
        # The file's length is exact (an old ffmpeg's monitored stream holds the encoder delay).
        after = LoudnessStats(m.integrated, m.lra, m.true_peak, m.sample_peak,
                              encoder.frames / rate)
        out[r.kind] = Measured(after, meter.sample_peaks(), meter.short_term())
    log.info("%s: encoded and measured in %.1f s: %s", where, time.perf_counter() - clock,
             "; ".join(f"{k.upper()} {m.after.integrated:.2f} LUFS, LRA {m.after.lra:.1f} LU, "
                       f"{m.after.true_peak:.2f} dBTP" for k, m in out.items()))
    return out
