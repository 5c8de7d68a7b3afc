"""Feeds in the shapes of the big hosts, and a local HTTP server for them and their media.

The shapes follow the hosts' public documentation and the sample feeds in parser test
corpora (gpodder/podcastparser tests/data, feedparser tests): written here, not copied.
What differs between hosts is what an importer trips over:

- Libsyn: CDATA HTML in description *and* itunes:summary, a `?dest-id=` query on the
  enclosure, itunes:duration as HH:MM:SS, explicit "no";
- Anchor / Spotify for Podcasters: UUID guids, a tracking prefix on the enclosure that
  answers with a redirect to the real file, per-episode itunes:image, "false"/"true";
- Buzzsprout: `Buzzsprout-<id>` guids, entity-escaped HTML (no CDATA), durations in
  seconds, Podcasting 2.0 transcript/chapters/person/guid/locked;
- Transistor: plain-text description beside content:encoded HTML (with a <pre> and a
  <script>), a 301 prefix, WebVTT plus an HTML transcript podkit cannot read;
- Podbean: permalink guids (isPermaLink="true"), length="0", MM:SS durations, an item
  without any guid;
- Megaphone: upper-case ids, itunes:summary only, enclosure lengths that do not match
  the file (dynamic ad insertion), episodeType bonus/trailer.
"""
from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import json
import shutil
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest
from conftest import make_cover, make_tone
from mutagen.id3 import ID3, TIT2

NS = ('xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" '
      'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
      'xmlns:atom="http://www.w3.org/2005/Atom" '
      'xmlns:podcast="https://podcastindex.org/namespace/1.0"')
HOSTS = ("libsyn", "anchor", "buzzsprout", "transistor", "podbean", "megaphone")
SRT = "1\n00:00:00,000 --> 00:00:01,000\nHost: Welcome.\n"
VTT = "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n<v Host>Welcome.\n"


