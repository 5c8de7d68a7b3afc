"""The episode and index pages in a real browser: headless Chromium, driven over the
Chrome DevTools Protocol, loading a real MP3 from a real HTTP server on 127.0.0.1.

Skipped (with the reason) only when no Chromium binary can be found; `.ci/run` installs
Debian's `chromium` through scripts/ensure-chromium.sh.
"""
from __future__ import annotations

import base64
import html
import http.server
import json
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import mutagen.mp3
import pytest
from notes_support import make_episode, make_show
from PIL import Image

from toolkit import ffmpeg, fsutil, model
from toolkit.site import notes

pytestmark = pytest.mark.browser

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--no-first-run", "--no-default-browser-check", "--mute-audio",
                  "--autoplay-policy=no-user-gesture-required", "--window-size=1000,1400",
                  "--remote-debugging-port=0"]


def _chromium() -> str | None:
    for name in (os.environ.get("PODKIT_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


# ---- a static server that answers byte-range requests, as media hosts must -----------------

class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """SimpleHTTPRequestHandler plus single `Range: bytes=a-b` requests (206 / 416)."""

    ranges: list[str] = []

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass

    def send_head(self):  # type: ignore[override]
        header = self.headers.get("Range")
        path = Path(self.translate_path(self.path))
        if not header or not path.is_file() or not header.startswith("bytes="):
            return super().send_head()
        size = path.stat().st_size
        first, _, last = header[6:].split(",")[0].strip().partition("-")
        start = int(first) if first else max(0, size - int(last))
        end = min(int(last), size - 1) if first and last else size - 1
        if start >= size or start > end:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.end_headers()
            return None
        type(self).ranges.append(header)
        f = open(path, "rb")
        f.seek(start)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        return _Limited(f, end - start + 1)

    def end_headers(self) -> None:
        if self.command in ("GET", "HEAD") and not self.headers.get("Range"):
            self.send_header("Accept-Ranges", "bytes")
        super().end_headers()


class _Limited:
    """A file object that reads at most `left` bytes (copyfile reads until empty)."""

    def __init__(self, f, left: int) -> None:
        self.f, self.left = f, left

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        data = self.f.read(n)
        self.left -= len(data)
        return data

    def close(self) -> None:
        self.f.close()


@pytest.fixture()
def serve():
    """Serve a folder on 127.0.0.1 at a free port; yields a function folder -> base URL."""
    servers = []

    def start(folder: Path) -> str:
        handler = lambda *a, **kw: RangeHandler(*a, directory=str(folder), **kw)  # noqa: E731
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}/"
    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


# ---- a minimal Chrome DevTools Protocol client ---------------------------------------------

class Browser:
    """Headless Chromium with one page, driven over its DevTools websocket."""

    def __init__(self, binary: str, profile: Path) -> None:
        import websocket  # websocket-client, a test dependency
        self.proc = subprocess.Popen([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.is_file() and port_file.read_text().count("\n") >= 1):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"chromium did not start (exit {self.proc.returncode})")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as resp:
            targets = json.load(resp)
        page = next(t for t in targets if t["type"] == "page")
        # No Origin header: Chromium refuses websocket clients from unlisted origins.
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30,
                                              suppress_origin=True)
        self.next_id = 0
        self.events: list[dict] = []
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable")

    def call(self, method: str, **params: object) -> dict:
        """Send one command and return its result; events that arrive meanwhile are kept."""
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def wait_event(self, method: str, timeout: float = 15) -> dict:
        deadline = time.monotonic() + timeout
        seen = 0
        try:
            while time.monotonic() < deadline:
                for ev in self.events[seen:]:
                    if ev["method"] == method:
                        return ev
                seen = len(self.events)
                self.ws.settimeout(max(0.1, deadline - time.monotonic()))
                msg = json.loads(self.ws.recv())
                if "method" in msg:
                    self.events.append(msg)
        finally:
            self.ws.settimeout(30)
        raise TimeoutError(f"no {method} within {timeout} s")

    def goto(self, url: str) -> None:
        self.events.clear()
        self.call("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired")

    def js(self, expression: str) -> object:
        """Evaluate JavaScript in the page (awaiting promises) and return its value."""
        res = self.call("Runtime.evaluate", expression=expression, awaitPromise=True,
                        returnByValue=True, timeout=15000)
        if "exceptionDetails" in res:
            raise AssertionError(f"page JavaScript failed: {res['exceptionDetails']}")
        return res["result"].get("value")

    def click(self, selector: str) -> None:
        """A real mouse click in the middle of the element (not element.click())."""
        box = self.js(f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
                      "e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
                      "return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        x, y = box  # type: ignore[misc]
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and browser log errors (CSP, failed loads...)."""
        out = []
        for ev in self.events:
            p = ev.get("params", {})
            if ev["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append("console: " + " ".join(str(a.get("value", a.get("description"))) for a in p["args"]))
            elif ev["method"] == "Runtime.exceptionThrown":
                out.append("exception: " + json.dumps(p["exceptionDetails"])[:300])
            elif ev["method"] == "Log.entryAdded" and p["entry"]["level"] == "error":
                out.append(f"log: {p['entry'].get('source')}: {p['entry']['text']} {p['entry'].get('url', '')}")
        return out

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        fsutil.write_bytes(path, base64.b64decode(data))

    def close(self) -> None:
        try:
            if hasattr(self, "ws"):
                self.ws.close()
        finally:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGTERM)  # the group this test started
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    binary = _chromium()
    if binary is None:
        pytest.skip("headless Chromium not found (install Debian's `chromium`: "
                    "scripts/ensure-chromium.sh); browser page tests skipped")
    b = Browser(binary, tmp_path_factory.mktemp("chromium-profile"))
    yield b
    b.close()


# ---- the site under test -------------------------------------------------------------------

SECONDS = 4.0


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A published site folder: the show's cover, one episode's MP3 and both pages."""
    root = tmp_path_factory.mktemp("show")
    site = root / "build" / "site" / "korea-az"
    ep_dir = site / "episodes" / "hanoi-summit"
    ep_dir.mkdir(parents=True)
    mp3 = ep_dir / "hanoi-summit-0123456789ab.mp3"
    ffmpeg.run(["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={SECONDS}",
                "-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k", str(mp3)], what="test tone")
    Image.new("RGB", (64, 64), (200, 40, 40)).save(site / "korea-az-cafe.jpg")
    duration = mutagen.mp3.MP3(mp3).info.length
    show = make_show(root)
    episode = make_episode(root=root, notes="Notes <img src=x onerror=\"console.error('xss')\"> "
                                            "<script>console.error('xss')</script>")
    rendered = notes.render_notes(episode.notes)
    page = notes.PageData(
        episode=episode, audio=notes.episode_page_key("hanoi-summit").replace("index.html", mp3.name),
        duration=duration, audio_size=mp3.stat().st_size,
        chapters=(model.Chapter(0.0, "Intro"), model.Chapter(2.5, "Analysis")),
        notes_html=rendered.content,
        transcript_html="<p>Host: This is Korean Peninsula A to Z.</p><p onmouseover=\"console.error(1)\">Bye.</p>",
        cover="korea-az-cafe.jpg")
    notes.write_page(ep_dir / "index.html", notes.render_episode_page(show, page, None))
    notes.write_page(site / "index.html", notes.render_index(show, [page], None, cover="korea-az-cafe.jpg"))
    return site, duration


def _check_page(browser: Browser, url: str, selector: str, shot: Path, duration: float) -> None:
    browser.goto(url)
    got = browser.js("""new Promise((resolve, reject) => {
        const a = document.querySelector('audio');
        const done = () => resolve(a.duration);
        if (a.readyState >= 1) { done(); return; }
        a.addEventListener('loadedmetadata', done);
        a.addEventListener('error', () => reject('media error ' + (a.error && a.error.code)));
        a.load();
        setTimeout(() => reject('no metadata after 10 s, readyState ' + a.readyState), 10000);
    })""")
    assert got == pytest.approx(duration, abs=0.1)
    # A chapter link seeks the player: wait for the 'seeked' event after a real click.
    browser.js("window.__seek = new Promise(r => document.querySelector('audio')"
               ".addEventListener('seeked', () => r(document.querySelector('audio').currentTime), {once: true})); 1")
    browser.click(selector)
    assert browser.js("window.__seek") == pytest.approx(2.5, abs=0.3)
    assert browser.js("document.querySelector('audio').currentSrc").endswith(".mp3")
    browser.screenshot(shot)
    assert browser.errors() == []


def test_episode_page_plays_seeks_and_has_no_console_errors(browser, site, serve):
    folder, duration = site
    base = serve(folder)
    RangeHandler.ranges.clear()
    shot = folder.parent.parent / "reports" / "episode-page.png"
    _check_page(browser, base + "episodes/hanoi-summit/index.html", 'a[data-start="2.5"]', shot, duration)
    # The media element fetched the MP3 with byte ranges, as podcast hosts must allow.
    assert RangeHandler.ranges, "the browser never sent a Range request for the MP3"
    with Image.open(shot) as img:
        assert img.format == "PNG" and img.width >= 800 and img.height >= 600
        assert len(img.convert("RGB").getcolors(1 << 16) or range(1 << 16)) > 10  # not blank
    # The sanitized notes left nothing that ran: no injected error was logged above, and no
    # element carries an event handler.
    assert browser.js("document.querySelectorAll('script').length") == 1
    assert browser.js("[...document.querySelectorAll('*')].some(e => [...e.attributes]"
                      ".some(a => a.name.startsWith('on')))") is False


def test_index_page_lists_episode_and_seeks(browser, site, serve):
    folder, duration = site
    base = serve(folder)
    shot = folder.parent.parent / "reports" / "index-page.png"
    _check_page(browser, base, 'a[data-start="2.5"]', shot, duration)
    href = browser.js("document.querySelector('#episodes h3 a').href")
    assert href == base + "episodes/hanoi-summit/index.html"
    with urllib.request.urlopen(href) as resp:  # the relative link resolves on the server
        assert resp.status == 200


def test_pages_work_opened_from_disk(browser, site):
    # Opened from the published folder (file://): relative links reach the MP3 and cover.
    folder, duration = site
    shot = folder.parent.parent / "reports" / "episode-file.png"
    _check_page(browser, (folder / "episodes" / "hanoi-summit" / "index.html").as_uri(),
                'a[data-start="2.5"]', shot, duration)
    assert browser.js("document.querySelector('img.cover').naturalWidth") == 64


# ---- the sample show's own pages, built by podkit and served by `podkit preview`'s server ----

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sample_site(tmp_path_factory):
    """The bundled sample show (its shorter episode), built, released and served by preview."""
    import datetime as dt

    from toolkit import pipeline, public
    from toolkit.publish import preview
    root = tmp_path_factory.mktemp("sample") / "show"
    shutil.copytree(REPO / "feeds", root / "feeds")
    shutil.copytree(REPO / "templates", root / "templates")
    shutil.copytree(REPO / "episodes" / "pyeongchang-hockey", root / "episodes" / "pyeongchang-hockey")
    results = pipeline.build(root)
    assert all(r.ok for r in results), [r.error for r in results]
    (feed,) = public.write_feed(root, now=dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc))
    server = preview.make_server(feed.path.parent, "127.0.0.1", 0, base_url=feed.show.base_url)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield root, feed.path.parent, server.url
    server.shutdown()


