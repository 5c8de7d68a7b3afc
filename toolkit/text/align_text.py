"""Text side of forced alignment: sentences and spoken words of a plain-text transcript,
and the timed cues built back from word times.

    tokens(transcript)                 -> [Token]: every word as written, in order, with the
                                          key the aligner's dictionary knows it by
    timed_cues(transcript, tokens, times) -> one timed Cue per sentence, words attached

No audio here and no aligner: `toolkit.text.align` joins the two.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from toolkit.model import Cue, Transcript, Word

#: Abbreviations whose full stop does not end a sentence.
ABBREVIATIONS = frozenset({"dr.", "mr.", "mrs.", "ms.", "prof.", "st.", "mt.", "jr.", "sr.",
                            "vs.", "e.g.", "i.e.", "etc.", "no.", "gen.", "gov.", "sen.", "rep.",
                            "u.s.", "u.k.", "u.n."})
_SENTENCE_END_RE = re.compile(r"[.!?…][\"'”’)\]]*$")
#: A letter or a digit: exactly what str.isalnum() accepts (\w is that and "_").
_ALNUM_RE = re.compile(r"[^\W_]")
_EDGE_PUNCT = "\"'“”‘’()[]{}<>«».,!?;:…—–-*_/\\"


@dataclass(frozen=True)
class Token:
    """One word of the transcript as written, and where it sits."""

    text: str            # as written ("Yongbyon,")
    key: str             # as the dictionary spells it ("yongbyon"); "" when nothing is spoken
    cue: int             # index of the paragraph (input cue)
    sentence: int        # running sentence number over the whole transcript


def word_key(text: str) -> str:
    """The dictionary form of a written word: lower case, outer punctuation gone,
    typographic apostrophes straightened; "" for a token with no letter or digit."""
    key = text.lower().replace("’", "'").replace("‘", "'").strip(_EDGE_PUNCT)
    return key if _ALNUM_RE.search(key) else ""


def _ends_sentence(word: str, following: str | None) -> bool:
    if not _SENTENCE_END_RE.search(word) or word.lower() in ABBREVIATIONS:
        return False
    # "U.S. officials": an initialism goes on when a lower-case word follows.
    return following is None or not following[:1].islower()


def tokens(transcript: Transcript) -> list[Token]:
    """The words of every cue, each with its paragraph and sentence number."""
    out: list[Token] = []
    sentence = 0
    for i, cue in enumerate(transcript.cues):
        words = cue.text.split()
        if out:
            sentence += 1            # a paragraph always starts a sentence
        for j, w in enumerate(words):
            out.append(Token(w, word_key(w), i, sentence))
            if j + 1 < len(words) and _ends_sentence(w, words[j + 1]):
                sentence += 1
    return out


def timed_cues(transcript: Transcript, toks: list[Token],
               times: list[tuple[float, float]]) -> list[Cue]:
    """One timed cue per sentence, keeping its paragraph's speaker; `times[i]` is the
    (start, end) of `toks[i]`. Tokens with nothing spoken ("–") ride on their neighbour."""
    cues: list[Cue] = []
    group: list[int] = []

    def flush() -> None:
        if not group:
            return
        words = tuple(Word(toks[k].text, times[k][0], times[k][1]) for k in group)
        speaker = transcript.cues[toks[group[0]].cue].speaker
        cues.append(Cue(text=" ".join(w.text for w in words), speaker=speaker,
                        start=words[0].start, end=max(w.end for w in words), words=words))
        group.clear()

    for k, tok in enumerate(toks):
        if group and toks[group[-1]].sentence != tok.sentence:
            flush()
        group.append(k)
    flush()
    return cues


def interpolate(times: list[tuple[float, float] | None], toks: list[Token],
                duration: float, speech: Sequence[bool] | None = None,
                frame: float = 0.01) -> list[tuple[float, float]]:
    """Fill the words the aligner did not place, between their placed neighbours, in
    proportion to their length in characters (a word is never dropped from the text).

    With `speech` (one flag per `frame` seconds, see align_vad), the words are spread over
    the frames that sound like speech only: a stretch of unplaced words across a music
    sting then lands on the voice either side of it, not seconds into the music.
    """
    out: list[tuple[float, float]] = []
    n = len(times)
    k = 0
    while k < n:
        if times[k] is not None:
            out.append(times[k])  # type: ignore[arg-type]
            k += 1
            continue
        run_end = k
        while run_end < n and times[run_end] is None:
            run_end += 1
        lo = out[-1][1] if out else 0.0
        hi = times[run_end][0] if run_end < n else duration  # type: ignore[index]
        hi = max(hi, lo)
        weights = [max(1, len(toks[i].text)) for i in range(k, run_end)]
        out += _spread(lo, hi, weights, speech, frame)
        k = run_end
    return out


def _spread(lo: float, hi: float, weights: list[int], speech: Sequence[bool] | None,
            frame: float) -> list[tuple[float, float]]:
    """(start, end) of words of these `weights` laid end to end over [lo, hi]: evenly, or
    over its speech frames when there are enough of them to hold the words."""
    total = sum(weights)
    first, last = int(lo / frame + 0.5), int(hi / frame)
    flags = list(speech[first:last]) if speech is not None else []
    said = [first + i for i, f in enumerate(flags) if f]
    out: list[tuple[float, float]] = []
    acc = 0
    if len(said) < max(len(weights), 0.2 * len(flags)):
        # Too little speech found to trust (a quiet voice, a misjudged bed): evenly.
        for w in weights:
            start = lo + (hi - lo) * acc / total
            acc += w
            out.append((start, lo + (hi - lo) * acc / total))
        return out
    for w in weights:
        a = said[min(len(said) - 1, len(said) * acc // total)]
        acc += w
        b = said[max(0, len(said) * acc // total - 1)]
        out.append((max(lo, a * frame), min(hi, max(a, b + 1) * frame)))
    return out
