"""A real HTTP server on 127.0.0.1 whose answers the test writes: files, redirects, trickles,
endless and cut-short bodies, HTML where audio should be. Stopped by the fixture."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

Handler = Callable[[BaseHTTPRequestHandler], None]


class Routes:
    """path (query ignored) -> a function answering the request; every request is logged."""

    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.log: list[tuple[str, str, dict[str, str]]] = []   # (method, full path, headers)
        self.stop_event = threading.Event()
        routes = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _any(self) -> None:
                routes.log.append((self.command, self.path, dict(self.headers.items())))
                size = int(self.headers.get("Content-Length") or 0)
                if size:
                    self.rfile.read(size)
                fn = routes.routes.get(self.path.split("?")[0])
                if fn is None:
                    self.send_error(404)
                    return
                try:
                    fn(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass                  # the client gave up: what the test wanted
                self.close_connection = True

            do_GET = do_POST = _any  # noqa: N815 - http.server's names

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def file(self, path: str, data: bytes, ctype: str = "application/octet-stream", *,
             etag: str | None = None, length: int | None = None) -> str:
        """Serve `data` (Range honoured when `etag` is set); `length` lies about its size."""
        def answer(h: BaseHTTPRequestHandler) -> None:
            start = 0
            rng = h.headers.get("Range")
            if rng and etag and h.headers.get("If-Range") in (None, etag):
                start = int(rng[6:].split("-")[0])
                h.send_response(206)
                h.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                h.send_response(200)
            body = data[start:]
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(length if length is not None else len(body)))
            if etag:
                h.send_header("ETag", etag)
            h.end_headers()
            h.wfile.write(body)
        self.routes[path] = answer
        return self.base + path

    def redirect(self, path: str, to: str, code: int = 302) -> str:
        def answer(h: BaseHTTPRequestHandler) -> None:
            h.send_response(code)
            h.send_header("Location", to)
            h.send_header("Content-Length", "0")
            h.end_headers()
        self.routes[path] = answer
        return self.base + path

    def trickle(self, path: str, every: float, status: int = 200, ctype: str = "audio/mpeg") -> str:
        """One byte every `every` seconds, for as long as the client listens (Content-Length 10 MB)."""
        def answer(h: BaseHTTPRequestHandler) -> None:
            h.send_response(status)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(10_000_000))
            h.end_headers()
            while not self.stop_event.is_set():
                h.wfile.write(b"x")
                h.wfile.flush()
                time.sleep(every)
        self.routes[path] = answer
        return self.base + path

    def endless(self, path: str, status: int = 200) -> str:
        """A chunked body that never ends, as fast as the client reads."""
        def answer(h: BaseHTTPRequestHandler) -> None:
            h.send_response(status)
            h.send_header("Content-Type", "text/plain")
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            block = b"%x\r\n%s\r\n" % (65536, b"y" * 65536)
            while not self.stop_event.is_set():
                h.wfile.write(block)
        self.routes[path] = answer
        return self.base + path

    def stop(self) -> None:
        self.stop_event.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def routes():  # noqa: ANN201 - yields Routes
    """A scripted HTTP server on 127.0.0.1, stopped after the test."""
    r = Routes()
    yield r
    r.stop()
