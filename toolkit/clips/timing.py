"""Word times for captions, from whatever timing a transcript has.

Forced alignment gives every word its own time. A timed transcript made elsewhere (WebVTT,
SRT) times cues only: its words are spread over the cue in proportion to their length,
the usual estimate of caption tools, so the highlight still moves through the cue.
"""
from __future__ import annotations

from collections.abc import Sequence

from toolkit.textmodel import Cue, Transcript, Word


def word_timed(cue: Cue) -> Cue:
    """`cue` with word times: its own, else spread over the cue by word length."""
    if cue.words or cue.start is None or cue.end is None or cue.end <= cue.start:
        return cue
    texts = cue.text.split()
    if not texts:
        return cue
    total = sum(len(t) + 1 for t in texts)
    span, pos, words = cue.end - cue.start, cue.start, []
    for t in texts:
        step = span * (len(t) + 1) / total
        words.append(Word(t, pos, pos + step))
        pos += step
    return Cue(cue.text, cue.speaker, cue.start, cue.end, tuple(words))


def timed_cues(texts: Sequence[Transcript]) -> tuple[Cue, ...]:
    """The cues of the first transcript that has times (with word times), or none."""
    for text in texts:
        if text.cues and all(c.start is not None for c in text.cues):
            return tuple(word_timed(c) for c in text.cues)
    return ()
