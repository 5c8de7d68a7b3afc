"""Corpus: what `podkit preview` exposes, through the real command in a child process.

test_preview.py covers the server module; here `podkit preview` itself is started on a
free port of a built show with traps planted around the folder it serves, probed with
raw request paths (no client-side normalization), and stopped with Ctrl-C (SIGINT).
"""
from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from corpus_support import REPO, Row, copy_show, corpus_base, corpus_built  # noqa: F401
from s3server import free_port

SECRET = b"podkit-preview-secret: must never be served"
SITE = "build/site/test-radio"

ROWS = [
    Row("preview-traversal", "`podkit preview` asked for `..`, `%2e%2e`, `%2f`, `%5c` "
        "(backslash), NUL, absolute and symlinked paths",
        "404 (or 400) for every one; the real feed is served",
        "raw HTTP paths to the running command; the secret's bytes in no response"),
    Row("preview-loopback", "`podkit preview` without --host",
        "listens on 127.0.0.1 only; Ctrl-C stops it cleanly (exit 0, no traceback)",
        "a connection to this machine's LAN address is refused; SIGINT, then the exit status"),
]

PATHS = [
    "/../secret.txt", "/../../../secret.txt", "/%2e%2e/%2e%2e/%2e%2e/secret.txt",
    "/%2E%2E%2F%2E%2E%2F%2E%2E%2Fsecret.txt", "/episodes/..%2f..%2f..%2f..%2fsecret.txt",
    "/..%5c..%5c..%5csecret.txt", "/%5c..%5c..%5c..%5csecret.txt", "/episodes\\..\\..\\secret.txt",
    "/leak.txt", "/leakdir/secret.txt", "/leakdir/", "/%2fetc%2fpasswd", "//etc/passwd",
    "/feed.xml%00/../../../secret.txt", "/.%2e/.%2e/.%2e/secret.txt",
    f"/{'%252e%252e/' * 3}secret.txt",
]


def lan_address() -> str | None:
    """This machine's address on its default route (no packet is sent), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def get(port: int, path: str, host: str = "127.0.0.1") -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", f"127.0.0.1:{port}")
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@pytest.fixture
def preview(corpus_built: Path, tmp_path: Path):
    """`podkit preview` on a free port of a built show with traps; stopped by the test or here."""
    root = copy_show(corpus_built, tmp_path / "show")
    site = root / SITE
    (root / "secret.txt").write_bytes(SECRET)
    os.symlink(root / "secret.txt", site / "leak.txt")
    os.symlink(root, site / "leakdir")
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "toolkit", "--root", str(root), "preview",
                             "--port", str(port)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, proc.communicate()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "podkit preview did not start"
                time.sleep(0.05)
        yield proc, port, site
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def test_preview_serves_nothing_outside_its_folder(preview):
    proc, port, site = preview
    status, body = get(port, "/feed.xml")
    assert status == 200 and b"<rss" in body and f"127.0.0.1:{port}".encode() in body
    assert get(port, "/")[0] == 200
    for path in PATHS:
        status, body = get(port, path)
        assert status in (400, 404) and SECRET not in body, (path, status)
    address = lan_address()
    if address is not None:  # bound to loopback only: the LAN cannot reach it
        with pytest.raises(OSError):
            socket.create_connection((address, port), timeout=2).close()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0 and "Traceback" not in err, (out, err)
    assert out.splitlines()[0] == f"serving {site} on http://127.0.0.1:{port}/"
    assert out.splitlines()[-1] == "stopped"
