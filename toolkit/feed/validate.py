"""The validate stage: check any podcast feed against RSS 2.0, Apple and Podcasting 2.0 rules.

    findings = validate_source("build/site/korea-az/feed.xml", own=own_context(...))
    for line in format_findings(findings): print(line)
    sys.exit(1 if has_errors(findings) else 0)

Feeds are read and decoded by `toolkit.feed.foreign` (any encoding, capped reads, one fetch
deadline); the text is parsed with defusedxml (no entity expansion, no external fetches).
The rules live in `toolkit.feed.rules` (document and channel), `toolkit.feed.itemrules` (items) and
`toolkit.feed.builtfiles` (our own feed against the files we built); `RULES` lists every
rule id with a one-line description. Each `Finding` names the rule, the item (its
guid, else its title, else `item N`) and the field, so a producer can find it.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from toolkit.errors import FeedError, Severity
from toolkit.feed import foreign, itemrules, rules
from toolkit.feed.builtfiles import OwnFeedContext, check_own, own_context
from toolkit.feed.findings import RULES, Finding, Report
from toolkit.feed.foreign import FETCH_DEADLINE, MAX_FEED_BYTES, READ_TIMEOUT, FeedText

log = logging.getLogger(__name__)

__all__ = ["RULES", "Checked", "Finding", "OwnFeedContext", "check_bytes", "check_source",
           "findings_json", "format_findings", "has_errors", "own_context", "read_source",
           "validate_feed", "validate_source"]


@dataclass(frozen=True)
class Checked:
    """One source checked: its findings and how it was read (None when it could not be)."""

    source: str
    findings: list[Finding]
    read: FeedText | None = None


def parse(text: str, report: Report) -> Element | None:
    """Parse untrusted XML safely; None (with a finding) when it is not well-formed or unsafe.

    The text is a str: expat then reads it as UTF-8 whatever the declaration says, so an
    encoding it cannot handle (Big5, EUC-KR, "utf16") never reaches it.
    """
    try:
        return SafeET.fromstring(text)
    except ParseError as exc:
        report.error("xml.wellformed", "feed", "xml", f"not well-formed XML: {exc}")
    except DefusedXmlException as exc:
        report.error("xml.unsafe", "feed", "xml",
                     f"entity or external declarations are not allowed in a feed ({exc})")
    return None


def check_bytes(xml: bytes, *, source: str, own: OwnFeedContext | None = None,
                content_type: str | None = None) -> Checked:
    """Decode (see `toolkit.feed.foreign`) and check one feed document; every finding, and how
    it was read. `content_type` is the HTTP header a URL came with."""
    read = foreign.decode(xml, content_type)
    log.info("%s: read as %s", source, read.describe())
    report = Report()
    report.findings.extend(read.findings)
    if read.is_xml and read.encoding != "utf-8":
        report.error("xml.encoding", "feed", "encoding",
                     f"read as {read.describe()}; feeds must be UTF-8 (Apple)")
    root = parse(read.text, report) if read.is_xml else None
    if root is not None:
        feed = rules.check_feed(read.text, root, report,
                                    own_feed_url=own.feed_url if own else None)
        if feed is not None:
            itemrules.check_items(feed, report)
            if own is not None:
                check_own(feed, own, report)
    found = [Finding(f.rule, f.severity, f.item, f.field, f.message, source)
             for f in report.findings]
    log.debug("%s: %d finding(s)", source, len(found))
    return Checked(source, found, read)


def validate_feed(xml: bytes, *, source: str, own: OwnFeedContext | None = None,
                  content_type: str | None = None) -> list[Finding]:
    """Every finding for one feed document; `own` adds the checks against our built files."""
    return check_bytes(xml, source=source, own=own, content_type=content_type).findings


def read_source(source: str, *, timeout: float = READ_TIMEOUT, max_bytes: int = MAX_FEED_BYTES,
                deadline: float = FETCH_DEADLINE) -> bytes:
    """The bytes of a feed given as an http(s) URL or a file path; FeedError naming it otherwise."""
    return foreign.read_bytes(source, deadline=deadline, timeout=timeout,
                               max_bytes=max_bytes).data


def check_source(source: str, *, own: OwnFeedContext | None = None, timeout: float = READ_TIMEOUT,
                 max_bytes: int = MAX_FEED_BYTES, deadline: float = FETCH_DEADLINE) -> Checked:
    """Read a file or URL and check it; a source that cannot be read is one error finding."""
    try:
        fetched = foreign.read_bytes(source, deadline=deadline, timeout=timeout,
                                      max_bytes=max_bytes)
    except FeedError as exc:
        return Checked(source, [Finding("source.read", Severity.ERROR, "feed",
                                        exc.field or "source", exc.message, source)])
    return check_bytes(fetched.data, source=source, own=own, content_type=fetched.content_type)


def validate_source(source: str, *, own: OwnFeedContext | None = None,
                    timeout: float = READ_TIMEOUT, max_bytes: int = MAX_FEED_BYTES,
                    deadline: float = FETCH_DEADLINE) -> list[Finding]:
    """Read a file or URL and validate it; a source that cannot be read is one error finding."""
    return check_source(source, own=own, timeout=timeout, max_bytes=max_bytes,
                        deadline=deadline).findings


def has_errors(findings: Iterable[Finding]) -> bool:
    """True when any finding is an error (the CLI then exits 1)."""
    return any(f.severity is Severity.ERROR for f in findings)


def format_findings(findings: Iterable[Finding]) -> list[str]:
    """One line per finding: `source: rule: item: field: [warning: ]message`."""
    return [str(f) for f in findings]


def findings_json(findings: Iterable[Finding], checked: Iterable[Checked] = (),
                  loudness: list[dict[str, object]] | None = None) -> str:
    """The findings as a JSON document for `--json`: counts plus one object per finding;
    with `checked`, also how each source was read (`sources`: encoding and where it came from);
    with `loudness` (our own feed), each built audio file's loudness."""
    items = [dict(asdict(f), severity=f.severity.value) for f in findings]
    doc: dict[str, object] = {"errors": sum(f["severity"] == "error" for f in items),
                              "warnings": sum(f["severity"] == "warning" for f in items),
                              "findings": items}
    sources = [{"source": c.source, "encoding": c.read.encoding if c.read else None,
                "encoding_from": c.read.origin if c.read else None,
                "declared": c.read.declared if c.read else None,
                "http_charset": c.read.http_charset if c.read else None} for c in checked]
    if sources:
        doc["sources"] = sources
    if loudness:
        doc["loudness"] = loudness      # our own feed: each rendition as its build measured it
    return json.dumps(doc, ensure_ascii=False, indent=2)
