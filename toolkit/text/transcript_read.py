"""Reading transcripts: bytes to text, then plain text, SRT, WebVTT or Podcast Index JSON to cues.

Every problem names the transcript file and where in it (byte offset, line, cue number
and time), so a producer can open the file at the right place. Nothing here knows
the audio; `toolkit.text.transcript.load` validates the times against it.
"""
from __future__ import annotations

import codecs
import html
import json
import logging
import math
import re
import sys
from dataclasses import replace
from pathlib import Path

from toolkit.errors import ConfigError
from toolkit.model import Cue
from toolkit.text.speakers import recognised, split_speaker, text_turns

log = logging.getLogger(__name__)

#: (path, codec) already warned about in this process.
_warned: set[tuple[str, str]] = set()


# ---- bytes to text -------------------------------------------------------------------------

def decode(data: bytes, path: Path) -> str:
    """Text of a transcript file: UTF-8 (BOM optional), or UTF-16/32 with a byte-order mark.

    A BOM makes UTF-16 and UTF-32 unambiguous, so those are decoded with a warning. Any
    other non-UTF-8 input (Latin-1, Windows-1252, UTF-16 without BOM) is an error naming the
    byte offset, line and column: guessing a legacy code page would silently garble names.
    Line ends are normalized to LF.
    """
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                       (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        # UTF-32 first: its little-endian BOM begins with the UTF-16 one.
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError as exc:
                raise ConfigError(f"starts with a {codec.upper()} byte-order mark but is not valid "
                                  f"{codec.upper()} ({exc.reason})", path=path,
                                  field=f"byte {exc.start}") from exc
            if (str(path), codec) not in _warned:  # a build reads a transcript more than once
                _warned.add((str(path), codec))
                log.warning("%s: decoded as %s (byte-order mark found); UTF-8 is preferred",
                            path, codec.upper())
            return _newlines(text)
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    if b"\x00" in data:
        at = data.index(b"\x00")
        raise ConfigError("contains NUL bytes: probably UTF-16 without a byte-order mark; "
                          "save it as UTF-8", path=path, field=f"byte {at}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        bad = data[exc.start:exc.start + 1].hex().upper()
        raise ConfigError(f"not valid UTF-8: byte 0x{bad} at line {line}, column {col} "
                          "(Latin-1/Windows-1252?); save the file as UTF-8", path=path,
                          field=f"byte {exc.start}") from exc
    return _newlines(text)


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


# ---- plain text --------------------------------------------------------------------------------

def lines_to_drop(lines: list[str], drop: tuple[int, ...], path: Path,
                  until: str | None = None, matching: tuple[str, ...] = ()) -> list[int]:
    """The indices into `lines` that the drop rules name, in file order (see `drop_rules`)."""
    return sorted(drop_rules(lines, drop, path, until, matching))


def drop_rules(lines: list[str], drop: tuple[int, ...], path: Path,
               until: str | None = None, matching: tuple[str, ...] = ()) -> dict[int, str]:
    """{index into `lines`: the rule that drops it} for the three drop rules of a transcript.

    `drop` (drop_lines) counts only lines that hold text (blank lines between a page's
    headings are not lines a producer sees as such): 1 is the first line with text, -1
    the last. `until` (drop_until) drops every line up to and including the first one
    the pattern matches; `matching` (drop_matching) drops each line one of its patterns
    matches. Patterns are regular expressions searched in the line (`re.search`): they
    suit a weekly page scrape whose header and footer move. All rules see the file as it
    is, and a line any of them names goes. ConfigError for 0, a number past the lines of
    text, or a drop_until that matches no line (the page changed: better to stop than to
    publish its header).
    """
    text_lines = [i for i, ln in enumerate(lines) if ln.strip()]
    gone: dict[int, str] = {}
    if until is not None:
        rx = re.compile(until)
        first = next((i for i in text_lines if rx.search(lines[i])), None)
        if first is None:
            raise ConfigError(f"no line matches {until!r}", path=path, field="drop_until")
        gone.update((i, "drop_until") for i in text_lines if i <= first)
    for n in drop:
        if n == 0:
            raise ConfigError("line numbers start at 1 (0 names no line)", path=path,
                              field="drop_lines")
        if not -len(text_lines) <= n <= len(text_lines):
            raise ConfigError(f"line {n} does not exist: the file has {len(text_lines)} lines of "
                              "text", path=path, field="drop_lines")
        gone.setdefault(text_lines[n - 1 if n > 0 else n], "drop_lines")
    patterns = [re.compile(p) for p in matching]
    for i in text_lines:
        if i not in gone and any(rx.search(lines[i]) for rx in patterns):
            gone[i] = "drop_matching"
    return gone


def drop_lines(lines: list[str], drop: tuple[int, ...], path: Path,
               until: str | None = None, matching: tuple[str, ...] = ()) -> list[str]:
    """`lines` without the lines the drop rules name (see `drop_rules`)."""
    gone = drop_rules(lines, drop, path, until, matching)
    number = {i: n for n, i in enumerate((i for i, ln in enumerate(lines) if ln.strip()), 1)}
    for idx in sorted(gone):
        # Logged so a producer can see at a glance that the right lines went; numbered as
        # drop_lines counts (lines of text), like `podkit transcript`.
        log.info("%s: dropping line %d: %r (%s)", path, number[idx], lines[idx][:80], gone[idx])
    return [ln for i, ln in enumerate(lines) if i not in gone]


def parse_text(text: str, path: Path, drop: tuple[int, ...] = (), until: str | None = None,
               matching: tuple[str, ...] = ()) -> list[Cue]:
    """Paragraphs (separated by blank lines) as untimed cues.

    Lines inside a paragraph are joined with a space; a line that starts with
    `Speaker:` starts a new cue for that speaker. The words are kept as written.
    """
    lines = drop_lines(text.split("\n"), drop, path, until, matching)
    speakers = recognised(text_turns(lines))
    cues: list[Cue] = []
    speaker: str | None = None
    buf: list[str] = []

    def flush() -> None:
        nonlocal buf, speaker
        if buf:
            cues.append(Cue(text=" ".join(buf), speaker=speaker))
        buf, speaker = [], None

    for raw in lines:
        line = " ".join(raw.split())  # tabs, runs of spaces, non-breaking spaces: one space
        if not line:
            flush()
            continue
        who, rest = split_speaker(line)
        if who is not None and who in speakers:
            flush()
            speaker = who
            line = rest
        buf.append(line)
    flush()
    return cues


# ---- SRT and WebVTT ----------------------------------------------------------------------------

_SRT_TIME = r"(\d+):(\d{1,2}):(\d{1,2})[,.](\d{1,3})"
_SRT_TIMING_RE = re.compile(rf"^\s*{_SRT_TIME}\s*-->\s*{_SRT_TIME}")
_VTT_TIME = r"(?:(\d+):)?(\d{2}):(\d{2})\.(\d{3})"
_VTT_TIMING_RE = re.compile(rf"^\s*{_VTT_TIME}[ \t]+-->[ \t]+{_VTT_TIME}(?:[ \t].*)?$")
_VOICE_RE = re.compile(r"<v(?:\.[^\s>]*)?(?:[ \t]+([^>]*))?>")
_TAG_RE = re.compile(r"<[^>]*>|\{\\[^}]*\}")   # markup tags, and ASS overrides like {\an8}


def _seconds(h: str | None, m: str, s: str, frac: str) -> float:
    return int(h or 0) * 3600 + int(m) * 60 + int(s) + int(frac.ljust(3, "0")) / 1000


def _blocks(text: str) -> list[tuple[int, list[str]]]:
    """(first line number, lines) of each blank-line separated block."""
    out: list[tuple[int, list[str]]] = []
    cur: list[str] = []
    start = 1
    for i, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            if not cur:
                start = i
            cur.append(line.rstrip())
        elif cur:
            out.append((start, cur))
            cur = []
    if cur:
        out.append((start, cur))
    return out


def _clean(lines: list[str]) -> str:
    """Caption text without markup, entities decoded, caption line breaks kept."""
    text = "\n".join(html.unescape(_TAG_RE.sub("", ln)).strip() for ln in lines)
    return "\n".join(ln for ln in text.split("\n") if ln)


def parse_srt(text: str, path: Path) -> list[Cue]:
    """SubRip cues: optional number line, `hh:mm:ss,mmm --> hh:mm:ss,mmm`, text lines.

    A leading `Name:` names the speaker (the Podcast Index SRT convention).
    """
    cues: list[Cue] = []
    found: list[tuple[str | None, str]] = []
    for n, (line_no, lines) in enumerate(_blocks(text), start=1):
        idx = 1 if lines[0].strip().isdigit() and len(lines) > 1 else 0
        m = _SRT_TIMING_RE.match(lines[idx])
        if not m:
            raise ConfigError(f"line {line_no + idx}: expected a timing line "
                              f"'hh:mm:ss,mmm --> hh:mm:ss,mmm', found {lines[idx][:60]!r}",
                              path=path, field=f"cue {n}")
        body = _clean(lines[idx + 1:])
        if not body:
            continue  # an empty caption carries nothing to transcribe
        speaker, rest = split_speaker(body)
        cues.append(Cue(text=body, speaker=speaker, start=_seconds(*m.group(1, 2, 3, 4)),
                        end=_seconds(*m.group(5, 6, 7, 8))))
        found.append((speaker, rest))
    return _keep_speakers(cues, found, [c.speaker for c in cues])


def _keep_speakers(cues: list[Cue], found: list[tuple[str | None, str]],
                   turns: list[str | None]) -> list[Cue]:
    """Cues whose `Name:` prefix `recognised` accepts lose it and name their speaker; the
    others keep the prefix as text. `found` is (name or None, text after it) per cue."""
    speakers = recognised(turns)
    out = []
    for cue, (name, rest) in zip(cues, found):
        if name is None:
            out.append(cue)
        elif name in speakers:
            out.append(replace(cue, text=rest, speaker=name))
        else:
            out.append(replace(cue, speaker=None))
    return out


def parse_vtt(text: str, path: Path) -> list[Cue]:
    """WebVTT cues; `<v Speaker>` voice spans (or a leading `Name:`) name the speaker.

    A cue holding several voices becomes one cue per voice, with the same times.
    NOTE, STYLE and REGION blocks and the header are skipped.
    """
    first = text.split("\n", 1)[0]
    if not re.match(r"^WEBVTT(?:[ \t].*)?$", first.lstrip("\ufeff")):
        raise ConfigError(f"line 1: a WebVTT file starts with 'WEBVTT', found {first[:40]!r}",
                          path=path, field="header")
    cues: list[Cue] = []
    found: list[tuple[str | None, str]] = []
    blocks = _blocks(text)[1:]  # the first block is the header
    n = 0
    for line_no, lines in blocks:
        if re.match(r"^(NOTE|STYLE|REGION)(?:[ \t]|$)", lines[0]):
            continue
        n += 1
        idx = 0 if "-->" in lines[0] else 1
        m = _VTT_TIMING_RE.match(lines[idx]) if idx < len(lines) else None
        if not m:
            where = lines[idx] if idx < len(lines) else lines[0]
            raise ConfigError(f"line {line_no + idx}: expected a timing line "
                              f"'hh:mm:ss.mmm --> hh:mm:ss.mmm', found {where[:60]!r}",
                              path=path, field=f"cue {n}")
        start = _seconds(*m.group(1, 2, 3, 4))
        end = _seconds(*m.group(5, 6, 7, 8))
        payload = "\n".join(lines[idx + 1:])
        for speaker, chunk in _voices(payload):
            body = _clean(chunk.split("\n"))
            if not body:
                continue
            name, rest = split_speaker(body) if speaker is None else (None, body)
            cues.append(Cue(text=body, speaker=speaker or name, start=start, end=end))
            found.append((name, rest))
    return _keep_speakers(cues, found, [c.speaker for c in cues])


def _voices(payload: str) -> list[tuple[str | None, str]]:
    """Split a cue payload at its `<v Name>` tags: (speaker or None, text) pieces."""
    pieces: list[tuple[str | None, str]] = []
    pos, speaker = 0, None
    for m in _VOICE_RE.finditer(payload):
        if payload[pos:m.start()].strip():
            pieces.append((speaker, payload[pos:m.start()]))
        speaker = " ".join(html.unescape(m.group(1) or "").split()) or None
        pos = m.end()
    pieces.append((speaker, payload[pos:]))
    return pieces


# ---- Podcast Index JSON --------------------------------------------------------------------------

def parse_json(text: str, path: Path) -> list[Cue]:
    """Podcast Index transcript JSON: `{"version": "1.0.0", "segments": [{startTime, endTime,
    body, speaker}...]}`. `endTime` may be missing (filled from the next start later)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}",
                          path=path, field="json") from exc
    except RecursionError as exc:
        # The C decoder recurses once per '[' or '{': 100,000 of them exhaust the stack.
        raise ConfigError("not valid JSON: arrays or objects nested too deeply", path=path,
                          field="json") from exc
    except ValueError as exc:
        # int() refuses over 4300 digits (CVE-2020-10735); json.loads lets that through.
        raise ConfigError(f"not valid JSON: {_long_number(text)}", path=path,
                          field="json") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("segments"), list):
        raise ConfigError("expected an object with a 'segments' list (Podcast Index transcript "
                          "JSON)", path=path, field="segments")
    if not str(doc.get("version", "")).startswith("1."):
        log.warning("%s: transcript JSON version %r; reading it as 1.0.0", path, doc.get("version"))
    cues: list[Cue] = []
    for i, seg in enumerate(doc["segments"]):
        field = f"segments[{i}]"
        if not isinstance(seg, dict):
            raise ConfigError("each segment must be an object", path=path, field=field)
        start, end = seg.get("startTime"), seg.get("endTime")
        body, speaker = seg.get("body"), seg.get("speaker")
        if not _number(start):
            raise ConfigError(f"startTime must be a number of seconds, not {start!r}", path=path,
                              field=f"{field}.startTime")
        if end is not None and not _number(end):
            raise ConfigError(f"endTime must be a number of seconds, not {end!r}", path=path,
                              field=f"{field}.endTime")
        if not isinstance(body, str):
            raise ConfigError(f"body must be a string, not {body!r}", path=path, field=f"{field}.body")
        if speaker is not None and not isinstance(speaker, str):
            raise ConfigError(f"speaker must be a string, not {speaker!r}", path=path,
                              field=f"{field}.speaker")
        text_ = " ".join(body.split())
        if text_:
            cues.append(Cue(text=text_, speaker=" ".join(speaker.split()) or None if speaker else None,
                            start=float(start), end=float(end) if end is not None else None))
    return cues


def _long_number(text: str) -> str:
    m = re.search(r"\d{" + str(sys.get_int_max_str_digits() + 1) + ",}", text)
    if m is None:
        return "a value Python cannot read"
    line = text.count("\n", 0, m.start()) + 1
    return f"line {line}: a number of {len(m.group())} digits (no time needs more than 12)"


def _number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    # json.loads accepts NaN and Infinity, which are no time; nor is a 40-digit integer.
    return abs(value) < 1e12 and math.isfinite(value)
