"""Transcripts: load and validate an episode's transcript files; the public face of this stage.

    load(source, duration=...)       TranscriptSource -> model.Transcript (validated)
    preview_drops(source)            what drop_lines removes and keeps (`podkit transcript`)
    plain_text(transcript)           the text for the MP3's USLT frame and transcript.txt
    to_html / to_vtt / to_srt / to_json / to_text   one format as text
    to_page_html(transcript)         the episode page's fragment (cues clickable when timed)
    write_all(transcripts, folder, url_of=...)      every format, atomically -> MediaFile per file
    cue_words(transcript)            (in-cue, out-cue) words for a radio cue sheet

Reading lives in `transcript_read`, writing in `transcript_write`; this module holds the
rules that join them (which reader, the timing checks against the audio).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

from toolkit import fsutil
from toolkit.errors import ConfigError, Problem, ProblemsError
from toolkit.model import Cue, Transcript, TranscriptFormat, TranscriptSource
from toolkit.text.chapters import format_timestamp
from toolkit.text.transcript_read import (
    decode,
    drop_rules,
    lines_to_drop,
    parse_json,
    parse_srt,
    parse_text,
    parse_vtt,
)
from toolkit.text.transcript_write import (
    TranscriptOutput,
    outputs_for,
    paragraphs,
    plain_text,
    to_html,
    to_json,
    to_page_html,
    to_srt,
    to_text,
    to_vtt,
    write_all,
)

__all__ = ["load", "validate_times", "cue_words", "plain_text", "paragraphs", "to_html", "to_json",
           "to_srt", "to_text", "to_vtt", "to_page_html", "write_all", "outputs_for", "TranscriptOutput",
           "format_for", "preview_drops", "DropPreview"]

log = logging.getLogger(__name__)

#: A cue may end this much after the audio (encoder padding, a trimmed tail) before it is
#: an error; such ends are clipped to the duration.
END_TOLERANCE_S = 0.5

#: At most this many timing problems are listed for one file (the rest are counted).
MAX_PROBLEMS = 20

_BY_SUFFIX = {".txt": TranscriptFormat.TEXT, ".text": TranscriptFormat.TEXT,
              ".srt": TranscriptFormat.SRT, ".vtt": TranscriptFormat.VTT,
              ".json": TranscriptFormat.JSON}


def format_for(path: Path) -> TranscriptFormat:
    """The input format a transcript file's extension names; ConfigError for others."""
    try:
        return _BY_SUFFIX[path.suffix.lower()]
    except KeyError:
        raise ConfigError(f"unknown transcript type {path.suffix!r}: use .txt, .srt, .vtt or "
                          ".json, or set format", path=path, field="format") from None


def load(source: TranscriptSource, *, duration: float | None) -> Transcript:
    """Read, parse and validate one transcript file.

    `duration` is the built audio's length in seconds: timed cues must lie inside it.
    With `duration=None` (audio not built yet, as in `podkit check`) only the order of
    the times is checked. Raises ConfigError (or ProblemsError listing every bad cue),
    each naming the transcript file and the cue number and time.
    """
    path = source.path
    try:
        data = fsutil.read_source(path, fsutil.MAX_TRANSCRIPT_BYTES)
    except fsutil.SourceError as exc:
        raise ConfigError(exc.message, path=path, field="file") from exc
    if not data:
        raise ConfigError("is empty (0 bytes)", path=path, field="file")
    text = decode(data, path)
    fmt = source.format
    rule = _drop_rule(source)
    if rule and fmt is not TranscriptFormat.TEXT:
        raise ConfigError(f"{rule} applies to plain text transcripts only", path=path, field=rule)
    if fmt is TranscriptFormat.TEXT:
        cues = parse_text(text, path, source.drop_lines, source.drop_until, source.drop_matching)
    elif fmt is TranscriptFormat.SRT:
        cues = parse_srt(text, path)
    elif fmt is TranscriptFormat.VTT:
        cues = parse_vtt(text, path)
    elif fmt is TranscriptFormat.JSON:
        cues = parse_json(text, path)
    else:
        raise ConfigError(f"{fmt.value} is an output format, not an input", path=path, field="format")
    if not cues:
        raise ConfigError("holds no text", path=path, field="file")
    if fmt is not TranscriptFormat.TEXT:
        cues = validate_times(cues, path, duration)
    log.debug("%s: %d cues (%s)", path, len(cues), fmt.value)
    return Transcript(source=path, cues=tuple(cues), language=source.language)


def _drop_rule(source: TranscriptSource) -> str | None:
    """The first drop rule the source sets (drop_lines, drop_until, drop_matching), or None."""
    for rule in ("drop_lines", "drop_until", "drop_matching"):
        if getattr(source, rule):
            return rule
    return None


@dataclass(frozen=True)
class DropPreview:
    """What the drop rules do to one plain-text transcript.

    Lines are numbered as `drop_lines` counts them: lines that hold text, from 1 (blank
    lines are not counted). `dropped` holds (number, rule, text), `kept` (number, text).
    """

    source: TranscriptSource
    dropped: tuple[tuple[int, str, str], ...]
    kept: tuple[tuple[int, str], ...]     # every kept line that holds text


