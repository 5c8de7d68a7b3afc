"""Corpus: other people's feeds through `podkit validate`: every encoding, things that are
not feeds, files that never end, servers that never finish; then fuzzing of the reader.

The feeds are written here in the shapes of the public parser corpora (feedparser's
tests/encoding and tests/illformed/chardet, podcastparser's tests/data): nothing fetched
is committed. Each row runs the real command (in-process, or a child process where a hang
is the fault: then the child's timeout is the hang guard, not a timing assertion) and
checks the exit status, the one line, and that no traceback is printed.
"""
from __future__ import annotations

import codecs
import os
import socket
import socketserver
import sys
import tempfile
import threading
import unicodedata
from pathlib import Path

import defusedxml.ElementTree as SafeET
import pytest
from corpus_support import Row, Run, podkit, podkit_inprocess
from hypothesis import HealthCheck, configuration, given, settings
from hypothesis import strategies as st
from test_feedread import JA, KO, KO_ITEM, ZH_S, ZH_T, feed_doc

from toolkit.errors import PodkitError
from toolkit.feed import foreign, validate

configuration.set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "podkit-hypothesis")

ROWS = [
    Row("feed-cjk-encodings", "feeds declared Big5, EUC-KR, GB2312, Shift_JIS, and UTF-16 "
        "as `utf16`, `u16`, `utf_16` (was: ValueError traceback from expat)",
        "exit 1: one `xml.encoding` line (feeds must be UTF-8); titles read exactly",
        "--json names the encoding used; the titles read back", process=False),
    Row("feed-bogus-encoding", "a feed declaring encoding=\"bogus\" (was: LookupError traceback)",
        "exit 1: `xml.encoding.declared: feed: encoding: line 1: … 'bogus' is not a known "
        "encoding; read as utf-8`", "-v logs what it was read as", process=False),
    Row("feed-lying-encoding", "declared EUC-KR, bytes UTF-8 on line 8",
        "exit 1: `xml.encoding.declared … line 8 …`; read as UTF-8", "no `xml.encoding` line",
        process=False),
    Row("feed-not-xml", "an HTML error page, a PNG, an empty file given as the feed",
        "exit 1: one line `xml.wellformed: feed: xml: an HTML page, not a feed` (or binary "
        "data, or empty)", "stdout is that line only", process=False),
    Row("feed-fifo", "a FIFO (named pipe) nobody writes to (was: hung)",
        "exit 1: one line `source.read: feed: file: a FIFO (named pipe), not a feed file`",
        "child's 60 s timeout is the hang guard"),
    Row("feed-dev-zero", "/dev/zero as the feed (was: read until memory ran out)",
        "exit 1: one line `… a character device, not a feed file`; a folder likewise",
        "child's 60 s timeout is the hang guard"),
    Row("feed-too-big", "a 64 MiB + 1 byte (sparse) file", "exit 1: one line `larger than "
        "67108864 bytes; not read`", "refused from its size, unread", process=False),
    Row("feed-url-dribble", "a server sending the body one byte every 0.3 s, forever (was: "
        "never ended: the timeout is per read)", "exit 1: one line `… fetch: no complete answer "
        "within the 1 s deadline`", "`--deadline 1`; child's 60 s timeout is the hang guard"),
    Row("feed-url-dribble-headers", "a server sending its status line one byte every 0.3 s",
        "exit 1: the same one line", "PODKIT_FETCH_DEADLINE=1; the child's timeout guards"),
    Row("feed-bad-address", "`http://[::1/…`, a NUL in a file name, control characters in a "
        "URL, `HTTP://` in capitals, `ftp://` (was: ValueError tracebacks for the first two)",
        "exit 1: one `source.read` line each", "no other output", process=False),
    Row("fuzz-feed-bytes", "arbitrary bytes, with an arbitrary Content-Type, as a feed",
        "findings, never an exception; not XML is exactly one finding",
        "hypothesis, 300 examples", process=False),
    Row("fuzz-feed-xmlish", "XML-ish documents: BOMs, real/unknown/lying encoding labels, "
        "arbitrary text in arbitrary codecs", "findings, never an exception",
        "hypothesis, 300 examples", process=False),
    Row("fuzz-feed-round-trip", "a title of arbitrary characters from each codec's repertoire, "
        "declared truthfully (Big5, EUC-KR, GB2312, Shift_JIS, EUC-JP, UTF-16/32, Latin…)",
        "the title read back exactly, no encoding finding", "hypothesis, 300 examples",
        process=False),
]

