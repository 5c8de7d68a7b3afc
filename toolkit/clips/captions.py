"""Word-timed captions for a video clip, as an ASS subtitle script (rendered by libass).

A clip shows one caption cue at a time, never more than two lines, with the word being
spoken highlighted. The cues come from the aligned transcript's word times: words are
packed into lines of at most `chars` characters, two lines make a cue, and a new cue
starts at a speaker change or a pause. Each word's interval becomes one ASS event that
repeats the whole cue with that word coloured, so the highlight moves exactly with the
alignment, whatever libass does with karaoke tags.

Pure (no I/O): `ass_script` returns the text that toolkit.clips.render writes.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from toolkit.textmodel import Cue, Word

#: A pause longer than this (seconds) between two words starts a new caption cue:
#: a caption that stays up over silence reads as if it belonged to what comes next.
PAUSE_S = 0.7
#: Lines per caption cue (readability guidance for social video: one or two lines).
MAX_LINES = 2


@dataclass(frozen=True)
class CaptionCue:
    """One caption on screen: its lines of words, clip-relative times (seconds)."""

    lines: tuple[tuple[Word, ...], ...]
    start: float
    end: float


def clip_words(cues: Sequence[Cue], start: float, duration: float
               ) -> list[tuple[Word, str | None]]:
    """The words spoken inside [start, start + duration], shifted to clip time, with speakers.

    A word is kept when at least half of it falls inside the clip, so a clip that starts
    mid-word does not caption a word the listener cannot hear.
    """
    end = start + duration
    out: list[tuple[Word, str | None]] = []
    for cue in cues:
        for w in cue.words:
            inside = min(w.end, end) - max(w.start, start)
            if w.end > w.start and inside >= (w.end - w.start) / 2:
                out.append((Word(w.text, max(w.start, start) - start,
                                 min(w.end, end) - start), cue.speaker))
    return out


def layout(words: Sequence[tuple[Word, str | None]], chars: int) -> list[CaptionCue]:
    """Pack words into caption cues of at most MAX_LINES lines of at most `chars` characters."""
    cues: list[CaptionCue] = []
    lines: list[list[Word]] = [[]]
    speaker: str | None = None

    def flush() -> None:
        kept = tuple(tuple(line) for line in lines if line)
        if kept:
            cues.append(CaptionCue(kept, kept[0][0].start, kept[-1][-1].end))
        lines[:] = [[]]

    last_end: float | None = None
    for word, who in words:
        pause = last_end is not None and word.start - last_end > PAUSE_S
        if (pause or (who != speaker and last_end is not None)):
            flush()
        speaker, last_end = who, word.end
        line = lines[-1]
        width = sum(len(w.text) + 1 for w in line) + len(word.text)
        if line and width > chars:
            if len(lines) == MAX_LINES:
                flush()
            else:
                lines.append([])
        lines[-1].append(word)
    flush()
    # A cue stays up until the next one starts (within a pause's length), so captions
    # do not blink off between two words of one sentence.
    out = []
    for i, cue in enumerate(cues):
        nxt = cues[i + 1].start if i + 1 < len(cues) else None
        end = cue.end if nxt is None or nxt - cue.end > PAUSE_S else nxt
        out.append(CaptionCue(cue.lines, cue.start, end))
    return out


def _ts(t: float) -> str:
    """ASS time: H:MM:SS.cc (centiseconds)."""
    cs = max(0, round(t * 100))
    return f"{cs // 360000}:{cs // 6000 % 60:02d}:{cs // 100 % 60:02d}.{cs % 100:02d}"


def _escape(text: str) -> str:
    """Text safe inside an ASS Dialogue: braces open override blocks, backslashes escape."""
    return (text.replace("\\", "\u29f5").replace("{", "(").replace("}", ")")
            .replace("\n", " "))


@dataclass(frozen=True)
class Style:
    """Sizes and colours of a clip's text, in pixels of the video frame."""

    width: int
    height: int
    font: str
    caption_size: int
    caption_y: int               # the captions' bottom edge, from the top of the frame
    title_size: int
    title_y: int                 # the titles' top edge
    margin: int


def _colour(rgb: str) -> str:
    """ASS colour &HAABBGGRR from #RRGGBB."""
    r, g, b = rgb[1:3], rgb[3:5], rgb[5:7]
    return f"&H00{b}{g}{r}".upper()


#: Caption colours: white text on a dark box (contrast over 15:1), the spoken word amber.
TEXT, HIGHLIGHT, BOX = "#FFFFFF", "#FFC845", "#000000"


def ass_script(style: Style, captions: Sequence[CaptionCue], titles: Sequence[str],
               duration: float) -> str:
    """The ASS script: titles for the whole clip, then one event per spoken word."""
    head = [
        "[Script Info]", "ScriptType: v4.00+", f"PlayResX: {style.width}",
        f"PlayResY: {style.height}", "WrapStyle: 2", "ScaledBorderAndShadow: yes", "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
        "BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, "
        "BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding",
        # BorderStyle 3: an opaque box behind the captions (readable over any picture).
        f"Style: Caption,{style.font},{style.caption_size},{_colour(TEXT)},"
        f"{_colour(HIGHLIGHT)},&H40000000,&H40000000,-1,0,0,0,100,100,0,0,3,"
        f"{max(4, style.caption_size // 6)},0,2,{style.margin},{style.margin},"
        f"{style.height - style.caption_y},1",
        f"Style: Title,{style.font},{style.title_size},{_colour(TEXT)},{_colour(TEXT)},"
        f"&H00000000,&H80000000,-1,0,0,0,100,100,0,0,1,2,1,8,{style.margin},"
        f"{style.margin},{style.title_y},1",
        "", "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ]
    events = []
    title_text = r"\N".join(_escape(t) for t in titles if t)
    if title_text:
        events.append(f"Dialogue: 0,{_ts(0)},{_ts(duration)},Title,,0,0,0,,{title_text}")
    hl = _colour(HIGHLIGHT)
    for cue in captions:
        words = [w for line in cue.lines for w in line]
        for i, word in enumerate(words):
            start = cue.start if i == 0 else word.start
            end = words[i + 1].start if i + 1 < len(words) else cue.end
            if end <= start:
                continue
            text_lines = []
            for line in cue.lines:
                text_lines.append(" ".join(
                    f"{{\\c{hl}&}}{_escape(w.text)}{{\\r}}" if w is word else _escape(w.text)
                    for w in line))
            events.append(f"Dialogue: 1,{_ts(start)},{_ts(end)},Caption,,0,0,0,,"
                          + r"\N".join(text_lines))
    return "\n".join(head + events) + "\n"
