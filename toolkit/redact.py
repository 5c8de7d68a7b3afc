"""Secrets kept out of logs and messages: the S3 secret key and session token while a
publish runs (toolkit.publish.s3), the podping token while the apps are told (toolkit.publish.notify).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable


class LogRedactor:
    """While installed, replace secrets with '***' in every log record, whoever logs it.

    A record factory rather than a handler filter: it sees records of every logger
    (botocore.endpoint, urllib3...) before any handler, including handlers added later.
    Every non-empty secret is redacted, however short: a 4-character secret left in a
    header dump is still a leak, and a short secret that also occurs in ordinary text
    only costs some '***' in a debug log. Longer secrets are replaced first, so one
    secret inside another is never left half visible.
    """

    def __init__(self, secrets: Iterable[str | None]) -> None:
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self.previous: Callable[..., logging.LogRecord] | None = None

    def scrub(self, text: str) -> str:
        """`text` with every secret replaced by '***'."""
        for s in self.secrets:
            text = text.replace(s, "***")
        return text

    def _factory(self, *args: object, **kwargs: object) -> logging.LogRecord:
        assert self.previous is not None
        record = self.previous(*args, **kwargs)
        try:
            text = record.getMessage()
        except Exception:  # args that do not format: logging itself reports that later
            return record
        if any(s in text for s in self.secrets):
            record.msg, record.args = self.scrub(text), None
        return record

    def install(self) -> None:
        if self.secrets and self.previous is None:
            self.previous = logging.getLogRecordFactory()
            logging.setLogRecordFactory(self._factory)

    def uninstall(self) -> None:
        if self.previous is not None:
            logging.setLogRecordFactory(self.previous)
            self.previous = None
