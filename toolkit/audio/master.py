"""The audio stage: an episode's parts become a finished, untagged master MP3 (and the
other renditions the settings list: AAC, Opus, the broadcast WAV; toolkit.standards.renditions).

    render (assemble) -> measure (loudness.Meter) -> plan (normalize) -> calibrate each
    lossy encoder -> render again -> apply each rendition's plan -> encode (one ffmpeg
    per plan) -> measure each rendition as it is written -> QC

Every lossy rendition has its own plan: LAME, AAC and Opus take different loudness
away and move peaks differently, so one plan cannot land them all on the target.

The programme is never held in memory: it is rendered twice from the sources (the
renders are deterministic), and the encoder works in its own process while Python
applies the gain. Results are cached under a key made of the parts' content hashes,
the settings and the ffmpeg version, so an unchanged episode does no audio work.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from toolkit import codec, ffmpeg, fsutil
from toolkit.audio import (
    assemble,
    calibrate,
    encode,
    loudness,
    mix,
    normalize,
    processing,
    qc,
    qcreport,
)
from toolkit.model import ENGINE_VERSION, Chapter, Episode, Limiting, LoudnessStats
from toolkit.model import EncodingSettings, LoudnessTarget, Preset
from toolkit.standards import renditions as renditions_

log = logging.getLogger(__name__)

#: The MP3 is rebuilt once with a corrected plan if it misses the target by more.
INTEGRATED_TOLERANCE = 0.3
#: A re-encode after a missed true peak aims this much further under the ceiling (dB).
REPLAN_MARGIN_DB = 0.1

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class AudioResult:
    """What the audio stage built for one episode (all paths inside the cache folder)."""

    mp3: Path                               # untagged master; the tag stage copies it
    duration: float                         # seconds
    before: LoudnessStats                   # the assembled programme
    after: LoudnessStats                    # measured on the MP3 itself (= renditions["mp3"])
    chapters: tuple[Chapter, ...]           # at part starts (ms precision)
    parts: tuple[tuple[str, float], ...]    # (title, seconds) per part, for cue sheets
    qc_png: Path
    qc_json: Path
    key: str                                # the cache key
    cached: bool = False
    # The other renditions' untagged files, by toolkit.standards.renditions key ("aac", "opus", "wav").
    others: Mapping[str, Path] = field(default_factory=dict)
    # Each rendition ("mp3", "aac", "opus", "wav") as measured on its own output.
    renditions: Mapping[str, LoudnessStats] = field(default_factory=dict)
    limiting: Limiting | None = None    # the MP3's plan
    mix_warnings: tuple[str, ...] = ()            # parts far above the speech (audio.mix)

    @property
    def files(self) -> dict[str, Path]:
        """Every rendition's untagged file by key, in registry order (the MP3 first)."""
        out = {"mp3": self.mp3, **self.others}
        return {k: out[k] for k in renditions_.REGISTRY if k in out}


def cache_key(episode: Episode, preset: Preset, target: LoudnessTarget) -> str:
    """SHA-256 over the parts' content, every setting that shapes the audio, and ffmpeg."""
    parts = []
    for part in episode.parts:
        d = asdict(part)
        d.pop("processing")     # resolved below, and only when on: old keys stay valid
        if d["level_re_speech"] is None:
            d.pop("level_re_speech")    # unset: the keys of earlier builds stay valid
        d.pop("cuts")           # which cuts a part is in: the podcast's parts are given
        d["path"] = fsutil.sha256_file(part.path)
        d["bed"] = fsutil.sha256_file(part.bed) if part.bed else None
        parts.append(d)
    blob = {"engine": ENGINE_VERSION, "ffmpeg": ffmpeg.info().version, "parts": parts,
            "encoding": renditions_.settings_key(preset.encoding), "levelling": preset.levelling,
            "target": asdict(target)}
    speech = processing.key_data(episode, preset)
    if speech is not None:      # absent when off: unprocessed episodes keep their key
        blob["processing"] = speech
    return hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()


def _paths(cache_dir: Path, slug: str, key: str) -> dict[str, Path]:
    """The cache files of one key, by suffix (each rendition's file extension, qc, result)."""
    stem = f"{slug}-{key[:16]}"
    suffixes = [f.ext for f in renditions_.REGISTRY.values()] + ["qc.png", "qc.json", "result.json"]
    return {ext: cache_dir / f"{stem}.{ext}" for ext in suffixes}


