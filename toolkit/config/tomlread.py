"""Typed reading of TOML tables that collects every problem instead of stopping at the first.

`podkit check` must list all problems at once, one line each as `path: field: message`.
A `Table` hands out typed values, records a Problem for each wrong or missing one
(returning a default so loading can go on), and reports keys nobody asked for: a typo
such as `titel` must not pass silently.
"""
from __future__ import annotations

import codecs
import datetime as dt
import difflib
import errno
import functools
import math
import os
import re
import stat
import sys
import tomllib
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

from toolkit import fsutil
from toolkit.errors import Problem, Severity
from toolkit.standards.contenttypes import NOT_XML_RE

E = TypeVar("E", bound=Enum)

_TIME_RE = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")
# NOT_XML_RE: in a TOML string such characters can only come from an escape such as
# "\u0001" or from text decoded with the wrong code page, so they are refused where they
# are written rather than dropped on the way into the feed.
def text_problem(value: str) -> str | None:
    """Why `value` cannot be written as text into a TOML file and a feed (None: it can):
    invalid UTF-8 (from a command line, decoded with surrogate escapes), or a character
    XML cannot carry (a control character)."""
    m = NOT_XML_RE.search(value)
    if m is None:
        return None
    ch = m.group()
    if "\ud800" <= ch <= "\udfff":
        return f"is not valid UTF-8 (at character {m.start() + 1})"
    return (f"contains U+{ord(ch):04X}, a character XML cannot carry (a control character), at "
            f"character {m.start() + 1}: remove or retype it")


_TYPE_NAMES = {str: "a string", bool: "true or false", int: "an integer", float: "a number",
               list: "a list", dict: "a table"}


def parse_toml(path: Path, problems: list[Problem], shown: str) -> dict[str, Any] | None:
    """Read a TOML file; on failure record the problem (with line and column) and return None.

    Only a regular file of at most `fsutil.MAX_TOML_BYTES` is read (a FIFO named .toml
    would block forever). Input built to exhaust the parser (arrays nested thousands deep,
    integers of thousands of digits) is one problem like any syntax error.
    """
    try:
        raw = fsutil.read_source(path, fsutil.MAX_TOML_BYTES)
    except fsutil.SourceError as exc:
        problems.append(Problem(shown, "file", exc.message))
        return None
    skip = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0  # Notepad writes one
    try:
        text = raw[skip:].decode("utf-8")
    except UnicodeDecodeError as exc:
        at = exc.start + skip
        line = raw.count(b"\n", 0, at) + 1
        col = at - (raw.rfind(b"\n", 0, at) + 1) + 1
        problems.append(Problem(shown, "file", f"not UTF-8: byte 0x{raw[at]:02X} at line {line}, "
                                f"column {col} (offset {at}); save the file as UTF-8"))
        return None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib says "Invalid value (at line 3, column 9)": keep its position words.
        problems.append(Problem(shown, "toml", f"syntax error: {exc}"))
    except RecursionError:
        # tomllib recurses once per nesting level: a few thousand '[' exhaust the stack.
        problems.append(Problem(shown, "toml", "syntax error: arrays or tables nested too deeply "
                                "(more than Python's recursion limit)"))
    except ValueError:
        # int() refuses over 4300 digits (CVE-2020-10735), which tomllib does not catch.
        problems.append(Problem(shown, "toml", f"syntax error: {_long_number(text)}"))
    return None


def _long_number(text: str) -> str:
    """Where the over-long integer that stopped tomllib is, for the message."""
    m = re.search(r"\d[\d_]{" + str(sys.get_int_max_str_digits() - 1) + ",}", text)
    if m is None:
        return "a value tomllib cannot read"
    digits = sum(c.isdigit() for c in m.group())
    return (f"line {text.count(chr(10), 0, m.start()) + 1}: an integer of {digits} digits "
            "(TOML integers are 64-bit)")


