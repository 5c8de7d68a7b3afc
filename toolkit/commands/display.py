"""Terminal output for the CLI: per-episode progress, tables. Only the CLI imports this."""
from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import TextIO

import click


class EpisodeProgress:
    """Progress of a build: on a terminal, a line per running job and a totals line, redrawn
    in place; otherwise plain lines, one per stage change. Episodes that need no work
    ("unchanged") are only counted: a 2,000-episode catalogue must not scroll by.

    Used as the `progress(key, stage, fraction)` callback of toolkit.runner.
    """

    FINAL = ("done", "failed", "unchanged")

    def __init__(self, keys: Sequence[str], stream: TextIO | None = None,
                 enabled: bool = True) -> None:
        self.keys = list(keys)
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = self.stream.isatty()
        self.state: dict[str, tuple[str, float]] = {k: ("waiting", 0.0) for k in self.keys}
        self.started: dict[str, float] = {}
        self.drawn = 0
        self.last_draw = 0.0
        self.width = max((len(k) for k in self.keys), default=10)

    def __call__(self, key: str, stage: str, fraction: float) -> None:
        if not self.enabled:
            return
        previous = self.state.get(key, ("", 0.0))[0]
        self.started.setdefault(key, time.monotonic())
        self.state[key] = (stage, fraction)
        if key not in self.keys:
            self.keys.append(key)
        if self.tty:
            # Redraw at most ten times a second; always when a job finishes.
            if stage in ("done", "failed") or time.monotonic() - self.last_draw > 0.1:
                self._draw()
        elif stage != previous and stage != "unchanged":
            # Not a terminal (CI, a log file): one plain line per stage change.
            elapsed = time.monotonic() - self.started[key]
            self.stream.write(f"{key}: {stage}" + (f" ({elapsed:.1f} s)" if stage in ("done", "failed") else "") + "\n")
            self.stream.flush()

    def _describe(self, key: str) -> str:
        stage, fraction = self.state[key]
        bar_len = 20
        filled = int(round(max(0.0, min(1.0, fraction)) * bar_len))
        return f"{stage:<12} [{'#' * filled}{'.' * (bar_len - filled)}] {fraction:4.0%}"

    def _draw(self) -> None:
        if self.drawn:
            self.stream.write(f"\x1b[{self.drawn}F")  # back to the first line we drew
        running = [k for k in self.keys if self.state[k][0] not in (*self.FINAL, "waiting")]
        counts = {s: sum(v[0] == s for v in self.state.values()) for s in (*self.FINAL, "waiting")}
        lines = [f"{k:<{self.width}}  {self._describe(k)}" for k in running]
        lines.append(f"{counts['done']} built, {counts['unchanged']} unchanged, "
                     f"{counts['failed']} failed, {counts['waiting']} waiting")
        for line in lines:
            self.stream.write(f"\x1b[2K{line}\n")
        for _ in range(self.drawn - len(lines)):   # clear what the last drawing left below
            self.stream.write("\x1b[2K\n")
        self.drawn = max(self.drawn, len(lines))
        self.last_draw = time.monotonic()
        self.stream.flush()

    def close(self) -> None:
        """Draw the final state (on a terminal)."""
        if self.enabled and self.tty:
            self._draw()


class TransferProgress:
    """A one-line upload bar (bytes, rate, files) for `podkit publish`; silent off a terminal."""

    def __init__(self, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled and self.stream.isatty()
        self.last = 0.0
        self.shown = False

    def __call__(self, p: object) -> None:
        if not self.enabled or time.monotonic() - self.last < 0.1:
            return
        self.last = time.monotonic()
        done, total = getattr(p, "bytes_done"), max(1, getattr(p, "bytes_total"))
        rate = done / max(1e-6, getattr(p, "elapsed"))
        width = 24
        filled = int(width * done / total)
        self.stream.write(f"\r\x1b[2Kuploading [{'#' * filled}{'.' * (width - filled)}] "
                          f"{done / 1e6:.1f}/{total / 1e6:.1f} MB  {rate / 1e6:.1f} MB/s  "
                          f"files {getattr(p, 'files_done')}/{getattr(p, 'files_total')}")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        """End the bar's line."""
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


def table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> str:
    """A plain aligned text table (numbers right-aligned)."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    numeric = [all(_is_number(r[i]) for r in cells[1:]) and len(cells) > 1
               for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("  ".join(c.rjust(w) if numeric[i] and n else c.ljust(w)
                               for i, (c, w) in enumerate(zip(row, widths))).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _is_number(text: str) -> bool:
    try:
        float(text.replace("+", ""))
    except ValueError:
        return text in ("", "-inf", "n/a")
    return True


def echo_warnings(lines: Sequence[str], err: bool = True) -> int:
    """Print each distinct warning line once (on stderr, or stdout with `err=False`), in
    first-seen order; return how many.

    One command may meet the same warning more than once (an episode's record read by two
    steps, one file checked twice): shown once, it stays worth reading.
    """
    unique = list(dict.fromkeys(lines))
    for line in unique:
        click.echo(line, err=err)
    return len(unique)

