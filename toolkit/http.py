"""The one HTTP client: every request podkit makes (feed fetch, import downloads, notify).

    with http.open_url(url, kind="audio", policy=http.Policy()) as resp:
        for chunk in resp.chunks(): ...           # capped, timed, length-checked
    data = http.get_bytes(url, kind="feed").data

One place for the policy, so a second way to reach the outside cannot skip it:
- **Schemes**: http and https only, for the first URL and every redirect hop.
- **Addresses**: the host is resolved once, every address it resolves to is checked, and
  the connection goes to the checked address (no second lookup an attacker's DNS could
  answer differently). Loopback, private (RFC 1918, fc00::/7, CGNAT) and other
  non-global addresses are refused unless `Policy.allow_private` (a producer importing
  from their own network); link-local (169.254.0.0/16 and fe80::/10, where cloud metadata
  services answer), multicast, unspecified and reserved addresses are always refused.
- **Redirects**: at most `Policy.max_redirects` hops, each checked again like the first;
  a chain back to a URL already visited is a "redirect loop", a longer one "too many
  redirects". Credentials are dropped when a redirect leaves the origin.
- **Time**: one overall deadline per request (connect, headers, body) enforced by a
  watchdog that shuts the socket down, a per-read timeout, and a low-speed cut (less than
  `slow_bytes` in `slow_seconds`): a server sending one byte every 4 s is cut off.
- **Size**: a cap per kind of file (`KINDS`); a Content-Length above it is refused before
  reading, a body growing past it is cut off. A body shorter than its Content-Length is
  an error, never a complete file.
- **Identity**: one User-Agent.
Errors are `FetchError` (a PodkitError); its path is the URL as `display_url` shows it
(no userinfo, no query values), so no token in a URL is ever printed.
"""
from __future__ import annotations

import base64
import http.client
import logging
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from urllib.parse import unquote, urljoin, urlsplit

from toolkit import __version__
from toolkit.errors import PodkitError
from toolkit.urls import address_problem, display_url, parse_length

log = logging.getLogger(__name__)

USER_AGENT = f"podkit/{__version__} (+https://github.com/podkit)"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 256 * 1024


@dataclass(frozen=True)
class Kind:
    """Limits for one kind of file: the byte cap and the overall deadline in seconds."""

    max_bytes: int
    deadline: float


#: Caps and deadlines per kind of file. Audio gets hours (a 10-hour WAV is ~6 GB) but the
#: low-speed cut still ends a trickle within `Policy.slow_seconds`.
KINDS: dict[str, Kind] = {
    "feed": Kind(64 * 1024 ** 2, 30.0),        # the 2,000-episode benchmark feed is ~6 MB
    "transcript": Kind(16 * 1024 ** 2, 30.0),
    "chapters": Kind(4 * 1024 ** 2, 30.0),
    "image": Kind(32 * 1024 ** 2, 60.0),
    "audio": Kind(8 * 1024 ** 3, 4 * 3600.0),
    "notify": Kind(64 * 1024, 10.0),           # a hub's answer: only its status matters
}


@dataclass(frozen=True)
class Policy:
    """Where requests may go and how long they may take; the defaults are the cautious ones."""

    allow_private: bool = False       # loopback and private networks (never link-local)
    max_redirects: int = 5
    deadline: float | None = None     # overall seconds; None: the kind's deadline
    read_timeout: float = 20.0        # seconds a connect or a single read may wait
    slow_bytes: int = 16 * 1024       # fewer bytes than this ...
    slow_seconds: float = 30.0        # ... in this many seconds: given up


class FetchError(PodkitError):
    """A request that failed or was refused; `status` is the HTTP status when one came."""

    def __init__(self, message: str, *, url: str, status: int | None = None) -> None:
        super().__init__(message, path=display_url(url), field="url")
        self.status = status


class _Watchdog:
    """Shuts the request's sockets down when the deadline passes, so a blocked read returns."""

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
            # The OS-level shutdown wakes a read blocked in another thread, TLS or not.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass                            # already closed: nothing left to wake

    def start(self) -> None:
        self._timer.start()

    def cancel(self) -> None:
        self._timer.cancel()


def _connect(address: str, port: int, timeout: float, dog: _Watchdog) -> socket.socket:
    sock = socket.create_connection((address, port), timeout)
    dog.watch(sock)
    return sock


