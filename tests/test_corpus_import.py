"""Corpus: moving a show in: `passthrough` episodes and `podkit import` of other hosts' feeds.

CASES run the real `podkit` like the config corpus (one line, exit status, sources
untouched); ROWS are checked by their own tests in tests/migrate/test_import.py, which serve the
feeds and their media from a local HTTP server.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_tone
from corpus_support import (  # noqa: F401
    EP,
    EP_TOML,
    Case,
    Line,
    Row,
    corpus_base,
    corpus_built,
    edit,
    podkit_inprocess,
    run_case,
)

ONE = "1 problem(s)"


def _one_file(name: str, extra: str):  # type: ignore[no-untyped-def]
    """A planter: the corpus episode as `audio = name` (an MP3 made here) with `extra` keys."""
    def plant(root: Path) -> None:
        if name.endswith(".mp3"):
            make_tone(root / EP / name, 2.0)
        text = (root / EP_TOML).read_text("utf-8").split("[[parts]]")[0]
        (root / EP_TOML).write_text(text + f'audio = "{name}"\n' + extra, "utf-8")
    return plant


def _mp3_episode(extra: str):  # type: ignore[no-untyped-def]
    """A planter: the corpus episode as one MP3 with `extra` keys."""
    return _one_file("master.mp3", extra)


def _aac_named_mp3(root: Path) -> None:
    make_tone(root / EP / "aac.m4a", 2.0)
    (root / EP / "aac.m4a").rename(root / EP / "master.mp3")
    text = (root / EP_TOML).read_text("utf-8").split("[[parts]]")[0]
    (root / EP_TOML).write_text(text + 'audio = "master.mp3"\npassthrough = true\n', "utf-8")


CASES = [
    Case("passthrough-parts", "`passthrough = true` with `[[parts]]`",
         lambda r: edit(r / EP_TOML, "number = 1", "number = 1\npassthrough = true"),
         "refused: parts are assembled and encoded",
         Line(EP_TOML, "passthrough", ("needs one MP3",)), summary=ONE),
    Case("passthrough-flac", "`passthrough = true` on `audio = \"intro.flac\"`",
         _one_file("intro.flac", "passthrough = true\n"),
         "refused: only an MP3 can be published without an encode",
         Line(EP_TOML, "passthrough", ("needs one MP3",)), summary=ONE),
    Case("keep-tags-alone", "`keep_tags = true` without passthrough",
         _mp3_episode("keep_tags = true\n"), "refused",
         Line(EP_TOML, "keep_tags", ("only with passthrough",)), summary=ONE),
    Case("passthrough-loudness", "`passthrough = true` with a `[loudness]` table",
         _mp3_episode("passthrough = true\n[loudness]\nintegrated = -19.0\n"),
         "warning: the target is not applied", Line(EP_TOML, "loudness", ("ignored",), warning=True,
                                                   stream="stdout"), exit=0, summary=None),
    Case("passthrough-aac-named-mp3", "`podkit build` of a passthrough `.mp3` holding AAC",
         _aac_named_mp3, "the episode fails; nothing re-encoded, nothing published",
         Line(EP_TOML, "passthrough", ("holds aac audio", "not MP3"), prefix="failed first-episode: ",
              absolute=True),
         command=("build",), built=True, summary="podkit: 1 of 1 episode(s) failed", process=True,
         checked="the last good build stays byte-identical"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_import_config_case(case: Case, corpus_base: Path, corpus_built: Path,
                            tmp_path: Path) -> None:
    run_case(case, corpus_built if case.built else corpus_base, tmp_path)


ROWS = [
    Row("import-not-a-feed", "`podkit import` of a URL serving an HTML page",
        "exit 1: one line naming the URL; nothing written", "no feeds/ or episodes/ created"),
    Row("import-unreachable", "`podkit import` of a URL nobody answers",
        "exit 1: one line `URL: fetch: cannot fetch`; nothing written", "no traceback"),
    Row("import-http-base-url", "`--base-url http://...`",
        "exit 1: one line `--base-url: must be an https:// URL` (check's rule)", "nothing fetched"),
    Row("import-media-404", "an enclosure answering 404 among good ones",
        "exit 1: the other items imported; `failed episodes/<slug>: <url>: url: HTTP 404`",
        "the good episodes' audio is the served bytes"),
    Row("import-unmappable", "items with a video enclosure, no enclosure, a bad pubDate, "
        "`itunes:season` \"two\"", "exit 0: each listed on one `not mapped:` line; the rest imported",
        "the skipped items have no folder"),
]


from import_hosts import empty_show as _empty  # noqa: E402,F401 - a fixture
from import_hosts import server


def test_import_not_a_feed(server, tmp_path: Path) -> None:  # noqa: ANN001
    url = server.add("/page.html", b"<!doctype html><html><body>Hi</body></html>", "text/html")
    run = podkit_inprocess(_empty(tmp_path), "import", url, "--allow-private-hosts", "--base-url", "https://m.example.org/")
    assert run.rc == 1 and "Traceback" not in run.stderr
    assert len(run.err_lines) == 1 and run.err_lines[0].startswith(f"podkit: {url}: "), run
    assert list((tmp_path / "show").iterdir()) == []


def test_import_unreachable(tmp_path: Path) -> None:
    import socket
    with socket.socket() as s:       # a port nobody listens on (bound, never accepting)
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/feed.xml"
        run = podkit_inprocess(_empty(tmp_path), "import", url, "--allow-private-hosts", "--base-url", "https://m.example.org/")
    assert run.rc == 1 and "Traceback" not in run.stderr
    assert run.err_lines == [ln for ln in run.err_lines if ln.startswith(f"podkit: {url}: fetch: ")]
    assert len(run.err_lines) == 1, run


def test_import_http_base_url(server, tmp_path: Path) -> None:  # noqa: ANN001
    run = podkit_inprocess(_empty(tmp_path), "import", server.base + "/feed.xml",
                           "--base-url", "http://m.example.org/")
    assert run.rc == 1 and run.err_lines == ["podkit: --base-url: must be an https:// URL, "
                                             "not 'http://m.example.org/'"], run
    assert server.log == []


def test_import_media_404(server, tmp_path: Path) -> None:  # noqa: ANN001
    from import_hosts import build_feed
    hf = build_feed(server, "libsyn", tmp_path / "src")
    del server.files[f"/libsyn/media/ep{hf.episodes[0].n}.mp3"]
    root = _empty(tmp_path)
    run = podkit_inprocess(root, "import", hf.url, "--allow-private-hosts", "--base-url", "https://m.example.org/")
    assert run.rc == 1 and "Traceback" not in run.stderr
    failed = [ln for ln in run.err_lines if ln.startswith("failed episodes/")]
    assert len(failed) == 1 and ": url: HTTP 404" in failed[0], run
    assert run.err_lines[-1].startswith("podkit: 1 download(s) failed")
    for ep in hf.episodes[1:]:
        assert any(p.read_bytes() == ep.mp3 for p in (root / "episodes").glob("*/audio.mp3"))


def test_import_unmappable(server, tmp_path: Path) -> None:  # noqa: ANN001
    from import_hosts import build_feed
    hf = build_feed(server, "podbean", tmp_path / "src")
    xml, ctype = server.files["/podbean/feed.xml"]
    # A PDF cannot be published as an episode: named, and the import fails (a video is
    # carried as delivered: tests/migrate/test_moving_in.py).
    bad = ("<item><title>A leaflet</title><guid>v1</guid><pubDate>Mon, 01 May 2023 10:00:00 +0000"
           "</pubDate><enclosure url=\"https://x.example.org/v.pdf\" length=\"9\" "
           "type=\"application/pdf\"/></item>"
           "<item><title>Text only</title><guid>t1</guid><pubDate>Mon, 01 May 2023 10:00:00 +0000"
           "</pubDate></item>"
           "<item><title>Bad date</title><guid>d1</guid><pubDate>yesterday</pubDate></item>"
           "<item><title>Season two</title><guid>s2</guid><pubDate>Mon, 01 May 2023 10:00:00 GMT"
           f"</pubDate><enclosure url=\"{hf.episodes[0].url}\" length=\"0\" type=\"audio/mpeg\"/>"
           "<itunes:season>two</itunes:season></item>")
    server.files["/podbean/feed.xml"] = (xml.replace(b"<item>", bad.encode() + b"<item>", 1), ctype)
    root = _empty(tmp_path)
    run = podkit_inprocess(root, "import", hf.url, "--allow-private-hosts", "--base-url",
                           "https://m.example.org/")
    assert run.rc == 1, run
    assert [ln for ln in run.err_lines if ln.startswith("left ")] == [
        "left item v1 (A leaflet): enclosure type 'application/pdf' is neither audio nor "
        "video: not imported"]
    assert run.err_lines[-1] == ("podkit: 1 item(s) of the old feed not imported (listed "
                                 "above): move them by hand or they vanish for subscribers")
    unmapped = [ln for ln in run.err_lines if ln.startswith("not mapped: ")]
    for words in ("item t1: enclosure: none",
                  "pubDate: 'yesterday'", "item s2: itunes:season: 'two'"):
        assert sum(words in ln for ln in unmapped) == 1, (words, run)
    slugs = {p.name for p in (root / "episodes").iterdir()}
    assert "season-two" in slugs and not slugs & {"a-leaflet", "text-only", "bad-date"}