def preview_drops(source: TranscriptSource) -> DropPreview:
    """Read a plain-text transcript and say which lines the drop rules remove and which stay,
    numbered as drop_lines counts, so a producer can copy the numbers without building.
    ConfigError as `load` raises."""
    if source.format is not TranscriptFormat.TEXT:
        raise ConfigError(f"drop_lines applies to plain text transcripts only, not "
                          f"{source.format.value}", path=source.path, field="drop_lines")
    try:
        data = fsutil.read_source(source.path, fsutil.MAX_TRANSCRIPT_BYTES)
    except fsutil.SourceError as exc:
        raise ConfigError(exc.message, path=source.path, field="file") from exc
    lines = decode(data, source.path).split("\n")
    gone = drop_rules(lines, source.drop_lines, source.path, source.drop_until,
                      source.drop_matching)
    numbered = [(n, i) for n, i in enumerate((i for i, ln in enumerate(lines) if ln.strip()),
                                              start=1)]
    return DropPreview(source, tuple((n, gone[i], lines[i]) for n, i in numbered if i in gone),
                       tuple((n, lines[i]) for n, i in numbered if i not in gone))


def _at(n: int, cue: Cue) -> str:
    # "cue 12 at 01:03.500": the number counts kept cues from 1, the time finds it in any editor.
    assert cue.start is not None
    if not 0 <= cue.start < 1e9:  # a negative time (JSON allows one) has no clock form
        return f"cue {n} at {cue.start:g} s"
    ms = round(cue.start * 1000) % 1000
    return f"cue {n} at {format_timestamp(cue.start)}.{ms:03d}"


def validate_times(cues: list[Cue], path: Path, duration: float | None) -> list[Cue]:
    """Check timed cues and fill missing ends (next later start, or the duration; without a
    duration a last cue without end keeps end None until the audio is built).

    Rules: start >= 0; starts never go backwards (equal starts are allowed: one cue per
    voice); end after start; nothing starts at or after the end of the audio, nothing
    ends more than END_TOLERANCE_S after it (ends within the tolerance are clipped).
    """
    problems: list[Problem] = []

    def bad(n: int, cue: Cue, message: str) -> None:
        problems.append(Problem(str(path), _at(n, cue), message))

    out: list[Cue] = []
    next_start = _next_later_starts(cues)
    for i, cue in enumerate(cues):
        n = i + 1
        assert cue.start is not None
        end = cue.end
        if end is None:  # JSON may leave endTime out
            # The next later start, else the end of the audio; without a duration (`podkit
            # check`, before a build) the last cue's end stays unknown, which is no error.
            end = next_start[i] if next_start[i] is not None else duration
        if cue.start < 0:
            bad(n, cue, f"starts at a negative time ({cue.start:g} s)")
        if i and cues[i - 1].start is not None and cue.start < cues[i - 1].start:  # type: ignore[operator]
            bad(n, cue, f"starts before cue {n - 1} ({cues[i - 1].start:g} s): times must not go "
                        "backwards")
        if end is None:
            out.append(cue)
            continue
        if end <= cue.start:
            bad(n, cue, f"ends at {end:g} s, not after its start ({cue.start:g} s)")
        if duration is not None:
            if cue.start >= duration:
                bad(n, cue, f"starts after the end of the audio ({format_timestamp(duration)}, "
                            f"{duration:.3f} s)")
            elif end > duration + END_TOLERANCE_S:
                bad(n, cue, f"ends at {end:.3f} s, after the end of the audio ({duration:.3f} s)")
            end = min(end, duration)
        out.append(replace(cue, end=end))
    if problems:
        if len(problems) > MAX_PROBLEMS:
            more = len(problems) - MAX_PROBLEMS
            problems = problems[:MAX_PROBLEMS] + [Problem(str(path), "cues", f"... and {more} more")]
        raise ProblemsError(problems)
    return out


def _next_later_starts(cues: list[Cue]) -> list[float | None]:
    """For each cue, the start of the first later cue that starts after it (None if none).

    One pass from the end with a stack of starts that still can be someone's answer
    (each pushed and popped once): linear, where searching the rest of the list for each
    cue took minutes for 40,000 JSON segments without endTime.
    """
    out: list[float | None] = [None] * len(cues)
    stack: list[float] = []   # later starts, the nearest on top, each larger than the one above
    for i in range(len(cues) - 1, -1, -1):
        start = cues[i].start
        assert start is not None
        while stack and stack[-1] <= start:
            stack.pop()  # never the answer for this cue, nor for any earlier one it shadows
        out[i] = stack[-1] if stack else None
        stack.append(start)
    return out


def cue_words(transcript: Transcript, words: int = 5) -> tuple[str, str]:
    """(in-cue, out-cue) for a radio cue sheet: the first and the last `words` spoken words.

    Speaker names are not spoken, so they are left out.
    """
    spoken = " ".join(c.text for c in transcript.cues).split()
    if not spoken:
        return "", ""
    return " ".join(spoken[:words]), " ".join(spoken[-words:])
