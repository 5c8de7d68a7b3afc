"""The errors podkit raises: one base class, a few kinds, each naming a file and a field.

The CLI catches `PodkitError` in one place and prints `str(err)`, which is always
one line of the form `path: field: message` (path and field when known). Anything
that is not a PodkitError is a bug and gets a traceback.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path


class Severity(str, Enum):
    """How bad a problem is: errors fail a command, warnings are only listed."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One finding about one file and field, as `podkit check` lists them."""

    path: str
    field: str
    message: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        return format_location(self.path, self.field, self.message, self.severity)


def format_location(path: str | Path | None, field: str | None, message: str,
                    severity: Severity = Severity.ERROR) -> str:
    """Render `path: field: message` on one line, leaving out unknown parts."""
    # A file or TOML key may hold a newline or another line separator: show it escaped.
    parts = [_one_line(str(p)) for p in (path, field) if p not in (None, "")]
    text = " ".join(message.split())  # one line, whatever the message held
    if severity is Severity.WARNING:
        text = f"warning: {text}"
    return ": ".join([*parts, text])


def _one_line(text: str) -> str:
    """`text` with anything unprintable (newlines, U+2028, controls) backslash-escaped."""
    return text if text.isprintable() else "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


class PodkitError(Exception):
    """Base of every error a user can cause; its text is one line naming file and field."""

    exit_code = 1

    def __init__(self, message: str, *, path: str | Path | None = None,
                 field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.field = field

    def __str__(self) -> str:
        return format_location(self.path, self.field, self.message)


class ConfigError(PodkitError):
    """A feed or episode definition is wrong (TOML, unknown key, wrong type, bad value)."""


class ProblemsError(ConfigError):
    """Several problems found at once (podkit lists all of them, not the first)."""

    def __init__(self, problems: list[Problem]) -> None:
        errors = [p for p in problems if p.severity is Severity.ERROR]
        first = errors[0] if errors else problems[0]
        super().__init__(first.message, path=first.path, field=first.field)
        self.problems = problems

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class MediaError(PodkitError):
    """An audio or image file cannot be used (unreadable, not audio, silent, too short...)."""


class FFmpegError(PodkitError):
    """ffmpeg is missing or failed; the message carries its last stderr lines."""


class FeedError(PodkitError):
    """The feed cannot be built or fails validation."""


class PublishError(PodkitError):
    """Publishing failed; the published feed was left as it was."""


class NotBuiltError(PodkitError):
    """A command needs a build output that does not exist yet."""


class DeliveryError(PodkitError):
    """Delivering a cut to a station failed; the target's final names hold no partial file."""
