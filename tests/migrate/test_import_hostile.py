"""`podkit import` of feeds a producer does not control (issue 22): local files named by the
feed, internal addresses, duplicate guids, escaped markup, the producer's own cover, private
feed tokens, unreadable numbers and dates, two shows with one title, bad --base-url values.
Real feeds served by a real HTTP server on 127.0.0.1, imported through the CLI in-process."""
from __future__ import annotations

import tomllib
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest
from conftest import make_cover
from corpus_support import podkit_inprocess
from http_routes import Routes, routes  # noqa: F401 - a fixture

NS = ('xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" '
      'xmlns:podcast="https://podcastindex.org/namespace/1.0"')
BASE = "https://m.example.org/show/"
MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 64
DATE = "Mon, 01 May 2023 10:00:00 +0000"


def item(guid: str, title: str, url: str, *, date: str = DATE, length: str = "100",
         extra: str = "") -> str:
    """One RSS item with an MP3 enclosure."""
    return (f"<item><title>{escape(title)}</title><guid>{escape(guid)}</guid><pubDate>{date}"
            f"</pubDate><enclosure url={quoteattr(url)} length={quoteattr(length)} "
            f'type="audio/mpeg"/>{extra}</item>')


def feed(items: list[str], *, title: str = "Hostile Show", description: str = "A show.",
         extra: str = "") -> bytes:
    """A channel (newest item first, as hosts write them)."""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" {NS}><channel>'
            f"<title>{escape(title)}</title><link>https://www.example.org/</link>"
            f"<language>en</language><description>{description}</description>"
            "<itunes:category text=\"News\"/><itunes:explicit>false</itunes:explicit>"
            "<itunes:owner><itunes:email>o@example.org</itunes:email></itunes:owner>"
            f"{extra}{''.join(items)}</channel></rss>\n").encode()


def run(root: Path, url: str, *args: str, private: bool = True, cwd: Path | None = None,
        verbose: bool = False):  # noqa: ANN201 - a corpus_support.Run
    flags = ("--allow-private-hosts",) if private else ()
    return podkit_inprocess(root, *(("-vv",) if verbose else ()), "import", url, *flags,
                            "--base-url", BASE, *args, cwd=cwd)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    show = tmp_path / "show"
    show.mkdir()
    return show


def _episodes(root: Path) -> dict[str, dict]:
    out = {}
    for toml in sorted((root / "episodes").glob("*/episode.toml")):
        data = tomllib.loads(toml.read_text("utf-8"))
        out[data["guid"]] = {**data, "_dir": toml.parent}
    return out


def _all_bytes(root: Path) -> bytes:
    return b"\n".join(p.read_bytes() for p in root.rglob("*") if p.is_file())


# ---- item 1: what a feed may name ---------------------------------------------------------------

