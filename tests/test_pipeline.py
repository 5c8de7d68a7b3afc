"""End to end on a small real show: build, feed, validate, publish, as `make demo` runs them.

The show (tests/conftest.py) has two FLAC parts; everything below runs real ffmpeg,
reads the MP3 back with mutagen and ffmpeg, and parses the feed with feedparser.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import feedparser
import pytest
import zygote
from mutagen.id3 import ID3

from toolkit import ffmpeg, pipeline, public
from toolkit.store.layout import Layout

LATER = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)


def ebur128(path: Path) -> tuple[float, float]:
    """Integrated loudness and true peak by ffmpeg's own meter (independent of ours)."""
    out = ffmpeg.run(["-nostats", "-i", str(path), "-af", "ebur128=peak=true", "-f", "null", "-"],
                     what="measuring").stderr.decode()
    summary = out[out.rindex("Summary:"):]
    integrated = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))
    peak = float(re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary).group(1))
    return integrated, peak


def tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def built(built_show: Path) -> Path:
    return built_show


def test_built_mp3_meets_the_target_by_an_independent_meter(built: Path) -> None:
    (mp3,) = (Layout(built).stage("test-radio") / "episodes" / "first-episode").glob("*.mp3")
    integrated, peak = ebur128(mp3)
    assert abs(integrated - -16.0) <= 0.5
    assert peak <= -1.0
    tags = ID3(mp3)
    assert tags.version[:2] == (2, 3)
    assert str(tags["TIT2"]) == "First episode" and str(tags["TALB"]) == "Test Radio Hour"
    chapters = sorted(tags.getall("CHAP"), key=lambda c: c.start_time)
    assert [str(c.sub_frames["TIT2"]) for c in chapters] == ["Intro", "Talk"]
    # The second part starts after the first (1.5 s) and its 0.5 s gap.
    assert abs(chapters[1].start_time - 2000) <= 30


def test_feed_reads_back_and_validates_clean(built: Path) -> None:
    site = Layout(built).site("test-radio")
    parsed = feedparser.parse((site / "feed.xml").read_bytes())
    assert not parsed.bozo
    (entry,) = parsed.entries
    (mp3,) = (site / "episodes" / "first-episode").glob("*.mp3")
    assert entry.title == "First episode"
    assert entry.enclosures[0].href.endswith(mp3.name)
    assert int(entry.enclosures[0].length) == mp3.stat().st_size
    assert entry.itunes_duration in ("5", "4")
    assert public.validate_own(built) == []


def test_rebuild_does_no_audio_work_and_changes_no_byte(built: Path, tmp_path: Path) -> None:
    root = tmp_path / "show"
    shutil.copytree(built, root, symlinks=True)
    before = tree(root / "build" / "site")
    results = pipeline.build(root)
    assert [(r.value.cached, r.value.unchanged) for r in results] == [(True, True)]
    public.write_feed(root, now=LATER)
    assert tree(root / "build" / "site") == before


def test_schedule_and_drafts_stay_out_of_feed_and_site(built: Path, tmp_path: Path) -> None:
    root = tmp_path / "show"
    shutil.copytree(built, root, symlinks=True)
    src = root / "episodes" / "first-episode"
    for slug, extra in (("future-one", 'date = 2031-06-01T09:00:00+00:00\n'),
                        ("draft-one", 'draft = true\n')):
        dst = root / "episodes" / slug
        shutil.copytree(src, dst)
        text = (src / "episode.toml").read_text()
        text = re.sub(r"^date = .*\n", "", text, flags=re.M).replace("number = 1", "number = 9")
        if slug == "draft-one":
            text = text.replace("number = 9", "number = 8")
            extra += "date = 2024-01-01T09:00:00+00:00\n"
        (dst / "episode.toml").write_text(extra + text)
    assert all(r.ok for r in pipeline.build(root))
    (now,) = public.write_feed(root, now=LATER)
    assert now.included == ("first-episode",) and now.waiting == ("future-one",)
    assert now.drafts == ("draft-one",)
    site = Layout(root).site("test-radio")
    assert sorted(p.name for p in (site / "episodes").iterdir()) == ["first-episode"]
    (later,) = public.write_feed(root, now=dt.datetime(2032, 1, 1, tzinfo=dt.timezone.utc))
    assert later.included == ("future-one", "first-episode")
    assert (site / "episodes" / "future-one" / "index.html").is_file()
    assert not (site / "episodes" / "draft-one").exists()


def test_publish_local_twice_uploads_nothing_the_second_time(built: Path, tmp_path: Path) -> None:
    root = tmp_path / "show"
    shutil.copytree(built, root, symlinks=True)
    (first,) = public.publish_show(root)
    assert first.feed_uploaded and len(first.uploaded) >= 5
    target = root / "build" / "public" / "test-radio"
    published = {k: v for k, v in tree(target).items() if not k.startswith(".podkit/")}
    assert published == tree(Layout(root).site("test-radio"))
    (second,) = public.publish_show(root)
    assert not second.uploaded and second.bytes_uploaded == 0 and not second.feed_uploaded


