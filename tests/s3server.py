"""A real S3 HTTP server for tests: moto's server in a subprocess, behind a fault-injecting proxy.

    from s3server import moto_endpoint, s3   # noqa: F401  (pytest fixtures)

`moto_endpoint` (session) starts `python -m moto.server` on 127.0.0.1 and a free port and
kills it at the end. `s3` (per test) puts a `FaultProxy` in front of it, sets fake
credentials in the environment, creates a fresh bucket and hands back an `S3Env`.
The proxy forwards every request unchanged unless a rule matches, and can answer with
an error status (500, 503 SlowDown, 403), drop the connection part-way through a request
body, read bodies slowly (to kill a publish while a large file is on the wire), or flip
one byte of a body (same length: damage on the wire). It logs every request, so tests
count real PUTs rather than trust a report (`counts` sorts them by verb).

moto 5.2.6 stores a body whatever its Content-MD5 says, where S3 answers 400 BadDigest.
So the proxy, after any damage it injected, does what S3 does at its edge: a body whose
MD5 is not its Content-MD5 header is refused with BadDigest and never reaches moto
(`check_md5 = False` turns that off, leaving moto's behaviour). moto also reports every
unfinished multipart upload as initiated on 2010-11-10; `initiated_now = True` makes the
listing say "just now" instead, for tests of how old uploads are treated.
"""
from __future__ import annotations

import base64
import hashlib
import http.client
import itertools
import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from toolkit.model import PublishTarget, TargetKind

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "expect", "proxy-connection",
              "te", "trailer", "upgrade"}
ERROR_XML = ('<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
             '<Message>{message}</Message><RequestId>podkit-test</RequestId></Error>')
#: The secret the tests' fake credentials use: it must appear in no output or log.
SECRET_KEY = "podkitTESTsecret/K7MDENG+bPxRfiCYzz9"
SESSION_TOKEN = "podkitTESTsessionTOKEN+FwoGZXIvYXdzEJr"
_bucket_ids = itertools.count(1)


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Rule:
    """One fault: which requests it matches, what it does, how many times."""

    method: str | None              # 'PUT', 'HEAD'... None: any
    path_contains: str              # substring of the raw request path (with the query)
    action: str                     # 'status', 'drop', 'slow' or 'flip'
    status: int = 500
    code: str = "InternalError"
    times: int | None = 1           # None: every matching request
    after_bytes: int = 0            # drop: bytes of the body read before the connection goes
    rate: int = 0                   # slow: body bytes per second
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        return ((self.method is None or self.method == method) and self.path_contains in path
                and (self.times is None or self.hits < self.times))


@dataclass
class Seen:
    """One request the proxy received."""

    method: str
    path: str
    outcome: str                    # 'forwarded', 'status 500', 'dropped'
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)   # lower-case names


