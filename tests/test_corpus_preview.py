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
import threading
import time
from pathlib import Path

import feedparser
import pytest
from corpus_support import REPO, Row, copy_show, corpus_base, corpus_built, edit, podkit  # noqa: F401
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
    Row("preview-busy-port", "a second `podkit preview` on a port already in use",
        "exit 1; one line `podkit: --port: cannot listen on 127.0.0.1:<port>: already in use (another "
        "podkit preview?): choose another port with --port` (was a traceback, errno 98)",
        "the first server still answers; no traceback"),
    Row("preview-bad-requests", "a 300-character path segment; a Range header with a "
        "5,000-digit number (start, end, suffix)",
        "414; 416 (start past the end), 206 with the whole file (end, suffix) (was an empty "
        "reply and a server traceback)", "raw requests to the running command; no traceback "
        "on its stderr after Ctrl-C"),
    Row("preview-many-clients", "200 concurrent GETs of the feed",
        "every one answered 200 (listen backlog 256, was 5: bursts waited for SYN retries, "
        "some timed out); at most 32 handler threads, clients idle 15 s dropped",
        "status of every response"),
    Row("preview-serves-build", "`podkit preview` after build + feed + publish, a changed "
        "title, then build + feed again",
        "serves what `podkit feed` selected (build/site/<feed>): the new title (was the last "
        "published copy); `--published` serves the local publish target: the old title",
        "the feed's channel item titles over HTTP, feedparser"),
    Row("preview-published-missing", "`podkit preview --published` with nothing published "
        "yet, or with the target a bucket (`PODKIT_S3_BUCKET`)",
        "exit 1; one line naming the target folder (`run podkit publish`) or the `publish` "
        "field (publishes to a bucket), each with what to do instead", "no traceback"),
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


def start_preview(root: Path, *args: str) -> tuple[subprocess.Popen[str], int]:
    """`podkit preview [args]` on a free port, once it accepts connections."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "toolkit", "--root", str(root), "preview",
                             "--port", str(port), *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while True:
        if proc.poll() is not None:
            raise AssertionError(proc.communicate())
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, port
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(("podkit preview did not start", proc.communicate()))
            time.sleep(0.05)


def stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """Ctrl-C, then its output; it must have stopped cleanly. (The timeout only bounds a
    hang: on a loaded 2-core CI machine a stop after 200 clients once took over 10 s.)"""
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "Traceback" not in err, (out, err)
    return out, err


@pytest.fixture
def preview(corpus_built: Path, tmp_path: Path):
    """`podkit preview` on a free port of a built show with traps; stopped by the test or here."""
    root = copy_show(corpus_built, tmp_path / "show")
    site = root / SITE
    (root / "secret.txt").write_bytes(SECRET)
    os.symlink(root / "secret.txt", site / "leak.txt")
    os.symlink(root, site / "leakdir")
    proc, port = start_preview(root)
    try:
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


def test_preview_busy_port(preview, tmp_path: Path):
    proc, port, site = preview
    root = site.parents[2]
    second = podkit(root, "preview", "--port", str(port))
    assert second.rc == 1 and "Traceback" not in second.stderr, second
    assert second.err_lines == [f"podkit: --port: cannot listen on 127.0.0.1:{port}: already "
                                "in use (another podkit preview?): choose another port with "
                                "--port"]
    assert get(port, "/feed.xml")[0] == 200          # the first one is untouched
    stop(proc)


def _ranged(port: int, path: str, value: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers={"Range": value})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_preview_bad_requests(preview):
    proc, port, site = preview
    assert get(port, "/" + "a" * 300)[0] == 414
    assert get(port, "/episodes/" + "b" * 300 + "/x.mp3")[0] == 414
    mp3 = next(site.rglob("*.mp3"))
    path, size = "/" + mp3.relative_to(site).as_posix(), mp3.stat().st_size
    huge = "9" * 5000
    status, headers, _ = _ranged(port, path, f"bytes={huge}-")
    assert status == 416 and headers["content-range"] == f"bytes */{size}"
    for value in (f"bytes=0-{huge}", f"bytes=-{huge}"):
        status, _, body = _ranged(port, path, value)
        assert status == 206 and body == mp3.read_bytes(), value
    assert get(port, "/feed.xml")[0] == 200
    stop(proc)


def test_preview_many_clients(preview):
    proc, port, site = preview
    statuses: list[int] = []
    lock = threading.Lock()

    def one() -> None:
        try:
            status = get(port, "/feed.xml")[0]
        except OSError as exc:             # refused, reset or timed out: a failure
            status = -1
            print(exc)
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=one) for _ in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(set(statuses)) == [200] and len(statuses) == 200
    stop(proc)


def _titles(port: int) -> list[str]:
    status, body = get(port, "/feed.xml")
    assert status == 200
    return [e.title for e in feedparser.parse(body).entries]


def test_preview_serves_what_feed_selected(corpus_built: Path, tmp_path: Path):
    root = copy_show(corpus_built, tmp_path / "show")
    assert podkit(root, "publish").rc == 0
    edit(root / "episodes/first-episode/episode.toml", 'title = "First episode"',
         'title = "First episode, retitled"')
    for step in (("build",), ("feed",)):
        run = podkit(root, *step)
        assert run.rc == 0, run
    proc, port = start_preview(root)
    assert _titles(port) == ["First episode, retitled"]
    out, _ = stop(proc)
    assert out.splitlines()[0].startswith(f"serving {root / SITE} on ")
    proc, port = start_preview(root, "--published")
    assert _titles(port) == ["First episode"]
    out, _ = stop(proc)
    assert out.splitlines()[0].startswith(f"serving {root / 'build/public/test-radio'} on ")


def test_preview_published_without_a_published_copy(corpus_built: Path, tmp_path: Path):
    root = copy_show(corpus_built, tmp_path / "show")
    run = podkit(root, "preview", "--published", "--port", str(free_port()))
    assert run.rc == 1 and "Traceback" not in run.stderr, run
    assert run.err_lines == [f"podkit: {root / 'build/public/test-radio'}: --published: nothing "
                             "published here yet: run `podkit publish` (or preview the build "
                             "without --published)"], run
    run = podkit(root, "preview", "--published", "--port", str(free_port()),
                 env={"PODKIT_S3_BUCKET": "a-bucket"})
    assert run.rc == 1 and "Traceback" not in run.stderr, run
    assert len(run.err_lines) == 1 and "publishes to a bucket" in run.err_lines[0], run
