"""A show's whole life from the command line: init, new, check, build, feed, validate,
publish (and release, status, the show's Makefile), starting from an empty folder.

Everything is real: the podkit process, ffmpeg, the MP3 read back with mutagen, the feed
parsed by feedparser, the cover opened by Pillow, a real S3 server on 127.0.0.1.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import feedparser
import pytest
from conftest import make_tone
from corpus_support import podkit, podkit_inprocess
from mutagen.id3 import ID3
from PIL import Image
from s3server import moto_endpoint, s3  # noqa: F401

from toolkit.showlife import showinit
from toolkit.standards import artwork

INIT = ("init", "--title", "Night Shift Notes", "--author", "Ann Author",
        "--email", "ann@example.org", "--base-url", "https://media.example.org/night/")
FEED_ID = "night-shift-notes"
SRT = "1\n00:00:00,000 --> 00:00:01,500\nHello there.\n\n2\n00:00:01,500 --> 00:00:03,000\nGoodbye.\n"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def takes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A producer's recordings, outside any show folder."""
    folder = tmp_path_factory.mktemp("takes")
    make_tone(folder / "take-one.wav", 3.0, 440)
    make_tone(folder / "take-two.flac", 2.5, 660)
    (folder / "take-one.srt").write_text(SRT, "utf-8")
    return folder


def ok(run):  # noqa: ANN001, ANN201
    assert run.rc == 0, run
    assert "Traceback" not in run.stderr, run
    return run


def published_feed(folder: Path):  # noqa: ANN201
    parsed = feedparser.parse((folder / "feed.xml").read_bytes())
    assert not parsed.bozo, parsed.bozo_exception
    return parsed


def test_empty_folder_to_published_show(tmp_path: Path, takes: Path) -> None:
    """The issue's done-when: init, new, check, build, feed, validate and publish pass."""
    root = tmp_path / "show"
    originals = {p.name: sha(p) for p in takes.iterdir()}
    ok(podkit(root, *INIT, cwd=tmp_path))
    ok(podkit(root, "new", "first-light", "--title", "First light",
              "--audio", str(takes / "take-one.wav"), "--transcript", str(takes / "take-one.srt"),
              "--date", "2024-03-01T09:00:00+01:00", "--no-draft"))
    for step in ("check", "build", "feed", "validate", "publish"):
        ok(podkit(root, step))

    # The sources were copied, never moved or changed.
    assert {p.name: sha(p) for p in takes.iterdir()} == originals
    ep = root / "episodes" / "first-light"
    assert sha(ep / "take-one.wav") == originals["take-one.wav"]
    toml = tomllib.loads((ep / "episode.toml").read_text("utf-8"))
    assert toml["audio"] == "take-one.wav" and toml["feed"] == FEED_ID and toml["draft"] is False
    assert toml["transcripts"] == [{"file": "take-one.srt", "language": "en"}]

    # The published folder: a feed apps parse, the MP3 it points at, tagged, the cover.
    public = root / "build" / "public" / FEED_ID
    parsed = published_feed(public)
    assert parsed.feed.title == "Night Shift Notes" and parsed.feed.author == "Ann Author"
    [entry] = parsed.entries
    assert entry.title == "First light"
    enclosure = entry.enclosures[0]
    mp3 = public / enclosure.href.removeprefix("https://media.example.org/night/")
    assert mp3.stat().st_size == int(enclosure.length)
    assert str(ID3(mp3)["TIT2"]) == "First light"
    cover_url = parsed.feed.image.href
    with Image.open(public / cover_url.removeprefix("https://media.example.org/night/")) as img:
        assert (img.format, img.mode, img.size) == ("JPEG", "RGB", (1400, 1400))

    status = json.loads(ok(podkit(root, "status", "--json")).stdout)
    assert [(e["slug"], e["state"]) for e in status["episodes"]] == [("first-light", "published")]

    # The show's Makefile calls the podkit on PATH (not a .venv): release is a no-op now.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    assert ".venv" not in (root / "Makefile").read_text()
    make = subprocess.run(["make", "release", "status"], cwd=root, env=env, capture_output=True,
                          text=True, timeout=300)
    assert make.returncode == 0, make.stderr
    assert "podkit release" in make.stdout and "0 uploaded" in make.stdout
    assert "1 published" in make.stdout