_KNOB = os.environ.get("PODKIT_FUZZ_EXAMPLES", "").strip()


def budget(default: int) -> settings:
    """Bounded and derandomized in CI; PODKIT_FUZZ_EXAMPLES widens and randomizes."""
    return settings(max_examples=int(_KNOB) if _KNOB else default,
                    deadline=None, derandomize=not _KNOB, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


def stdout_lines(run: Run) -> list[str]:
    assert "Traceback" not in run.stdout + run.stderr, run
    return [ln for ln in run.stdout.splitlines() if ln.strip()]


def one_read_error(run: Run, source: str) -> str:
    """The only finding of a source that could not be read: `source: source.read: ...`."""
    assert run.rc == 1, run
    (line,) = stdout_lines(run)
    assert line.startswith(f"{source}: source.read: feed: "), run
    assert [ln for ln in run.err_lines] == ["podkit: 1 error(s), 0 warning(s)"], run
    return line


# ---- encodings through the CLI ----------------------------------------------------------------

CJK = [("big5", "big5", ZH_T, "第三集：台北"), ("EUC-KR", "euc_kr", KO, KO_ITEM),
       ("GB2312", "gb2312", ZH_S, "第三集：北京"), ("Shift_JIS", "shift_jis", JA, "第3回"),
       ("utf16", "utf-16", KO, ZH_T), ("u16", "utf-16", ZH_T, KO_ITEM), ("utf_16", "utf-16", JA, KO)]


@pytest.mark.parametrize("declared, codec, title, item", CJK, ids=[c[0] for c in CJK])
def test_cjk_and_utf16_feeds_validate_without_a_traceback(tmp_path, declared, codec, title, item):
    path = tmp_path / "feed.xml"
    path.write_bytes(feed_doc(title, item, declared).encode(codec))
    run = podkit_inprocess(tmp_path, "validate", str(path))
    lines = stdout_lines(run)
    assert run.rc == 1
    enc = [ln for ln in lines if ": xml.encoding: " in ln]
    assert len(enc) == 1 and enc[0].startswith(f"{path}: xml.encoding: feed: encoding: read as ")
    assert not [ln for ln in lines if "xml.wellformed" in ln or "xml.encoding.declared" in ln]
    run = podkit_inprocess(tmp_path, "validate", "--json", str(path))
    import json
    doc = json.loads(run.stdout)
    assert doc["sources"][0]["encoding"] == foreign.resolve(declared).replace(
        "utf-16", "utf-16-le" if sys.byteorder == "little" else "utf-16-be")
    assert doc["sources"][0]["declared"] == declared
    root = SafeET.fromstring(foreign.read_feed(str(path)).text)
    assert (root.findtext("channel/title"), root.findtext("channel/item/title")) == (title, item)


def test_bogus_and_lying_encodings_are_one_line_each(tmp_path):
    bogus, lying = tmp_path / "bogus.xml", tmp_path / "lying.xml"
    bogus.write_bytes(feed_doc(KO, "x", "bogus").encode("utf-8"))
    lying.write_bytes(feed_doc("x", "café ☕", "EUC-KR").encode("utf-8"))
    for path, line in ((bogus, 1), (lying, 8)):
        run = podkit_inprocess(tmp_path, "validate", str(path))
        lines = stdout_lines(run)
        assert run.rc == 1
        hits = [ln for ln in lines if ln.startswith(
            f"{path}: xml.encoding.declared: feed: encoding: line {line}: the XML declaration")]
        assert len(hits) == 1 and hits[0].endswith("read as utf-8 (XML default)"), lines
        assert not [ln for ln in lines if ": xml.encoding: " in ln]   # read as UTF-8 after all
    run = podkit_inprocess(tmp_path, "-v", "validate", str(bogus))
    assert f"{bogus}: read as utf-8 (XML default)" in run.stderr


@pytest.mark.parametrize("data, words", [
    (b"<!DOCTYPE html>\n<html><body><h1>404 Not Found</h1></body></html>\n",
     "an HTML page, not a feed"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x05x", "not XML: binary data"),
    (b"", "an empty document"),
])
def test_not_xml_says_so_in_one_line(tmp_path, data, words):
    path = tmp_path / "feed.xml"
    path.write_bytes(data)
    run = podkit_inprocess(tmp_path, "validate", str(path))
    assert stdout_lines(run) == [f"{path}: xml.wellformed: feed: xml: {words}"] and run.rc == 1


# ---- files that are not files -----------------------------------------------------------------

def test_a_fifo_is_refused_by_name(tmp_path):
    fifo = tmp_path / "feed.fifo"
    os.mkfifo(fifo)
    run = podkit(tmp_path, "validate", str(fifo), timeout=60)
    assert "a FIFO (named pipe), not a feed file; not read" in one_read_error(run, str(fifo))


def test_dev_zero_and_a_folder_are_refused(tmp_path):
    run = podkit(tmp_path, "validate", "/dev/zero", timeout=60)
    assert "file: a character device, not a feed file" in one_read_error(run, "/dev/zero")
    run = podkit_inprocess(tmp_path, "validate", str(tmp_path))
    assert "file: a folder, not a feed file" in one_read_error(run, str(tmp_path))


def test_a_file_over_the_cap_is_not_read(tmp_path):
    big = tmp_path / "big.xml"
    with open(big, "wb") as f:
        f.truncate(foreign.MAX_FEED_BYTES + 1)        # sparse: costs no disk
    run = podkit_inprocess(tmp_path, "validate", str(big))
    assert "file: larger than 67108864 bytes; not read" in one_read_error(run, str(big))


# ---- servers that never finish ----------------------------------------------------------------

class Dribbler:
    """A TCP server on 127.0.0.1 that answers one byte at a time, forever; stopped by the test.

    `headers_too`: the status line itself dribbles; else the headers come at once
    (no Content-Length) and only the body dribbles.
    """

    def __init__(self, *, headers_too: bool, every: float = 0.3) -> None:
        stop = self.stop = threading.Event()

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                head = b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n\r\n"
                body = b'<?xml version="1.0"?>\n<rss version="2.0"><channel>' + b" " * 10**6
                try:
                    if not headers_too:
                        self.request.sendall(head)
                    for i in range(10**6):
                        if stop.wait(every):
                            return
                        self.request.sendall(((head if headers_too else b"") + body)[i:i + 1])
                except OSError:
                    return                          # the client hung up: as it should

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/feed.xml"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("headers_too", [False, True], ids=["body", "headers"])
def test_a_dribbling_server_is_cut_off_at_the_deadline(tmp_path, headers_too):
    server = Dribbler(headers_too=headers_too)
    try:
        if headers_too:      # the environment variable, as a producer's shell would set it
            run = podkit(tmp_path, "validate", server.url, env={"PODKIT_FETCH_DEADLINE": "1"},
                         timeout=60)
        else:
            run = podkit(tmp_path, "validate", "--deadline", "1", server.url, timeout=60)
    finally:
        server.close()
    line = one_read_error(run, server.url)
    assert line.endswith("fetch: no complete answer within the 1 s deadline"), line


@pytest.mark.parametrize("source, words", [
    ("http://[::1/feed.xml", "cannot fetch: Invalid IPv6 URL"),        # was: ValueError traceback
    ("bad\x00name.xml", "not a usable file name"),                    # was: ValueError traceback
    ("http://127.0.0.1:1/\x00", "cannot fetch: URL can't contain control characters"),
    ("HTTP://127.0.0.1:1/feed.xml", "cannot fetch: [Errno 111] Connection refused"),
    ("ftp://127.0.0.1/feed.xml", "only http and https URLs (or file paths) can be read"),
])
def test_a_source_that_is_no_feed_address_is_one_line(tmp_path, source, words):
    run = podkit_inprocess(tmp_path, "validate", source)
    assert words in one_read_error(run, source.replace("\x00", "\\x00"))


def test_redirects_lead_only_to_http(tmp_path):
    """A redirect to another http(s) URL is followed (with the charset sent there); one to
    ftp: or file: is refused, in one line."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    body = feed_doc(KO, KO_ITEM, None).encode("euc_kr")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            target = {"/moved": "/feed.xml", "/ftp": "ftp://127.0.0.1/feed.xml",
                      "/file": "file:///etc/passwd"}.get(self.path)
            self.send_response(302 if target else 200)
            if target:
                self.send_header("Location", target)
            self.send_header("Content-Type", "application/rss+xml; charset=EUC-KR")
            self.send_header("Content-Length", "0" if target else str(len(body)))
            self.end_headers()
            if not target:
                self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        read = foreign.read_feed(base + "/moved")
        assert SafeET.fromstring(read.text).findtext("channel/title") == KO
        assert (read.encoding, read.origin) == ("euc_kr", "HTTP charset")
        # The one HTTP client (toolkit.http) checks every redirect hop: http(s) only.
        for path, words in (("/ftp", "fetch: cannot fetch: only http and https URLs are fetched"),
                            ("/file", "fetch: cannot fetch: only http and https URLs are fetched")):
            run = podkit_inprocess(tmp_path, "validate", base + path)
            assert words in one_read_error(run, base + path)
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_the_deadline_option_defaults_to_the_library_value():
    from toolkit.cli import cli
    (opt,) = [p for p in cli.commands["validate"].params if p.name == "deadline"]
    assert opt.default == foreign.FETCH_DEADLINE


# ---- fuzzing the reader -----------------------------------------------------------------------

LABELS = ["utf-8", "UTF-8", "utf8", "utf-16", "utf16", "u16", "utf_16", "UTF-16LE", "utf-32",
          "big5", "Big5-HKSCS", "EUC-KR", "ks_c_5601-1987", "GB2312", "GBK", "gb18030",
          "Shift_JIS", "x-sjis", "EUC-JP", "ISO-2022-JP", "ISO-8859-1", "latin1", "us-ascii",
          "windows-1252", "KOI8-R", "bogus", "", "base64", "rot13", "unicode_escape", "utf-7",
          "x-unknown-8bit", "ebcdic-cp-us", "cp037", "utf-8\x00", "é"]
CODECS = ["utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "big5", "euc_kr", "gb2312", "gbk",
          "shift_jis", "euc_jp", "iso2022_jp", "latin-1", "cp1252", "koi8_r", "cp037"]
BOMS = [b"", codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE,
        codecs.BOM_UTF32_BE]


def _check_reader(data: bytes, content_type: str | None) -> None:
    """What must hold for any input: no exception but PodkitError; sane findings."""
    try:
        read = foreign.decode(data, content_type)
    except PodkitError:
        return
    read.text.encode("utf-8")                         # real text: no lone surrogates
    if not read.is_xml:
        assert [f.rule for f in read.findings] == ["xml.wellformed"]
    findings = validate.validate_feed(data, source="fuzz", content_type=content_type)
    for f in findings:
        assert "\n" not in str(f)


@budget(300)
@given(data=st.binary(max_size=600), content_type=st.none() | st.text(max_size=60))
def test_fuzz_arbitrary_bytes(data, content_type):
    _check_reader(data, content_type)


@st.composite
def xmlish(draw: st.DrawFn) -> tuple[bytes, str | None]:
    label = draw(st.sampled_from(LABELS) | st.text(max_size=12))
    quote = draw(st.sampled_from(['"', "'"]))
    body = draw(st.text(max_size=200))
    doc = (f"<?xml version=\"1.0\" encoding={quote}{label}{quote}?>\n<rss version=\"2.0\">"
           f"<channel><title>{body}</title></channel></rss>")
    codec = draw(st.sampled_from(CODECS))
    data = draw(st.sampled_from(BOMS)) + doc.encode(codec, "replace")
    if draw(st.booleans()):                           # damage: bytes spliced in
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(max_size=8)) + data[at:]
    ct = draw(st.none() | st.sampled_from(LABELS).map(lambda c: f"text/xml; charset={c}"))
    return data, ct


@budget(300)
@given(case=xmlish())
def test_fuzz_xmlish_documents(case):
    _check_reader(*case)


#: Truthful labels and what writes them; each codec's repertoire below.
TRUTHFUL = [("Big5", "big5", b""), ("EUC-KR", "euc_kr", b""), ("GB2312", "gb2312", b""),
            ("GBK", "gbk", b""), ("Shift_JIS", "shift_jis", b""), ("EUC-JP", "euc_jp", b""),
            ("UTF-16", "utf-16-le", codecs.BOM_UTF16_LE), ("UTF-16", "utf-16-be", b""),
            ("UTF-32", "utf-32-be", codecs.BOM_UTF32_BE), ("UTF-8", "utf-8", b""),
            ("ISO-8859-1", "latin-1", b""), ("windows-1252", "cp1252", b""),
            ("KOI8-R", "koi8_r", b""), ("ISO-8859-7", "iso8859_7", b"")]


def _allowed(c: str) -> bool:
    """A character a feed title can carry as text (XML 1.0, not markup, not a control)."""
    return (c not in "<&>\r" and unicodedata.category(c) not in ("Cc", "Cs", "Cn")
            and c not in "\ufffe\uffff")


def _repertoire(codec: str) -> list[str]:
    """Every character `codec` writes in one or two bytes and reads back the same."""
    if codec.startswith("utf"):
        return []
    seqs = [bytes([a]) for a in range(0x20, 0x100)] + \
           [bytes([a, b]) for a in range(0x81, 0xff) for b in range(0x40, 0xff)]
    out = set()
    for s in seqs:
        try:
            c = s.decode(codec)
        except UnicodeDecodeError:
            continue
        if len(c) == 1 and _allowed(c) and c.encode(codec).decode(codec) == c:
            out.add(c)
    return sorted(out)


_REPERTOIRES: dict[str, list[str]] = {}


@st.composite
def truthful(draw: st.DrawFn) -> tuple[str, str, bytes, str]:
    label, codec, bom = draw(st.sampled_from(TRUTHFUL))
    if codec not in _REPERTOIRES:
        _REPERTOIRES[codec] = _repertoire(codec)
    chars = _REPERTOIRES[codec]
    alphabet = st.sampled_from(chars) if chars else st.characters().filter(_allowed)
    title = draw(st.text(alphabet=alphabet, min_size=1, max_size=40))
    return label, codec, bom, title


@budget(300)
@given(case=truthful())
def test_fuzz_a_truthful_declaration_reads_any_title_exactly(case):
    label, codec, bom, title = case
    data = bom + feed_doc("t", title, label).encode(codec)
    read = foreign.decode(data)
    assert SafeET.fromstring(read.text).findtext("channel/item/title") == title
    assert [f for f in read.findings if f.rule == "xml.encoding.declared"] == []
