"""The mix against the speech: where the speech is, each part's loudness relative to it,
music parts set relative to it, and the speakers' spread on speech alone.

Planned from the first render's 10 ms block log (no extra pass over the audio):

    speech_segments -> part_gain (parts with `level = "-6 LU"`) -> report (qc.json "mix")

Speech is the programme's parts that are not music parts (`level` set) where a voice
is active. Voice activity is read from the block energies: speech stops and starts
several times a second, so within any second of it a good share of the 10 ms blocks is
far quieter than that second's mean (the "low short-time energy ratio" of speech/music
discrimination); held music, a bed or a sting's sustained chord is not. See
docs/processing.md ("The mix against the speech").
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from toolkit.audio import loudness, normalize
from toolkit.audio.assemble import PartSpan
from toolkit.model import AudioPart

#: A part louder than the speech by more than this (LU) is reported as a warning: the
#: listener set the volume for the voice, and a sting 10 LU above it hurts.
MUSIC_MARGIN_LU = 3.0
#: Voice activity: within VAD_WINDOW_S around a segment, at least VAD_LOW_SHARE of the
#: 10 ms blocks are below VAD_LOW_RATIO of the window's mean energy.
VAD_WINDOW_S = 1.0
VAD_LOW_SHARE = 0.2
VAD_LOW_RATIO = 0.5
#: ... and the segment is not a pause (momentary loudness within this of the programme's).
GATE_LU = -20.0
#: Music parts land within this of their level (LU), after at most this many corrections.
SETTLE_LU = 0.5
SETTLE_ROUNDS = 3


def voice_activity(log_: loudness.BlockLog) -> np.ndarray:
    """One flag per 100 ms segment: True where a voice is speaking (see the module doc)."""
    k = loudness.BLOCKS_PER_SEGMENT
    n = len(log_.energy) // k
    e = np.asarray(log_.energy[:n * k], dtype=np.float64)
    if n == 0:
        return np.zeros(0, dtype=bool)
    half = max(1, round(VAD_WINDOW_S / (log_.block / log_.sample_rate)) // 2)
    csum = np.concatenate([[0.0], np.cumsum(e)])
    idx = np.arange(len(e))
    lo, hi = np.clip(idx - half, 0, len(e)), np.clip(idx + half + 1, 0, len(e))
    mean = (csum[hi] - csum[lo]) / np.maximum(hi - lo, 1)
    low = np.concatenate([[0], np.cumsum(e < VAD_LOW_RATIO * mean)])
    centre = np.arange(n) * k + k // 2
    a, b = np.clip(centre - half, 0, len(e)), np.clip(centre + half + 1, 0, len(e))
    share = (low[b] - low[a]) / np.maximum(b - a, 1)
    talk = share >= VAD_LOW_SHARE
    seg = log_.segment_energy()
    # Pauses are judged against the talk, not the programme: a loud sting would make a
    # quiet speaker look like a pause.
    ref = loudness.gated_integrated(seg[talk[:len(seg)]]) if talk.any() else -math.inf
    k_gate = loudness.SEGMENTS_PER_GATE
    padded = np.pad(seg, (k_gate // 2, k_gate - 1 - k_gate // 2), mode="edge")
    momentary = loudness.lufs(np.convolve(padded, np.ones(k_gate) / k_gate, mode="valid"))
    audible = momentary > ref + GATE_LU if math.isfinite(ref) else np.zeros(n, dtype=bool)
    return talk & audible


def _segments(span: PartSpan, log_: loudness.BlockLog, n: int) -> slice:
    per = log_.block * loudness.BLOCKS_PER_SEGMENT
    return slice(min(n, span.start // per), min(n, -(-span.end // per)))


def speech_segments(log_: loudness.BlockLog, spans: Sequence[PartSpan],
                    parts: Sequence[AudioPart]) -> np.ndarray:
    """Segments of speech: voice activity inside parts that are not music parts.

    When voice activity finds none (a programme of held tones, say), every segment of
    the speech parts counts: some reference is better than none.
    """
    return _speech(log_, spans, parts)[0]


def _speech(log_: loudness.BlockLog, spans: Sequence[PartSpan],
            parts: Sequence[AudioPart]) -> tuple[np.ndarray, bool]:
    """(speech_segments, whether a voice was found at all)."""
    active = voice_activity(log_)
    inside = np.zeros(len(active), dtype=bool)
    for s in spans:
        if parts[s.index].level_re_speech is None:
            inside[_segments(s, log_, len(active))] = True
    speech = active & inside
    return (speech, True) if speech.any() else (inside, False)


def part_gain(log_: loudness.BlockLog, spans: Sequence[PartSpan], parts: Sequence[AudioPart],
              pre_gain_db: np.ndarray | None) -> np.ndarray | None:
    """Per-block gain (dB) that sets each music part (`level = "-6 LU"`) that far from the
    speech's loudness (after `pre_gain_db`, the leveller's); None when no part asks."""
    if all(p.level_re_speech is None for p in parts):
        return None
    gain = np.zeros(len(log_.energy), dtype=np.float32)
    base = 0.0 if pre_gain_db is None else pre_gain_db
    seg = log_.segment_energy(base)
    speech = speech_segments(log_, spans, parts)
    speech_lufs = loudness.gated_integrated(seg[speech])
    if not math.isfinite(speech_lufs):
        return None
    for s in spans:
        want = parts[s.index].level_re_speech
        if want is None:
            continue
        part_lufs = loudness.gated_integrated(seg[_segments(s, log_, len(seg))])
        if math.isfinite(part_lufs):
            # Whole blocks: a part's edge moves by at most 10 ms of the other's gain.
            gain[s.start // log_.block:-(-s.end // log_.block)] += speech_lufs + want - part_lufs
    return gain


def settle(log_: loudness.BlockLog, spans: Sequence[PartSpan], parts: Sequence[AudioPart],
           leveller: np.ndarray | None,
           plan: Callable[[np.ndarray | None], normalize.Plan]) -> normalize.Plan:
    """`plan` of the pre-gain (leveller plus music parts' gain) that puts each music part
    at its `level` in the planned programme. The limiter takes more from peaky speech than
    from music, so the first estimate (`part_gain`) is checked against the plan and
    corrected, at most SETTLE_ROUNDS times, until every part is within SETTLE_LU of it."""
    music = part_gain(log_, spans, parts, leveller)
    if music is None:
        return plan(leveller)
    for _ in range(SETTLE_ROUNDS):
        planned = plan(combine(leveller, music))
        rows = report(log_, spans, parts, planned.gains_db)["parts"]
        misses = [(s, parts[s.index].level_re_speech - r["re_speech_lu"])
                  for s, r in zip(spans, rows)
                  if parts[s.index].level_re_speech is not None and r["re_speech_lu"] is not None]
        if all(abs(miss) < SETTLE_LU for _s, miss in misses):
            return planned
        for s, miss in misses:
            music[s.start // log_.block:-(-s.end // log_.block)] += np.float32(miss)
    return plan(combine(leveller, music))


def report(log_: loudness.BlockLog, spans: Sequence[PartSpan], parts: Sequence[AudioPart],
           gains_db: np.ndarray) -> dict[str, Any]:
    """The `mix` section of qc.json, measured on the programme as planned (`gains_db`, the
    plan's per-block gain, limiter included): the speech's loudness, each part's loudness
    and its distance from the speech, and a warning per part more than MUSIC_MARGIN_LU
    above it."""
    seg = log_.segment_energy(gains_db)
    speech, voiced = _speech(log_, spans, parts)
    speech_lufs = loudness.gated_integrated(seg[speech])
    rows, warnings = [], []
    for s in spans:
        part_lufs = loudness.gated_integrated(seg[_segments(s, log_, len(seg))])
        re = part_lufs - speech_lufs if math.isfinite(part_lufs) and math.isfinite(speech_lufs) \
            else None
        name = s.title or parts[s.index].path.name
        rows.append({"part": s.index + 1, "title": name,
                     "lufs": round(part_lufs, 1) if math.isfinite(part_lufs) else None,
                     "re_speech_lu": None if re is None else round(re, 1),
                     "level": parts[s.index].level_re_speech})
        # Without a voice (tones, music only) there is no speech to stand above.
        if voiced and re is not None and re > MUSIC_MARGIN_LU:
            warnings.append(f"part {s.index + 1} ({name}) stands {re:.1f} LU above the speech "
                            f"(warned above {MUSIC_MARGIN_LU:g} LU): set `level = \"-6 LU\"` on "
                            "it to place it relative to the speech")
    return {"speech_lufs": round(speech_lufs, 1) if math.isfinite(speech_lufs) else None,
            "speech_s": round(float(speech.sum()) * 0.1, 1) if voiced else 0.0,
            "voice_found": voiced, "margin_lu": MUSIC_MARGIN_LU,
            "parts": rows, "warnings": warnings}


def combine(*gains: np.ndarray | None) -> np.ndarray | None:
    """The sum of per-block gains (dB), None when there is none."""
    present = [g for g in gains if g is not None]
    return None if not present else present[0] if len(present) == 1 else np.sum(present, axis=0)


def spreads(log_: loudness.BlockLog, spans: Sequence[PartSpan], parts: Sequence[AudioPart],
            gains_db: np.ndarray) -> tuple[float, float]:
    """The speakers' level spread (LU, speechlevel.spread) before and after the plan's gain,
    on speech segments alone: music, stings and pauses left out (they are no speaker), so
    the figure says how far apart the voices are, as a listener hears them."""
    from toolkit.audio import speechlevel
    speech = speech_segments(log_, spans, parts)
    return (speechlevel.spread(log_.segment_energy()[speech]),
            speechlevel.spread(log_.segment_energy(gains_db)[speech]))
