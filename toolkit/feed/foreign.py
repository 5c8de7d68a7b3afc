"""Reading feeds podkit did not write, the way XML parsers and podcast apps do.

    read = foreign.read_feed("https://example.org/feed.xml")   # or a file path
    read = foreign.decode(data, content_type="text/xml; charset=EUC-KR")
    read.text, read.encoding, read.origin, read.findings, read.is_xml

One place for `podkit validate` and `podkit import`: the bytes (capped, see
`toolkit.feed.fetch`) become text in the order the XML spec (appendix F) and
RFC 7303 give, as feedparser does: the byte-order mark, then the HTTP charset, then
the XML declaration, then UTF-8 (XML's default), then a detected encoding, then
Windows-1252. Labels resolve as browsers resolve them (WHATWG): ISO-8859-1 reads as
Windows-1252, EUC-KR as CP949, GB2312 as GB18030, Shift_JIS as CP932, Big5 as
Big5-HKSCS, each a superset, so text valid in the declared encoding reads the same.
An unknown or lying label is a finding with its line, never an exception: the
caller parses `text` (a str, so expat never meets the declared encoding).
"""
from __future__ import annotations

import codecs
import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from toolkit.errors import Severity
from toolkit.feed.fetch import (
    FETCH_DEADLINE,
    MAX_FEED_BYTES,
    READ_TIMEOUT,
    Fetched,
    fetch,
    read_bytes,
    read_file,
)
from toolkit.feed.findings import Finding, Report

if TYPE_CHECKING:   # the HTTP stack is imported by a fetch only (`podkit validate` of a file)
    from toolkit.http import Policy

log = logging.getLogger(__name__)

__all__ = ["FETCH_DEADLINE", "MAX_FEED_BYTES", "READ_TIMEOUT", "FeedText", "Fetched", "decode",
           "fetch", "read_bytes", "read_feed", "read_file", "resolve"]

#: Charset labels met in real feeds that Python's codec registry does not know.
_ALIASES = {
    "x-sjis": "cp932", "windows-31j": "cp932", "ms_kanji": "cp932", "x-gbk": "gbk",
    "cn-big5": "big5", "x-x-big5": "big5", "csbig5": "big5", "x-euc-jp": "euc_jp",
    "x-mac-roman": "mac_roman", "x-mac-cyrillic": "mac_cyrillic", "windows-874": "cp874",
    "unicode-1-1-utf-8": "utf-8", "x-unicode20utf8": "utf-8", "utf8mb4": "utf-8",
    "x-cp1252": "cp1252", "x-cp1251": "cp1251", "ks_c_5601": "cp949", "windows-949": "cp949",
}
#: What browsers decode these as (WHATWG Encoding Standard): a superset of each, so a
#: feed declaring EUC-KR that holds CP949-only syllables still reads, with a warning.
_SUPERSETS = {"ascii": "cp1252", "iso8859-1": "cp1252", "euc_kr": "cp949", "gb2312": "gb18030",
              "gbk": "gb18030", "big5": "big5hkscs", "shift_jis": "cp932",
              "iso8859-9": "cp1254", "tis-620": "cp874", "iso8859-11": "cp874"}
#: Python codecs that turn bytes into text but are no charset a feed can be in.
_NOT_CHARSETS = {"unicode-escape", "raw-unicode-escape", "idna", "punycode", "undefined",
                 "utf-7", "utf-8-sig-nobom"}