def test_cli_runs_the_demo_sequence(show_root: Path) -> None:
    """The commands `make demo` runs, as a producer's shell runs them."""
    def podkit(*args: str) -> subprocess.CompletedProcess[str]:
        return zygote.run(["--root", str(show_root), *args], timeout=300)
    for args in (["check"], ["build", "-j", "2"], ["feed", "--now", "2030-01-01T00:00:00+00:00"],
                 ["validate"], ["cue"], ["publish"]):
        proc = podkit(*args)
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr
    assert "ok: no errors" in podkit("validate").stdout
    cue = (show_root / "build" / "reports" / "test-radio" / "first-episode" / "cue.txt").read_text()
    assert "First episode" in cue and "Intro" in cue
    assert (show_root / "build" / "public" / "test-radio" / "feed.xml").is_file()


def test_podkit_loudness_agrees_with_ffmpeg_ebur128(built: Path, tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner
    from conftest import make_tone

    from toolkit.cli import cli
    (mp3,) = (Layout(built).stage("test-radio") / "episodes" / "first-episode").glob("*.mp3")
    source = built / "episodes" / "first-episode" / "body.flac"
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio")
    quiet = make_tone(tmp_path / "quiet.wav", 3.0, 1000, volume_db=-33.0)
    result = CliRunner().invoke(cli, ["loudness", "--json", str(mp3), str(source), str(quiet), str(bad)])
    assert result.exit_code == 1  # one file could not be measured
    data = json.loads(result.output[:result.output.rindex("}") + 1])
    assert [Path(f["file"]).name for f in data["files"]] == [mp3.name, "body.flac", "quiet.wav"]
    assert len(data["errors"]) == 1 and "notes.wav" in data["errors"][0]
    for row in data["files"]:
        integrated, peak = ebur128(Path(row["file"]))
        assert abs(row["integrated_lufs"] - integrated) <= 0.2, row
        assert abs(row["true_peak_dbtp"] - peak) <= 0.3, row
    table = CliRunner().invoke(cli, ["loudness", str(mp3)])
    assert table.exit_code == 0 and "LUFS" in table.output and mp3.name in table.output


def test_build_reports_each_rendition_and_heavy_limiting(show_root: Path) -> None:
    """`podkit build` with AAC and Opus renditions and a programme the limiter works hard
    on: the build line, the manifest, the cue sheet and qc.json say what each file
    measures, and ffmpeg's ebur128 filter agrees on every published file."""
    import json

    from audiosignals import speech_like, write_wav
    from click.testing import CliRunner

    from toolkit.cli import cli
    from toolkit.config import catalog
    from toolkit.standards import renditions as registry
    ep = show_root / "episodes" / "first-episode"
    # Speech with plosives far above it: the limiter works on most of it.
    write_wav(ep / "body.wav", speech_like(20.0, rate=44100, level_db=-24, seed=1), 44100)
    toml = ep / "episode.toml"
    toml.write_text(toml.read_text().replace('file = "body.flac"', 'file = "body.wav"'))
    toml.write_text(toml.read_text() + '\n[encoding]\nrenditions = ["mp3", "aac", "opus"]\n')
    result = CliRunner().invoke(cli, ["--root", str(show_root), "build"])
    assert result.exit_code == 0, result.output
    cat = catalog.load(show_root)
    built = cat.load_record(cat.episodes[0])
    renditions = built.renditions
    assert set(renditions) == {"mp3", "aac", "opus"}
    assert [m.mime for m in built.extra_audio] == ["audio/x-m4a", "audio/opus"]
    (line,) = [ln for ln in result.stdout.splitlines() if ln.startswith("built first-episode:")]
    for kind, stats in renditions.items():
        assert f"{kind.upper()} {stats.integrated:.1f} LUFS {stats.true_peak:.1f} dBTP" in line
    # The manifest's numbers are the published files' own, by ffmpeg's meter.
    for media in (built.audio, *built.extra_audio):
        integrated, peak = ebur128(media.path)
        stats = renditions[registry.by_ext(media.path.name).key]
        assert abs(stats.integrated - integrated) <= 0.1 and abs(stats.true_peak - peak) <= 0.2
        assert abs(integrated - -16.0) <= 0.35 and peak <= -1.0
    limiting = built.limiting
    assert limiting is not None and limiting.warning.startswith("heavy limiting")
    warning = f"episodes/first-episode: audio: warning: {limiting.warning}"
    assert warning in result.stderr.splitlines()
    reports = Layout(show_root).reports("test-radio", "first-episode")
    assert f"WARNING: {limiting.warning}" in (reports / "cue.txt").read_text()
    assert json.loads((reports / "qc.json").read_text())["limiting"]["warning"] == limiting.warning
    # The feed lists each rendition as an alternate enclosure, the page offers each for
    # download under the registry's label, and validate (records only) passes.
    assert CliRunner().invoke(cli, ["--root", str(show_root), "feed"]).exit_code == 0
    site = Layout(show_root).site("test-radio")
    item = feedparser.parse((site / "feed.xml").read_bytes()).entries[0]
    assert [e.type for e in item.enclosures] == ["audio/mpeg"]
    xml = (site / "feed.xml").read_text()
    assert xml.count("<podcast:alternateEnclosure ") == 3 and 'title="Opus"' in xml
    page = (site / "episodes" / "first-episode" / "index.html").read_text()
    assert "AAC (.m4a)</a>" in page and ">Opus</a>" in page
    checked = CliRunner().invoke(cli, ["--root", str(show_root), "validate"])
    assert checked.exit_code == 0, checked.output
