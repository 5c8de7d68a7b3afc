"""A named cut's audio (an air master): the episode's mix at the cut's own loudness.

    render the cut's parts at its rate (fitted to the slot) -> measure -> its own plan
    -> render again, apply the plan -> PCM written and measured sample for sample
    -> the file: BWF WAV (bext + cart), FLAC, or MPEG-1 Layer II (decoded and measured)

Nothing is derived from the podcast's files: a -23 LUFS master gets a plan for -23
from the mix, which usually needs no limiting at all (a -16 plan limited for -16 would
leave its limiting in the quieter master). The render is the same edit the podcast
uses (toolkit.audio.assemble), with the parts the cut takes.

Fitting to the slot (`fit = "bed"`): the cut's last part is its closing bed. The render
stops at the slot length with a fade over the last FADE_S (the bed is shortened), or
the bed is played again from its start until the slot is full (extended, at most
MAX_EXTEND_S), then faded. The result is exactly the slot's length in frames; when the
fade would reach into the part before the bed the cut is left unfitted and the note
says by how much it runs over. The render is deterministic, so the second pass gets
the same fitted samples.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from toolkit import codec, ffmpeg, fsutil
from toolkit.audio import assemble, loudness, normalize
from toolkit.cutmodel import Cut
from toolkit.model import ENGINE_VERSION, AudioPart, LoudnessStats
from toolkit.standards import bwf

log = logging.getLogger(__name__)

FADE_S = 3.0            # the closing bed's fade when fitted to the slot
MAX_EXTEND_S = 60.0     # at most this much closing bed is added by playing it again
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


class _Fitted:
    """The render, cut or extended to the slot with the closing bed faded (see module doc)."""

    def __init__(self, render: assemble.Render, slot_frames: int | None) -> None:
        self.render = render
        self.slot = slot_frames
        self.extended = 0           # frames of closing bed added by playing it again
        self.into_speech = 0        # frames the fade would reach into the part before the bed

    def _source(self) -> Iterator[np.ndarray]:
        yield from self.render
        if self.slot is None:
            return
        bed = self.render.parts[-1]
        loop = assemble.Render([AudioPart(path=bed.path, gain_db=bed.gain_db)],
                               self.render.sample_rate, self.render.channels)
        budget = round(MAX_EXTEND_S * self.render.sample_rate)
        while budget > 0 and self.render.frames + self.extended < self.slot:
            for chunk in loop:
                chunk = chunk[:min(budget, self.slot - self.render.frames - self.extended)]
                budget -= len(chunk)
                self.extended += len(chunk)
                yield chunk
                if budget <= 0 or self.render.frames + self.extended >= self.slot:
                    break

    def __iter__(self) -> Iterator[np.ndarray]:
        if self.slot is None:
            yield from self.render
            return
        rate, ch = self.render.sample_rate, self.render.channels
        self.extended = self.into_speech = 0    # each pass starts afresh
        fade = min(round(FADE_S * rate), self.slot)
        held = np.zeros((0, ch), dtype=np.float32)
        out = 0
        source = self._source()
        try:
            for chunk in source:
                take = min(len(chunk), self.slot - out - len(held))
                held = np.concatenate([held, chunk[:take]])
                if len(held) > fade:
                    emit, held = held[:len(held) - fade], held[len(held) - fade:]
                    out += len(emit)
                    yield emit
                if out + len(held) >= self.slot:
                    break
        finally:
            source.close()
        # The part before the closing bed must have ended before the fade starts.
        spans, n = self.render.spans, len(self.render.parts)
        if n > 1:
            self.into_speech = (max(0, spans[n - 2].end - out) if len(spans) >= n - 1
                                else self.slot)
        ramp = np.linspace(1.0, 0.0, len(held), dtype=np.float32)[:, None]
        yield held * ramp


def _quantize(x: np.ndarray, bits: int, rng: np.random.Generator | None) -> np.ndarray:
    """Float samples to little-endian integer PCM bytes (as an int32 array first)."""
    scale = float(2 ** (bits - 1))
    y = x.astype(np.float64) * scale
    if rng is not None:     # TPDF dither of one LSB for 16-bit
        y += rng.random(y.shape) - rng.random(y.shape)
    return np.clip(np.round(y), -scale, scale - 1).astype(np.int32)


def _pcm_bytes(q: np.ndarray, bits: int) -> bytes:
    if bits == 16:
        return q.astype("<i2").tobytes()
    return np.ascontiguousarray(q.astype("<i4")).view(np.uint8).reshape(-1, 4)[:, :3].tobytes()


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
              stages: dict[int, assemble.Stage] | None = None) -> CutAudio:
    """Render cut `cut` from `parts` into `out` (written atomically), measured on its file.

    `work` is a folder for the raw PCM (removed after). `describe` makes the bext and
    cart chunks of a WAV from the measured file.
    """
    rate = cut.sample_rate
    slot_frames = round(cut.slot * rate) if cut.slot is not None and cut.fit == "bed" else None
    render = assemble.Render(parts, rate, channels, stages)
    fitted = _Fitted(render, slot_frames)
    meter = loudness.Meter(rate, channels, exact_peaks=True)
    for chunk in fitted:
        meter.feed(chunk)
    note = ""
    if slot_frames is not None and fitted.into_speech:
        # Fitting would fade out the speech: leave the cut whole and say so.
        over = (render.frames - slot_frames) / rate
        note = (f"could not fit: without its closing bed it still runs {over:+.2f} s against "
                "the slot")
        fitted = _Fitted(render, None)
        meter = loudness.Meter(rate, channels, exact_peaks=True)
        for chunk in fitted:
            meter.feed(chunk)
    elif slot_frames is not None:
        note = (f"closing bed extended by {fitted.extended / rate:.2f} s" if fitted.extended
                else "closing bed shortened to the slot")
    before, block_log = meter.stats(), meter.block_log()
    spans = list(render.spans)
    margin = MP2_MARGIN_DB if cut.format == "mp2" else PCM_MARGIN_DB
    plan = normalize.plan(block_log, before, cut.integrated, cut.true_peak,
                          ceiling_margin_db=margin, path=out)
    bits = 16 if cut.format == "mp2" else cut.bits
    raw = work / f".{out.name}.pcm"
    work.mkdir(parents=True, exist_ok=True)
    applier = normalize.GainApplier(plan)
    rng = np.random.default_rng(_DITHER_SEED) if bits == 16 else None
    scale = float(2 ** (bits - 1))
    written = loudness.Meter(rate, channels)
    frames = 0
    try:
        with open(raw, "wb") as f:
            for chunk in fitted:
                q = _quantize(applier.apply(chunk), bits, rng)
                f.write(_pcm_bytes(q, bits))
                written.feed((q / scale).astype(np.float32))    # the file's own samples
                frames += len(q)
        stats = written.stats()
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
    return CutAudio(cut, out, stats, mm, ms, timing, error, note, plan.limiter_max_db)


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


def copy_cached(src: Path, dst: Path) -> None:
    """Copy a cached cut into place (atomically)."""
    with fsutil.atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)


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