class FaultProxy:
    """An HTTP proxy on 127.0.0.1 in front of moto that injects faults by rule."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.rules: list[Rule] = []
        self.seen: list[Seen] = []
        self.body_bytes: dict[str, int] = {}   # path -> body bytes received so far (slow rules)
        self.lock = threading.Lock()
        self.check_md5 = True     # refuse a body that is not its Content-MD5, as S3 does
        self.initiated_now = False   # ListMultipartUploads: every upload started just now
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def add(self, method: str | None, path_contains: str, action: str, **kw: object) -> Rule:
        """Add a rule (see `Rule`) and return it, so a test can read `rule.hits`."""
        rule = Rule(method, path_contains, action, **kw)  # type: ignore[arg-type]
        with self.lock:
            self.rules.append(rule)
        return rule

    def take(self, method: str, path: str) -> Rule | None:
        with self.lock:
            for rule in self.rules:
                if rule.matches(method, path):
                    rule.hits += 1
                    return rule
        return None

    def requests(self, method: str | None = None, outcome: str | None = "forwarded") -> list[Seen]:
        """The requests seen so far, filtered."""
        with self.lock:
            return [s for s in self.seen if (method is None or s.method == method)
                    and (outcome is None or s.outcome == outcome)]

    def counts(self) -> Counter[str]:
        """Requests forwarded to the server, by verb; a GET that lists (objects or multipart
        uploads) counts as LIST. What a benchmark reads to count requests by verb."""
        out: Counter[str] = Counter()
        for s in self.requests():
            query = parse_qs(urlsplit(s.path).query, keep_blank_values=True)
            listing = s.method == "GET" and ("list-type" in query or "uploads" in query)
            out["LIST" if listing else s.method] += 1
        return out

    def most_body_bytes(self) -> int:
        """The most body bytes a throttled request has delivered so far."""
        with self.lock:
            return max(self.body_bytes.values(), default=0)

    def reset(self) -> None:
        with self.lock:
            self.rules.clear()
            self.seen.clear()
            self.body_bytes.clear()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"   # keep-alive and 100-continue, like S3

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def _record(self, outcome: str, status: int = 0) -> None:
            with proxy.lock:
                proxy.seen.append(Seen(self.command, self.path, outcome, status,
                                       {k.lower(): v for k, v in self.headers.items()}))

        def _read_body(self, length: int, rule: Rule | None) -> bytes:
            if rule is None or rule.action != "slow":
                return self.rfile.read(length)
            chunks, got = [], 0
            while got < length:
                chunk = self.rfile.read(min(16384, length - got))
                if not chunk:
                    raise ConnectionError("client went away")
                chunks.append(chunk)
                got += len(chunk)
                with proxy.lock:
                    proxy.body_bytes[self.path] = got
                time.sleep(len(chunk) / rule.rate)
            return b"".join(chunks)

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            rule = proxy.take(self.command, self.path)
            try:
                if rule and rule.action == "drop":
                    self.rfile.read(min(rule.after_bytes, length))
                    self._record("dropped")
                    # RST rather than FIN: the client sees a reset mid-request, like a dead link.
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               struct.pack("ii", 1, 0))
                    self.close_connection = True
                    return
                body = self._read_body(length, rule)
            except (ConnectionError, OSError):
                self._record("client went away")
                self.close_connection = True
                return
            if rule and rule.action == "flip" and body:
                at = len(body) // 2
                body = body[:at] + bytes([body[at] ^ 0x01]) + body[at + 1:]
            md5 = self.headers.get("Content-MD5")
            if proxy.check_md5 and md5 and base64.b64encode(hashlib.md5(body).digest()).decode() != md5:
                self._record("bad digest", 400)
                data = ERROR_XML.format(code="BadDigest", message="The Content-MD5 you specified "
                                        "did not match what we received.").encode()
                self.send_response(400)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            if rule and rule.action == "status":
                self._record(f"status {rule.status}", rule.status)
                data = b"" if self.command == "HEAD" else ERROR_XML.format(
                    code=rule.code, message=f"injected by the test proxy ({rule.status})").encode()
                self.send_response(rule.status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            conn.request(self.command, self.path, body=body if length else None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            conn.close()
            if proxy.initiated_now and self.command == "GET" and "uploads" in parse_qs(
                    urlsplit(self.path).query, keep_blank_values=True):
                now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
                data = re.sub(rb"<Initiated>[^<]*</Initiated>",
                              f"<Initiated>{now}</Initiated>".encode(), data)
            self._record("forwarded", resp.status)
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                    self.send_header(k, v)
            # HEAD keeps the upstream length: it is the object's size, not this body's.
            size = resp.getheader("Content-Length") if self.command == "HEAD" else str(len(data))
            self.send_header("Content-Length", size or "0")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

    return Handler


@dataclass
class S3Env:
    """What the `s3` fixture hands a test."""

    proxy: FaultProxy
    moto_url: str          # moto itself, bypassing the proxy (for checks)
    bucket: str
    region: str = "us-east-1"
    _client: object = None

    def target(self, prefix: str = "show/", **kw: object) -> PublishTarget:
        """A PublishTarget pointing at this bucket through the proxy, path-style."""
        return PublishTarget(kind=TargetKind.S3, bucket=self.bucket, prefix=prefix,
                             endpoint_url=self.proxy.url, region=self.region,
                             addressing_style="path", **kw)  # type: ignore[arg-type]

    def get(self, key: str) -> tuple[int, dict[str, str], bytes]:
        """GET an object straight from moto over plain HTTP (a presigned URL): status, headers, body."""
        url = self.client().generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": key})
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
        except urllib.error.HTTPError as exc:
            return exc.code, {}, b""

    def client(self):
        """A plain boto3 client on moto (for listing and multipart checks in tests)."""
        if self._client is None:
            import boto3
            self._client = boto3.client("s3", endpoint_url=self.moto_url, region_name=self.region,
                                        aws_access_key_id="testing", aws_secret_access_key="testing")
        return self._client


def start_moto() -> tuple[subprocess.Popen, str]:
    """Start `python -m moto.server` on 127.0.0.1 and a free port; return the process and its URL.

    A port found free may be taken before moto binds it (another xdist worker starting
    its own server): then moto exits, and another port is tried.
    """
    for attempt in range(3):
        try:
            return _start_moto_once()
        except _PortTaken:
            if attempt == 2:
                raise RuntimeError("moto server could not bind a free port (3 tries)") from None
    raise AssertionError("unreachable")


class _PortTaken(RuntimeError):
    pass


def _start_moto_once() -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            raise _PortTaken(f"moto server exited with {proc.returncode}")
        try:
            urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=1).close()
            return proc, url
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                raise RuntimeError("moto server did not start in 30 s") from None
            time.sleep(0.1)


@pytest.fixture(scope="session")
def moto_endpoint():
    """moto's S3 server in a subprocess on a free port; killed after the session."""
    proc, url = start_moto()
    try:
        yield url
    finally:
        proc.kill()
        proc.wait(timeout=10)


def fake_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *, token: bool = False) -> None:
    """Credentials in the environment only; no profile or config file of the machine leaks in."""
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REQUEST_CHECKSUM_CALCULATION",
                "AWS_RESPONSE_CHECKSUM_VALIDATION", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAPODKITTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    if token:
        monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)


@pytest.fixture
def s3(moto_endpoint, monkeypatch, tmp_path):
    """A fresh bucket on the moto server, reached through a FaultProxy; fake credentials set."""
    fake_credentials(monkeypatch, tmp_path)
    proxy = FaultProxy(int(moto_endpoint.rsplit(":", 1)[1]))
    env = S3Env(proxy, moto_endpoint, f"podkit-test-{os.getpid()}-{next(_bucket_ids)}")
    env.client().create_bucket(Bucket=env.bucket)
    try:
        yield env
    finally:
        proxy.stop()