_BOMS = [(codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
         (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be")]
_DECL_RE = re.compile(r"""^\s*<\?xml\s[^>]*?\bencoding\s*=\s*(["'])([^"'>]*)\1""")
_CHARSET_RE = re.compile(r"""charset\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s;]*))""", re.I)
_HTML_RE = re.compile(r"<(?:!doctype\s+html|html[\s>])", re.I)
_C1 = re.compile("[\x80-\x9f]")
#: Bytes handed to the detector: enough for a verdict, bounded for a 64 MB feed.
DETECT_SAMPLE = 256 * 1024


@dataclass(frozen=True)
class FeedText:
    """A feed document as text, with how it was decoded and what was wrong with that."""

    text: str                   # the document, byte-order mark removed
    encoding: str               # the Python codec used: 'utf-8', 'cp949', 'utf-16-le', ...
    origin: str                 # where it came from: 'byte-order mark', 'HTTP charset', ...
    declared: str | None        # the XML declaration's encoding label, as written
    http_charset: str | None    # the Content-Type charset, as sent
    findings: tuple[Finding, ...]
    is_xml: bool                # False: not XML at all (one `xml.wellformed` finding says so)

    def describe(self) -> str:
        """'cp949 (XML declaration: EUC-KR)' for logs and summaries."""
        label = {"XML declaration": self.declared, "HTTP charset": self.http_charset}.get(self.origin)
        return f"{self.encoding} ({self.origin}{': ' + label if label else ''})"


class _Bad(Exception):
    """A label that did not fit the bytes: what is wrong, and where."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message, self.line = message, line


def resolve(label: str) -> str | None:
    """The Python codec for a charset label ('EUC-KR' -> 'euc_kr'), None if unknown."""
    name = label.strip().lower()
    name = _ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    # base64, rot13, zlib...: codecs, but not from bytes to text (the flag is how the
    # standard library itself tells them apart in bytes.decode).
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_CHARSETS:
        return None
    return info.name


def _family(codec: str) -> str:
    """'utf-16', 'utf-32' or '8-bit' (ASCII-compatible, as every other charset here)."""
    return "utf-16" if codec.startswith("utf-16") else "utf-32" if codec.startswith("utf-32") \
        else "8-bit"


def _sniff(body: bytes) -> str | None:
    """The encoding family from the first bytes when there is no BOM (XML appendix F):
    'utf-16-be', 'utf-16-le', 'utf-32-be', 'utf-32-le', '8-bit' (ASCII read as bytes), or
    None (too short, or not starting like XML)."""
    head = body[:4]
    if len(head) < 4:
        return None
    if head[:3] == b"\0\0\0" and head[3]:
        return "utf-32-be"
    if head[0] and head[1:] == b"\0\0\0":
        return "utf-32-le"
    if not head[0] and head[1] and not head[2] and head[3]:
        return "utf-16-be"
    if head[0] and not head[1] and head[2] and not head[3]:
        return "utf-16-le"
    if head[:1] in (b"<", b" ", b"\t", b"\r", b"\n") and all(0 < b < 0x80 for b in head):
        return "8-bit"
    return None


def _declared(body: bytes, family: str | None) -> str | None:
    """The encoding label of the XML declaration, read in the byte family found."""
    head = body[:1024].decode(family if family and family != "8-bit" else "latin-1", "replace")
    m = _DECL_RE.match(head)
    return m.group(2) if m else None


def _http_charset(content_type: str | None) -> str | None:
    m = _CHARSET_RE.search(content_type or "")
    value = next((g for g in m.groups() if g is not None), "") if m else ""
    return value.strip() or None


def _line(body: bytes, codec: str, offset: int) -> int:
    return body[:offset].decode(codec, "replace").count("\n") + 1


def _strict(body: bytes, codec: str) -> str:
    """Decode, raising _Bad with the line of the first byte that does not fit."""
    try:
        text = body.decode(codec)
    except UnicodeDecodeError as exc:
        raise _Bad(f"does not fit the bytes: byte 0x{body[exc.start]:02x} (offset {exc.start}) "
                   f"is not valid {codec}",
                   _line(body, codec, exc.start)) from None
    except (LookupError, ValueError) as exc:       # a codec that cannot decode at all
        raise _Bad(f"cannot decode the document ({exc})") from None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:              # lone surrogates: no text at all
        raise _Bad(f"does not fit the bytes: they decode to a lone surrogate as {codec}",
                   text[:exc.start].count("\n") + 1) from None
    if codec == "iso8859-1" and (c1 := _C1.search(text)):
        # C1 controls never occur in real text: these are Windows-1252 characters (€ “ ” –).
        raise _Bad(f"does not fit the bytes: byte 0x{ord(c1.group()):02x} is a Windows-1252 "
                   "character, not ISO-8859-1",
                   text[:c1.start()].count("\n") + 1)
    return text


def _decode(body: bytes, codec: str) -> tuple[str, str, _Bad | None]:
    """(text, codec used, why the superset was needed) with `codec`, else its superset."""
    try:
        return _strict(body, codec), codec, None
    except _Bad as narrow:
        wider = _SUPERSETS.get(codec)
        if wider is None:
            raise
        try:
            return _strict(body, wider), wider, narrow
        except _Bad:
            raise narrow from None


def _detect(body: bytes) -> str | None:
    """A detected encoding for undeclared non-UTF-8 bytes (charset-normalizer), if credible.

    Single-byte Latin code pages all decode anything, and on a few words the detector
    often picks the wrong one (cp1257 for French): those are left to the Windows-1252
    fallback, as browsers do; a guess is kept when it gives non-Latin letters (Cyrillic,
    Greek, Hangul, Han, kana...), where a wrong code page would show as mojibake.
    """
    import charset_normalizer  # imported here: only undeclared, non-UTF-8 feeds need it
    best = charset_normalizer.from_bytes(body[:DETECT_SAMPLE]).best()
    codec = resolve(best.encoding) if best is not None else None
    if codec is None or codec == "utf-8":
        return None
    try:
        sample = body[:DETECT_SAMPLE].decode(codec, "ignore")
    except (LookupError, ValueError):
        return None
    letters = [c for c in sample if ord(c) > 0x7f and c.isalpha()]
    latin = sum("LATIN" in unicodedata.name(c, "") for c in letters)
    return codec if letters and latin * 2 < len(letters) else None


def decode(data: bytes, content_type: str | None = None) -> FeedText:
    """The feed as text: BOM, HTTP charset, XML declaration, UTF-8, detected, Windows-1252.

    Never raises for any bytes: what is wrong is in `findings` (`xml.encoding.declared`
    for a label that is unknown or does not fit the bytes, `xml.wellformed` when the
    document is not XML at all). `content_type` is the HTTP header, for URLs.
    """
    bom = next((codec for mark, codec in _BOMS if data.startswith(mark)), None)
    body = data[len(next(m for m, c in _BOMS if c == bom)):] if bom else data
    family = bom or _sniff(body)
    declared, http = _declared(body, family), _http_charset(content_type)
    tries: list[tuple[str, str]] = [("byte-order mark", bom)] if bom else []
    tries += [("HTTP charset", http)] if http else []
    tries += [("XML declaration", declared)] if declared is not None else []
    tries += [("byte pattern", family)] if family and family != "8-bit" and not bom else []
    tries.append(("XML default", "utf-8"))
    problems: list[tuple[str, str, _Bad]] = []     # (origin, label, what went wrong)
    chosen: tuple[str, str, str, _Bad | None] | None = None
    for origin, label in tries:
        codec = resolve(label)
        if codec is None:
            problems.append((origin, label, _Bad("is not a known encoding")))
            continue
        if family and _family(codec) != _family(family):
            problems.append((origin, label, _Bad(
                "cannot be right: the first bytes are "
                f"{'ASCII' if family == '8-bit' else family}")))
            continue
        if family and family != "8-bit" and codec in ("utf-16", "utf-32"):
            codec = family          # the byte order the BOM or the first bytes showed
        try:
            text, used, narrow = _decode(body, codec)
        except _Bad as bad:
            problems.append((origin, label, bad))
            continue
        chosen = (text, used, origin, narrow)
        break
    if chosen is None:
        detected = _detect(body)
        for origin, codec in [("detected", detected), ("fallback", "cp1252"),
                              ("last resort", "latin-1")]:
            if codec is None:
                continue
            try:
                chosen = (body.decode(codec), codec, origin, None)
                break
            except UnicodeDecodeError:
                continue
    assert chosen is not None                      # latin-1 decodes any bytes
    text, used, origin, narrow = chosen
    report = Report()
    is_xml = _not_xml(text, report)
    if is_xml:
        _report(report, used, origin, narrow, problems, declared, http, bom)
    findings = tuple(report.findings)
    return FeedText(text, used, origin, declared, http, findings, is_xml)


def _not_xml(text: str, report: Report) -> bool:
    """True for something that starts like XML; else one finding saying what it is."""
    start = text.lstrip(" \t\r\n\ufeff")
    if start.startswith("<") and not _HTML_RE.match(start):
        return True
    what = ("an empty document" if not start else "an HTML page, not a feed"
            if _HTML_RE.match(start) else "not XML: binary data" if "\x00" in start[:512]
            else f"not XML: it begins with {start[:24]!r}")
    report.error("xml.wellformed", "feed", "xml", what)
    return False


def _report(report: Report, used: str, origin: str, narrow: _Bad | None,
            problems: list[tuple[str, str, _Bad]], declared: str | None, http: str | None,
            bom: str | None) -> None:
    """Turn what went wrong on the way to `used` into findings naming rule, field and line."""
    read_as = f"read as {used} ({origin})"
    for where, label, bad in problems:
        if where == "XML default" and (declared is not None or bom):
            continue                # the declaration's own finding says it
        field = "Content-Type" if where == "HTTP charset" else "encoding"
        # The declaration and the BOM are on line 1; an HTTP header has no line.
        line = bad.line or (None if where == "HTTP charset" else 1)
        at = f"line {line}: " if line else ""
        if where == "XML default":
            msg = f"{at}no encoding declared and the bytes are not UTF-8"
        else:
            msg = f"{at}the {where} {label!r} {bad.message}"
        severity = Severity.WARNING if where == "HTTP charset" else Severity.ERROR
        _add(report, severity, field, f"{msg}; {read_as}")
    if narrow is not None:
        label = http if origin == "HTTP charset" else declared
        _add(report, Severity.WARNING, "Content-Type" if origin == "HTTP charset" else "encoding",
             f"line {narrow.line or 1}: the {origin} {label!r} {narrow.message}; {read_as}, the "
             "superset browsers and apps use")
    decl = resolve(declared) if declared is not None else None
    if decl is not None and origin in ("byte-order mark", "HTTP charset") \
            and not _same(decl, used) and not any(p[0] == "XML declaration" for p in problems):
        severity = Severity.ERROR if origin == "byte-order mark" else Severity.WARNING
        _add(report, severity, "encoding",
             f"line 1: the XML declaration says {declared!r} but the {origin} says "
             f"{bom if origin == 'byte-order mark' else http!r}; {read_as}")


def _same(a: str, b: str) -> bool:
    """Whether two codecs read a feed the same way (a label and its superset count as one)."""
    def norm(c: str) -> str:
        return _family(c) if _family(c) != "8-bit" else _SUPERSETS.get(c, c)
    return norm(a) == norm(b)


def _add(report: Report, severity: Severity, field: str, message: str) -> None:
    add = report.error if severity is Severity.ERROR else report.warning
    add("xml.encoding.declared", "feed", field, message)


def read_feed(source: str, *, deadline: float = FETCH_DEADLINE, timeout: float = READ_TIMEOUT,
              max_bytes: int = MAX_FEED_BYTES, policy: Policy | None = None) -> FeedText:
    """Read a file path or http(s) URL and decode it; FeedError when it cannot be read.

    `policy` is the HTTP address policy for a URL (toolkit.http; see `fetch.fetch`)."""
    fetched = read_bytes(source, deadline=deadline, timeout=timeout, max_bytes=max_bytes,
                         policy=policy)
    from toolkit.http import display_url
    read = decode(fetched.data, fetched.content_type)
    log.info("%s: %d bytes, read as %s", display_url(source), len(fetched.data), read.describe())
    return read
