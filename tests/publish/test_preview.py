"""`podkit preview`: a real HTTP server on 127.0.0.1, read with http.client and feedparser."""
from __future__ import annotations

import http.client
import os
import socket
import threading
from pathlib import Path

import feedparser
import pytest
from publish_site import BASE_URL, audio, make_site

from toolkit.errors import PodkitError
from toolkit.publish import preview

SECRET = b"outside the served folder: must never be served"


@pytest.fixture
def served(tmp_path):
    """A built site served on a free port, with traps around it; stopped after the test."""
    site = tmp_path / "site"
    keys = make_site(site, {"ep-a": audio(1, 30_000), "ep-b": audio(2, 5)})
    (tmp_path / "secret.txt").write_bytes(SECRET)
    os.symlink(tmp_path / "secret.txt", site / "leak.txt")
    os.symlink(tmp_path, site / "leakdir")
    os.symlink(site / "episodes/ep-a/transcript.vtt", site / "inside.vtt")
    (site / ".podkit-manifest.json").write_text("{}")
    (site / ".podkit").mkdir()
    (site / ".podkit" / "site.json").write_text("{}")      # a feed's publish manifest
    server = preview.make_server(site, "127.0.0.1", 0, base_url=BASE_URL)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server, site, keys
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def request(server, method: str, path: str, headers: dict[str, str] | None = None):
    """Send the path exactly as given (no client-side normalization); return status, headers, body."""
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", (headers or {}).pop("Host", f"{host}:{port}"))
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_defaults_to_loopback(tmp_path):
    server = preview.make_server(tmp_path, port=0)
    try:
        assert server.server_address[0] == "127.0.0.1"
        assert server.url == f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.server_close()


def test_feed_points_at_the_preview_server_and_every_enclosure_plays(served):
    server, site, keys = served
    status, headers, body = request(server, "GET", "/feed.xml")
    assert status == 200 and headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert BASE_URL.encode() not in body
    parsed = feedparser.parse(body)
    assert not parsed.bozo and len(parsed.entries) == 2
    for entry in parsed.entries:
        enc = entry.enclosures[0]
        assert enc.href.startswith(server.url)
        status, headers, data = request(server, "GET", enc.href.removeprefix(server.url[:-1]))
        assert status == 200 and headers["content-type"] == "audio/mpeg"
        assert len(data) == int(enc.length) == int(headers["content-length"])
    assert int(request(server, "HEAD", "/feed.xml")[1]["content-length"]) == len(body)


def test_urls_follow_the_host_the_client_used(served):
    server, site, keys = served
    status, _, body = request(server, "GET", "/feed.xml", {"Host": "192.168.1.20:8000"})
    parsed = feedparser.parse(body)
    assert parsed.entries[0].enclosures[0].href.startswith("http://192.168.1.20:8000/episodes/")
    # A Host header that is not a host name is not written into the feed.
    _, _, body = request(server, "GET", "/feed.xml", {"Host": 'evil"><x a="'})
    assert b"evil" not in body and server.url.encode() in body


def test_pages_are_rewritten_and_folders_serve_their_index(served):
    server, site, keys = served
    status, headers, body = request(server, "GET", "/episodes/ep-a/")
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert f'href="{server.url}{keys["ep-a"]}"'.encode() in body
    status, headers, _ = request(server, "GET", "/episodes/ep-a")
    assert status == 301 and headers["location"] == "/episodes/ep-a/"
    assert request(server, "GET", "/")[2] == (site / "index.html").read_bytes().replace(
        BASE_URL.encode(), server.url.encode())


