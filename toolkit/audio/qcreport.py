"""The QC outputs of an audio build, from what the engine measured (toolkit/audio/qc.py draws)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from toolkit.audio import loudness, normalize, processing, qc
from toolkit.model import Episode

if TYPE_CHECKING:
    from toolkit.audio.master import AudioResult


def write_qc(result: AudioResult, episode: Episode, plan: normalize.Plan, aim: float,
             ceiling: float, block_log: loudness.BlockLog, after_st: np.ndarray,
             peaks: np.ndarray, speech_qc: dict | None = None,
             mix_qc: dict | None = None) -> None:
    """Write the QC picture and qc.json of a build (both reproducible byte for byte).

    `speech_qc` is the speech processing's section, `mix_qc` the parts against the
    speech (toolkit.audio.mix.report).
    """
    before_st = loudness.short_term_series(block_log.segment_energy())
    qc.write_picture(result.qc_png, title=f"{episode.slug}: {episode.title}",
                     short_term_before=before_st, short_term_after=after_st,
                     peaks_after=peaks, peak_rate=plan.sample_rate / plan.block,
                     target_lufs=aim, ceiling_dbtp=ceiling,
                     note=processing.picture_note(speech_qc) if speech_qc else None)
    extra = {"processing": speech_qc} if speech_qc else {}
    if mix_qc:
        extra["mix"] = mix_qc
    qc.write_report(result.qc_json, {**extra,
        "episode": episode.slug, "target_lufs": aim, "true_peak_ceiling_dbtp": ceiling,
        "before": qc.stats_dict(result.before), "after": qc.stats_dict(result.after),
        "gain_db": round(plan.gain_db, 2), "limiter_max_db": round(plan.limiter_max_db, 2),
        "limited_s": round(plan.limited_s, 2), "levelled": plan.levelled,
        "limiting": normalize.limiting_report(result.limiting) if result.limiting else None,
        "renditions": {k: qc.stats_dict(v) for k, v in result.renditions.items()},
        "lra_before_lu": qc.stats_dict(result.before)["lra_lu"],
        "lra_after_lu": qc.stats_dict(result.after)["lra_lu"],
        "chapters": [{"start": c.start, "title": c.title} for c in result.chapters],
        "parts": [{"title": t, "seconds": round(s, 3)} for t, s in result.parts],
    })

