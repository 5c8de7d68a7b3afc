"""Writing transcripts: HTML, plain text, and for timed transcripts WebVTT, SRT and Podcast Index JSON.

Every function here is a pure function of the transcript (same cues, same bytes), so
rebuilding never re-uploads a transcript. `write_all` puts the files in place atomically.
"""
from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import median

from toolkit import fsutil
from toolkit.model import TRANSCRIPT_MIME, Cue, MediaFile, Transcript, TranscriptFormat, Word
from toolkit.text.chapters import format_timestamp

#: A timed paragraph (HTML, plain text) closes at the end of a sentence once it spans this long...
PARAGRAPH_SOFT_S = 30.0
#: ...and in any case once it spans this long (a monologue without full stops).
PARAGRAPH_HARD_S = 120.0
#: Word-level transcripts (one word per segment) are grouped into captions of at most
#: this many characters and seconds for VTT and SRT.
CAPTION_CHARS = 84
CAPTION_SECONDS = 6.0

_SENTENCE_END_RE = re.compile(r"[.!?…][\"'”’)\]]*$")


@dataclass(frozen=True)
class Paragraph:
    """A run of speech by one speaker, for reading (HTML, plain text)."""

    speaker: str | None
    start: float | None
    text: str


def paragraphs(transcript: Transcript) -> list[Paragraph]:
    """The transcript as paragraphs for reading.

    Plain text keeps its own paragraphs. Timed cues (caption-sized) are joined: a new
    paragraph starts when a cue names a different speaker, or at the end of a sentence
    once the paragraph spans PARAGRAPH_SOFT_S (PARAGRAPH_HARD_S without a full stop).
    A cue that names no speaker continues the current one (the WebVTT habit of tagging
    only the first cue of a turn).
    """
    return [Paragraph(speaker, start, " ".join(_oneline(c.text) for c in cues))
            for speaker, start, cues in _grouped(transcript)]


def _grouped(transcript: Transcript) -> list[tuple[str | None, float | None, list[Cue]]]:
    """(speaker, start, cues) per paragraph, by the rules of `paragraphs`."""
    if not transcript.timed:
        return [(c.speaker, None, [c]) for c in transcript.cues]
    out: list[tuple[str | None, float | None, list[Cue]]] = []
    speaker: str | None = None
    start = 0.0
    group: list[Cue] = []
    for cue in transcript.cues:
        assert cue.start is not None
        span = cue.start - start
        new_voice = cue.speaker is not None and cue.speaker != speaker
        last = _oneline(group[-1].text).rsplit(" ", 1)[-1] if group else ""
        long_enough = (span >= PARAGRAPH_SOFT_S and bool(group)
                       and _SENTENCE_END_RE.search(last) is not None) or span >= PARAGRAPH_HARD_S
        if group and (new_voice or long_enough):
            out.append((speaker, start, group))
            group = []
        if not group:
            start = cue.start
            speaker = cue.speaker if cue.speaker is not None else speaker
        group.append(cue)
    if group:
        out.append((speaker, start, group))
    return out


def _oneline(text: str) -> str:
    return " ".join(text.split())


# ---- formats --------------------------------------------------------------------------------------

def to_text(transcript: Transcript) -> str:
    """Plain text: paragraphs separated by a blank line, `Speaker: ` where known; ends in LF."""
    parts = [f"{p.speaker}: {p.text}" if p.speaker else p.text for p in paragraphs(transcript)]
    return "\n\n".join(parts) + "\n"


def plain_text(transcript: Transcript) -> str:
    """The transcript as plain text for the MP3's USLT frame (as transcript.txt, no final LF)."""
    return to_text(transcript).rstrip("\n")


def _iso_duration(seconds: float) -> str:
    h, rest = divmod(round(seconds * 1000), 3_600_000)
    m, ms = divmod(rest, 60_000)
    out = "PT" + (f"{h}H" if h else "") + (f"{m}M" if m else "")
    return out + (f"{ms // 1000}.{ms % 1000:03d}S" if ms % 1000 else f"{ms // 1000}S")


def to_html(transcript: Transcript) -> str:
    """An escaped HTML fragment in the Podcast Index layout: per paragraph `<cite>Speaker:</cite>`
    (when known), `<time datetime="PT1M3S">01:03</time>` (when timed) and `<p>text</p>`.

    The `datetime` attribute holds the exact start, so a page script can seek to it.
    """
    lines: list[str] = []
    for p in paragraphs(transcript):
        if p.speaker:
            lines.append(f"<cite>{html.escape(p.speaker, quote=False)}:</cite>")
        if p.start is not None:
            lines.append(f'<time datetime="{_iso_duration(p.start)}">{format_timestamp(p.start)}</time>')
        lines.append(f"<p>{html.escape(p.text, quote=False)}</p>")
    return "\n".join(lines) + "\n"


#: The published transcript.html needs nothing but its own text.
TRANSCRIPT_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'"