class Server:
    """A local HTTP server: files by path, Range, ETag, redirects, and cut-short bodies."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self.cut: dict[str, int] = {}           # path -> bytes sent before the body stops (once)
        self.log: list[tuple[str, str | None]] = []   # (path, Range header)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def hostport(self) -> str:
        return f"127.0.0.1:{self.httpd.server_address[1]}"

    def add(self, path: str, data: bytes, ctype: str) -> str:
        self.files[path] = (data, ctype)
        return self.base + path

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                path = self.path.split("?")[0]
                server.log.append((path, self.headers.get("Range")))
                for prefix, code in (("/track/redirect.mp3/", 302), ("/prefix301/", 301)):
                    if path.startswith(prefix):   # a tracking prefix: on to the real host
                        self.send_response(code)
                        self.send_header("Location", "http://" + path[len(prefix):])
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                if path not in server.files:
                    self.send_error(404)
                    return
                data, ctype = server.files[path]
                etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
                start = 0
                rng = self.headers.get("Range")
                if rng and rng.startswith("bytes=") and self.headers.get("If-Range") in (None, etag):
                    start = int(rng[6:].split("-")[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", etag)
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                if path in server.cut:          # the connection drops mid-body, once
                    self.wfile.write(body[:server.cut.pop(path)])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        return Handler


@dataclass
class Ep:
    """One episode as a host publishes it."""

    n: int
    title: str
    date: dt.datetime
    mp3: bytes
    guid: str | None
    number: int | None = None
    season: int | None = None
    type: str = "full"
    explicit: str | None = None
    url: str = ""                               # the enclosure URL in the feed
    length: int | None = None                   # stated length (None: the real one)
    extra: str = ""                             # more item XML
    html: str = ""


@dataclass
class HostFeed:
    """A host-shaped feed on the server and what it promises."""

    host: str
    url: str
    episodes: list[Ep]
    guid: str | None = None
    files: dict[str, bytes] = field(default_factory=dict)


def media(folder: Path, count: int) -> list[bytes]:
    """`count` distinct short MP3s: one encode, then a different ID3 title each (fast)."""
    folder.mkdir(parents=True, exist_ok=True)
    base = folder / "base.mp3"
    if not base.is_file():
        make_tone(base, 1.5, 523, volume_db=-16.0)
    out = []
    for i in range(count):
        path = folder / f"ep{i}.mp3"
        shutil.copyfile(base, path)
        tags = ID3()
        tags.add(TIT2(encoding=3, text=f"Host episode {i}"))
        tags.save(path)
        out.append(path.read_bytes())
    return out


def _date(d: dt.datetime) -> str:
    return email.utils.format_datetime(d)


def build_feed(server: Server, host: str, tmp: Path, count: int = 3) -> HostFeed:
    """Publish a `host`-shaped feed with `count` episodes (and their files) on `server`."""
    mp3s = media(tmp / "media", count)
    cover = make_cover(tmp / "cover.jpg", 1400)
    server.add(f"/{host}/cover.jpg", cover.read_bytes(), "image/jpeg")
    eps = []
    start = dt.datetime(2022, 1, 3, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    for i, data in enumerate(mp3s):
        n = i + 1
        real = server.add(f"/{host}/media/ep{n}.mp3", data, "audio/mpeg")
        ep = Ep(n, f"{host.title()} episode {n}: the {['first', 'next', 'last'][min(i, 2)]} one",
                start + dt.timedelta(days=7 * i, minutes=n), data, guid=None, number=n, season=1,
                url=real)
        _shape(server, host, ep, i, count, tmp)
        eps.append(ep)
    guid = str(uuid.uuid5(uuid.NAMESPACE_URL, host)) if host == "buzzsprout" else None
    xml = _render(server, host, eps, guid)
    url = server.add(f"/{host}/feed.xml", xml.encode("utf-8"), "application/rss+xml; charset=utf-8")
    return HostFeed(host, url, eps, guid)


def _shape(server: Server, host: str, ep: Ep, i: int, count: int, tmp: Path) -> None:
    n = ep.n
    if host == "libsyn":
        ep.guid = f"{uuid.uuid5(uuid.NAMESPACE_DNS, f'libsyn{n}')}"
        ep.url += "?dest-id=998877"
        ep.explicit = "no"
        ep.html = f"<p>Episode {n} notes with <a href='https://example.org/{n}'>a link</a>.</p>"
        ep.extra = (f"<itunes:summary><![CDATA[{ep.html}]]></itunes:summary>"
                    f"<itunes:duration>00:00:02</itunes:duration>")
    elif host == "anchor":
        ep.guid = str(uuid.uuid5(uuid.NAMESPACE_OID, f"anchor{n}"))
        ep.url = f"{server.base}/track/redirect.mp3/{server.hostport}/anchor/media/ep{n}.mp3"
        ep.explicit = "false" if n % 2 else "true"
        ep.html = f"<p>Listen to part {n}.</p><p>---</p><p>Support this podcast</p>"
        art = make_cover(tmp / f"art{n}.jpg", 1400)
        server.add(f"/anchor/art{n}.jpg", art.read_bytes(), "image/jpeg")
        ep.extra = (f'<itunes:image href="{server.base}/anchor/art{n}.jpg"/>'
                    "<itunes:duration>00:00:02</itunes:duration>")
    elif host == "buzzsprout":
        ep.guid = f"Buzzsprout-{12000000 + n}"
        ep.html = f"<p>Buzz {n} &amp; friends</p><ul><li>one</li><li>two</li></ul>"
        srt = server.add(f"/buzzsprout/t{n}.srt", SRT.encode(), "application/x-subrip")
        chapters = {"version": "1.2.0", "chapters": [
            {"startTime": 0, "title": "Hello"}, {"startTime": 0.8, "title": "Main",
                                                 "url": "https://example.org/main",
                                                 "img": "http://insecure.example.org/x.jpg"}]}
        ch = server.add(f"/buzzsprout/c{n}.json", json.dumps(chapters).encode(), "application/json")
        ep.extra = (f'<itunes:duration>2</itunes:duration>'
                    f'<podcast:transcript url="{srt}" type="application/x-subrip" language="en"/>'
                    f'<podcast:chapters url="{ch}" type="application/json+chapters"/>'
                    '<podcast:person role="guest" href="https://example.org/guest">Dr Guest'
                    '</podcast:person>')
    elif host == "transistor":
        ep.guid = str(uuid.uuid5(uuid.NAMESPACE_X500, f"transistor{n}"))
        ep.url = f"{server.base}/prefix301/{server.hostport}/transistor/media/ep{n}.mp3"
        ep.html = (f"<p>Show notes {n}</p><script>alert(1)</script>\n\n<pre>line one\n\n"
                   "    indented code</pre>\n\n<p>* not a list</p>")
        vtt = server.add(f"/transistor/t{n}.vtt", VTT.encode(), "text/vtt")
        page = server.add(f"/transistor/t{n}.html", b"<p>Welcome.</p>", "text/html")
        ep.extra = (f"<content:encoded><![CDATA[{ep.html}]]></content:encoded>"
                    f'<itunes:duration>2</itunes:duration>'
                    f'<podcast:transcript url="{vtt}" type="text/vtt"/>'
                    f'<podcast:transcript url="{page}" type="text/html"/>')
    elif host == "podbean":
        ep.guid = f"https://example.podbean.com/e/episode-{n}/" if i < count - 1 else None
        ep.length = 0
        ep.explicit = "clean"
        ep.html = f"Plain text notes {n}.\nSecond line 5 * 3 * 2."
        ep.extra = "<itunes:duration>00:02</itunes:duration>"
    elif host == "megaphone":
        ep.guid = f"MEGA{7000 + n:X}BCDE"
        ep.url += f"?updated={1700000000 + n}"
        ep.length = len(ep.mp3) + 5000 if n == 1 else None    # dynamic ad insertion
        ep.type = ("bonus", "trailer", "full")[i % 3]
        ep.html = f"<p>Megaphone summary {n}</p>"
        ep.extra = f"<itunes:summary>{escape(ep.html)}</itunes:summary><itunes:duration>2.0</itunes:duration>"


def _render(server: Server, host: str, eps: list[Ep], guid: str | None) -> str:
    permalink = "true" if host == "podbean" else "false"
    items = []
    for ep in reversed(eps):                     # newest first, as hosts write them
        guid_xml = (f"<guid isPermaLink={quoteattr(permalink)}>{escape(ep.guid)}</guid>"
                    if ep.guid else "")
        if host in ("libsyn", "anchor"):
            desc = f"<description><![CDATA[{ep.html}]]></description>"
        elif host == "megaphone":
            desc = ""
        elif host == "transistor":
            desc = f"<description>Show notes {ep.n}</description>"
        else:
            desc = f"<description>{escape(ep.html)}</description>"
        length = len(ep.mp3) if ep.length is None else ep.length
        items.append(
            f"<item><title>{escape(ep.title)}</title>{guid_xml}<pubDate>{_date(ep.date)}</pubDate>"
            f"{desc}<enclosure url={quoteattr(ep.url)} length=\"{length}\" type=\"audio/mpeg\"/>"
            + (f"<itunes:episode>{ep.number}</itunes:episode>" if ep.number else "")
            + (f"<itunes:season>{ep.season}</itunes:season>" if ep.season else "")
            + f"<itunes:episodeType>{ep.type}</itunes:episodeType>"
            + (f"<itunes:explicit>{ep.explicit}</itunes:explicit>" if ep.explicit else "")
            + ep.extra + "</item>")
    p20 = (f"<podcast:guid>{guid}</podcast:guid>"
           '<podcast:locked owner="owner@example.org">yes</podcast:locked>'
           '<podcast:person role="host" img="https://example.org/host.jpg">Ann Host</podcast:person>'
           if guid else "")
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" {NS}><channel>'
            f"<title>{host.title()} Show</title>"
            f'<atom:link href="{server.base}/{host}/feed.xml" rel="self" type="application/rss+xml"/>'
            f"<link>http://www.example.org/{host}</link><language>en-us</language>"
            f"<description><![CDATA[<p>The {host} show &amp; more.</p>]]></description>"
            f"<itunes:author>{host.title()} Media</itunes:author>"
            f"<itunes:owner><itunes:name>{host.title()} Media</itunes:name>"
            f"<itunes:email>owner@example.org</itunes:email></itunes:owner>"
            f'<itunes:image href="{server.base}/{host}/cover.jpg"/>'
            f"<image><url>{server.base}/{host}/cover.jpg</url></image>"
            '<itunes:category text="Technology"/>'
            '<itunes:category text="News"><itunes:category text="Tech News"/></itunes:category>'
            '<itunes:category text="Made Up Category"/>'
            f"<itunes:explicit>{'yes' if host == 'anchor' else 'no'}</itunes:explicit>"
            f"<itunes:type>episodic</itunes:type>{p20}"
            + "".join(items) + "</channel></rss>\n")


@pytest.fixture
def server():  # noqa: ANN201 - yields a Server
    """A host on 127.0.0.1 serving feeds and media, stopped after the test."""
    s = Server()
    yield s
    s.stop()


def empty_show(tmp_path: Path) -> Path:
    """An empty show folder to import into."""
    root = tmp_path / "show"
    root.mkdir()
    return root