def test_head_and_byte_ranges(served):
    server, site, keys = served
    data = (site / keys["ep-a"]).read_bytes()
    size = len(data)
    path = "/" + keys["ep-a"]
    status, headers, body = request(server, "HEAD", path)
    assert (status, body) == (200, b"")
    assert int(headers["content-length"]) == size and headers["accept-ranges"] == "bytes"
    cases = {
        "bytes=0-99": (0, 99),
        "bytes=100-": (100, size - 1),
        "bytes=-50": (size - 50, size - 1),
        f"bytes={size - 10}-{size + 500}": (size - 10, size - 1),
        "bytes=-999999": (0, size - 1),
    }
    for header, (first, last) in cases.items():
        status, headers, body = request(server, "GET", path, {"Range": header})
        assert status == 206, header
        assert headers["content-range"] == f"bytes {first}-{last}/{size}", header
        assert body == data[first:last + 1] and int(headers["content-length"]) == len(body)
    for unsatisfiable in (f"bytes={size}-", f"bytes={size + 5}-{size + 9}", "bytes=-0"):
        status, headers, body = request(server, "GET", path, {"Range": unsatisfiable})
        assert status == 416 and headers["content-range"] == f"bytes */{size}", unsatisfiable
    for ignored in ("bytes=9-2", "bytes=0-1,5-9", "items=0-5", "bytes=x-y"):
        status, _, body = request(server, "GET", path, {"Range": ignored})
        assert status == 200 and body == data, ignored
    # A HEAD with a range describes the range, without a body.
    status, headers, body = request(server, "HEAD", path, {"Range": "bytes=10-19"})
    assert (status, headers["content-range"], headers["content-length"], body) == \
        (206, f"bytes 10-19/{size}", "10", b"")


def test_ranges_on_the_rewritten_feed_count_rewritten_bytes(served):
    server, _, _ = served
    _, _, whole = request(server, "GET", "/feed.xml")
    status, headers, body = request(server, "GET", "/feed.xml", {"Range": "bytes=-40"})
    assert status == 206 and body == whole[-40:]
    assert headers["content-range"].endswith(f"/{len(whole)}")


def test_conditional_requests(served):
    server, site, keys = served
    _, headers, _ = request(server, "GET", "/" + keys["ep-b"])
    assert request(server, "GET", "/" + keys["ep-b"], {"If-None-Match": headers["etag"]})[0] == 304
    stale = request(server, "GET", "/" + keys["ep-b"], {"Range": "bytes=0-1", "If-Range": '"old"'})
    assert stale[0] == 200 and stale[2] == (site / keys["ep-b"]).read_bytes()


def test_content_types_from_the_table(served):
    server, _, _ = served
    expected = {"/episodes/ep-a/chapters.json": "application/json+chapters",
                "/episodes/ep-a/transcript.vtt": "text/vtt",
                "/inside.vtt": "text/vtt"}  # a symlink that stays inside is fine
    for path, ctype in expected.items():
        status, headers, _ = request(server, "GET", path)
        assert (status, headers["content-type"]) == (200, ctype), path


@pytest.mark.parametrize("path", [
    "/../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E%2Fsecret.txt",
    "/episodes/..%2f..%2fsecret.txt",
    "/episodes/%2e%2e/%2e%2e/secret.txt",
    "/..%5csecret.txt",
    "/leak.txt",                      # symlink to a file outside
    "/leakdir/secret.txt",            # symlink to a folder outside
    "/leakdir/",
    "/.podkit-manifest.json",         # hidden files are not served
    "/.podkit/site.json",             # nor podkit's publish manifests
    "/%2fetc%2fpasswd",
    "//etc/passwd",
    "/feed.xml%00.txt",
    "http://evil.example/../secret.txt",
])
def test_nothing_outside_the_folder(served, path):
    server, _, _ = served
    for method in ("GET", "HEAD"):
        status, _, body = request(server, method, path)
        assert status in (400, 404), (method, path, status)
        assert SECRET not in body


def test_only_get_and_head(served):
    server, _, _ = served
    status, headers, _ = request(server, "POST", "/feed.xml", {"Content-Length": "0"})
    assert status == 405 and headers["allow"] == "GET, HEAD"


def test_serves_any_host_and_port_given(tmp_path):
    site = tmp_path / "site"
    make_site(site, {"ep-a": audio(1, 100)})
    server = preview.make_server(Path(site), "127.0.0.1", 0)  # no base URL: served as built
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        status, _, body = request(server, "GET", "/feed.xml")
        assert status == 200 and body == (site / "feed.xml").read_bytes()
    finally:
        server.shutdown()
        server.server_close()


def _serve(site: Path, **options):
    """A server for `site` on a free port, serving in a thread (stop it with _stop)."""
    server = preview.make_server(site, "127.0.0.1", 0, **options)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    return server, thread