def html_document(transcript: Transcript, title: str = "Transcript") -> str:
    """A complete UTF-8 HTML page around `to_html` (the published transcript.html).

    A whole document declares its charset, so a browser opening the file from a bucket
    that serves plain `text/html` still shows accented names correctly. Its text is all
    escaped; the Content-Security-Policy forbids scripts anyway (it is served from the
    show's origin, beside the pages).
    """
    lang = f' lang="{html.escape(transcript.language)}"' if transcript.language else ""
    return (f"<!DOCTYPE html>\n<html{lang}>\n<head>\n<meta charset=\"utf-8\">\n"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{TRANSCRIPT_CSP}\">\n"
            f"<title>{html.escape(title)}</title>\n</head>\n<body>\n{to_html(transcript)}"
            "</body>\n</html>\n")


def to_page_html(transcript: Transcript) -> str:
    """The episode page's transcript: `to_html`, and for a timed transcript each cue in a
    `<span class="cue" data-start data-end>` that the page's script seeks to on a click
    and highlights while it is heard (toolkit/templates/player.js.j2)."""
    if not transcript.timed:
        return to_html(transcript)
    lines: list[str] = []
    for speaker, start, cues in _grouped(transcript):
        if speaker:
            lines.append(f"<cite>{html.escape(speaker, quote=False)}:</cite>")
        assert start is not None
        lines.append(f'<time datetime="{_iso_duration(start)}">{format_timestamp(start)}</time>')
        spans = [f'<span class="cue" data-start="{_num(c.start or 0.0)}" '
                 f'data-end="{_num(c.end or 0.0)}">{html.escape(_oneline(c.text), quote=False)}'
                 "</span>" for c in cues]
        lines.append(f"<p>{' '.join(spans)}</p>")
    return "\n".join(lines) + "\n"


