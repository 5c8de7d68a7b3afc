"""Transcripts as data: cues, word times and what forced alignment made of a text.

Frozen dataclasses, stdlib only, no I/O, like toolkit.model (which re-exports them).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path


@dataclass(frozen=True)
class Word:
    """One spoken word of a timed cue, as forced alignment placed it (seconds)."""

    text: str                           # as written, punctuation kept
    start: float
    end: float


@dataclass(frozen=True)
class Cue:
    """One unit of a transcript: a paragraph of plain text, or a timed caption cue."""

    text: str                           # plain text, no markup; may hold line breaks
    speaker: str | None = None          # None: not named (often the previous speaker goes on)
    start: float | None = None          # seconds; None in untimed (plain text) transcripts
    end: float | None = None
    words: tuple[Word, ...] = ()        # word times, when alignment made the cue


class AlignStatus(str, Enum):
    """What forced alignment did with one plain-text transcript."""

    ALIGNED = "aligned"                 # timed outputs published
    OFF = "off"                         # `align = false`
    NO_MODEL = "no-model"               # no acoustic model for the language: untimed outputs
    MISMATCH = "mismatch"               # the audio does not match the text: untimed outputs


@dataclass(frozen=True)
class AlignReport:
    """The outcome of aligning one plain-text transcript (kept in the build record)."""

    source: Path                        # the transcript file
    status: AlignStatus
    message: str = ""                   # why it is not aligned, or what to look at
    words: int = 0                      # spoken words in the text
    guessed: int = 0                    # pronounced by grapheme-to-phoneme (not in the dictionary)
    interpolated: int = 0               # no pronunciation at all: times interpolated
    sentences: int = 0                  # timed cues published
    key: str = ""                       # cache key (audio master key + text hash)


@dataclass(frozen=True)
class Transcript:
    """A loaded, validated transcript (see toolkit/text/transcript.py)."""

    source: Path                        # the file it was read from (for messages)
    cues: tuple[Cue, ...]
    language: str | None = None

    @property
    def timed(self) -> bool:
        """True when every cue has a start and an end time (captions can be written)."""
        return bool(self.cues) and all(c.start is not None and c.end is not None for c in self.cues)
