"""The validate stage: check any podcast feed against RSS 2.0, Apple and Podcasting 2.0 rules.

    findings = validate_source("build/site/korea-az/feed.xml", own=own_context(...))
    for line in format_findings(findings): print(line)
    sys.exit(1 if has_errors(findings) else 0)

Untrusted XML is parsed with defusedxml (no entity expansion, no external fetches).
The rules live in `toolkit.feedrules` (document and channel), `toolkit.itemrules` (items) and
`toolkit.feedfiles` (our own feed against the files we built); `RULES` lists every
rule id with a one-line description. Each `Finding` names the rule, the item (its
guid, else its title, else `item N`) and the field, so a producer can find it.
"""
from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from toolkit import feedrules, itemrules
from toolkit.errors import FeedError, Severity
from toolkit.feedfiles import OwnFeedContext, check_own, own_context
from toolkit.findings import RULES, Finding, Report

log = logging.getLogger(__name__)

__all__ = ["RULES", "Finding", "OwnFeedContext", "findings_json", "format_findings", "has_errors",
           "own_context", "read_source", "validate_feed", "validate_source"]

#: A feed bigger than this is refused when fetched (the 2,000-episode benchmark is ~6 MB).
MAX_FEED_BYTES = 64 * 1024 * 1024
FETCH_TIMEOUT = 20.0
USER_AGENT = "podkit-validate/0.1"


def parse(xml: bytes, report: Report) -> Element | None:
    """Parse untrusted XML safely; None (with a finding) when it is not well-formed or unsafe."""
    try:
        return SafeET.fromstring(xml)
    except ParseError as exc:
        report.error("xml.wellformed", "feed", "xml", f"not well-formed XML: {exc}")
    except DefusedXmlException as exc:
        report.error("xml.unsafe", "feed", "xml",
                     f"entity or external declarations are not allowed in a feed ({exc})")
    return None


def validate_feed(xml: bytes, *, source: str, own: OwnFeedContext | None = None) -> list[Finding]:
    """Every finding for one feed document; `own` adds the checks against our built files."""
    report = Report()
    root = parse(xml, report)
    if root is not None:
        feed = feedrules.check_feed(xml, root, report, own_feed_url=own.feed_url if own else None)
        if feed is not None:
            itemrules.check_items(feed, report)
            if own is not None:
                check_own(feed, own, report)
    found = [Finding(f.rule, f.severity, f.item, f.field, f.message, source)
             for f in report.findings]
    log.debug("%s: %d finding(s)", source, len(found))
    return found


def read_source(source: str, *, timeout: float = FETCH_TIMEOUT,
                max_bytes: int = MAX_FEED_BYTES) -> bytes:
    """The bytes of a feed given as an http(s) URL or a file path; FeedError naming it otherwise."""
    if source.startswith(("http://", "https://")):
        request = urllib.request.Request(source, headers={
            "User-Agent": USER_AGENT,
            "Accept": "application/rss+xml, application/xml;q=0.9, */*;q=0.5"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310 (http/https only)
                data = resp.read(max_bytes + 1)
        except urllib.error.HTTPError as exc:
            raise FeedError(f"HTTP {exc.code} {exc.reason}", path=source, field="fetch") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise FeedError(f"cannot fetch: {reason}", path=source, field="fetch") from exc
        if len(data) > max_bytes:
            raise FeedError(f"larger than {max_bytes} bytes; not read", path=source, field="fetch")
        return data
    if "://" in source:
        raise FeedError("only http and https URLs (or file paths) can be validated",
                        path=source, field="source")
    path = Path(source)
    try:
        if path.stat().st_size > max_bytes:
            raise FeedError(f"larger than {max_bytes} bytes; not read", path=path, field="file")
        return path.read_bytes()
    except OSError as exc:
        raise FeedError(f"cannot read: {exc.strerror}", path=path, field="file") from exc


def validate_source(source: str, *, own: OwnFeedContext | None = None,
                    timeout: float = FETCH_TIMEOUT, max_bytes: int = MAX_FEED_BYTES) -> list[Finding]:
    """Read a file or URL and validate it; a source that cannot be read is one error finding."""
    try:
        xml = read_source(source, timeout=timeout, max_bytes=max_bytes)
    except FeedError as exc:
        return [Finding("source.read", Severity.ERROR, "feed", exc.field or "source", exc.message,
                        source)]
    return validate_feed(xml, source=source, own=own)


def has_errors(findings: Iterable[Finding]) -> bool:
    """True when any finding is an error (the CLI then exits 1)."""
    return any(f.severity is Severity.ERROR for f in findings)


def format_findings(findings: Iterable[Finding]) -> list[str]:
    """One line per finding: `source: rule: item: field: [warning: ]message`."""
    return [str(f) for f in findings]


def findings_json(findings: Iterable[Finding]) -> str:
    """The findings as a JSON document for `--json`: counts plus one object per finding."""
    items = [dict(asdict(f), severity=f.severity.value) for f in findings]
    doc = {"errors": sum(f["severity"] == "error" for f in items),
           "warnings": sum(f["severity"] == "warning" for f in items),
           "findings": items}
    return json.dumps(doc, ensure_ascii=False, indent=2)
