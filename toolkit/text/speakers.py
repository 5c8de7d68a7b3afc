"""Speakers in transcripts: which `Name:` prefixes name a speaker (docs/tags-transcripts-chapters.md).

A prefix must look like a name (`split_speaker`) and the transcript must use it as a
speaker (`recognised`): a word before a colon is not enough.
"""
from __future__ import annotations

import re
from collections import Counter

#: Words that may appear in lowercase inside a speaker's name ("Ludwig van Beethoven:").
_NAME_PARTICLES = frozenset({"al", "bin", "da", "de", "del", "der", "di", "du", "la", "le",
                             "van", "von", "y"})
_SPEAKER_RE = re.compile(r"^([^\W\d_][\w.'’\- ]{0,39}?):[ \t]+(?=\S)")


def split_speaker(line: str) -> tuple[str | None, str]:
    """(speaker, rest) when `line` starts with `Name:`; (None, line) otherwise.

    A name is one to four words, at most 40 characters, before a colon and a space. Its
    first word starts with a capital (or a letter of a script without case, such as
    Hangul); later words start with a capital, a digit ("Speaker 2") or are a name
    particle ("van"). So "Jane Host: Hello" and "SPEAKER_01: Hi" name a speaker, while
    "Editor's note: ..." or "at 10:30 we" do not.
    """
    m = _SPEAKER_RE.match(line)
    if not m:
        return None, line
    name = " ".join(m.group(1).split())
    words = name.split(" ")
    if len(words) > 4 or not _capital(words[0][0]):
        return None, line
    for w in words[1:]:
        if not (_capital(w[0]) or w[0].isdigit() or w in _NAME_PARTICLES):
            return None, line
    return name, line[m.end():]


def recognised(turns: list[str | None]) -> frozenset[str]:
    """The `Name:` prefixes a transcript uses as speakers, given the name each turn starts
    with (`split_speaker`'s, or a VTT voice; None for a turn without one).

    A word before a colon is not a speaker by its shape alone ("Interview: the allotment
    keeper." is a caption). A name counts when the transcript uses it as a speaker: the
    same name starts at least two turns, or more than half of all turns start with a name
    (a transcript written as speaker turns, where a guest may speak once).
    """
    counts = Counter(n for n in turns if n)
    if 2 * sum(counts.values()) > len(turns):
        return frozenset(counts)
    return frozenset(n for n, c in counts.items() if c >= 2)


def _capital(ch: str) -> bool:
    # An uncased letter (Hangul, CJK, Arabic...) counts: those scripts have no capitals.
    return ch.isupper() or (ch.isalpha() and not ch.islower())


def text_turns(lines: list[str]) -> list[str | None]:
    """The name (or None) each turn of a plain-text transcript starts with: every paragraph,
    and every line inside one that starts with a name."""
    turns: list[str | None] = []
    first = True
    for raw in lines:
        line = " ".join(raw.split())
        if not line:
            first = True
            continue
        who = split_speaker(line)[0]
        if first or who is not None:
            turns.append(who)
        first = False
    return turns
