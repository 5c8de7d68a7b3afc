"""A named cut's audio (an air master): the episode's mix at the cut's own loudness.

    render the cut's parts at its rate, fitted to the slot (cutfit) and spooled
    -> measure (exact block peaks only when the gain alone would pass the ceiling)
    -> its own plan -> apply it to the spooled render -> PCM written and measured
       sample for sample -> the file: BWF WAV (bext + cart), FLAC, or MPEG-1 Layer II
       (decoded and measured)

Nothing is derived from the podcast's files: a -23 LUFS master gets a plan for -23
from the mix, which usually needs no limiting at all (a -16 plan limited for -16 would
leave its limiting in the quieter master). The render is the same edit the podcast
uses (toolkit.audio.assemble), with the parts the cut takes. A cut of exactly the
podcast's parts shares the podcast's measurement (`shared`) and is rendered once.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from toolkit import codec, ffmpeg, fsutil
from toolkit.audio import assemble, cutfit, loudness, normalize
from toolkit.cutmodel import Cut
from toolkit.model import ENGINE_VERSION, AudioPart, LoudnessStats
from toolkit.standards import bwf

log = logging.getLogger(__name__)

PCM_MARGIN_DB = 0.1     # PCM adds no overshoot: plan just under the ceiling
MP2_MARGIN_DB = 0.5     # Layer II moves peaks a little, like the other lossy codecs
SILENCE_DB = -60.0      # the post timers' audio start/end: first/last block above this
_DITHER_SEED = 20260401 # 16-bit TPDF dither from a fixed seed: the same bytes every build
#: Bump when the cut's audio changes for the same inputs (cached cuts are redone).
VERSION = 1


@dataclass(frozen=True)
class Timing:
    """Where things are in the cut, in sample frames from its first sample (AES46 timers)."""

    frames: int
    audio_start: int            # first block above SILENCE_DB
    audio_end: int              # end of the last block above it
    intro_end: int              # where the first voice starts over the opening
    segue: int                  # where the closing bed starts (or the audio ends)
    parts: tuple[tuple[str, float, float], ...]   # (title, start s, seconds) per part


@dataclass(frozen=True)
class CutAudio:
    """A built cut's file and what was measured on it."""

    cut: Cut
    path: Path
    stats: LoudnessStats            # measured on the file's own samples
    max_momentary: float            # LUFS
    max_short_term: float           # LUFS
    timing: Timing
    slot_error: float | None        # seconds, duration - slot (None: no slot)
    slot_note: str
    limiter_max_db: float
    cached: bool = False

    @property
    def duration(self) -> float:
        """Seconds of audio in the file."""
        return self.stats.duration


#: Makes the chunks (bext, cart) of a WAV cut from its timing and measured loudness.
Describe = Callable[[Timing, bwf.Loudness], tuple[bwf.Bext, bwf.Cart]]


def cache_key(cut: Cut, parts: Sequence[AudioPart], channels: int, meta: object) -> str:
    """SHA-256 over the parts' content, the cut's settings, its metadata and ffmpeg."""
    rows = []
    for part in parts:
        d = asdict(part)
        d.pop("processing")
        d["path"] = fsutil.sha256_file(part.path)
        d["bed"] = fsutil.sha256_file(part.bed) if part.bed else None
        rows.append(d)
    blob = {"engine": ENGINE_VERSION, "cut_version": VERSION, "ffmpeg": ffmpeg.info().version,
            "parts": rows, "cut": asdict(cut), "channels": channels, "meta": meta}
    return hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()


