"""`podkit preview`: serve a published folder over HTTP the way podcast apps need it.

    server = preview.make_server(folder, "127.0.0.1", 8000, base_url=show.base_url)
    threading.Thread(target=server.serve_forever, daemon=True).start()   # or serve_forever()
    print(server.url)            # http://127.0.0.1:8000/
    server.shutdown(); server.server_close()

GET and HEAD with single byte ranges (206 with Content-Range, 416 when unsatisfiable, range
numbers of any length), 414 for a path segment longer than a file name can be,
content types from `toolkit.standards.contenttypes`, ETag/If-None-Match. Text files (the feed, pages,
chapters) have the show's public base URL replaced by this server's URL as the client
reached it (its Host header), so a phone subscribing over the LAN gets URLs it can fetch.

Nothing outside the folder is ever served: the request path is decoded once, any `..`,
`.`, hidden (dot) segment, backslash or NUL is refused, and the resolved path (symlinks
followed) must still lie inside the folder. Hidden files (temp files, the publish
manifest) are never served; directories serve their index.html, never a listing.

A client that stalls (half a request, or an idle keep-alive) is dropped after
`idle_timeout` seconds; at most `max_threads` clients are served at once, the others wait
in a listen queue of `BACKLOG` connections.
"""
from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import socket
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from toolkit.errors import PodkitError
from toolkit.standards import contenttypes, prefix
from toolkit.store.layout import FEED_FILE

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
#: A Host header we are willing to write into served URLs: a name or IPv4, or [IPv6], and a port.
HOST_RE = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")
RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")
#: Seconds a client may stay silent (mid-request or between keep-alive requests).
IDLE_TIMEOUT = 15.0
#: Clients served at once; each holds a thread (apps open a few connections each).
MAX_THREADS = 32
#: Connections the kernel queues until a thread is free (socketserver's default is 5: a
#: burst of requests beyond that waits for SYN retransmits, 1 s, 3 s, 7 s...).
BACKLOG = 256
#: Longest path segment: a file name longer than this cannot exist (NAME_MAX).
MAX_SEGMENT = 255