class _HTTP(http.client.HTTPConnection):
    """A connection to the address that was checked, not to a second lookup of the name."""

    def __init__(self, host: str, port: int, address: str, timeout: float, dog: _Watchdog) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address, self._dog = address, dog

    def connect(self) -> None:
        self.sock = _connect(self._address, self.port, self.timeout, self._dog)


class _HTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float, dog: _Watchdog) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address, self._dog = address, dog

    def connect(self) -> None:
        sock = _connect(self._address, self.port, self.timeout, self._dog)
        # The certificate is checked against the name in the URL (SNI too).
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


class Response:
    """An answer whose body is read through `chunks()` (capped, timed, length-checked)."""

    def __init__(self, raw: http.client.HTTPResponse, url: str, kind: str, policy: Policy,
                 dog: _Watchdog) -> None:
        self._raw, self._kind, self._policy, self._dog = raw, kind, policy, dog
        self.url = url                      # after redirects
        self.status: int = raw.status
        self.reason: str = raw.reason
        self.headers: Message = raw.headers
        self.max_bytes = KINDS[kind].max_bytes

    @property
    def content_type(self) -> str | None:
        """The Content-Type header, or None."""
        return self.headers.get("Content-Type")

    @property
    def length(self) -> int | None:
        """The Content-Length as a number (None when absent or not a plain number)."""
        return parse_length(self.headers.get("Content-Length"))

    def chunks(self, limit: int | None = None) -> Iterator[bytes]:
        """The body in pieces; FetchError when it is over the cap, too slow, late or short.

        With `limit`, reading stops quietly after that many bytes (an answer only glanced at).
        """
        expected = None if self._raw.chunked else self.length
        if limit is None and expected is not None and expected > self.max_bytes:
            raise self._error(f"{expected} bytes is over the {self.max_bytes}-byte cap for a "
                              f"{self._kind}; not read")
        got, window_start, window_got = 0, time.monotonic(), 0
        try:
            while limit is None or got < limit:
                data = self._raw.read1(_CHUNK if limit is None else min(_CHUNK, limit - got))
                if not data:
                    break
                got += len(data)
                window_got += len(data)
                if got > self.max_bytes:
                    raise self._error(f"larger than the {self.max_bytes}-byte cap for a "
                                      f"{self._kind}; not read")
                now = time.monotonic()
                if now - window_start >= self._policy.slow_seconds:
                    if window_got < self._policy.slow_bytes:
                        raise self._error(f"slower than {self._policy.slow_bytes} bytes in "
                                          f"{self._policy.slow_seconds:g} s; given up")
                    window_start, window_got = now, 0
                yield data
        except (http.client.HTTPException, OSError) as exc:
            if isinstance(exc, FetchError):
                raise
            if self._dog.expired:
                raise self._late() from exc
            raise self._error(f"cut short ({_reason(exc)})") from exc
        if self._dog.expired:          # the watchdog's shutdown looks like an end of body
            raise self._late()
        if limit is None and expected is not None and got != expected:
            raise self._error(f"cut short: {got} of {expected} bytes")

    def read(self) -> bytes:
        """The whole body (at most the kind's cap)."""
        return b"".join(self.chunks())

    def _error(self, message: str) -> FetchError:
        return FetchError(message, url=self.url, status=self.status)

    def _late(self) -> FetchError:
        return FetchError(f"no complete answer within the {self._dog.seconds:g} s deadline",
                          url=self.url, status=self.status)


@dataclass(frozen=True)
class Got:
    """A whole body and how it came."""

    data: bytes
    content_type: str | None
    url: str
    status: int


def _reason(exc: BaseException) -> str:
    reason = str(exc) or type(exc).__name__
    return " ".join(str(reason).split())


def _addresses(host: str, port: int, policy: Policy, url: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"cannot resolve {host}: {_reason(exc)}", url=url) from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:
        problem = address_problem(address, policy.allow_private)
        if problem:
            hint = "" if "link-local" in problem or "unicast" in problem or \
                policy.allow_private else " (--allow-private-hosts allows your own network)"
            raise FetchError(f"{host} is {address}, {problem}: refused{hint}", url=url)
    return addresses