class _Spool:
    """Pass 1's render kept as raw float32 beside the cache, read back by the later passes
    (reading it costs a fraction of decoding and resampling the parts again)."""

    def __init__(self, path: Path, channels: int) -> None:
        self.path, self.channels = path, channels

    def record(self, chunks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Pass the chunks on, writing each to the spool (replacing what it held)."""
        with open(self.path, "wb") as f:
            for chunk in chunks:
                f.write(np.ascontiguousarray(chunk, dtype="<f4").tobytes())
                yield chunk

    def __iter__(self) -> Iterator[np.ndarray]:
        size = ffmpeg.CHUNK_FRAMES * self.channels * 4
        with open(self.path, "rb") as f:
            while data := f.read(size):
                yield np.frombuffer(data, dtype="<f4").reshape(-1, self.channels)

    def remove(self) -> None:
        """Delete the spool file."""
        self.path.unlink(missing_ok=True)


def _measure(render: Iterable[np.ndarray], rate: int, channels: int, exact: bool
             ) -> tuple[LoudnessStats, loudness.BlockLog]:
    """Pass 1: the programme's loudness and block log. Without `exact`, every block's peak
    is the programme's true peak (a bound: the gain plan then limits nowhere, which is right
    when the gain alone keeps the peaks under the ceiling, the usual case for an air master)."""
    meter = loudness.Meter(rate, channels, exact_peaks=exact)
    for chunk in render:
        meter.feed(chunk)
    stats, log_ = meter.stats(), meter.block_log()
    if not exact:
        bound = np.float32(10 ** (stats.true_peak / 20) if math.isfinite(stats.true_peak) else 0.0)
        log_ = replace(log_, peak=np.full(len(log_.energy), bound, dtype=np.float32))
    return stats, log_


def _quantize(x: np.ndarray, bits: int, rng: np.random.Generator | None) -> np.ndarray:
    """Float samples rounded to the integer PCM values (still as floats), clipped to range."""
    scale = float(2 ** (bits - 1))
    # float32 is exact here: a power-of-two scale of float32 samples (24-bit fits its mantissa).
    y = x * np.float32(scale) if rng is None else x.astype(np.float64) * scale
    if rng is not None:     # TPDF dither of one LSB for 16-bit
        y += rng.random(y.shape) - rng.random(y.shape)
    np.rint(y, out=y)
    return np.clip(y, -scale, scale - 1, out=y)


def _pcm_bytes(q: np.ndarray, bits: int) -> bytes:
    if bits == 16:
        return q.astype("<i2").tobytes()
    return q.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :3].tobytes()


def _timing(parts: Sequence[AudioPart], spans: Sequence[assemble.PartSpan], frames: int,
            rate: int, peaks: np.ndarray, block: int) -> Timing:
    """The cut's markers: audio start/end from the block peaks, intro and segue from parts."""
    loud = np.flatnonzero(peaks > 10 ** (SILENCE_DB / 20))
    start = int(loud[0]) * block if len(loud) else 0
    end = min(frames, (int(loud[-1]) + 1) * block) if len(loud) else frames
    # The first voice: the first part with a bed under it (the voice over the opening bed),
    # else the part after a short opening sting, else where the audio starts.
    intro = start
    bedded = [s for s in spans if parts[s.index].bed is not None]
    if bedded:
        intro = bedded[0].start
    elif len(spans) > 1 and (spans[0].end - spans[0].start) < 30 * rate:
        intro = spans[1].start
    segue = spans[-1].start if len(spans) > 1 else end
    rows = tuple((s.title or f"part {s.index + 1}", s.start / rate, (s.end - s.start) / rate)
                 for s in spans)
    return Timing(frames, start, end, max(start, intro), min(end, segue) if segue else end,
                  rows)


def _closed(spans: list[assemble.PartSpan], parts: Sequence[AudioPart], frames: int,
            rate: int) -> list[assemble.PartSpan]:
    """The spans with the closing bed's as fitted: a render stopped at the slot never
    recorded it, an extended one ends later than the bed's own length."""
    if not spans or len(parts) < 2:
        return spans
    last = parts[-1]
    if len(spans) == len(parts):
        spans[-1] = replace(spans[-1], end=frames)
    else:
        start = spans[-1].end + round(last.gap_s * rate) - round(last.crossfade_s * rate)
        spans.append(assemble.PartSpan(len(parts) - 1, last.title, last.chapter, start, frames))
    return spans


def _maxima(log_: loudness.BlockLog) -> tuple[float, float]:
    """Max momentary (400 ms) and max short-term (3 s) loudness, LUFS (EBU Tech 3341)."""
    seg = log_.segment_energy()
    out = []
    for n in (4, 30):
        if len(seg) < n:
            out.append(-math.inf)
            continue
        c = np.concatenate([[0.0], np.cumsum(seg, dtype=np.float64)])
        out.append(float(np.max(loudness.lufs((c[n:] - c[:-n]) / n))))
    return out[0], out[1]