def _stats(d: dict) -> LoudnessStats:
    # Manifests written before the codec's tags stored -inf (the loudness of silence) as null.
    return codec.load(LoudnessStats, {k: ("-inf" if v is None else v) for k, v in d.items()})


def _load_cached(paths: dict[str, Path], key: str) -> AudioResult | None:
    manifest = paths["result.json"]
    if not manifest.is_file():
        return None
    data = json.loads(manifest.read_text("utf-8"))
    try:
        result = AudioResult(
            mp3=paths["mp3"], duration=data["duration"], before=_stats(data["before"]),
            after=_stats(data["after"]), chapters=tuple(Chapter(**c) for c in data["chapters"]),
            parts=tuple((t, s) for t, s in data["parts"]), qc_png=paths["qc.png"],
            qc_json=paths["qc.json"], key=key, cached=True,
            others={k: paths[renditions_.get(k).ext] for k in data["others"]},
            renditions={k: _stats(v) for k, v in data["renditions"].items()},
            limiting=codec.load(Limiting, {k: v for k, v in data["limiting"].items()
                                            if k != "threshold"}),
            mix_warnings=tuple(data.get("mix_warnings", ())))
    except (KeyError, TypeError, AttributeError, codec.CodecError):
        return None         # a manifest of another shape (an older podkit): built again
    needed = [result.mp3, result.qc_png, result.qc_json, *result.others.values()]
    return result if all(p.is_file() for p in needed if p is not None) else None


def _save_manifest(result: AudioResult, path: Path) -> None:
    data = {"duration": result.duration, "before": asdict(result.before),
            "after": asdict(result.after), "chapters": [asdict(c) for c in result.chapters],
            "parts": [list(p) for p in result.parts], "others": sorted(result.others),
            "renditions": {k: asdict(v) for k, v in result.renditions.items()},
            "limiting": normalize.limiting_report(result.limiting) if result.limiting else None,
            "mix_warnings": list(result.mix_warnings)}
    # Non-finite numbers (the loudness of silence) are tagged value by value by the codec
    # ("-inf"); allow_nan=False makes a float that escaped it an error, not "-Infinity".
    text = json.dumps(codec.dump(data), indent=2, sort_keys=True, allow_nan=False)
    # The manifest is written last: its presence means every output is complete.
    fsutil.write_text(path, text + "\n")


def _remove_stale(cache_dir: Path, slug: str, keep: dict[str, Path]) -> None:
    """Drop outputs of earlier keys for this episode (after the new ones exist)."""
    wanted = {p.name for p in keep.values()}
    for old in cache_dir.glob(f"{slug}-????????????????.*"):
        if old.name not in wanted:
            old.unlink(missing_ok=True)


def _expected_frames(episode: Episode, sample_rate: int) -> int:
    """A rough programme length for progress fractions (headers may be approximate)."""
    total = 0.0
    for part in episode.parts:
        total += (ffmpeg.probe(part.path).duration or 0.0) + part.gap_s - part.crossfade_s
    return max(1, int(total * sample_rate))


def _tracked(chunks: Iterator[np.ndarray], stage: str, expected: int,
             progress: Progress | None) -> Iterator[np.ndarray]:
    done, last = 0, -1.0
    for chunk in chunks:
        done += len(chunk)
        frac = min(0.99, done / expected)
        if progress and frac - last >= 0.01:
            progress(stage, frac)
            last = frac
        yield chunk


def warm_up() -> None:
    """Import every library the audio stage uses, now.

    `podkit build -j N` calls this before forking its workers: each then starts with
    scipy's filters and matplotlib loaded instead of importing them again (over a
    second per episode, which a 2,000-episode first build would pay 2,000 times).
    """
    loudness.preload().join()
    qc.wait_loaded()


