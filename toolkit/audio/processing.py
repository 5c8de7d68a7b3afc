"""Speech processing in the audio stage: what master.py calls, and the QC figures.

    prepare (pass 0: analyse each processed part) -> stages for assemble.Render ->
    leveller gain for the loudness plan -> figures before and after for qc.json

See toolkit/audio/speech.py (filters, noise reduction), toolkit/audio/speechlevel.py (leveller,
measurements) and docs/processing.md.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from toolkit.audio import assemble, loudness
from toolkit.config import speechconf
from toolkit.model import Episode, Preset, Processing

if TYPE_CHECKING:
    # Imported when a part is processed: scipy.signal costs over a second to import, and
    # master imports this module for every build (the audio stage preloads it in the
    # background, overlapping the input hashing).
    from toolkit.audio import speech, speechlevel

log = logging.getLogger(__name__)


def resolved(episode: Episode, preset: Preset) -> list[Processing]:
    """The processing of each part (part, else episode, else feed)."""
    return [speechconf.resolve(p, episode, preset) for p in episode.parts]


def key_data(episode: Episode, preset: Preset) -> list[dict[str, Any]] | None:
    """Processing settings for the audio cache key; None when nothing is processed.

    None keeps the key of an unprocessed episode what it was before processing existed.
    """
    procs = resolved(episode, preset)
    if not any(p.active for p in procs):
        return None
    return [{**asdict(p), "version": VERSION} for p in procs]


#: Bump when the processing's output changes for the same settings (cached audio is redone).
VERSION = 1


@dataclass
class Prepared:
    """The processing of one episode build (empty when no part is processed)."""

    procs: list[Processing]
    stages: dict[int, "speech.Staged"] = field(default_factory=dict)
    profiles: dict[int, "speech.Profile"] = field(default_factory=dict)
    before: dict[str, Any] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        """True when any part is processed."""
        return any(p.active for p in self.procs)

    def level_spans(self, spans: Sequence[assemble.PartSpan]) -> list[tuple[int, int]]:
        """Where the leveller works (frames): the spans of parts with `level` on."""
        return [(s.start, s.end) for s in spans if self.procs[s.index].level]

    def leveller(self, block_log: loudness.BlockLog,
                 spans: Sequence[assemble.PartSpan]) -> np.ndarray | None:
        """The leveller's per-block gain (dB), or None when no part is levelled."""
        where = self.level_spans(spans)
        if not where:
            return None
        from toolkit.audio import speechlevel
        return speechlevel.leveller_gain(block_log, where)

    def remove(self) -> None:
        """Delete the staged copies of processed parts."""
        for stage in self.stages.values():
            stage.remove()


def prepare(episode: Episode, preset: Preset, rate: int, channels: int,
            stage_stem: Path) -> Prepared:
    """Pass 0: analyse every part whose samples are processed, and stage it.

    Its raw noise floor and hum (in its pauses) are measured on the way: the "before"
    figures of qc.json.
    """
    from toolkit.audio import speech
    out = Prepared(resolved(episode, preset))
    meter = analyzer(rate)
    for i, (part, proc) in enumerate(zip(episode.parts, out.procs)):
        if not proc.filters:
            continue
        out.profiles[i] = speech.analyse(part, proc, rate, channels, spectra_hook=meter.feed)
        out.stages[i] = speech.Staged(proc, out.profiles[i], rate, channels,
                                      stage_stem.with_name(f"{stage_stem.name}.part{i + 1}.f32"))
    if out.stages:
        out.before = meter.figures()
    return out


def analyzer(rate: int) -> speechlevel.Analyzer:
    """A noise floor and hum meter (speechlevel.Analyzer)."""
    from toolkit.audio import speechlevel
    return speechlevel.Analyzer(rate)


def _relative(fig: dict[str, Any]) -> dict[str, Any]:
    speech_db = fig.get("speech_dbfs")
    for key in ("noise_floor", "hum"):
        v = fig.get(f"{key}_dbfs")
        fig[f"{key}_re_speech_db"] = (round(v - speech_db, 1)
                                      if v is not None and speech_db is not None else None)
    return fig


def report(prep: Prepared, before_log: loudness.BlockLog, after_lra: float,
           after_fig: dict[str, Any] | None, leveller: np.ndarray | None, *,
           spread: tuple[float, float]) -> dict[str, Any]:
    """The `processing` section of qc.json.

    before: noise floor and hum of the raw processed parts (pass 0), LRA of the
    programme before levelling and loudness normalization; after: the same measured on
    the finished MP3's samples. `spread` is the speakers' spread before and after, on
    speech alone (toolkit.audio.mix.spreads): music and stings are no speaker.
    """
    from toolkit.audio import speechlevel
    seg = before_log.segment_energy()
    before = dict(prep.before)
    before.update(lra_lu=round(loudness.loudness_range(seg), 2),
                  speaker_spread_lu=round(spread[0], 2))
    after = dict(after_fig or {})
    after.update(lra_lu=round(after_lra, 2) if math.isfinite(after_lra) else None,
                 speaker_spread_lu=round(spread[1], 2))
    parts = []
    for i, proc in enumerate(prep.procs):
        if not proc.active:
            continue
        prof = prep.profiles.get(i)
        parts.append({"part": i + 1, "settings": asdict(proc),
                      "hum_hz": prof.hum_hz if prof else None,
                      "notches_hz": list(prof.notches) if prof else []})
    rate = None
    if leveller is not None and len(leveller) > 1:
        rate = round(float(np.abs(np.diff(leveller)).max()) * 100, 2)
    return {"parts": parts, "before": _relative(before), "after": _relative(after),
            "leveller": None if leveller is None else {
                "max_gain_db": round(float(np.abs(leveller).max()), 2),
                "max_rate_db_per_s": rate, "rate_limit_db_per_s": speechlevel.MAX_RATE_DB_S}}


def picture_note(section: dict[str, Any]) -> str:
    """One line for the QC picture: the before -> after figures."""
    b, a = section["before"], section["after"]

    def pair(key: str, unit: str) -> str:
        x, y = b.get(key), a.get(key)
        return f"{x if x is not None else '-'} -> {y if y is not None else '-'} {unit}"
    return (f"processing: noise floor {pair('noise_floor_re_speech_db', 'dB re speech')}; "
            f"hum {pair('hum_re_speech_db', 'dB re speech')}; LRA {pair('lra_lu', 'LU')}; "
            f"speaker spread {pair('speaker_spread_lu', 'LU')}")
