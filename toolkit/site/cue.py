"""Radio cue sheets: what a board operator needs to play an episode on air.

Per episode: programme, segment, title, total duration (mm:ss), each part's start and
duration, the in-cue (first words spoken) and out-cue (last words), integrated
loudness and true peak, how much the limiter worked (with the build's warning when
that was heavy), and the slot length with what is left or how far it overruns.
Rendered as plain text (for the studio printout) and CSV (for the station's running
order spreadsheet). Pure formatting: no audio is read here, the pipeline passes the
measured numbers in:

    parts = cue.parts_from(ep.parts, assembled_part_durations)
    sheet = cue.make_sheet(ep, show_title=show.title, duration=built.audio.duration,
                           parts=parts, transcript_text=plain_text, loudness=built.loudness)
    cue.write_sheet(layout.reports(show.id, ep.slug), sheet)   # cue.txt + cue.csv
    warning = cue.check_slot(built.audio.duration, ep.max_duration)  # for `podkit check`
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from pathlib import Path

from toolkit import fsutil
from toolkit.model import AudioPart, CutOutput, Episode, Limiting, LoudnessStats, clock
from toolkit.store.record import CuePart, CueSheet  # the sheet is part of the build record

#: Words in an in-cue or out-cue.
CUE_WORDS = 6
#: Overruns smaller than this are not reported: an MP3's last frame is padded by up to
#: 1152 samples (26 ms at 44.1 kHz), which no operator can hear.
SLOT_TOLERANCE = 0.05

CSV_FIELDS = ("programme", "segment", "episode", "number", "title", "date", "duration",
              "duration_s", "slot", "slot_status", "parts", "in_cue", "out_cue",
              "integrated_lufs", "true_peak_dbtp", "limited_s", "limiter_max_db",
              "limiting_warning", "cuts")


# A speaker label at the start of a paragraph ("Host:", "Ji-hoon Seo:", "Dr. Seo:") is not
# spoken; neither are bracketed directions ("[music]", "(laughs)").
_SPEAKER_RE = re.compile(r"^\s*[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,3}:\s+", re.M)
_DIRECTION_RE = re.compile(r"\[[^\]\n]*\]|\([^)\n]*\)")


def cue_words(text: str, count: int = CUE_WORDS) -> tuple[str, str]:
    """The in-cue and out-cue of a plain-text transcript: its first and last `count` spoken words."""
    spoken = _DIRECTION_RE.sub(" ", _SPEAKER_RE.sub("", text))
    words = spoken.split()
    if not words:
        return "", ""
    return " ".join(words[:count]), " ".join(words[-count:])


def parts_from(parts: Sequence[AudioPart], durations: Sequence[float]) -> tuple[CuePart, ...]:
    """Cue parts from an episode's parts and their assembled durations, with start times
    that follow the assembly: each part starts after its gap, overlapping the previous one
    by its crossfade."""
    if len(parts) != len(durations):
        raise ValueError(f"{len(parts)} parts but {len(durations)} durations")
    out, end = [], 0.0
    for part, duration in zip(parts, durations):
        start = max(0.0, end + part.gap_s - part.crossfade_s)
        out.append(CuePart(title=part.title or part.path.stem, duration=duration, start=start))
        end = start + duration
    return tuple(out)


def make_sheet(episode: Episode, *, show_title: str, duration: float,
               parts: Sequence[CuePart] = (), transcript_text: str | None = None,
               in_cue: str | None = None, out_cue: str | None = None,
               loudness: LoudnessStats | None = None,
               limiting: Limiting | None = None, cuts: Sequence[CutOutput] = ()) -> CueSheet:
    """Assemble an episode's cue sheet. The cues come from `in_cue`/`out_cue` when given,
    else from the transcript's plain text; the programme defaults to the show's title.
    `limiting` is how hard the build's limiter worked."""
    first, last = cue_words(transcript_text or "")
    return CueSheet(
        slug=episode.slug, programme=_line(episode.programme or show_title),
        segment=_line(episode.segment or ""), title=_line(episode.title),
        date=episode.date.date().isoformat(), duration=duration, parts=tuple(parts),
        in_cue=_line(in_cue) if in_cue is not None else first,
        out_cue=_line(out_cue) if out_cue is not None else last,
        integrated=loudness.integrated if loudness else None,
        true_peak=loudness.true_peak if loudness else None,
        max_duration=episode.max_duration, number=episode.number,
        limited_s=limiting.seconds if limiting else None,
        limited_share=limiting.share if limiting else None,
        limiter_max_db=limiting.max_db if limiting else None,
        limiting_warning=limiting.warning if limiting else None, cuts=tuple(cuts))