def _target(url: str) -> tuple[str, str, int, str, str | None]:
    """(scheme, host, port, request target, basic credentials) of an http(s) URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchError(str(exc), url=url) from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise FetchError("only http and https URLs are fetched", url=url)
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise FetchError("URL can't contain control characters or spaces", url=url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    creds = None
    if parts.username is not None:
        creds = base64.b64encode(f"{unquote(parts.username)}:{unquote(parts.password or '')}"
                                 .encode()).decode("ascii")
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80), target, creds


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.hostname, parts.port


def _send(url: str, method: str, headers: dict[str, str], body: bytes | None, policy: Policy,
          dog: _Watchdog) -> tuple[http.client.HTTPResponse, http.client.HTTPConnection, str]:
    """Send the request, following redirects within the policy; (answer, connection, final URL)."""
    seen: set[str] = set()
    current, hops = url, 0
    creds = _target(url)[4]
    while True:
        scheme, host, port, target, _ = _target(current)
        addresses = _addresses(host, port, policy, current)
        timeout = min(policy.read_timeout, dog.seconds)
        cls = _HTTPS if scheme == "https" else _HTTP
        conn: http.client.HTTPConnection | None = None
        last: OSError | None = None
        for address in addresses:            # the first that answers, as create_connection does
            conn = cls(host, port, address, timeout, dog)
            try:
                conn.connect()
                break
            except OSError as exc:
                conn.close()
                conn, last = None, exc
        if conn is None:
            raise last or OSError("no address to connect to")
        sent = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **headers}
        if creds and _origin(current) == _origin(url):
            sent["Authorization"] = f"Basic {creds}"
        try:
            conn.request(method, target, body=body, headers=sent)
            raw = conn.getresponse()
        except BaseException:
            conn.close()                      # open_url only closes the connection it got
            raise
        location = raw.getheader("Location")
        if raw.status not in _REDIRECTS or not location:
            return raw, conn, current
        raw.close()
        conn.close()
        seen.add(current)
        nxt = urljoin(current, location.strip())
        if nxt in seen:
            raise FetchError(f"redirect loop (back to {display_url(nxt)})", url=url,
                             status=raw.status)
        hops += 1
        if hops > policy.max_redirects:
            raise FetchError(f"too many redirects (more than {policy.max_redirects})", url=url,
                             status=raw.status)
        if raw.status == 303 or (raw.status in (301, 302) and method == "POST"):
            method, body = "GET", None
            headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        if _origin(nxt) != _origin(current):
            # Another host must not receive what was meant for this one.
            headers = {k: v for k, v in headers.items()
                       if k.lower() not in ("authorization", "cookie")}
        log.debug("%s: HTTP %s, on to %s", display_url(current), raw.status, display_url(nxt))
        current = nxt


@contextmanager
def open_url(url: str, *, kind: str, policy: Policy | None = None, method: str = "GET",
             headers: dict[str, str] | None = None, body: bytes | None = None,
             raise_for_status: bool = True) -> Iterator[Response]:
    """Send one request within the policy and yield the answer, its body not yet read.

    FetchError for a refused URL or address, a failed connection, too many redirects,
    the deadline, and (with `raise_for_status`) an HTTP status of 300 or more.
    """
    policy = policy or Policy()
    dog = _Watchdog(policy.deadline or KINDS[kind].deadline)
    dog.start()
    conn = None
    try:
        try:
            raw, conn, final = _send(url, method, dict(headers or {}), body, policy, dog)
        except FetchError:
            raise
        except (http.client.HTTPException, OSError, ValueError) as exc:
            if dog.expired:
                raise FetchError(f"no complete answer within the {dog.seconds:g} s deadline",
                                 url=url) from exc
            raise FetchError(f"cannot fetch: {_reason(exc)}", url=url) from exc
        resp = Response(raw, final, kind, policy, dog)
        # A 3xx left after redirects (no Location, 304...) carries no usable body either.
        if raise_for_status and resp.status >= 300:
            raise FetchError(f"HTTP {resp.status} {resp.reason}", url=final, status=resp.status)
        yield resp
    finally:
        dog.cancel()
        if conn is not None:
            conn.close()


def get_bytes(url: str, *, kind: str, policy: Policy | None = None,
              headers: dict[str, str] | None = None) -> Got:
    """GET `url` and return the whole body; FetchError as `open_url`, or for a short body."""
    with open_url(url, kind=kind, policy=policy, headers=headers) as resp:
        data = resp.read()
        return Got(data, resp.content_type, resp.url, resp.status)


__all__ = ["FetchError", "Got", "KINDS", "Kind", "Policy", "Response", "USER_AGENT",
           "address_problem", "display_url", "get_bytes", "open_url", "parse_length"]