def test_release_to_a_real_s3_server(s3, tmp_path: Path, takes: Path) -> None:  # noqa: F811
    root = tmp_path / "show"
    ok(podkit_inprocess(root, *INIT))
    ok(podkit_inprocess(root, "new", "first-light", "--audio", str(takes / "take-two.flac"),
                        "--date", "2024-03-01T09:00:00+01:00", "--no-draft"))
    env = {"PODKIT_S3_BUCKET": s3.bucket, "PODKIT_S3_PREFIX": "night",
           "PODKIT_S3_ENDPOINT_URL": s3.proxy.url, "PODKIT_S3_ADDRESSING_STYLE": "path"}
    run = ok(podkit_inprocess(root, "release", env=env))
    assert f"s3://{s3.bucket}/night/" in run.stdout
    status, _, body = s3.get("night/feed.xml")
    parsed = feedparser.parse(body)
    assert status == 200 and [e.title for e in parsed.entries] == ["First light"]
    key = "night/" + parsed.entries[0].enclosures[0].href.split("/night/", 1)[1]
    assert s3.client().head_object(Bucket=s3.bucket, Key=key)["ContentLength"] > 0

    # Without --remote nothing is asked of the bucket; with it, a LIST says it is all there.
    before = len(s3.proxy.requests(None))
    local = json.loads(ok(podkit_inprocess(root, "status", "--json", env=env)).stdout)
    assert len(s3.proxy.requests(None)) == before
    assert local["episodes"][0]["state"] == "built" and local["unknown_remote"] == [FEED_ID]
    remote = json.loads(ok(podkit_inprocess(root, "status", "--json", "--remote", env=env)).stdout)
    assert remote["episodes"][0]["state"] == "published"
    assert {r.method for r in s3.proxy.requests(None)[before:]} == {"GET"}  # listing only


def test_scheduled_episode_goes_live_on_its_date(tmp_path: Path, takes: Path) -> None:
    root = tmp_path / "show"
    ok(podkit_inprocess(root, *INIT))
    ok(podkit_inprocess(root, "new", "out-now", "--audio", str(takes / "take-one.wav"),
                        "--date", "2030-05-01T09:00:00+00:00", "--no-draft"))
    ok(podkit_inprocess(root, "new", "next-week", "--audio", str(takes / "take-two.flac"),
                        "--date", "2030-06-01T09:00:00+02:00", "--no-draft"))
    public = root / "build" / "public" / FEED_ID

    before = ok(podkit_inprocess(root, "release", "--now", "2030-06-01T06:59:00+00:00"))
    assert "1 scheduled" in before.stdout
    assert [e.title for e in published_feed(public).entries] == ["Out now"]
    assert not (public / "episodes" / "next-week").exists()   # not even its files
    rows = {r["slug"]: r for r in json.loads(ok(podkit_inprocess(
        root, "status", "--json", "--now", "2030-06-01T06:59:00+00:00")).stdout)["episodes"]}
    assert rows["out-now"]["state"] == "published"
    assert rows["next-week"]["state"] == "scheduled" and "2030-06-01T09:00" in rows["next-week"]["detail"]

    # A minute after its time (07:00 UTC), through PODKIT_NOW as cron would set no option.
    after = ok(podkit_inprocess(root, "release", env={"PODKIT_NOW": "2030-06-01T07:01:00+00:00"}))
    assert "2 episode(s)" in after.stdout
    assert [e.title for e in published_feed(public).entries] == ["Next week", "Out now"]
    assert (public / "episodes" / "next-week" / "index.html").is_file()