def parse_time(value: Any) -> float | None:
    """Seconds from a number or an 'mm:ss' / 'h:mm:ss(.fff)' string; None if it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        # TOML has nan and inf, which are no time (and NaN passes every comparison).
        return float(value) if abs(value) < 1e12 and math.isfinite(value) else None
    if isinstance(value, str):
        m = _TIME_RE.match(value.strip())
        if m:
            hours = int(m.group(1) or 0)
            return hours * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    return None


class Table:
    """A TOML table being read, with its display path and field prefix."""

    def __init__(self, data: dict[str, Any], shown: str, problems: list[Problem],
                 prefix: str = "") -> None:
        self.data = data
        self.shown = shown
        self.problems = problems
        self.prefix = prefix
        self._seen: set[str] = set()

    def field(self, key: str) -> str:
        """The dotted field name of `key` as messages show it."""
        return f"{self.prefix}{key}"

    def error(self, key: str, message: str) -> None:
        """Record an error about `key`."""
        self.problems.append(Problem(self.shown, self.field(key), message))

    def warn(self, key: str, message: str) -> None:
        """Record a warning about `key`."""
        self.problems.append(Problem(self.shown, self.field(key), message, Severity.WARNING))

    def has(self, key: str) -> bool:
        """True when the key is present (and marks it as known)."""
        self._seen.add(key)
        return key in self.data

    def get(self, key: str, kind: type, *, required: bool = False, default: Any = None) -> Any:
        """The value of `key` if it has type `kind`; else record a problem and return default."""
        self._seen.add(key)
        if key not in self.data:
            if required:
                self.error(key, "missing (required)")
            return default
        value = self.data[key]
        ok = isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            if abs(value) >= 1e300:  # TOML integers are 64-bit, but tomllib reads any length
                self.error(key, f"is out of range ({len(str(value))} digits)")
                return default
            return float(value)
        if not ok:
            self.error(key, f"must be {_TYPE_NAMES.get(kind, kind.__name__)}, "
                            f"not {_describe(value)}")
            return default
        return value

    def text(self, key: str, *, required: bool = False, default: str | None = None) -> str | None:
        """A string value, stripped; an empty required string is a problem."""
        value = self.get(key, str, required=required, default=default)
        if isinstance(value, str):
            self.check_chars(key, value)
            value = value.strip()
            if required and not value:
                self.error(key, "must not be empty")
        return value

    def check_chars(self, key: str, value: str) -> bool:
        """Record a problem (and return False) when `value` holds a character XML cannot carry."""
        m = NOT_XML_RE.search(value)
        if m is None:
            return True
        ch = m.group()
        hint = ""
        if "\x80" <= ch <= "\x9f":
            try:  # a C1 control is usually a Windows-1252 character decoded as Latin-1
                hint = f" (as Windows-1252 it would be {bytes([ord(ch)]).decode('cp1252')!r})"
            except UnicodeDecodeError:
                pass
        self.error(key, f"contains U+{ord(ch):04X}, a character XML cannot carry, at "
                        f"character {m.start() + 1}{hint}: remove or retype it")
        return False

    def choice(self, key: str, kind: type[E], default: E) -> E:
        """One of an Enum's values (`default` when absent; an error listing the values when not)."""
        text = self.text(key, default=default.value)
        try:
            return kind(text)
        except ValueError:
            allowed = ", ".join(repr(m.value) for m in kind)
            self.error(key, f"must be one of {allowed}, not {text!r}")
            return default

    def integer(self, key: str, *, required: bool = False, positive: bool = False) -> int | None:
        """An integer value; `positive` requires it to be at least 1."""
        value = self.get(key, int, required=required)
        if value is not None and positive and value < 1:
            self.error(key, f"must be a positive integer, not {value}")
            return None
        return value

    def number(self, key: str, *, default: float | None = None,
               minimum: float | None = None, maximum: float | None = None) -> float | None:
        """A float (integers accepted) within optional bounds."""
        value = self.get(key, float, default=default)
        if value is not None and not math.isfinite(value):
            self.error(key, f"must be a finite number, not {value}")
            return default
        if value is not None and ((minimum is not None and value < minimum)
                                  or (maximum is not None and value > maximum)):
            self.error(key, f"must be between {minimum} and {maximum}, not {value}")
            return default
        return value

    def flag(self, key: str, *, default: bool | None = None, required: bool = False) -> bool | None:
        """A boolean value (TOML true/false; "yes" is a problem)."""
        return self.get(key, bool, default=default, required=required)

    def time(self, key: str, *, required: bool = False) -> float | None:
        """A duration or offset in seconds from a number or 'mm:ss' / 'h:mm:ss' text."""
        self._seen.add(key)
        if key not in self.data:
            if required:
                self.error(key, "missing (required)")
            return None
        seconds = parse_time(self.data[key])
        if seconds is None or seconds < 0:
            self.error(key, f"must be seconds or 'mm:ss' / 'h:mm:ss', not {self.data[key]!r}")
        return seconds

    def datetime(self, key: str, *, required: bool = False) -> dt.datetime | None:
        """An offset date-time; a date or a date-time without a time zone is a problem."""
        self._seen.add(key)
        if key not in self.data:
            if required:
                self.error(key, "missing (required)")
            return None
        value = self.data[key]
        if isinstance(value, str):
            try:
                value = dt.datetime.fromisoformat(value)
            except ValueError:
                self.error(key, f"not a date-time: {value!r} (write e.g. 2019-03-07T18:00:00+09:00)")
                return None
        if isinstance(value, dt.datetime):
            if value.tzinfo is None or value.utcoffset() is None:
                self.error(key, f"{value.isoformat()} has no time zone "
                                f"(write e.g. {value.isoformat()}+09:00 or ...Z for UTC)")
                return None
            return value
        if isinstance(value, dt.date):
            self.error(key, f"{value.isoformat()} needs a time and a time zone "
                            f"(write e.g. {value.isoformat()}T09:00:00+09:00)")
            return None
        self.error(key, f"must be a date-time with time zone, not {_describe(value)}")
        return None

    def strings(self, key: str) -> tuple[str, ...]:
        """A list of strings (default empty)."""
        value = self.get(key, list, default=[])
        out = []
        for i, item in enumerate(value):
            if isinstance(item, str):
                self.check_chars(f"{key}[{i}]", item)
                out.append(item.strip())
            else:
                self.error(f"{key}[{i}]", f"must be a string, not {_describe(item)}")
        return tuple(out)

    def table(self, key: str) -> Table | None:
        """A sub-table, or None when absent or of the wrong type."""
        value = self.get(key, dict)
        return Table(value, self.shown, self.problems, f"{self.field(key)}.") if value is not None else None

    def tables(self, key: str) -> Iterator[Table]:
        """Each table of an array of tables (`[[key]]`)."""
        value = self.get(key, list, default=[])
        for i, item in enumerate(value):
            if isinstance(item, dict):
                yield Table(item, self.shown, self.problems, f"{self.field(key)}[{i}].")
            else:
                self.error(f"{key}[{i}]", f"must be a table, not {_describe(item)}")

    def file(self, key: str, base: Path, *, required: bool = False) -> Path | None:
        """A file path relative to `base` that must exist, be readable and stay inside `base`."""
        name = self.text(key, required=required)
        if not name:
            return None
        return self.check_file(key, name, base)

    def check_file(self, key: str, name: str, base: Path) -> Path | None:
        """Resolve `name` against `base`; record a problem if it escapes, is missing, is not
        a regular file (a folder, a FIFO: never opened) or cannot be read."""
        rel = Path(name)
        if rel.is_absolute() or ".." in rel.parts:
            self.error(key, f"{name!r} must be a path inside {base.name}/ (no '..', not absolute)")
            return None
        path = base / rel
        try:
            inside = _inside(path, rel, base)
        except RuntimeError:  # Python 3.11 and 3.12 raise it for a symlink loop
            self.error(key, f"{name!r} is a symlink loop (a link that points back to itself)")
            return None
        except OSError as exc:
            self.error(key, f"{name!r} {fsutil.os_problem(exc)}")
            return None
        if not inside:
            self.error(key, f"{name!r} points outside {base.name}/ (through a symlink)")
            return None
        try:
            st = path.stat()
        except OSError as exc:
            missing = exc.errno in (errno.ENOENT, errno.ENOTDIR)
            self.error(key, f"file not found: {name}" if missing
                       else f"{name!r} {fsutil.os_problem(exc)}")
            return None
        words = fsutil.kind_problem(st.st_mode)
        if words:
            self.error(key, f"{name} {words}")
            return None
        try:
            # Non-blocking: were the file swapped for a FIFO since stat, this must not hang.
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            try:
                os.read(fd, 1)
            finally:
                os.close(fd)
        except OSError as exc:
            self.error(key, f"cannot read {name}: {exc.strerror}")
            return None
        return path

    def finish(self) -> None:
        """Record every key that no reader asked for (typos, unsupported options)."""
        for key in self.data:
            if key not in self._seen:
                # difflib's similarity ratio catches a dropped, doubled or swapped letter in
                # any key (`sumary`, `chapers`); the cutoff is difflib's own default.
                close = difflib.get_close_matches(key, sorted(self._seen), n=1, cutoff=0.6)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.error(key, f"unknown key{hint}")


@functools.lru_cache(maxsize=4096)
def _resolved(base: Path) -> Path:
    # Every file of an episode is checked against its folder: resolve the folder once.
    return base.resolve()


def _inside(path: Path, rel: Path, base: Path) -> bool:
    """True when `path` (base / rel) stays inside `base`, following symlinks.

    A plain name that is not a symlink cannot leave its folder: one lstat instead of a
    full resolve (a 2,000-episode catalogue checks 8,000 such names per command).
    """
    if len(rel.parts) == 1:
        try:
            if not stat.S_ISLNK(os.lstat(path).st_mode):
                return True
        except FileNotFoundError:
            return True     # missing: the stat that follows says so
    return path.resolve().is_relative_to(_resolved(base))


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, str):
        short = value if len(value) <= 30 else value[:27] + "..."
        return f"{short!r} (a string)"
    if isinstance(value, (int, float)):
        return f"{value} (a number)"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__