def test_a_remote_feed_never_reads_local_files(routes: Routes, root: Path, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("ENV_SECRET=fromdotenv\n")
    secret = tmp_path / "secret.json"
    secret.write_text('{"version": "1.2.0", "chapters": [{"startTime": 0, "title": "SECRET CH"}]}')
    media = routes.file("/ep.mp3", MP3, "audio/mpeg", etag='"m"')
    extra = ('<podcast:transcript url="/etc/passwd" type="text/plain"/>'
             '<podcast:transcript url=".env" type="text/plain"/>'
             f'<podcast:transcript url="file://{secret}" type="application/json"/>'
             f'<podcast:chapters url="{secret}" type="application/json+chapters"/>'
             f'<itunes:image href="{tmp_path / "cover.jpg"}"/>')
    make_cover(tmp_path / "cover.jpg", 1400)
    url = routes.file("/feed.xml", feed([item("g1", "One", media, extra=extra),
                                         item("g2", "Two", "/etc/passwd")],
                                        extra='<itunes:image href="/proc/self/environ"/>'),
                      "application/rss+xml")
    result = run(root, url, cwd=tmp_path)
    assert result.rc == 0 and "Traceback" not in result.stderr, result
    refused = [ln for ln in result.err_lines if "not an http(s) URL" in ln]
    # 3 transcripts, chapters, the item's and the channel's image, an enclosure
    assert len(refused) == 7, result.err_lines
    everything = _all_bytes(root)
    for leak in (b"root:", b"fromdotenv", b"SECRET CH", (tmp_path / "cover.jpg").read_bytes()):
        assert leak not in everything
    eps = _episodes(root)
    assert set(eps) == {"g1"} and "transcripts" not in eps["g1"] and "chapters" not in eps["g1"]


def test_a_local_feed_reads_files_beside_it_and_nothing_outside(tmp_path: Path, root: Path) -> None:
    src = tmp_path / "export"
    src.mkdir()
    (src / "ep.mp3").write_bytes(MP3)
    (src / "ep.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:01.000\nHello.\n")
    (tmp_path / "outside.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:01.000\nOUTSIDE.\n")
    (src / "link.vtt").symlink_to(tmp_path / "outside.vtt")
    extra = ('<podcast:transcript url="ep.vtt" type="text/vtt"/>'
             '<podcast:transcript url="../outside.vtt" type="text/vtt"/>'
             f'<podcast:transcript url="{tmp_path / "outside.vtt"}" type="text/vtt"/>'
             '<podcast:transcript url="link.vtt" type="text/vtt"/>')
    (src / "feed.xml").write_bytes(feed([item("g1", "One", "ep.mp3", extra=extra)]))
    result = podkit_inprocess(root, "import", str(src / "feed.xml"), "--base-url", BASE)
    assert result.rc == 0, result
    assert sum("outside the feed file's folder" in ln for ln in result.err_lines) == 3, result
    (ep,) = _episodes(root).values()
    assert [t["file"] for t in ep["transcripts"]] == ["transcript.vtt"]
    assert (ep["_dir"] / "transcript.vtt").read_text() == (src / "ep.vtt").read_text()
    assert (ep["_dir"] / "audio.mp3").read_bytes() == MP3
    assert b"OUTSIDE" not in _all_bytes(root)


def test_a_feed_on_this_machine_is_refused_unless_the_producer_allows_it(routes: Routes,
                                                                         root: Path) -> None:
    url = routes.file("/feed.xml", feed([]), "application/rss+xml")
    result = run(root, url, private=False)
    assert result.rc == 1 and len(result.err_lines) == 1, result
    assert "loopback address: refused" in result.stderr and "--allow-private-hosts" in result.stderr
    assert routes.log == [] and list(root.iterdir()) == []


def test_a_redirect_to_cloud_metadata_is_refused_even_with_private_hosts(routes: Routes,
                                                                       root: Path) -> None:
    hop = routes.redirect("/t.vtt", "http://169.254.169.254/latest/meta-data/iam")
    media = routes.file("/ep.mp3", MP3, "audio/mpeg", etag='"m"')
    extra = f'<podcast:transcript url="{hop}" type="text/vtt"/>'
    url = routes.file("/feed.xml", feed([item("g1", "One", media, extra=extra)]), "text/xml")
    result = run(root, url)
    assert result.rc == 0, result
    assert any("link-local" in ln and "podcast:transcript" in ln for ln in result.err_lines)
    assert not list(root.glob("episodes/*/transcript*"))


# ---- item 3: duplicate guids --------------------------------------------------------------------

def test_duplicate_guids_are_kept_apart_never_merged(routes: Routes, root: Path) -> None:
    a = routes.file("/a.mp3", MP3 + b"A", "audio/mpeg", etag='"a"')
    b = routes.file("/b.mp3", MP3 + b"B", "audio/mpeg", etag='"b"')
    url = routes.file("/feed.xml", feed([
        item("same", "Second", b, date="Tue, 02 May 2023 10:00:00 +0000"),
        item("same", "First", a)]), "application/rss+xml")
    result = run(root, url)
    assert result.rc == 0, result
    assert sum("item same: guid: also the guid of 'First'" in ln for ln in result.err_lines) == 1
    eps = _episodes(root)
    assert set(eps) == {"same", "same#2"}
    assert eps["same"]["title"] == "First" and (eps["same"]["_dir"] / "audio.mp3").read_bytes() == MP3 + b"A"
    assert eps["same#2"]["title"] == "Second"
    assert (eps["same#2"]["_dir"] / "audio.mp3").read_bytes() == MP3 + b"B"
    again = run(root, url)
    assert again.rc == 0 and "0 episode(s) created, 0 updated, 2 unchanged" in again.stdout, again


# ---- item 4: text the old feed showed as text stays text ------------------------------------------

def test_escaped_markup_in_the_channel_description_stays_text(routes: Routes, root: Path) -> None:
    desc = "Shows &amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt; as text.&lt;script&gt;x()&lt;/script&gt;"
    url = routes.file("/feed.xml", feed([], description=desc), "application/rss+xml")
    assert run(root, url).rc == 0
    toml = tomllib.loads((root / "feeds" / "hostile-show.toml").read_text("utf-8"))
    assert toml["description"] == "Shows <script>alert(1)</script> as text."


# ---- item 5: the producer's cover -----------------------------------------------------------------

def test_reimport_keeps_a_cover_the_producer_replaced_or_added(routes: Routes, root: Path,
                                                             tmp_path: Path) -> None:
    first = make_cover(tmp_path / "c1.jpg", 1400).read_bytes()
    routes.file("/c1.jpg", first, "image/jpeg")
    cover = f'<itunes:image href="{routes.base}/c1.jpg"/>'
    routes.file("/feed.xml", feed([], extra=cover), "application/rss+xml")
    assert run(root, routes.base + "/feed.xml").rc == 0
    jpg = root / "feeds" / "hostile-show.jpg"
    assert jpg.read_bytes() == first
    mine = make_cover(tmp_path / "mine.jpg", 1500).read_bytes()
    jpg.write_bytes(mine)                                   # the producer's own cover
    png = root / "feeds" / "hostile-show.png"
    png.write_bytes(make_cover(tmp_path / "mine.png", 1400, fmt="PNG").read_bytes())
    toml = root / "feeds" / "hostile-show.toml"
    toml.write_text(toml.read_text().replace('artwork = "hostile-show.jpg"',
                                             'artwork = "hostile-show.png"'))
    for name, fmt in (("c2.jpg", "JPEG"), ("c3.png", "PNG")):    # the old host changes its picture
        routes.file(f"/{name}", make_cover(tmp_path / name, 1400, fmt=fmt).read_bytes(), "image/x")
        routes.file("/feed.xml", feed([], extra=f'<itunes:image href="{routes.base}/{name}"/>'),
                    "application/rss+xml")
        result = run(root, routes.base + "/feed.xml")
        assert result.rc == 0, result
        assert jpg.read_bytes() == mine and png.is_file()
        assert png.read_bytes() == (tmp_path / "mine.png").read_bytes()
        assert 'artwork = "hostile-show.png"' in toml.read_text()


# ---- item 6: a private feed's token -------------------------------------------------------------

@pytest.mark.parametrize("shape", ["query", "userinfo"])
def test_a_private_feed_token_is_never_printed_or_stored(routes: Routes, root: Path,
                                                         shape: str) -> None:
    secret = "T0pS3cretTok3n"
    media = routes.file("/ep.mp3", MP3, "audio/mpeg", etag='"m"')
    routes.file("/private/feed.xml", feed([item("g1", "One", media + f"?auth={secret}")]),
                "application/rss+xml")
    url = (routes.base + f"/private/feed.xml?auth={secret}" if shape == "query" else
           routes.base.replace("http://", f"http://listener:{secret}@") + "/private/feed.xml")
    result = run(root, url, verbose=True)
    assert result.rc == 0, result
    assert secret not in result.stdout + result.stderr
    assert secret.encode() not in _all_bytes(root)
    assert (root / "episodes" / "one" / "audio.mp3").read_bytes() == MP3
    missing = run(root, url.replace("/private/", "/gone/"), verbose=True)
    assert missing.rc == 1 and secret not in missing.stdout + missing.stderr, missing


# ---- item 7: numbers, cut-short bodies, two shows with one title -----------------------------------

def test_unreadable_numbers_are_one_line_each_never_a_traceback(routes: Routes, root: Path) -> None:
    media = routes.file("/ep.mp3", MP3, "audio/mpeg", etag='"m"')
    url = routes.file("/feed.xml", feed([
        item("g1", "One", media, length="²"),
        item("g2", "Two", media, length="9" * 5000, extra="<itunes:episode>³</itunes:episode>"),
        item("g3", "Three", media, extra=f"<itunes:season>{'7' * 5000}</itunes:season>")]),
        "application/rss+xml")
    result = run(root, url)
    assert result.rc == 0 and "Traceback" not in result.stderr, result
    notes = result.err_lines
    assert sum("enclosure length:" in ln and "not a number of bytes" in ln for ln in notes) == 2
    assert sum("itunes:episode: '³'" in ln for ln in notes) == 1
    assert sum("itunes:season:" in ln and "..." in ln for ln in notes) == 1
    assert all(len(ln) < 300 for ln in notes)
    assert set(_episodes(root)) == {"g1", "g2", "g3"}


def test_a_cut_short_transcript_is_not_saved_and_is_fetched_again(routes: Routes, root: Path) -> None:
    vtt = b"WEBVTT\n\n00:00.000 --> 00:01.000\nHello.\n"
    t = routes.file("/t.vtt", vtt, "text/vtt", length=len(vtt) + 500)
    media = routes.file("/ep.mp3", MP3, "audio/mpeg", etag='"m"')
    url = routes.file("/feed.xml", feed([item("g1", "One", media,
                                              extra=f'<podcast:transcript url="{t}" type="text/vtt"/>')]),
                      "application/rss+xml")
    result = run(root, url)
    assert any("cut short" in ln and "podcast:transcript" in ln for ln in result.err_lines), result
    assert not (root / "episodes" / "one" / "transcript.vtt").exists()
    routes.file("/t.vtt", vtt, "text/vtt")                 # the host serves it whole again
    assert run(root, url).rc == 0
    assert (root / "episodes" / "one" / "transcript.vtt").read_bytes() == vtt


def test_two_shows_with_one_title_never_rewrite_each_other(routes: Routes, root: Path) -> None:
    media = routes.file("/ep.mp3", MP3, "audio/mpeg", etag='"m"')
    a = routes.file("/a/feed.xml", feed([item("ep1", "A one", media)], title="Same Title"), "text/xml")
    b = routes.file("/b/feed.xml", feed([item("ep1", "B one", media)], title="Same Title"), "text/xml")
    assert run(root, a).rc == 0
    first = (root / "feeds" / "same-title.toml").read_bytes()
    assert run(root, b).rc == 0
    assert (root / "feeds" / "same-title.toml").read_bytes() == first
    assert b"/b/feed.xml" in (root / "feeds" / "same-title-2.toml").read_bytes()
    eps = sorted((e["feed"], e["title"]) for e in
                 (tomllib.loads(p.read_text()) for p in root.glob("episodes/*/episode.toml")))
    assert eps == [("same-title", "A one"), ("same-title-2", "B one")]
    refused = run(root, b, "--feed", "same-title")
    assert refused.rc == 1 and refused.err_lines == [
        "podkit: --feed: feeds/same-title.toml holds another show; choose another --feed "
        "(nothing was imported)"], refused
    assert run(root, a).rc == 0 and (root / "feeds" / "same-title.toml").read_bytes() == first


# ---- item 13 ------------------------------------------------------------------------------------

@pytest.mark.parametrize("option, value, words", [
    ("--base-url", "https://user:pw@m.example.org/", "user name or password"),
    ("--base-url", "https://m.example.org/?x=1", "without '?' or '#'"),
    ("--base-url", "https://m.example.org/a\nb/", "without spaces"),
    ("--base-url", "javascript:alert(1)//", "must be an https:// URL"),
    ("--feed-url", "http://m.example.org/feed.xml", "must be an https:// URL"),
    ("--feed-url", "https://u:p@m.example.org/feed.xml", "user name or password")])
def test_import_refuses_the_urls_check_refuses(routes: Routes, root: Path, option: str,
                                               value: str, words: str) -> None:
    url = routes.file("/feed.xml", feed([]), "application/rss+xml")
    args = ("--base-url", value) if option == "--base-url" else ("--base-url", BASE, option, value)
    result = podkit_inprocess(root, "import", url, "--allow-private-hosts", *args)
    assert result.rc == 1 and len(result.err_lines) == 1, result
    assert result.err_lines[0].startswith(f"podkit: {option}: ") and words in result.stderr
    assert routes.log == [] and list(root.iterdir()) == []


@pytest.mark.parametrize("ctype", ["text/html; charset=utf-8", "audio/mpeg"])
def test_an_html_page_as_enclosure_is_not_downloaded(routes: Routes, root: Path, ctype: str) -> None:
    page = routes.file("/ep.mp3", b"<!DOCTYPE html><html><body>Please log in</body></html>", ctype)
    url = routes.file("/feed.xml", feed([item("g1", "One", page)]), "application/rss+xml")
    result = run(root, url)
    assert result.rc == 1, result
    assert not any(ln.startswith("downloaded") for ln in result.stdout.splitlines())
    assert any("a web page" in ln for ln in result.err_lines), result
    assert not list(root.glob("episodes/*/audio.mp3")) and not list(root.glob("episodes/*/.audio*"))


def test_resume_without_a_validator_starts_again(routes: Routes, root: Path) -> None:
    old, new = MP3 + b"O" * 4000, MP3 + b"N" * 4000
    served = {"data": old, "cut": 2000}

    def answer(h) -> None:  # noqa: ANN001 - honours Range, sends no ETag or Last-Modified
        data, start = served["data"], 0
        if h.headers.get("Range"):
            start = int(h.headers["Range"][6:].split("-")[0])
            h.send_response(206)
            h.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            h.send_response(200)
        h.send_header("Content-Type", "audio/mpeg")
        h.send_header("Content-Length", str(len(data) - start))
        h.end_headers()
        h.wfile.write(data[start:start + served.pop("cut", len(data))])
    routes.routes["/ep.mp3"] = answer
    url = routes.file("/feed.xml", feed([item("g1", "One", routes.base + "/ep.mp3")]), "text/xml")
    assert run(root, url).rc == 1                        # cut short: a part file stays
    served["data"] = new                                  # the host replaced the file
    assert run(root, url).rc == 0
    assert (root / "episodes" / "one" / "audio.mp3").read_bytes() == new
    assert [h.get("Range") for m, p, h in routes.log if p == "/ep.mp3"] == [None, None]


def test_a_long_finite_redirect_chain_is_too_many_redirects(routes: Routes, root: Path) -> None:
    routes.file("/ep.mp3", MP3, "audio/mpeg", etag='"m"')
    for i in range(12):
        routes.redirect(f"/r{i}", f"/r{i + 1}" if i < 11 else "/ep.mp3")
    url = routes.file("/feed.xml", feed([item("g1", "One", routes.base + "/r0")]), "text/xml")
    result = run(root, url)
    assert result.rc == 1 and "too many redirects (more than 5)" in result.stderr, result
    assert "infinite loop" not in result.stderr


def test_a_pubdate_in_year_0000_is_refused_not_made_2000(routes: Routes, root: Path) -> None:
    media = routes.file("/ep.mp3", MP3, "audio/mpeg", etag='"m"')
    url = routes.file("/feed.xml", feed([item("g0", "Zero", media, date="Sat, 01 Jan 0000 00:00:00 +0000"),
                                         item("g1", "One", media)]), "text/xml")
    result = run(root, url)
    assert result.rc == 0, result
    assert any("item g0: pubDate: 'Sat, 01 Jan 0000" in ln for ln in result.err_lines), result
    assert set(_episodes(root)) == {"g1"}


def test_a_show_imported_before_identities_were_recorded_keeps_its_feed_id(routes: Routes,
                                                                           root: Path) -> None:
    import json
    media = routes.file("/ep.mp3", MP3, "audio/mpeg", etag='"m"')
    url = routes.file("/a/feed.xml", feed([item("ep1", "One", media)]), "text/xml")
    assert run(root, url).rc == 0
    state_path = root / "feeds" / ".hostile-show.podkit-import.json"
    state = json.loads(state_path.read_text())
    del state["identity"]                       # as an earlier podkit wrote it
    state_path.write_text(json.dumps(state))
    again = run(root, url)
    assert again.rc == 0 and "1 unchanged" in again.stdout, again
    assert [p.name for p in (root / "feeds").glob("*.toml")] == ["hostile-show.toml"]
