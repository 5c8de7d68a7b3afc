"""Secrets kept out of logs and messages: the one redactor every printed line passes.

What counts as a secret: the S3 secret key and session token, the podping token, a
password in an endpoint URL (`PODKIT_S3_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`). Each is
registered once it is known (`register`; the CLI registers the environment's at start,
`LogRedactor` the ones a publish resolves), and then replaced by '***' wherever it shows:

- in every log record while a `LogRedactor` is installed (a record factory: it sees the
  records of every logger, botocore and urllib3 included, before any handler);
- in everything the CLI's log handler writes, tracebacks included (`RedactingFormatter`),
  and in the one-line errors the CLI prints (`scrub`).

A server may echo a secret back in another form, so each is matched as written and in
the encodings a reply or a URL could carry it (`forms`): percent-encoded (upper- and
lower-case hex, `+` for spaces), JSON-escaped, HTML-escaped, and base64 (standard and
URL-safe, at the three byte alignments it can start at inside a longer encoded text)
when the secret is long enough for a base64 match to mean something.
"""
from __future__ import annotations

import base64
import html
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable
from urllib.parse import quote, quote_plus, unquote, urlsplit

#: Below this many characters a base64 fragment matches ordinary text by chance.
MIN_BASE64 = 8

_lock = threading.Lock()
_registered: set[str] = set()
_NOTHING = re.compile(r"(?!x)x")   # matches nothing
_pattern: re.Pattern[str] = _NOTHING   # every form of every registered secret


def _lower_hex(text: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), text)


def _regex(form: str) -> str:
    """A form as a regex whose %XX escapes match in either case (%2f, %2F)."""
    parts = re.split(r"(%[0-9A-Fa-f]{2})", form)
    return "".join(f"%[{p[1].upper()}{p[1].lower()}][{p[2].upper()}{p[2].lower()}]"
                   if re.fullmatch(r"%[0-9A-Fa-f]{2}", p) else re.escape(p) for p in parts)


def compile_forms(secrets: Iterable[str]) -> re.Pattern[str]:
    """One regex matching every form of every secret, longest first (so one secret inside
    another is never left half visible)."""
    every = set().union(*(forms(s) for s in secrets if s))
    if not every:
        return _NOTHING
    return re.compile("|".join(_regex(f) for f in sorted(every, key=len, reverse=True)))


def _base64_cores(secret: bytes) -> set[str]:
    """The base64 characters that encode only the secret's bytes, for each alignment it can
    have inside a longer encoded text (0, 1 or 2 bytes before it in its 3-byte group)."""
    out = set()
    for k in range(3):
        enc = base64.b64encode(b"\0" * k + secret).decode("ascii")
        core = enc[(8 * k + 5) // 6:(8 * (k + len(secret))) // 6]
        if len(core) >= MIN_BASE64:
            out |= {core, core.replace("+", "-").replace("/", "_")}
    return out


def forms(secret: str) -> set[str]:
    """`secret` as written and in every encoding a message could carry it in."""
    if not secret:
        return set()
    found = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret),
             json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
             json.dumps(secret)[1:-1].replace("/", "\\/"), html.escape(secret),
             html.escape(secret, quote=False)}
    found |= {_lower_hex(f) for f in found}
    found |= _base64_cores(secret.encode("utf-8"))
    return {f for f in found if f}


def url_secrets(url: str | None) -> list[str]:
    """The password of a URL's user:password@ part (as written and decoded), and the
    whole user:password, so a URL naming credentials can be registered."""
    if not url:
        return []
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return []
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    if not userinfo:
        return []
    _, _, password = userinfo.partition(":")
    return [s for s in {userinfo, password, unquote(password)} if s]


def register(*secrets: str | None, min_length: int = 1) -> None:
    """Add secrets to those `scrub` and `RedactingFormatter` replace, for this process
    (those shorter than `min_length` are left out)."""
    new = {s for s in secrets if s and len(s) >= min_length} - _registered
    if not new:
        return
    global _pattern
    with _lock:
        _registered.update(new)
        _pattern = compile_forms(_registered)


def scrub(text: str) -> str:
    """`text` with every registered secret, in every form, replaced by '***'."""
    return _pattern.sub("***", text)


class RedactingFormatter(logging.Formatter):
    """A formatter whose output (message, arguments, traceback) is scrubbed: the CLI's
    handler uses it, so a secret registered at any time never reaches the terminal."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


class LogRedactor:
    """While installed, replace secrets with '***' in every log record, whoever logs it.

    A record factory rather than a handler filter: it sees records of every logger
    (botocore.endpoint, urllib3...) before any handler, including handlers added later.
    Every non-empty secret is redacted, however short: a 4-character secret left in a
    header dump is still a leak, and a short secret that also occurs in ordinary text
    only costs some '***' in a debug log. The secrets are registered for the process too
    (`register`), so the CLI's handler and its error line scrub them after the publish.
    """

    def __init__(self, secrets: Iterable[str | None]) -> None:
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self.pattern = compile_forms(self.secrets)
        self.previous: Callable[..., logging.LogRecord] | None = None

    def scrub(self, text: str) -> str:
        """`text` with every secret, in every form, replaced by '***'."""
        return self.pattern.sub("***", text)

    def _factory(self, *args: object, **kwargs: object) -> logging.LogRecord:
        assert self.previous is not None
        record = self.previous(*args, **kwargs)
        try:
            text = record.getMessage()
        except Exception:  # args that do not format: logging itself reports that later
            return record
        if self.pattern.search(text):
            record.msg, record.args = self.scrub(text), None
        return record

    def install(self) -> None:
        """Start scrubbing log records (and register the secrets for the process)."""
        register(*self.secrets)
        if self.secrets and self.previous is None:
            self.previous = logging.getLogRecordFactory()
            logging.setLogRecordFactory(self._factory)

    def uninstall(self) -> None:
        """Stop scrubbing log records (the secrets stay registered)."""
        if self.previous is not None:
            logging.setLogRecordFactory(self.previous)
            self.previous = None
