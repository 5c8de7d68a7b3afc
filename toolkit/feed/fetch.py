"""The bytes of a feed podkit did not write: a file or an http(s) URL, every read capped.

    fetched = fetch.read_bytes("https://example.org/feed.xml", deadline=30)
    fetched.data, fetched.content_type           # bytes, and the HTTP Content-Type (or None)

`toolkit.feed.foreign` decodes them; `podkit validate` and `podkit import` call it.
Limits, each a FeedError naming the source (never a hang, never a traceback):
- at most `MAX_FEED_BYTES` (64 MiB) are read from any source;
- a file must be a regular file: a FIFO would block, /dev/zero would never end;
- a URL gets one overall deadline (`FETCH_DEADLINE`, 30 s) for connecting, the headers and
  the body, besides the per-read timeout: a server sending a byte every 2 s is cut off.
"""
from __future__ import annotations

import http.client
import os
import socket
import stat
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.errors import FeedError

#: A feed bigger than this is refused (the 2,000-episode benchmark feed is ~6 MB).
MAX_FEED_BYTES = 64 * 1024 * 1024
#: Seconds for a whole fetch, connect to last byte (DNS lookup not included).
FETCH_DEADLINE = 30.0
#: Seconds any single connect or read may wait.
READ_TIMEOUT = 20.0
USER_AGENT = "podkit-validate/0.1"
_CHUNK = 64 * 1024
_KINDS = [(stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket")]


@dataclass(frozen=True)
class Fetched:
    """What a source gave: its bytes and, for a URL, the Content-Type it was sent with."""

    data: bytes
    content_type: str | None = None


def read_bytes(source: str, *, deadline: float = FETCH_DEADLINE, timeout: float = READ_TIMEOUT,
               max_bytes: int = MAX_FEED_BYTES) -> Fetched:
    """The bytes of an http(s) URL or a file path; FeedError naming the source otherwise."""
    if source[:8].lower().startswith(("http://", "https://")):
        return fetch(source, deadline=deadline, timeout=timeout, max_bytes=max_bytes)
    if "://" in source:
        raise FeedError("only http and https URLs (or file paths) can be read",
                        path=source, field="source")
    return Fetched(read_file(Path(source), max_bytes=max_bytes))


def read_file(path: Path, *, max_bytes: int = MAX_FEED_BYTES) -> bytes:
    """A regular file's bytes, at most `max_bytes`; FIFOs, devices and folders are refused."""
    try:
        # O_NONBLOCK: opening a FIFO nobody writes to would otherwise wait forever.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise FeedError(f"cannot read: {exc.strerror}", path=path, field="file") from exc
    except ValueError as exc:                  # a NUL in the name
        raise FeedError(f"not a usable file name ({exc})", path=path, field="file") from exc
    try:
        st = os.fstat(fd)                  # of what was opened: no race with a swapped path
        kind = next((name for test, name in _KINDS if test(st.st_mode)), None)
        if kind is not None or not stat.S_ISREG(st.st_mode):
            raise FeedError(f"{kind or 'not a regular file'}, not a feed file; not read",
                            path=path, field="file")
        if st.st_size > max_bytes:
            raise FeedError(f"larger than {max_bytes} bytes; not read", path=path, field="file")
        chunks, size = [], 0
        while size <= max_bytes:          # capped even if the file grows while read
            chunk = os.read(fd, min(_CHUNK * 16, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise FeedError(f"cannot read: {exc.strerror}", path=path, field="file") from exc
    finally:
        os.close(fd)
    if size > max_bytes:
        raise FeedError(f"larger than {max_bytes} bytes; not read", path=path, field="file")
    return b"".join(chunks)


class _Watchdog:
    """Shuts the fetch's sockets down when the deadline passes, so a blocked read returns."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                self._shut(sock)

    def _fire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        try:
            # The plain socket call, also for an SSLSocket: the OS-level shutdown wakes a
            # read blocked in another thread without touching the TLS object it is using.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass                            # already closed: nothing left to wake

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


def _watched(base: type[http.client.HTTPConnection], dog: _Watchdog) -> Callable[..., Any]:
    """A connection class for urllib whose socket the watchdog can shut down."""
    class Watched(base):  # type: ignore[valid-type,misc]
        def connect(self) -> None:
            super().connect()
            dog.watch(self.sock)
    return Watched


class _HTTP(urllib.request.HTTPHandler):
    def __init__(self, dog: _Watchdog) -> None:
        super().__init__()
        self.dog = dog

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_watched(http.client.HTTPConnection, self.dog), req)


class _HTTPS(urllib.request.HTTPSHandler):
    def __init__(self, dog: _Watchdog) -> None:
        super().__init__()
        self.dog = dog

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_watched(http.client.HTTPSConnection, self.dog), req,
                            context=self._context)  # type: ignore[attr-defined]


def _opener(dog: _Watchdog) -> urllib.request.OpenerDirector:
    """urllib's usual opener minus ftp:, file: and data: (a redirect may only lead to http(s))."""
    opener = urllib.request.OpenerDirector()
    for handler in (urllib.request.ProxyHandler(), urllib.request.UnknownHandler(), _HTTP(dog),
                    _HTTPS(dog), urllib.request.HTTPDefaultErrorHandler(),
                    urllib.request.HTTPRedirectHandler(), urllib.request.HTTPErrorProcessor()):
        opener.add_handler(handler)
    return opener


def fetch(url: str, *, deadline: float = FETCH_DEADLINE, timeout: float = READ_TIMEOUT,
          max_bytes: int = MAX_FEED_BYTES) -> Fetched:
    """GET an http(s) URL within `deadline` seconds overall; FeedError naming it otherwise."""
    with _Watchdog(deadline) as dog:
        opener = _opener(dog)
        try:
            request = urllib.request.Request(url, headers={
                "User-Agent": USER_AGENT,
                "Accept": "application/rss+xml, application/xml;q=0.9, */*;q=0.5"})
            with opener.open(request, timeout=min(timeout, deadline)) as resp:
                length = resp.headers.get("Content-Length", "")
                if length.isdigit() and int(length) > max_bytes:
                    raise FeedError(f"larger than {max_bytes} bytes; not read", path=url,
                                    field="fetch")
                data = _read_capped(resp, max_bytes)
                content_type = resp.headers.get("Content-Type")
        except FeedError:
            raise
        except urllib.error.HTTPError as exc:
            raise FeedError(f"HTTP {exc.code} {exc.reason}", path=url, field="fetch") from exc
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
            if dog.expired:
                raise _late(url, deadline) from exc
            reason = getattr(exc, "reason", None) or exc or type(exc).__name__
            raise FeedError(f"cannot fetch: {reason}", path=url, field="fetch") from exc
        if dog.expired:               # the shutdown may look like a normal end of the body
            raise _late(url, deadline)
    if len(data) > max_bytes:
        raise FeedError(f"larger than {max_bytes} bytes; not read", path=url, field="fetch")
    return Fetched(data, content_type)


def _read_capped(resp: http.client.HTTPResponse, max_bytes: int) -> bytes:
    chunks, size = [], 0
    while size <= max_bytes:
        chunk = resp.read1(_CHUNK)      # whatever has arrived, so the watchdog can cut in
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _late(url: str, deadline: float) -> FeedError:
    return FeedError(f"no complete answer within the {deadline:g} s deadline", path=url,
                     field="fetch")

