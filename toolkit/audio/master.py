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
Pass 2 (render again, apply, encode, measure) is toolkit.audio.encodepass.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

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
    qcreport,
)
from toolkit.audio.encodepass import Measured, Progress, Rendition, encode_and_check, tracked
from toolkit.model import ENGINE_VERSION, Chapter, Episode, Limiting, LoudnessStats
from toolkit.model import LoudnessTarget, Preset
from toolkit.standards import renditions as renditions_

if TYPE_CHECKING:
    from toolkit.audio import speechlevel

log = logging.getLogger(__name__)

#: The MP3 is rebuilt once with a corrected plan if it misses the target by more.
INTEGRATED_TOLERANCE = 0.3
#: A re-encode after a missed true peak aims this much further under the ceiling (dB).
REPLAN_MARGIN_DB = 0.1

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


def warm_up() -> None:
    """Import every library the audio stage uses, now.

    `podkit build -j N` calls this before forking its workers: each then starts with
    scipy's filters loaded instead of importing them again (over a second per episode,
    which a 2,000-episode first build would pay 2,000 times). The QC picture needs no
    warming: Pillow comes with this module's imports (25 ms) and its fonts load in 1 ms.
    """
    loudness.preload().join()


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
    """The audio engine's passes in order: render and measure, plan and calibrate each lossy
    rendition, encode and measure, correct a miss once, then the result and its QC."""
    job = _measure(episode, preset, target, paths, progress, prep)
    rends = _calibrated(job)
    after_fig = processing.analyzer(job.rate) if prep.active else None
    measured = encode_and_check(job.render, rends, preset.encoding, job.expected, progress,
                                job.where, tap=after_fig.feed if after_fig else None)
    _correct_once(job, rends, measured)
    if job.render.spans != job.spans or job.render.frames != job.frames:
        raise RuntimeError("the programme rendered differently twice")  # a bug, not user error
    result = _result(job, key, rends[0].plan, measured)
    return _with_qc(job, result, rends[0].plan, measured["mp3"], after_fig)


@dataclass
class _Job:
    """One build's settings and what pass 1 measured, shared by the passes after it."""

    episode: Episode
    preset: Preset
    target: LoudnessTarget
    paths: dict[str, Path]
    progress: Progress | None
    prep: processing.Prepared
    expected: int                       # frames, roughly (progress fractions)
    where: Path                         # what errors name: the one part, or the episode
    render: assemble.Render             # rendered again by pass 2 (deterministic)
    excerpts: calibrate.Excerpts        # what the calibration encodes
    before: LoudnessStats
    block_log: loudness.BlockLog
    spans: list[assemble.PartSpan]      # as pass 1 rendered them (pass 2 must agree)
    frames: int
    leveller: np.ndarray | None         # the speech leveller's gain per block, if any

    @property
    def rate(self) -> int:
        """The programme's sample rate."""
        return self.preset.encoding.sample_rate

    @property
    def aim(self) -> float:
        """The integrated loudness aimed at (the target for this channel count)."""
        return self.target.for_channels(self.preset.encoding.channels)

    def plan(self, loss: float, margin: float) -> normalize.Plan:
        """The gain plan for an encoder taking `loss` dB away, `margin` dB under the ceiling."""
        def plan_with(pre: np.ndarray | None) -> normalize.Plan:
            return normalize.plan(self.block_log, self.before, self.aim, self.target.true_peak,
                                  levelling=self.preset.levelling, max_lra=self.target.max_lra,
                                  encoder_loss_db=loss, ceiling_margin_db=margin,
                                  path=self.where, pre_gain_db=pre)
        # Music parts set relative to the speech (`level = "-6 LU"`), on top of the leveller.
        return mix.settle(self.block_log, self.spans, self.episode.parts, self.leveller,
                          plan_with)


def _measure(episode: Episode, preset: Preset, target: LoudnessTarget, paths: dict[str, Path],
             progress: Progress | None, prep: processing.Prepared) -> _Job:
    """Pass 1: render and measure, keeping only 10 ms block summaries."""
    rate, channels = preset.encoding.sample_rate, preset.encoding.channels
    expected = _expected_frames(episode, rate)
    render = assemble.Render(episode.parts, rate, channels, prep.stages)
    meter = loudness.Meter(rate, channels, exact_peaks=True)
    excerpts = calibrate.Excerpts(expected, rate)
    clock = time.perf_counter()
    for chunk in tracked(iter(render), "measure", expected, progress):
        meter.feed(chunk)
        excerpts.feed(chunk)
    before = meter.stats()
    block_log = meter.block_log()
    del meter                                   # its per-chunk lists duplicate block_log
    spans = list(render.spans)
    leveller = prep.leveller(block_log, spans)  # the speech leveller, if any part has it
    log.info("%s: rendered and measured in %.1f s", episode.slug, time.perf_counter() - clock)
    where = episode.parts[0].path if len(episode.parts) == 1 else episode.path
    return _Job(episode, preset, target, paths, progress, prep, expected, where, render,
                excerpts, before, block_log, spans, render.frames, leveller)