def test_sample_show_pages_play_in_chromium(browser, sample_site):
    root, site, url = sample_site
    (mp3,) = (site / "episodes" / "pyeongchang-hockey").glob("*.mp3")
    duration = mutagen.mp3.MP3(mp3).info.length
    for page, shot in ((url.rstrip("/") + "/episodes/pyeongchang-hockey/index.html", "sample-episode.png"),
                       (url, "sample-index.png")):
        browser.goto(page)
        got = browser.js("""new Promise((resolve, reject) => {
            const a = document.querySelector('audio');
            if (a.readyState >= 1) { resolve(a.duration); return; }
            a.addEventListener('loadedmetadata', () => resolve(a.duration));
            a.addEventListener('error', () => reject('media error ' + (a.error && a.error.code)));
            a.load();
            setTimeout(() => reject('no metadata after 10 s'), 10000);
        })""")
        assert got == pytest.approx(duration, abs=0.1)
        assert browser.js("document.querySelectorAll('a[data-start]').length") >= 4
        path = root / "build" / "reports" / shot
        browser.screenshot(path)
        assert path.stat().st_size > 10_000
        assert browser.errors() == []


def test_the_site_has_a_robots_txt_its_pages_may_read(browser, sample_site):
    """Issue 23, item 8: crawlers' tools (Lighthouse's SEO audit) fetch /robots.txt from the
    page: the site has one, and the pages' CSP lets the page read its own site (connect-src
    'self') while it still refuses any other host."""
    _root, site, url = sample_site
    assert b"User-agent: *" in (site / "robots.txt").read_bytes()
    for page in (url, url.rstrip("/") + "/episodes/pyeongchang-hockey/embed.html"):
        browser.goto(page)
        got = browser.js("fetch('/robots.txt').then(r => r.status + ' ' + r.headers.get("
                         "'content-type')).then(t => t, e => 'blocked: ' + e)")
        assert str(got).startswith("200 text/plain"), got
        assert browser.errors() == []
        other = browser.js("fetch('https://example.org/').then(() => 'fetched', () => 'blocked')")
        assert other == "blocked"
        browser.errors()        # the CSP's report of the refused fetch: expected here