def _line(text: str) -> str:
    # Every field of a sheet is one line: a printed sheet and a CSV cell stay readable.
    return " ".join(text.split())


def _amount(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 60 else clock(seconds)


def check_slot(duration: float, max_duration: float | None) -> str | None:
    """The warning when the built audio overruns its slot, else None.

    Example: 'runs 15:12, 12.0 s over its 15:00 slot'.
    """
    if max_duration is None:
        return None
    over = duration - max_duration
    if over <= SLOT_TOLERANCE:
        return None
    return f"runs {clock(duration)}, {_amount(over)} over its {clock(max_duration)} slot"


def _slot_status(sheet: CueSheet) -> str:
    if sheet.max_duration is None:
        return ""
    warning = check_slot(sheet.duration, sheet.max_duration)
    if warning:
        return "OVERRUN: " + warning
    return f"fits, {_amount(max(0.0, sheet.max_duration - sheet.duration))} to spare"


def _db(value: float | None, unit: str) -> str:
    return f"{value:.1f} {unit}" if value is not None else "not measured"


def _limiting(sheet: CueSheet) -> str:
    if sheet.limited_s is None or sheet.limiter_max_db is None:
        return "not measured"
    text = (f"{sheet.limited_s:.1f} s ({100 * (sheet.limited_share or 0.0):.0f} %), "
            f"up to {sheet.limiter_max_db:.1f} dB")
    return text + (f"  WARNING: {sheet.limiting_warning}" if sheet.limiting_warning else "")


def render_text(sheet: CueSheet) -> str:
    """The cue sheet as plain text, one field a line (for printing in the studio)."""
    rows = [("Programme", sheet.programme), ("Segment", sheet.segment or "-"),
            ("Title", sheet.title),
            ("Episode", sheet.slug + (f" (no. {sheet.number})" if sheet.number else "")),
            ("Date", sheet.date), ("Duration", clock(sheet.duration))]
    if sheet.max_duration is not None:
        rows.append(("Slot", f"{clock(sheet.max_duration)}  {_slot_status(sheet)}"))
    rows += [("Loudness", _db(sheet.integrated, "LUFS") + " integrated"),
             ("True peak", _db(sheet.true_peak, "dBTP")),
             ("Limiting", _limiting(sheet)),
             ("In-cue", f"\"{sheet.in_cue} ...\"" if sheet.in_cue else "-"),
             ("Out-cue", f"\"... {sheet.out_cue}\"" if sheet.out_cue else "-")]
    lines = ["CUE SHEET", ""] + [f"{k + ':':<11}{v}" for k, v in rows]
    if sheet.parts:
        width = max(len(p.title) for p in sheet.parts)
        lines += ["", "Parts:"]
        for i, p in enumerate(sheet.parts, 1):
            start = clock(p.start) if p.start is not None else "-"
            lines.append(f"  {i:>2}  {start:>8}  {p.title:<{width}}  {clock(p.duration):>8}")
    for c in sheet.cuts:
        lines += ["", f"Cut {c.name.upper()}: {c.path}"] + [f"  {k + ':':<11}{v}" for k, v in cut_rows(c)]
    return "\n".join(lines) + "\n"


def slot_status(c: CutOutput) -> str:
    """A cut against its slot: 'on the slot', 'OVER by 3.2 s (cut off)', 'UNDER by 1:04 (dead air)'."""
    if c.slot is None or c.slot_error is None:
        return ""
    if abs(c.slot_error) <= c.slot_tolerance:
        return "on the slot" + (f" ({c.slot_note})" if c.slot_note else "")
    if c.slot_error > 0:
        return f"OVER by {_amount(c.slot_error)} (the end is cut off)"
    return f"UNDER by {_amount(-c.slot_error)} (dead air)"


def cut_rows(c: CutOutput) -> list[tuple[str, str]]:
    """A cut's lines on the cue sheet: slot, duration, back-time, cues, loudness."""
    rows = []
    if c.slot is not None:
        rows.append(("Slot", f"{clock(c.slot)}  {slot_status(c)}"))
    rows.append(("Duration", f"{clock(c.duration)} ({c.duration:.2f} s)"))
    # Back-time: how long before the hard out the cut starts, and its segue.
    back = f"start {clock(c.duration)} before the end of the slot"
    if c.segue is not None:
        back += f"; segue (closing bed) at {clock(c.segue)}, {clock(c.duration - c.segue)} before the end"
    rows += [("Back-time", back),
             ("In-cue", f"\"{c.in_cue} ...\"" if c.in_cue else "-"),
             ("Out-cue", f"\"... {c.out_cue}\"" if c.out_cue else "-"),
             ("Loudness", f"{c.integrated:.1f} LUFS, {c.true_peak:.1f} dBTP (target "
                          f"{c.target:g} LUFS, ceiling {c.ceiling:g} dBTP)"),
             ("Cart", c.cart or "-")]
    return rows


def _parts_cell(parts: Sequence[CuePart]) -> str:
    return " | ".join(f"{i}. {p.title} {clock(p.duration)}" for i, p in enumerate(parts, 1))


#: What makes a spreadsheet read a cell as a formula (OWASP "CSV injection"): `=`, `+`, `-`,
#: `@`, and tab or CR before one of them. Free-text cells that start so get a leading `'`,
#: which Excel, LibreOffice and Google Sheets show as text and never evaluate.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def text_cell(text: str) -> str:
    """A free-text CSV cell that no spreadsheet evaluates as a formula (see _FORMULA_START)."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def render_csv(sheets: Sequence[CueSheet]) -> str:
    """Cue sheets as CSV (RFC 4180, CRLF line ends, a header row, one row per episode).

    Titles, cues and part names come from producers and transcripts: a cell starting
    with `=`, `+`, `-` or `@` is written with a leading `'` so it stays text (numbers are
    podkit's own and left as they are).
    """
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\r\n")
    writer.writeheader()
    for s in sheets:
        writer.writerow({
            "programme": text_cell(s.programme), "segment": text_cell(s.segment),
            "episode": s.slug, "number": s.number if s.number is not None else "",
            "title": text_cell(s.title), "date": s.date,
            "duration": clock(s.duration), "duration_s": f"{s.duration:.2f}",
            "slot": clock(s.max_duration) if s.max_duration is not None else "",
            "slot_status": _slot_status(s), "parts": text_cell(_parts_cell(s.parts)),
            "in_cue": text_cell(s.in_cue), "out_cue": text_cell(s.out_cue),
            "integrated_lufs": f"{s.integrated:.1f}" if s.integrated is not None else "",
            "true_peak_dbtp": f"{s.true_peak:.1f}" if s.true_peak is not None else "",
            "limited_s": f"{s.limited_s:.1f}" if s.limited_s is not None else "",
            "limiter_max_db": f"{s.limiter_max_db:.1f}" if s.limiter_max_db is not None else "",
            "limiting_warning": s.limiting_warning or "",
            "cuts": text_cell(" | ".join(
                f"{c.name} {c.path.rsplit('/', 1)[-1]} {clock(c.duration)}"
                + (f" slot {clock(c.slot)} {slot_status(c)}" if c.slot is not None else "")
                for c in s.cuts))})
    return buf.getvalue()


def write_sheet(folder: Path, sheet: CueSheet) -> list[Path]:
    """Write `cue.txt` and `cue.csv` into `folder` atomically; returns the files that changed."""
    written = []
    for name, text in (("cue.txt", render_text(sheet)), ("cue.csv", render_csv([sheet]))):
        path = Path(folder) / name
        if fsutil.write_text(path, text):
            written.append(path)
    return written