def build_audio(episode: Episode, preset: Preset, target: LoudnessTarget, cache_dir: Path, *,
                progress: Progress | None = None) -> AudioResult:
    """Build (or fetch from cache) the episode's normalized, untagged master MP3.

    Raises MediaError naming the file for unusable inputs (not audio, silent, too
    short, below the gate) and FFmpegError if encoding fails; an earlier good
    result for other inputs stays in place until the new one is complete.
    """
    warming = None
    if not any(cache_dir.glob(f"{episode.slug}-*.result.json")):
        # Nothing cached for this episode, so audio work follows for sure: import the
        # filters (about 1.3 s) while the inputs are hashed.
        warming = loudness.preload()
    key = cache_key(episode, preset, target)
    paths = _paths(cache_dir, episode.slug, key)
    cached = _load_cached(paths, key)
    if cached is not None:
        log.info("%s: audio unchanged (cache %s)", episode.slug, key[:16])
        if progress:
            progress("cached", 1.0)
        return cached
    if warming is not None:
        warming.join()          # every library loaded before the BLAS limit is applied
    # BLAS threads would fight the encoder for the second core.
    prep = processing.Prepared(processing.resolved(episode, preset))
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            if prep.active:
                # Pass 0: each processed part is analysed (hum, noise profile) once.
                prep = processing.prepare(episode, preset, preset.encoding.sample_rate,
                                          preset.encoding.channels, paths["mp3"])
            result = _build(episode, preset, target, paths, key, progress, prep)
    finally:
        prep.remove()       # the staged copies of processed parts are temporary
    _save_manifest(result, paths["result.json"])
    _remove_stale(cache_dir, episode.slug, paths)
    if progress:
        progress("done", 1.0)
    return result


def _build(episode: Episode, preset: Preset, target: LoudnessTarget, paths: dict[str, Path],
           key: str, progress: Progress | None, prep: processing.Prepared) -> AudioResult:
    # Long because it is the audio engine's passes in order (render and measure, plan,
    # calibrate, encode and measure, correct once, QC), sharing the block log and the plan.
    enc = preset.encoding
    rate, channels = enc.sample_rate, enc.channels
    aim = target.for_channels(channels)
    expected = _expected_frames(episode, rate)
    where = episode.parts[0].path if len(episode.parts) == 1 else episode.path

    # Pass 1: render and measure, keeping only 10 ms block summaries.
    render = assemble.Render(episode.parts, rate, channels, prep.stages)
    meter = loudness.Meter(rate, channels, exact_peaks=True)
    excerpts = calibrate.Excerpts(expected, rate)
    clock = time.perf_counter()
    for chunk in _tracked(iter(render), "measure", expected, progress):
        meter.feed(chunk)
        excerpts.feed(chunk)
    before = meter.stats()
    block_log = meter.block_log()
    del meter                                   # its per-chunk lists duplicate block_log
    spans, frames = list(render.spans), render.frames
    leveller = prep.leveller(block_log, spans)       # the speech leveller, if any part has it

    def make_plan(loss: float, margin: float) -> normalize.Plan:
        def plan_with(pre: np.ndarray | None) -> normalize.Plan:
            return normalize.plan(block_log, before, aim, target.true_peak,
                                  levelling=preset.levelling, max_lra=target.max_lra,
                                  encoder_loss_db=loss, ceiling_margin_db=margin, path=where,
                                  pre_gain_db=pre)
        # Music parts set relative to the speech (`level = "-6 LU"`), on top of the leveller.
        return mix.settle(block_log, spans, episode.parts, leveller, plan_with)

    log.info("%s: rendered and measured in %.1f s", episode.slug, time.perf_counter() - clock)
    first = make_plan(0.0, normalize.CEILING_MARGIN_DB)
    near = calibrate.near_ceiling(block_log, first)
    rends = []
    built = renditions_.of(enc.renditions)
    for fmt in (f for f in built if f.lossy):
        # Encode a few seconds of excerpts first, so the one full encode lands on target.
        cal = calibrate.calibrate(excerpts, first, enc, fmt.key)
        plan = first if cal is None else make_plan(-cal.loudness_shift,
                                                   calibrate.margin_db(cal, near))
        # The lossless renditions ride with the MP3: the same samples, its plan's gain.
        targets = (encode.Targets(mp3=paths["mp3"], others={
            f.key: paths[f.ext] for f in built if not f.lossy}) if fmt.primary
            else encode.Targets(mp3=None, others={fmt.key: paths[fmt.ext]}))
        rends.append(_Rendition(fmt.key, plan, targets))

    after_fig = processing.analyzer(rate) if prep.active else None
    measured = _encode_and_check(render, rends, enc, expected, progress, where,
                                 tap=after_fig.feed if after_fig else None)
    redo = []
    for i, r in enumerate(rends):
        after = measured[r.kind].after
        if after.true_peak > target.true_peak or abs(after.integrated - aim) > INTEGRATED_TOLERANCE:
            # The calibration missed (rare): replan from what the full encode really did.
            log.warning("%s: %s measured %.2f LUFS / %.2f dBTP, re-encoding it with a "
                        "corrected plan", episode.slug, r.kind.upper(), after.integrated,
                        after.true_peak)
            margin = target.true_peak - r.plan.ceiling_dbtp + max(
                0.0, after.true_peak - target.true_peak + REPLAN_MARGIN_DB)
            rends[i] = _Rendition(r.kind, make_plan(r.plan.predicted_integrated
                                                    - after.integrated, margin), r.targets)
            redo.append(rends[i])
    if redo:
        measured.update(_encode_and_check(render, redo, enc, expected, progress, where))
        for r in redo:
            if measured[r.kind].after.true_peak > target.true_peak:
                log.warning("%s: %s true peak %.2f dBTP is still over the %.1f dBTP ceiling",
                            episode.slug, r.kind.upper(), measured[r.kind].after.true_peak,
                            target.true_peak)
    if render.spans != spans or render.frames != frames:
        raise RuntimeError("the programme rendered differently twice")  # a bug, not user error

    measured_files = {kind: m.after for kind, m in measured.items()}
    for fmt in (f for f in built if not f.lossy):
        # Lossless, so no calibration of its own; measured on the file all the same.
        measured_files[fmt.key] = loudness.measure_file(paths[fmt.ext])
    renditions = {f.key: measured_files[f.key] for f in built}
    main, plan = measured["mp3"], rends[0].plan
    chapters = assemble.chapters(spans, rate, frames)
    result = AudioResult(mp3=paths["mp3"], duration=frames / rate, before=before,
                         after=main.after, chapters=chapters,
                         parts=assemble.part_durations(spans, rate),
                         qc_png=paths["qc.png"], qc_json=paths["qc.json"], key=key,
                         others={f.key: paths[f.ext] for f in built if not f.primary},
                         renditions=renditions,
                         limiting=normalize.limiting(plan, frames / rate))
    if result.limiting and result.limiting.warning:
        # INFO, not WARNING: the build line and the cue sheet carry it to the producer.
        log.info("%s: %s", episode.slug, result.limiting.warning)
    mix_qc = mix.report(block_log, spans, episode.parts, plan.gains_db)
    result = replace(result, mix_warnings=tuple(mix_qc["warnings"]))
    speech_qc = (processing.report(prep, block_log, main.after.lra,
                                   after_fig.figures() if after_fig else None, leveller,
                                   spread=mix.spreads(block_log, spans, episode.parts,
                                                      plan.gains_db))
                 if prep.active else None)
    qcreport.write_qc(result, episode, plan, aim, target.true_peak, block_log,
                      main.short_term, main.peaks, speech_qc, mix_qc)
    return result