def _calibrated(job: _Job) -> list[Rendition]:
    """Each lossy rendition with its own plan, calibrated on a few seconds of excerpts
    first, so the one full encode lands on target."""
    enc = job.preset.encoding
    first = job.plan(0.0, normalize.CEILING_MARGIN_DB)
    near = calibrate.near_ceiling(job.block_log, first)
    rends = []
    built = renditions_.of(enc.renditions)
    for fmt in (f for f in built if f.lossy):
        cal = calibrate.calibrate(job.excerpts, first, enc, fmt.key)
        plan = first if cal is None else job.plan(-cal.loudness_shift,
                                                  calibrate.margin_db(cal, near))
        rends.append(Rendition(fmt.key, plan, _targets(job.paths, built, fmt)))
    return rends


def _targets(paths: dict[str, Path], built: list[renditions_.Format],
             fmt: renditions_.Format) -> encode.Targets:
    """Where lossy rendition `fmt`'s encoder writes. The lossless renditions ride with the
    MP3: the same samples, its plan's gain."""
    if fmt.primary:
        return encode.Targets(mp3=paths["mp3"], others={
            f.key: paths[f.ext] for f in built if not f.lossy})
    return encode.Targets(mp3=None, others={fmt.key: paths[fmt.ext]})


def _correct_once(job: _Job, rends: list[Rendition], measured: dict[str, Measured]) -> None:
    """Encode again, with a corrected plan, each rendition the calibration missed (rare);
    `rends` and `measured` are updated in place."""
    target, redo = job.target, []
    for i, r in enumerate(rends):
        after = measured[r.kind].after
        missed = abs(after.integrated - job.aim) > INTEGRATED_TOLERANCE
        if after.true_peak > target.true_peak or missed:
            # Replanned from what the full encode really did.
            log.warning("%s: %s measured %.2f LUFS / %.2f dBTP, re-encoding it with a "
                        "corrected plan", job.episode.slug, r.kind.upper(), after.integrated,
                        after.true_peak)
            margin = target.true_peak - r.plan.ceiling_dbtp + max(
                0.0, after.true_peak - target.true_peak + REPLAN_MARGIN_DB)
            rends[i] = Rendition(r.kind, job.plan(r.plan.predicted_integrated
                                                  - after.integrated, margin), r.targets)
            redo.append(rends[i])
    if not redo:
        return
    measured.update(encode_and_check(job.render, redo, job.preset.encoding, job.expected,
                                     job.progress, job.where))
    for r in redo:
        if measured[r.kind].after.true_peak > target.true_peak:
            log.warning("%s: %s true peak %.2f dBTP is still over the %.1f dBTP ceiling",
                        job.episode.slug, r.kind.upper(), measured[r.kind].after.true_peak,
                        target.true_peak)


def _result(job: _Job, key: str, plan: normalize.Plan,
            measured: dict[str, Measured]) -> AudioResult:
    """What was built, every rendition as measured on its own file (`plan`: the MP3's)."""
    paths, rate, frames = job.paths, job.rate, job.frames
    built = renditions_.of(job.preset.encoding.renditions)
    measured_files = {kind: m.after for kind, m in measured.items()}
    for fmt in (f for f in built if not f.lossy):
        # Lossless, so no calibration of its own; measured on the file all the same.
        measured_files[fmt.key] = loudness.measure_file(paths[fmt.ext])
    result = AudioResult(mp3=paths["mp3"], duration=frames / rate, before=job.before,
                         after=measured["mp3"].after,
                         chapters=assemble.chapters(job.spans, rate, frames),
                         parts=assemble.part_durations(job.spans, rate),
                         qc_png=paths["qc.png"], qc_json=paths["qc.json"], key=key,
                         others={f.key: paths[f.ext] for f in built if not f.primary},
                         renditions={f.key: measured_files[f.key] for f in built},
                         limiting=normalize.limiting(plan, frames / rate))
    if result.limiting and result.limiting.warning:
        # INFO, not WARNING: the build line and the cue sheet carry it to the producer.
        log.info("%s: %s", job.episode.slug, result.limiting.warning)
    return result


def _with_qc(job: _Job, result: AudioResult, plan: normalize.Plan, main: Measured,
             after_fig: speechlevel.Analyzer | None) -> AudioResult:
    """The QC picture and qc.json written (the mix's and the speech processing's reports
    with them); the result with the mix's warnings."""
    mix_qc = mix.report(job.block_log, job.spans, job.episode.parts, plan.gains_db)
    result = replace(result, mix_warnings=tuple(mix_qc["warnings"]))
    speech_qc = (processing.report(job.prep, job.block_log, main.after.lra,
                                   after_fig.figures() if after_fig else None, job.leveller,
                                   spread=mix.spreads(job.block_log, job.spans,
                                                      job.episode.parts, plan.gains_db))
                 if job.prep.active else None)
    qcreport.write_qc(result, job.episode, plan, job.aim, job.target.true_peak, job.block_log,
                      main.short_term, main.peaks, speech_qc, mix_qc)
    return result