def build_cut(cut: Cut, parts: Sequence[AudioPart], out: Path, *, channels: int,
              work: Path, describe: Describe | None = None,
              stages: dict[int, assemble.Stage] | None = None,
              shared: LoudnessStats | None = None) -> CutAudio:
    """Render cut `cut` from `parts` into `out` (written atomically), measured on its file.

    `work` is a folder for the raw PCM (removed after). `describe` makes the bext and
    cart chunks of a WAV from the measured file. `shared` is the podcast's measurement of
    the same parts (same edit, no processing): when the cut is not fitted and its gain
    alone keeps the peaks under the ceiling, the cut skips its own measuring pass and is
    rendered once with that static gain (loudness does not depend on the sample rate);
    its file is measured all the same.
    """
    rate = cut.sample_rate
    slot_frames = round(cut.slot * rate) if cut.slot is not None and cut.fit == "bed" else None
    note = ""
    if cut.slot is not None and cut.fit == "gaps":
        parts, note = cutfit.spread(parts, cut, channels, stages)
    render = assemble.Render(parts, rate, channels, stages)
    work.mkdir(parents=True, exist_ok=True)
    if shared is not None and cut.fit == "none" and \
            shared.true_peak + cut.integrated - shared.integrated <= cut.true_peak - _margin(cut):
        gain = np.float32(10 ** ((cut.integrated - shared.integrated) / 20))
        return _write(cut, parts, out, render, (c * gain for c in render), note, work,
                      describe, 0.0)
    spool = _Spool(work / f".{out.name}.f32", channels)
    try:
        return _build(cut, parts, out, render, spool, slot_frames, note, work, describe)
    finally:
        spool.remove()


def _build(cut: Cut, parts: Sequence[AudioPart], out: Path, render: assemble.Render,
           spool: _Spool, slot_frames: int | None, note: str, work: Path,
           describe: Describe | None) -> CutAudio:
    """The cut's passes in order: render, fit and measure; plan; apply, write and measure
    the file. The passes after the first read the render back from the spool."""
    before, block_log, note = _fit_and_measure(cut, render, spool, slot_frames, note)
    plan = _plan(cut, out, spool, render.channels, before, block_log)
    applier = normalize.GainApplier(plan)
    return _write(cut, parts, out, render, (applier.apply(c) for c in spool), note, work,
                  describe, plan.limiter_max_db)


def _fit_and_measure(cut: Cut, render: assemble.Render, spool: _Spool, slot_frames: int | None,
                     note: str) -> tuple[LoudnessStats, loudness.BlockLog, str]:
    """Pass 1: the render fitted to the slot, spooled and measured; and the note saying how
    it was fitted (or why it was not)."""
    rate, channels = cut.sample_rate, render.channels
    fitted = cutfit.Fitted(render, slot_frames)
    before, block_log = _measure(spool.record(fitted), rate, channels, False)
    if slot_frames is not None and fitted.into_speech:
        # Fitting would fade out the speech: leave the cut whole and say so.
        over = (render.frames - slot_frames) / rate
        note = (f"could not fit: runs {over:+.2f} s against the slot, and fading the closing "
                "bed to it would cut into the part before")
        before, block_log = _measure(spool.record(cutfit.Fitted(render, None)), rate, channels, False)
    elif slot_frames is not None:
        note = (f"closing bed extended by {fitted.extended / rate:.2f} s" if fitted.extended
                else "closing bed shortened to the slot")
    return before, block_log, note


def _plan(cut: Cut, out: Path, spool: _Spool, channels: int, before: LoudnessStats,
          block_log: loudness.BlockLog) -> normalize.Plan:
    """The cut's gain plan, from the exact block peaks (measured again from the spool) when
    the gain alone would pass the ceiling: the limiter then needs every block's true peak."""
    margin = _margin(cut)
    if before.true_peak + cut.integrated - before.integrated > cut.true_peak - margin:
        before, block_log = _measure(iter(spool), cut.sample_rate, channels, True)
    return normalize.plan(block_log, before, cut.integrated, cut.true_peak,
                          ceiling_margin_db=margin, path=out)