@dataclass(frozen=True)
class _Rendition:
    """A lossy rendition with its own plan (the MP3 carries the WAV: same samples)."""

    kind: str                   # a lossy toolkit.standards.renditions key: "mp3", "aac", "opus"
    plan: normalize.Plan
    targets: encode.Targets


@dataclass(frozen=True)
class _Measured:
    after: LoudnessStats
    peaks: np.ndarray           # block sample peaks: the QC waveform
    short_term: np.ndarray


def _encode_and_check(render: assemble.Render, rends: list[_Rendition], enc: EncodingSettings,
                      expected: int, progress: Progress | None, where: Path,
                      tap: Callable[[np.ndarray], None] | None = None) -> dict[str, _Measured]:
    """Pass 2 (render, apply each plan, encode) and the measurement of what was written.

    One ffmpeg per rendition, all fed from the same render: each gets its own gain and
    is decoded and measured while it is written (encode's monitor). `tap` sees the
    first rendition's samples as they go to its encoder.
    """
    qc.preload()
    rate = rends[0].plan.sample_rate
    meters = [loudness.Meter(rate, render.channels) for _ in rends]
    clock = time.perf_counter()
    with ExitStack() as stack:
        encoders = [(normalize.GainApplier(r.plan), stack.enter_context(encode.open_encoder(
            r.targets, enc, sample_rate=rate, channels=render.channels,
            lossless_gain_db=-r.plan.encoder_loss_db, monitor=meter.feed)))
            for r, meter in zip(rends, meters)]
        for chunk in _tracked(iter(render), "encode", expected, progress):
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
        out[r.kind] = _Measured(after, meter.sample_peaks(), meter.short_term())
    log.info("%s: encoded and measured in %.1f s: %s", where, time.perf_counter() - clock,
             "; ".join(f"{k.upper()} {m.after.integrated:.2f} LUFS, LRA {m.after.lra:.1f} LU, "
                       f"{m.after.true_peak:.2f} dBTP" for k, m in out.items()))
    return out