class PreviewServer(ThreadingHTTPServer):
    """A threading HTTP server bound to one folder, with a bounded number of threads."""

    daemon_threads = True
    request_queue_size = BACKLOG

    def __init__(self, folder: Path, host: str, port: int, base_url: str | None,
                 feed_key: str, idle_timeout: float = IDLE_TIMEOUT,
                 max_threads: int = MAX_THREADS) -> None:
        self.folder = Path(folder).resolve()
        self.base_url = (base_url.rstrip("/") + "/") if base_url else None
        self.feed_key = feed_key
        self.enclosure_prefix: str | None = None
        self.idle_timeout = idle_timeout
        # The accept loop waits for a free slot, so extra clients queue in the kernel's
        # listen backlog instead of each taking a thread.
        self._slots = threading.BoundedSemaphore(max_threads)
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), PreviewHandler)

    def process_request(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        """Hand the connection to a new thread once one of the `max_threads` slots is free."""
        self._slots.acquire()
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()      # the thread never started: give its slot back
            raise

    def process_request_thread(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        """Serve one connection, then free its slot."""
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        """A client that drops its connection is routine, not an error worth a traceback.

        Browsers reset idle keep-alive connections and abandon requests (page audits, a
        closed tab): socketserver's default prints a ConnectionResetError traceback for
        each. Anything else is still reported (logged, with its traceback at -v).
        """
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            log.debug("%s: client dropped the connection (%s)", client_address[0],
                      type(exc).__name__)
            return
        log.error("preview: error serving %s: %s", client_address[0], exc,
                  exc_info=log.isEnabledFor(logging.DEBUG))

    @property
    def url(self) -> str:
        """This server's URL (127.0.0.1 when bound to every interface)."""
        host, port = self.server_address[:2]
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def make_server(folder: Path, host: str = "127.0.0.1", port: int = 8000, *,
                base_url: str | None = None, feed_key: str = FEED_FILE,
                enclosure_prefix: str | None = None, idle_timeout: float = IDLE_TIMEOUT,
                max_threads: int = MAX_THREADS) -> PreviewServer:
    """A preview server for `folder` (not yet serving: call `serve_forever`, e.g. in a thread).

    `base_url` is the show's public base URL, rewritten to this server's URL in text files.
    Port 0 picks a free port (see `server.url`). The host defaults to loopback: pass
    '0.0.0.0' to let a phone on the same network subscribe. `enclosure_prefix` (the show's
    analytics prefix) is taken out of enclosures, so they play from this server too. A port
    that cannot be had is a PodkitError naming it, with a hint.
    """
    try:
        server = PreviewServer(folder, host, port, base_url, feed_key, idle_timeout, max_threads)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            why = "already in use (another podkit preview?): choose another port with --port"
        elif exc.errno == errno.EACCES:
            why = "not allowed (ports below 1024 need root): choose another with --port"
        elif exc.errno in (errno.EADDRNOTAVAIL, getattr(errno, "EAI_NONAME", -2)):
            why = "not an address of this machine: check --host"
        else:
            why = f"{exc.strerror or exc}: check --host and --port"
        raise PodkitError(f"cannot listen on {host}:{port}: {why}", field="--port") from exc
    server.enclosure_prefix = enclosure_prefix
    return server


def parse_range(header: str | None, size: int) -> tuple[int, int] | None | bool:
    """A single byte range as (first, last), None to ignore it (send everything), False if unsatisfiable."""
    m = RANGE_RE.match((header or "").replace(" ", ""))
    if not m or (not m.group(1) and not m.group(2)):
        return None  # absent, malformed or multi-range: serving the whole file is allowed
    first, last = m.group(1), m.group(2)
    if not first:  # a suffix: the last N bytes
        n = _number(last)
        return (max(size - n, 0), size - 1) if n > 0 and size > 0 else False
    start = _number(first)
    end = _number(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        return False
    return start, min(end, size - 1)


def _number(digits: str) -> int:
    """A range number: HTTP sets no limit, int() refuses over 4300 digits (and no file is
    anywhere near 10**18 bytes), so a longer one counts as that large."""
    return int(digits) if len(digits) <= 18 else 10 ** 18


class PreviewHandler(BaseHTTPRequestHandler):
    """GET/HEAD of files inside the server's folder."""

    server: PreviewServer
    protocol_version = "HTTP/1.1"  # keep-alive: apps fetch many ranges on one connection

    def setup(self) -> None:
        """Apply the idle timeout to the connection (StreamRequestHandler reads `timeout`)."""
        self.timeout = self.server.idle_timeout
        super().setup()

    def log_message(self, format: str, *args: object) -> None:
        log.info("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._serve(body=True)

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def _refuse(self) -> None:
        self._empty(HTTPStatus.METHOD_NOT_ALLOWED, "Allow", "GET, HEAD")

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse

    def _resolve(self, path: str) -> tuple[Path | None, bool]:
        """The file a URL path names inside the folder (None: never anything outside), and
        whether the path named a folder (served as its index.html)."""
        decoded = unquote(path)
        if "\\" in decoded or "\x00" in decoded:
            return None, False
        parts = [p for p in decoded.split("/") if p]
        if any(p.startswith(".") for p in parts):  # '..', '.', and hidden files
            return None, False
        candidate = self.server.folder.joinpath(*parts)
        try:
            folder = candidate.is_dir()
            real = (candidate / "index.html" if folder else candidate).resolve()
            if not real.is_relative_to(self.server.folder) or not real.is_file():
                return None, False
        except (OSError, RuntimeError):   # a name or path the OS refuses, a symlink loop
            return None, False
        return real, folder

    def _own_url(self) -> str:
        host = self.headers.get("Host", "")
        return f"http://{host}/" if HOST_RE.match(host) else self.server.url

    def _serve(self, body: bool) -> None:
        """One GET or HEAD, each check where a request meets it: the path (414, 404, a
        folder's redirect), the ETag (304), the range (416, 206), then the file."""
        path = urlsplit(self.path).path
        file = self._file_for(path)
        if file is None:
            return                                  # refused or redirected: answered
        key = file.relative_to(self.server.folder).as_posix()
        ctype = contenttypes.content_type(key, self.server.feed_key)
        stat = file.stat()
        data, size, etag = self._content(file, ctype, stat)
        if etag in self.headers.get("If-None-Match", ""):
            self._empty(HTTPStatus.NOT_MODIFIED, "ETag", etag)
            return
        span = self._range(size, etag)
        if span is False:
            self._empty(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, "Content-Range",
                        f"bytes */{size}")
            return
        first, last = span if span else (0, size - 1)
        self._send_headers(ctype, etag, stat, first, last, size, partial=bool(span))
        if body:
            self._send_body(file, data, first, last)

    def _empty(self, status: HTTPStatus, name: str, value: str) -> None:
        """A response without a body: the status and one header that says why."""
        self.send_response(status)
        self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _file_for(self, path: str) -> Path | None:
        """The file a URL path serves, or None once the refusal (414, 404) or a folder's
        redirect is sent."""
        if any(len(part) > MAX_SEGMENT for part in unquote(path).split("/")):
            # No file has such a name; resolving it would fail in the OS (ENAMETOOLONG).
            self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
            return None
        file, folder = self._resolve(path)
        if file is None:
            self.send_error(HTTPStatus.NOT_FOUND)
            return None
        if folder and not path.endswith("/"):
            # A folder without its slash: redirect, or the page's relative links break.
            self._empty(HTTPStatus.MOVED_PERMANENTLY, "Location",
                        quote(path + "/", safe="/-._~%"))
            return None
        return file

    def _content(self, file: Path, ctype: str,
                 stat: os.stat_result) -> tuple[bytes | None, int, str]:
        """The body, its size and ETag. A text file is sent rewritten, with the show's base
        URL replaced by this server's; any other is sent from disk (the body is None)."""
        base = self.server.base_url
        if not base or not _is_text(ctype):
            return None, stat.st_size, f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'
        data = file.read_bytes()
        if self.server.enclosure_prefix:  # a preview play is no download to count
            tracked = prefix.apply(self.server.enclosure_prefix, base)
            data = data.replace(tracked.encode(), base.encode())
        data = data.replace(base.encode(), self._own_url().encode())
        return data, len(data), '"%s"' % hashlib.sha256(data).hexdigest()[:32]

    def _range(self, size: int, etag: str) -> tuple[int, int] | None | bool:
        """The byte range asked for (as parse_range), ignored when If-Range names an older
        version of the file."""
        span = parse_range(self.headers.get("Range"), size)
        if_range = self.headers.get("If-Range")
        if if_range and if_range != etag:
            span = None  # the client's copy is stale: send the whole current file
        return span

    def _send_headers(self, ctype: str, etag: str, stat: os.stat_result, first: int,
                      last: int, size: int, *, partial: bool) -> None:
        """The headers of a 200, or with `partial` of a 206 for bytes first-last of `size`."""
        self.send_response(HTTPStatus.PARTIAL_CONTENT if partial else HTTPStatus.OK)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(last - first + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", self.date_time_string(int(stat.st_mtime)))
        self.send_header("Cache-Control", "no-cache")  # a preview always shows the latest build
        if partial:
            self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        self.end_headers()

    def _send_body(self, file: Path, data: bytes | None, first: int, last: int) -> None:
        """Bytes first-last of the body (`data`, else the file read from disk)."""
        try:
            if data is not None:
                self.wfile.write(data[first:last + 1])
            else:
                _copy(file, first, last - first + 1, self.wfile)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # apps drop range downloads all the time


def _is_text(ctype: str) -> bool:
    return ctype.startswith("text/") or "xml" in ctype or "json" in ctype


def _copy(file: Path, start: int, length: int, out) -> None:
    with open(file, "rb") as f:
        f.seek(start)
        while length > 0 and (block := f.read(min(CHUNK, length))):
            out.write(block)
            length -= len(block)