def _stamp(seconds: float, sep: str) -> str:
    h, rest = divmod(round(seconds * 1000), 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _captions(transcript: Transcript) -> list[Cue]:
    """Cues for VTT/SRT. Word-level input (a median of at most two words per cue) is grouped
    into readable captions; caption-sized cues are kept exactly as they were."""
    cues = list(transcript.cues)
    if any(c.words for c in cues):
        return [piece for c in cues for piece in _split_words(c)]
    if len(cues) < 4 or median(len(c.text.split()) for c in cues) > 2:
        return cues
    out: list[Cue] = []
    for cue in cues:
        assert cue.start is not None and cue.end is not None
        if out:
            last = out[-1]
            assert last.start is not None and last.end is not None
            same_voice = cue.speaker is None or cue.speaker == last.speaker
            fits = (len(last.text) + 1 + len(cue.text) <= CAPTION_CHARS
                    and cue.end - last.start <= CAPTION_SECONDS and cue.start - last.end <= 1.0)
            if same_voice and fits:
                out[-1] = Cue(f"{last.text} {cue.text}", last.speaker, last.start, max(cue.end, last.end))
                continue
        out.append(Cue(_oneline(cue.text), cue.speaker, cue.start, cue.end))
    return out


def _split_words(cue: Cue) -> list[Cue]:
    """An aligned sentence as captions of at most CAPTION_CHARS and CAPTION_SECONDS,
    cut between words at their aligned times (a sentence never shares a caption)."""
    out: list[Cue] = []
    words: list[Word] = []
    for w in cue.words:
        if words and (len(" ".join(x.text for x in words)) + 1 + len(w.text) > CAPTION_CHARS
                      or w.end - words[0].start > CAPTION_SECONDS):
            out.append(Cue(" ".join(x.text for x in words), cue.speaker, words[0].start,
                           words[-1].end))
            words = []
        words.append(w)
    if words:
        out.append(Cue(" ".join(x.text for x in words), cue.speaker, words[0].start,
                       max(words[-1].end, cue.end or 0.0)))
    return out


def _vtt_text(text: str) -> str:
    # Escaping '<' and '&' is required by WebVTT; '>' too, so "-->" can never appear in a cue.
    lines = [ln for ln in text.split("\n") if ln.strip()]
    return "\n".join(html.escape(ln, quote=False) for ln in lines)


def to_vtt(transcript: Transcript) -> str:
    """WebVTT with numbered cues and `<v Speaker>` voice tags (Apple Podcasts reads these)."""
    _need_timed(transcript)
    out = ["WEBVTT", ""]
    for n, cue in enumerate(_captions(transcript), start=1):
        assert cue.start is not None and cue.end is not None
        voice = ""
        if cue.speaker:
            # A voice annotation may not hold '>' or a line break.
            name = html.escape(" ".join(cue.speaker.split()), quote=False)
            voice = f"<v {name}>"
        out += [str(n), f"{_stamp(cue.start, '.')} --> {_stamp(cue.end, '.')}",
                voice + _vtt_text(cue.text), ""]
    return "\n".join(out)


def to_srt(transcript: Transcript) -> str:
    """SubRip, with `Speaker: ` before the text of cues that name one (Podcast Index SRT style)."""
    _need_timed(transcript)
    out: list[str] = []
    for n, cue in enumerate(_captions(transcript), start=1):
        assert cue.start is not None and cue.end is not None
        lines = [ln for ln in cue.text.split("\n") if ln.strip()]
        if cue.speaker:
            lines[0] = f"{cue.speaker}: {lines[0]}"
        out += [str(n), f"{_stamp(cue.start, ',')} --> {_stamp(cue.end, ',')}", *lines, ""]
    return "\n".join(out)


def _num(value: float) -> int | float:
    value = round(value, 3)
    return int(value) if value == int(value) else value


def to_json(transcript: Transcript) -> str:
    """Podcast Index transcript JSON (version 1.0.0): one segment per cue, as read; for an
    aligned transcript one segment per word (the format's word-level form)."""
    _need_timed(transcript)
    segments = []
    for cue in transcript.cues:
        assert cue.start is not None and cue.end is not None
        for body, start, end in ([(w.text, w.start, w.end) for w in cue.words] if cue.words
                                 else [(_oneline(cue.text), cue.start, cue.end)]):
            seg: dict[str, object] = {}
            if cue.speaker:
                seg["speaker"] = cue.speaker
            seg.update(startTime=_num(start), endTime=_num(end), body=body)
            segments.append(seg)
    return json.dumps({"version": "1.0.0", "segments": segments}, ensure_ascii=False, indent=2) + "\n"


def _need_timed(transcript: Transcript) -> None:
    if not transcript.timed:
        raise ValueError(f"{transcript.source}: untimed transcripts have no caption formats")


# ---- files ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TranscriptOutput:
    """One transcript file to publish: its name, content and how the feed lists it."""

    name: str
    format: TranscriptFormat
    text: str
    language: str | None

    @property
    def mime(self) -> str:
        """The `podcast:transcript` type."""
        return TRANSCRIPT_MIME[self.format]

    @property
    def rel(self) -> str | None:
        """`captions` for timed caption files (VTT, SRT), else None."""
        return "captions" if self.format in (TranscriptFormat.VTT, TranscriptFormat.SRT) else None


_EXT = {TranscriptFormat.VTT: "vtt", TranscriptFormat.SRT: "srt", TranscriptFormat.JSON: "json",
        TranscriptFormat.HTML: "html", TranscriptFormat.TEXT: "txt"}


def _stems(transcripts: Sequence[Transcript], stem: str) -> list[str]:
    """`transcript` for the first file; `transcript-<lang>` (or `-<n>`) for further ones."""
    names: list[str] = []
    for i, t in enumerate(transcripts):
        lang = re.sub(r"[^a-z0-9-]", "", (t.language or "").lower())
        name = stem if i == 0 else f"{stem}-{lang}" if lang else f"{stem}-{i + 1}"
        if name in names:
            name = f"{stem}-{i + 1}"
        names.append(name)
    return names


def outputs_for(transcripts: Sequence[Transcript], *, stem: str = "transcript",
                title: str = "Transcript") -> list[TranscriptOutput]:
    """Every publishable file for `transcripts`, in feed order: for a timed transcript VTT,
    SRT, JSON, HTML, text; for plain text HTML and text. `title` heads the HTML page."""
    out: list[TranscriptOutput] = []
    for t, name in zip(transcripts, _stems(transcripts, stem)):
        renders: list[tuple[TranscriptFormat, str]] = []
        if t.timed:
            renders += [(TranscriptFormat.VTT, to_vtt(t)), (TranscriptFormat.SRT, to_srt(t)),
                        (TranscriptFormat.JSON, to_json(t))]
        renders += [(TranscriptFormat.HTML, html_document(t, title)),
                    (TranscriptFormat.TEXT, to_text(t))]
        out += [TranscriptOutput(f"{name}.{_EXT[fmt]}", fmt, text, t.language) for fmt, text in renders]
    return out


def write_all(transcripts: Sequence[Transcript], folder: Path, *, url_of: Callable[[Path], str],
              stem: str = "transcript", title: str = "Transcript") -> tuple[MediaFile, ...]:
    """Write every format of every transcript into `folder` and describe each for the feed.

    Each file is written atomically and left untouched when its bytes are unchanged.
    `url_of(path)` gives a written file's public URL (e.g. via `layout.url_for`).
    Returns one MediaFile per file (MIME from `model.TRANSCRIPT_MIME`, language, and
    rel="captions" for VTT and SRT), in the order of `outputs_for`.
    """
    files: list[MediaFile] = []
    for o in outputs_for(transcripts, stem=stem, title=title):
        path = Path(folder) / o.name
        data = o.text.encode("utf-8")
        fsutil.write_bytes(path, data)
        files.append(MediaFile(path=path, url=url_of(path), mime=o.mime, size=len(data),
                               sha256=hashlib.sha256(data).hexdigest(), language=o.language,
                               rel=o.rel))
    return tuple(files)