def _stop(server, thread) -> None:
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_a_busy_port_is_a_one_line_error_with_a_hint(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PodkitError) as info:
            preview.make_server(tmp_path, "127.0.0.1", port)
    message = str(info.value)
    assert "\n" not in message and f"127.0.0.1:{port}" in message
    assert "already in use" in message and "--port" in message


def test_an_overlong_path_segment_is_414_and_the_server_goes_on(served):
    server, _, _ = served
    assert request(server, "GET", "/" + "a" * 300)[0] == 414
    assert request(server, "GET", "/episodes/" + "b" * 300 + "/x.mp3")[0] == 414
    assert request(server, "GET", "/feed.xml")[0] == 200


def test_range_numbers_of_any_length(served):
    server, site, keys = served
    size = (site / keys["ep-a"]).stat().st_size
    path = "/" + keys["ep-a"]
    huge = "9" * 5000            # past int()'s 4300-digit limit for strings
    status, headers, _ = request(server, "GET", path, {"Range": f"bytes={huge}-"})
    assert status == 416 and headers["content-range"] == f"bytes */{size}"
    status, headers, body = request(server, "GET", path, {"Range": f"bytes=0-{huge}"})
    assert status == 206 and len(body) == size
    assert headers["content-range"] == f"bytes 0-{size - 1}/{size}"
    status, _, body = request(server, "GET", path, {"Range": f"bytes=-{huge}"})
    assert status == 206 and len(body) == size


def test_an_idle_client_is_disconnected(tmp_path):
    """A client that sends half a request and stalls is dropped after the idle timeout."""
    site = tmp_path / "site"
    make_site(site, {"ep-a": audio(1, 100)})
    server, thread = _serve(site, idle_timeout=0.5)
    try:
        with socket.create_connection(server.server_address[:2], timeout=10) as slow:
            slow.sendall(b"GET /feed.xml HTTP/1.1\r\nHost: x\r\n")   # no blank line: stalls
            try:
                reply = slow.recv(1024)
            except TimeoutError:
                reply = None
        assert reply is not None, "the stalled client was never disconnected"
        assert request(server, "GET", "/feed.xml")[0] == 200
    finally:
        _stop(server, thread)


def _handler_threads() -> int:
    return sum("process_request_thread" in t.name or t.name.startswith("podkit-preview")
               for t in threading.enumerate())


def test_handler_threads_are_bounded(tmp_path):
    """Stalled clients take at most max_threads handler threads; the rest wait in the
    listen queue, and are served once the stalled ones time out."""
    site = tmp_path / "site"
    make_site(site, {"ep-a": audio(1, 100)})
    server, thread = _serve(site, idle_timeout=0.5, max_threads=4)
    stalled = []
    try:
        before = _handler_threads()
        for _ in range(10):
            s = socket.create_connection(server.server_address[:2], timeout=10)
            s.sendall(b"GET / HTTP/1.1\r\n")
            stalled.append(s)
        # The server accepts what its threads can take at once; poll until it settles.
        seen = 0
        for _ in range(20):
            seen = max(seen, _handler_threads() - before)
            threading.Event().wait(0.05)
        assert 1 <= seen <= 4, seen
        assert request(server, "GET", "/feed.xml")[0] == 200   # served after the timeouts
    finally:
        for s in stalled:
            s.close()
        _stop(server, thread)


def test_a_dropped_keep_alive_connection_prints_no_traceback(served, capfd):
    """Issue 23, item 8: a browser resets an idle keep-alive connection (or one mid-request):
    the preview says nothing about it, and goes on serving."""
    import struct
    import time
    server, _site, _keys = served
    host, port = server.server_address[:2]
    for payload in (b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n", b"GET /ind"):
        sock = socket.create_connection((host, port), timeout=5)
        sock.sendall(payload)
        time.sleep(0.2)      # the server answers (keep-alive) and waits for the next request
        # SO_LINGER 0: close() sends a TCP reset, as a browser dropping a connection does.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    time.sleep(0.3)
    status, _headers, _body = request(server, "GET", "/index.html")
    assert status == 200
    err = capfd.readouterr().err
    assert "Traceback" not in err and "ConnectionResetError" not in err, err