def test_status_names_every_state(tmp_path: Path, takes: Path) -> None:
    root = tmp_path / "show"
    ok(podkit_inprocess(root, *INIT))
    for slug, date, extra in (("one", "2024-01-01T09:00:00+00:00", ["--no-draft"]),
                              ("two", "2024-01-08T09:00:00+00:00", ["--no-draft"]),
                              ("three", "2024-01-15T09:00:00+00:00", []),
                              ("four", "2031-01-01T09:00:00+00:00", ["--no-draft"])):
        ok(podkit_inprocess(root, "new", slug, "--audio", str(takes / "take-one.wav"),
                            "--date", date, *extra))
    ok(podkit_inprocess(root, "release", "--now", "2030-01-01T00:00:00+00:00"))
    # two: re-titled after publishing and rebuilt, fed but not published -> differs;
    # one: its audio replaced after the build -> stale, naming the file.
    toml = root / "episodes" / "two" / "episode.toml"
    toml.write_text(toml.read_text("utf-8").replace('title = "Two"', 'title = "Two, again"'))
    ok(podkit_inprocess(root, "build", "two"))
    ok(podkit_inprocess(root, "feed", "--now", "2030-01-01T00:00:00+00:00"))
    shutil.copyfile(takes / "take-two.flac", root / "episodes" / "one" / "take-one.wav")
    (root / "episodes" / "broken").mkdir()
    (root / "episodes" / "broken" / "episode.toml").write_text('title = "no feed"\n')
    (root / "episodes" / "five").mkdir()
    shutil.copyfile(takes / "take-one.wav", root / "episodes" / "five" / "a.wav")
    (root / "episodes" / "five" / "episode.toml").write_text(
        f'feed = "{FEED_ID}"\ntitle = "Five"\ndate = 2024-02-01T09:00:00+00:00\naudio = "a.wav"\n')

    run = ok(podkit_inprocess(root, "status", "--now", "2030-01-01T00:00:00+00:00"))
    lines = {ln.split()[0]: ln for ln in run.stdout.splitlines() if ln and ln.split()[0] in
             ("one", "two", "three", "four", "five", "broken")}
    assert "stale (changed: episodes/one/take-one.wav)" in lines["one"]
    assert "differs from published" in lines["two"] and "index.html" in lines["two"]
    assert "draft (built)" in lines["three"]
    assert "scheduled (for 2031-01-01T09:00" in lines["four"]
    assert "not built" in lines["five"]
    assert "invalid" in lines["broken"] and "feed" in lines["broken"]
    assert "6 episode(s): 1 invalid, 1 draft, 1 not built, 1 stale, 1 scheduled, " \
           "1 differs from published" in run.stdout
    # Loudness and duration come from the records: the built MP3 was measured at -16 LUFS.
    data = {e["slug"]: e for e in json.loads(ok(podkit_inprocess(
        root, "status", "--json", "--now", "2030-01-01T00:00:00+00:00")).stdout)["episodes"]}
    assert abs(data["four"]["integrated_lufs"] + 16.0) < 0.5
    assert abs(data["four"]["duration_s"] - 3.0) < 0.1 and data["five"]["duration_s"] is None
    ok(podkit_inprocess(root, "publish"))
    data = {e["slug"]: e["state"] for e in json.loads(ok(podkit_inprocess(
        root, "status", "--json", "--now", "2030-01-01T00:00:00+00:00")).stdout)["episodes"]}
    assert data["two"] == "published"


def test_init_interactive_asks_with_prompts(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from toolkit.cli import cli
    answers = "\n".join(["Kitchen Radio", "Bo Cook", "bo@example.org",
                         "https://cdn.example.org/kitchen/", "", "en-gb", "Arts > Food", "n"]) + "\n"
    result = CliRunner().invoke(cli, ["--root", str(tmp_path), "init", "--interactive"],
                                input=answers)
    assert result.exit_code == 0, result.output
    data = tomllib.loads((tmp_path / "feeds" / "kitchen-radio.toml").read_text("utf-8"))
    assert (data["title"], data["language"], data["categories"], data["owner"]["email"]) == \
        ("Kitchen Radio", "en-gb", ["Arts > Food"], "bo@example.org")
    assert data["feed_url"] == "https://cdn.example.org/kitchen/feed.xml"
    assert "ok: 1 feed(s), 0 episode(s)" in ok(podkit_inprocess(tmp_path, "check")).stdout


def test_placeholder_cover_draws_the_title(tmp_path: Path) -> None:
    path = tmp_path / "c.jpg"
    path.write_bytes(showinit.cover_jpeg("Night Shift Notes", "Ann Author"))
    assert artwork.problems(path) == []          # the rules `podkit check` applies to a cover
    with Image.open(path) as img:
        assert (img.format, img.mode, img.size) == ("JPEG", "RGB", (1400, 1400))
        grey = img.convert("L")
    # The title is near-white text on a darker gradient: thousands of bright pixels in the
    # title band, none in the empty top margin.
    import numpy as np  # pixels as arrays (Image.getdata is deprecated)
    band = np.asarray(grey.crop((100, 300, 1300, 1000)))
    assert int((band > 230).sum()) > 20_000
    assert int(np.asarray(grey.crop((0, 0, 1400, 60))).max()) < 200
    other = Image.open(__import__("io").BytesIO(showinit.cover_jpeg("Another Show")))
    assert not np.array_equal(np.asarray(other.convert("L")), np.asarray(grey))