# ---- the embeddable player, as the build wrote it, in a 600x200 frame ---------------------------

def _wait(browser: Browser, event: str, action: str) -> float:
    """Run `action` (JavaScript) and return the audio's currentTime once `event` fired."""
    browser.js(f"window.__ev = new Promise(r => document.getElementById('audio')"
               f".addEventListener('{event}', () => r(document.getElementById('audio').currentTime),"
               " {once: true})); 1")
    browser.js(action) if action.startswith("(") else browser.click(action)
    return browser.js("window.__ev")  # type: ignore[return-value]


def test_embed_player_plays_pauses_seeks_and_loads_only_its_own_files(browser, sample_site):
    root, site, url = sample_site
    (mp3,) = (site / "episodes" / "pyeongchang-hockey").glob("*.mp3")
    duration = mutagen.mp3.MP3(mp3).info.length
    browser.call("Network.enable")
    browser.call("Emulation.setDeviceMetricsOverride", width=600, height=200, deviceScaleFactor=1,
                 mobile=False)
    try:
        browser.goto(url.rstrip("/") + "/episodes/pyeongchang-hockey/embed.html")
        got = browser.js("""new Promise((resolve, reject) => {
            const a = document.getElementById('audio');
            if (a.readyState >= 1) { resolve(a.duration); return; }
            a.addEventListener('loadedmetadata', () => resolve(a.duration));
            a.addEventListener('error', () => reject('media error ' + (a.error && a.error.code)));
            setTimeout(() => reject('no metadata after 10 s'), 10000);
        })""")
        assert got == pytest.approx(duration, abs=0.1)
        # Everything fits the frame: nothing scrolls or is cut off.
        assert browser.js("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]") \
            == [600, 200]
        # Chapter buttons are touch targets of at least 24 px (WCAG 2.2 target size, Lighthouse).
        heights = browser.js("[...document.querySelectorAll('button[data-start]')]"
                             ".map(b => b.getBoundingClientRect().height)")
        assert heights and min(heights) >= 24, heights  # type: ignore[operator]
        _wait(browser, "playing", "#play")
        assert browser.js("document.getElementById('audio').paused") is False
        assert browser.js("document.getElementById('play').getAttribute('aria-label')") == "Pause"
        _wait(browser, "pause", "#play")
        assert browser.js("document.getElementById('audio').paused") is True
        # A real click in the middle of the seek bar seeks to about half-way.
        at = _wait(browser, "seeked", "#seek")
        assert at == pytest.approx(duration / 2, abs=duration * 0.1)
        # A chapter button seeks to its start (the last chapter, whose start is known).
        start = float(browser.js("[...document.querySelectorAll('button[data-start]')].pop()"
                                 ".getAttribute('data-start')"))  # type: ignore[arg-type]
        at = _wait(browser, "seeked", "ol li:last-child button")
        assert at == pytest.approx(start, abs=0.3)
        assert browser.js("document.querySelector('ol li:last-child button').classList.contains('on')")
        # The page link opens the episode page.
        assert browser.js("document.querySelector('.title a').href") == \
            url.rstrip("/") + "/episodes/pyeongchang-hockey/index.html"
        requested = {ev["params"]["request"]["url"] for ev in browser.events
                     if ev["method"] == "Network.requestWillBeSent"}
        assert requested and all(u.startswith(url) for u in requested), requested
        browser.screenshot(root / "build" / "reports" / "embed.png")
        assert browser.errors() == []
    finally:
        browser.call("Emulation.clearDeviceMetricsOverride")
        browser.call("Network.disable")