def _margin(cut: Cut) -> float:
    """How far under the ceiling the cut's plan aims (dB): its codec's overshoot."""
    return MP2_MARGIN_DB if cut.format == "mp2" else PCM_MARGIN_DB


def _write(cut: Cut, parts: Sequence[AudioPart], out: Path, render: assemble.Render,
           samples: Iterable[np.ndarray], note: str, work: Path, describe: Describe | None,
           limiter_max_db: float) -> CutAudio:
    """The last pass: the planned samples quantized, written and measured; then the file."""
    rate, channels = cut.sample_rate, render.channels
    bits = 16 if cut.format == "mp2" else cut.bits
    raw = work / f".{out.name}.pcm"
    rng = np.random.default_rng(_DITHER_SEED) if bits == 16 else None
    scale = float(2 ** (bits - 1))
    written = loudness.Meter(rate, channels)
    frames = 0
    try:
        with open(raw, "wb") as f:
            for chunk in samples:
                q = _quantize(chunk, bits, rng)
                f.write(_pcm_bytes(q, bits))
                written.feed((q * (1 / scale)).astype(np.float32, copy=False))  # the file's samples
                frames += len(q)
        stats = written.stats()
        spans = _closed(list(render.spans), parts, frames, rate)
        mm, ms = _maxima(written.block_log())
        timing = _timing(parts, spans, frames, rate, written.sample_peaks(), written.block)
        with fsutil.atomic_path(out) as tmp:
            _write_file(cut, raw, Path(tmp), rate, channels, bits, describe, timing,
                        bwf.Loudness(stats.integrated, stats.lra, stats.true_peak, mm, ms))
        if cut.format == "mp2":
            stats = loudness.measure_file(out)       # what a decoder makes of the Layer II
    finally:
        raw.unlink(missing_ok=True)
    error = stats.duration - cut.slot if cut.slot is not None else None
    if cut.slot is not None and not note:
        note = "not fitted (fit = \"none\")"
    return CutAudio(cut, out, stats, mm, ms, timing, error, note, limiter_max_db)


def _write_file(cut: Cut, raw: Path, tmp: Path, rate: int, channels: int, bits: int,
                describe: Describe | None, timing: Timing, loud: bwf.Loudness) -> None:
    if cut.format == "wav":
        bext, cart = describe(timing, loud) if describe else (None, None)
        bwf.write(tmp, pcm=raw, rate=rate, channels=channels, bits=bits, bext=bext, cart=cart)
        return
    pcm = {16: "s16le", 24: "s24le"}[bits]
    codec = (["-c:a", "flac", "-f", "flac"]
             if cut.format == "flac" else
             ["-c:a", "mp2", "-b:a", f"{cut.bitrate}k", "-f", "mp2"])
    ffmpeg.run(["-v", "error", "-f", pcm, "-ar", str(rate), "-ac", str(channels), "-i", str(raw),
                "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact",
                *codec, "-y", str(tmp)], what=f"encoding the {cut.name} cut", path=tmp)


def _manifest(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def save_manifest(path: Path, key: str, made: CutAudio) -> None:
    """Record a built cut beside its cached file (written last: it marks the file complete),
    and drop the same cut's files of earlier keys."""
    data = {"key": key, "cut": codec.dump(made, base=path.parent)}
    fsutil.write_text(_manifest(path), json.dumps(data, sort_keys=True) + "\n")
    stem = path.name[:-len(path.suffix) - 16]
    pattern = re.compile(re.escape(stem) + r"[0-9a-f]{16}\.[a-z0-9]+(\.json)?")
    for old in path.parent.glob(f"{stem}*"):
        if pattern.fullmatch(old.name) and not old.name.startswith(path.name):
            old.unlink(missing_ok=True)


def load_manifest(path: Path, key: str) -> CutAudio | None:
    """The cached cut at `path` if its manifest says it was made with `key`, else None."""
    try:
        data = json.loads(_manifest(path).read_text("utf-8"))
        if data.get("key") != key or not path.is_file():
            return None
        return replace(codec.load(CutAudio, data["cut"], base=path.parent), cached=True)
    except (OSError, ValueError, KeyError, codec.CodecError):
        return None
