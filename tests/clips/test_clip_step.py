"""The clips build step on a real show: rendered once, recorded, cached, paged, published."""
from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from audiosignals import convert, ebur128, speech_like, write_wav
from conftest import write_show
from toolkit import ffmpeg, pipeline, public
from toolkit.cli import cli
from toolkit.config import catalog
from toolkit.store.layout import Layout

pytestmark = pytest.mark.slow
LATER = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)

VTT = """WEBVTT

00:00:01.000 --> 00:00:04.000
<v Host>The talks in Hanoi ended early and without an agreement.

00:00:04.500 --> 00:00:08.000
<v Host>Both sides left the summit with their own account of why.
"""

SOUNDBITE = """
[[transcripts]]
file = "talk.vtt"

[[soundbites]]
start = 1.0
duration = 7.0
title = "Why the talks ended"
"""


@pytest.fixture(scope="module")
def clip_show(tmp_path_factory, _media_cache) -> Path:
    """The test show with a 9 s spoken body, a timed transcript and one soundbite, built."""
    root = write_show(tmp_path_factory.mktemp("clipshow") / "show", _media_cache)
    ep = root / "episodes" / "first-episode"
    wav = write_wav(ep / "body.wav", speech_like(9.0, level_db=-22.0), 44100)
    convert(wav, ep / "body.flac")
    wav.unlink()
    (ep / "talk.vtt").write_text(VTT, "utf-8")
    toml = ep / "episode.toml"
    toml.write_text(toml.read_text("utf-8") + SOUNDBITE, "utf-8")
    results = pipeline.build(root)
    assert all(r.ok for r in results), [r.error for r in results]
    public.write_feed(root, now=LATER)
    return root


def _record(root: Path):
    cat = catalog.load(root)
    return cat, cat.load_record(cat.episodes[0])


def test_clip_is_recorded_published_and_on_the_page(clip_show: Path) -> None:
    _, rec = _record(clip_show)
    (clip,) = rec.part("clips").clips
    assert clip.captions and clip.width == clip.height == 1080
    video, poster = Path(clip.video.path), Path(clip.poster.path)
    assert video.is_file() and poster.is_file()
    assert re.fullmatch(r"first-episode-clip1-[0-9a-f]{12}\.mp4", video.name)
    site = Layout(clip_show).site("test-radio") / "episodes" / "first-episode"
    assert (site / video.name).read_bytes() == video.read_bytes()
    page = (site / "index.html").read_text("utf-8")
    assert f'<source src="{video.name}" type="video/mp4">' in page
    assert f'poster="{poster.name}"' in page
    assert f'href="{video.name}" download' in page
    assert ('<meta property="og:video" content="https://media.example.org/test-radio/'
            f'episodes/first-episode/{video.name}">') in page
    # The clip's audio is the programme's at the programme's loudness (ffmpeg's meter).
    mp3 = Path(rec.audio.path)
    cut = clip_show / "cut.wav"
    subprocess.run([ffmpeg.binary(), "-v", "error", "-ss", "1", "-t", "7", "-i", str(mp3),
                    "-y", str(cut)], check=True)
    assert abs(ebur128(video)["I"] - ebur128(cut)["I"]) <= 1.0


def test_rebuild_for_the_notes_takes_the_clip_from_the_cache(clip_show: Path,
                                                           tmp_path: Path) -> None:
    root = tmp_path / "show"
    shutil.copytree(clip_show, root)
    cache = Layout(root).cache("test-radio", "first-episode")
    (cached,) = cache.glob("clip-*.mp4")
    before = cached.stat().st_mtime_ns
    toml = root / "episodes" / "first-episode" / "episode.toml"
    toml.write_text(toml.read_text("utf-8").replace("Some *notes*", "Other *notes*"), "utf-8")
    assert all(r.ok for r in pipeline.build(root))
    assert cached.stat().st_mtime_ns == before and len(list(cache.glob("clip-*.mp4"))) == 1
    # A new soundbite start is a new clip.
    toml.write_text(toml.read_text("utf-8").replace("start = 1.0", "start = 1.5"), "utf-8")
    assert all(r.ok for r in pipeline.build(root))
    assert len(list(cache.glob("clip-*.mp4"))) == 2


def test_podkit_clip_one_off_and_its_errors(clip_show: Path, tmp_path: Path) -> None:
    root = tmp_path / "show"
    shutil.copytree(clip_show, root)
    runner = CliRunner()
    ok = runner.invoke(cli, ["--root", str(root), "clip", "first-episode", "--start", "0:02",
                             "--duration", "6", "--shape", "landscape"])
    assert ok.exit_code == 0, ok.output
    out = Layout(root).reports("test-radio", "first-episode") / \
        "clip-first-episode-2s-6s-landscape.mp4"
    assert out.is_file()
    for args, message in ((["--start", "1", "--duration", "120"], "a clip is 5 to 90 s"),
                          (["--start", "7", "--duration", "6"], "runs past the end"),
                          (["--start", "soon", "--duration", "6"], "give seconds")):
        bad = runner.invoke(cli, ["--root", str(root), "clip", "first-episode", *args])
        said = bad.output + str(bad.exception)   # PodkitError: main() prints it as one line
        assert bad.exit_code != 0 and message in said, said


def test_soundbite_too_long_for_a_clip_is_a_clear_warning(show_root: Path) -> None:
    toml = show_root / "episodes" / "first-episode" / "episode.toml"
    toml.write_text(toml.read_text("utf-8") + "\n[[soundbites]]\nstart = 0\nduration = 100\n",
                    "utf-8")
    cat = catalog.load(show_root)
    assert not cat.errors
    (problem,) = [p for p in cat.problems if "video clip" in p.message]
    assert problem.field == "soundbites[0].duration" and "clip = false" in problem.message
    assert cat.episodes[0].soundbites[0].clip is False


def _browser_support():
    """tests/site/test_pages_browser.py's DevTools client and static server (loaded by path:
    a folder named `site` cannot be imported beside the standard library's `site`)."""
    import importlib.util
    path = Path(__file__).resolve().parent.parent / "site" / "test_pages_browser.py"
    spec = importlib.util.spec_from_file_location("podkit_browser_support", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.browser
def test_chromium_plays_the_clip_on_the_page(clip_show: Path, tmp_path: Path) -> None:
    support = _browser_support()
    binary = support._chromium()
    if binary is None:
        pytest.skip("headless Chromium not found (scripts/ensure-chromium.sh)")
    site = Layout(clip_show).site("test-radio")
    handler = lambda *a, **kw: support.RangeHandler(*a, directory=str(site), **kw)  # noqa: E731
    import http.server
    import threading
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    browser = support.Browser(binary, tmp_path / "profile")
    try:
        browser.goto(f"http://127.0.0.1:{httpd.server_address[1]}/episodes/first-episode/")
        played = browser.js("""(async () => {
            const v = document.querySelector('#clips video');
            v.muted = true;
            await v.play();
            await new Promise(r => setTimeout(r, 1500));
            return [v.currentTime, v.videoWidth, v.videoHeight, v.error === null,
                    v.poster.endsWith('.jpg')];
        })()""")
        assert played[0] > 0.5 and played[1:] == [1080, 1080, True, True], played
        assert browser.errors() == []
    finally:
        browser.close()
        httpd.shutdown()
        httpd.server_close()