def test_the_iframe_code_from_the_episode_page_embeds_the_player(browser, sample_site, serve,
                                                                 tmp_path):
    root, site, url = sample_site
    browser.goto(url.rstrip("/") + "/episodes/pyeongchang-hockey/index.html")
    code = browser.js("document.querySelector('textarea.embed-code').value")
    # The page holds the public URL; preview serves it rewritten to itself, as for every link.
    embed = url.rstrip("/") + "/episodes/pyeongchang-hockey/embed.html"
    assert code.startswith(f'<iframe src="{embed}"') and 'width="600" height="200"' in code
    built = (site / "episodes" / "pyeongchang-hockey" / "index.html").read_text("utf-8")
    assert f'src="{feedparser_base(root)}episodes/pyeongchang-hockey/embed.html"' in \
        html.unescape(built)
    # Another site (another origin) pastes it.
    (tmp_path / "host.html").write_text("<!DOCTYPE html><title>A blog</title><link rel=icon href=\"data:,\"><h1>Listen</h1>"
                                        + code, "utf-8")
    host = serve(tmp_path)
    browser.goto(host + "host.html")
    # loading="lazy": the frame loads after the host page's load event; wait for it.
    deadline = time.monotonic() + 15
    while True:
        frames = browser.call("Page.getFrameTree")["frameTree"].get("childFrames", [])
        if [f["frame"]["url"] for f in frames] == [embed] or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert [f["frame"]["url"] for f in frames] == [embed]
    # The player inside it rendered (its document has the play button and the audio).
    world = browser.call("Page.createIsolatedWorld", frameId=frames[0]["frame"]["id"])
    found = browser.call("Runtime.evaluate", contextId=world["executionContextId"],
                         expression="!!document.getElementById('play') && "
                                    "document.getElementById('audio').src.endsWith('.mp3')",
                         returnByValue=True)
    assert found["result"]["value"] is True
    box = browser.js("(() => { const r = document.querySelector('iframe').getBoundingClientRect();"
                     " return [r.width, r.height]; })()")
    assert box == [600, 200]
    assert browser.errors() == []


def feedparser_base(root: Path) -> str:
    """The sample show's base_url, read from its feed TOML."""
    import tomllib
    (toml,) = (root / "feeds").glob("*.toml")
    return tomllib.loads(toml.read_text("utf-8"))["base_url"]
