"""The producer's daily loop (issue 23, items 3 and 8): `podkit new` with several takes and a
bed, numbering within a season, the status feed column, the init Makefile, the placeholder cover.

Real files throughout: podkit's CLI in this process, ffmpeg's tones, the episode.toml read
back with tomllib, the episode checked and built.
"""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from conftest import make_tone
from corpus_support import podkit_inprocess

INIT = ("init", "--title", "Weekly Segment", "--author", "Ann Author",
        "--email", "ann@example.org", "--base-url", "https://media.example.org/weekly/")
FEED_ID = "weekly-segment"


def ok(run):  # noqa: ANN001, ANN201
    assert run.rc == 0, run
    assert "Traceback" not in run.stderr, run
    return run


@pytest.fixture(scope="module")
def takes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("takes")
    make_tone(folder / "intro.wav", 1.5, 440)
    make_tone(folder / "interview.wav", 2.0, 550)
    make_tone(folder / "bed.wav", 3.0, 220)
    return folder


@pytest.fixture()
def show(tmp_path: Path) -> Path:
    root = tmp_path / "show"
    ok(podkit_inprocess(root, *INIT, cwd=tmp_path))
    return root


def test_several_audio_make_parts_in_order_with_a_bed(show: Path, takes: Path) -> None:
    ok(podkit_inprocess(show, "new", "week-one", "--audio", str(takes / "intro.wav"),
                        "--audio", str(takes / "interview.wav"), "--bed", str(takes / "bed.wav")))
    folder = show / "episodes" / "week-one"
    data = tomllib.loads((folder / "episode.toml").read_text("utf-8"))
    assert "audio" not in data
    assert [(p["file"], p["title"]) for p in data["parts"]] == \
        [("intro.wav", "Intro"), ("interview.wav", "Interview")]
    assert data["parts"][0]["bed"] == "bed.wav" and "bed" not in data["parts"][1]
    for name in ("intro.wav", "interview.wav", "bed.wav"):
        assert (folder / name).read_bytes() == (takes / name).read_bytes()
    ok(podkit_inprocess(show, "check"))
    # Built, the programme holds both parts in order: one chapter each.
    ok(podkit_inprocess(show, "build", "week-one"))
    record = next((show / "build" / "stage" / FEED_ID / "episodes").glob("week-one/.podkit-build.json"))
    text = record.read_text("utf-8")
    assert text.index('"Intro"') < text.index('"Interview"')


def test_one_audio_stays_one_file(show: Path, takes: Path) -> None:
    ok(podkit_inprocess(show, "new", "solo", "--audio", str(takes / "intro.wav")))
    data = tomllib.loads((show / "episodes" / "solo" / "episode.toml").read_text("utf-8"))
    assert data["audio"] == "intro.wav" and "parts" not in data


def test_a_bed_needs_audio_and_names_collide_cleanly(show: Path, takes: Path) -> None:
    run = podkit_inprocess(show, "new", "x", "--bed", str(takes / "bed.wav"))
    assert run.rc == 1 and "bed" in run.stderr and "Traceback" not in run.stderr
    run = podkit_inprocess(show, "new", "y", "--audio", str(takes / "bed.wav"),
                           "--bed", str(takes / "bed.wav"))
    assert run.rc == 1 and "two sources are called 'bed.wav'" in run.stderr
    assert not (show / "episodes" / "x").exists() and not (show / "episodes" / "y").exists()


def _episode(root: Path, slug: str, **keys: object) -> None:
    folder = root / "episodes" / slug
    folder.mkdir(parents=True)
    lines = [f'feed = "{FEED_ID}"', f'title = "{slug}"', "date = 2024-01-01T09:00:00Z",
             'audio = "a.wav"'] + [f"{k} = {v}" for k, v in keys.items()]
    (folder / "episode.toml").write_text("\n".join(lines) + "\n", "utf-8")


def test_new_numbers_within_the_current_season(show: Path, takes: Path) -> None:
    _episode(show, "s1e1", season=1, number=1)
    _episode(show, "s1e9", season=1, number=9)
    _episode(show, "s2e1", season=2, number=1)
    _episode(show, "s2e2", season=2, number=2)
    _episode(show, "bonus", number=40)          # no season: not the current season's
    ok(podkit_inprocess(show, "new", "next-one", "--audio", str(takes / "intro.wav")))
    data = tomllib.loads((show / "episodes" / "next-one" / "episode.toml").read_text("utf-8"))
    assert (data["season"], data["number"]) == (2, 3)


def test_new_without_seasons_numbers_across_the_show(show: Path, takes: Path) -> None:
    _episode(show, "one", number=1)
    _episode(show, "two", number=2)
    ok(podkit_inprocess(show, "new", "three", "--audio", str(takes / "intro.wav")))
    data = tomllib.loads((show / "episodes" / "three" / "episode.toml").read_text("utf-8"))
    assert data["number"] == 3 and "season" not in data


def test_release_shows_each_warning_once_and_counts_it(show: Path, takes: Path) -> None:
    """Issue 23, item 7: a warning is shown once per command, counted in the summary line."""
    from PIL import Image
    cover = show / "feeds" / f"{FEED_ID}.jpg"
    with Image.open(cover) as img:          # the producer's own cover: no placeholder warning
        img.convert("RGB").save(cover, "JPEG", quality=90)
    ok(podkit_inprocess(show, "new", "long-one", "--audio", str(takes / "interview.wav"),
                        "--date", "2024-03-01T09:00:00+01:00", "--no-draft"))
    toml = show / "episodes" / "long-one" / "episode.toml"
    toml.write_text(toml.read_text("utf-8") + 'max_duration = "0:01"\n', "utf-8")
    line = "episodes/long-one/episode.toml: max_duration: warning:"
    # The first release builds the episode: its overrun is the build's warning, once.
    run = ok(podkit_inprocess(show, "release"))
    assert run.stderr.count(line) == 1, run.stderr
    assert "build: 1 built, 0 unchanged, 1 warning(s)" in run.stdout
    # The next: check names it (from the record), the build has nothing new to say.
    run = ok(podkit_inprocess(show, "release"))
    assert run.stderr.count(line) == 1, run.stderr
    assert "check: 1 feed(s), 1 episode(s), 1 warning(s)" in run.stdout
    run = ok(podkit_inprocess(show, "check"))
    assert run.stdout.count(line) == 1 and "1 warning(s)" in run.stdout, run
    run = ok(podkit_inprocess(show, "build"))
    assert run.stderr.count(line) == 1, run.stderr


def test_check_warns_while_the_cover_is_the_placeholder(show: Path) -> None:
    cover = show / "feeds" / f"{FEED_ID}.jpg"
    run = ok(podkit_inprocess(show, "check"))
    assert f"feeds/{FEED_ID}.toml: artwork: warning: {FEED_ID}.jpg is still the placeholder" \
        in run.stdout and "2 warning(s)" in run.stdout, run   # and "no episode folders"
    # The placeholder edited and saved again (its comment kept) is the producer's own now.
    from PIL import Image
    with Image.open(cover) as img:
        img.convert("RGB").save(cover, "JPEG", quality=90)
    run = ok(podkit_inprocess(show, "check"))
    assert "placeholder" not in run.stdout and "1 warning(s)" in run.stdout, run


def test_status_has_a_feed_column_with_two_feeds(show: Path, takes: Path) -> None:
    feeds = show / "feeds"
    other = (feeds / f"{FEED_ID}.toml").read_text("utf-8").replace(
        "Weekly Segment", "Weekly Extra").replace("/weekly/", "/extra/")
    (feeds / "weekly-extra.toml").write_text(other, "utf-8")
    (feeds / "weekly-extra.jpg").write_bytes((feeds / f"{FEED_ID}.jpg").read_bytes())
    for feed, slug in ((FEED_ID, "one"), ("weekly-extra", "two")):
        ok(podkit_inprocess(show, "new", slug, "--feed", feed, "--audio", str(takes / "intro.wav")))
    out = ok(podkit_inprocess(show, "status")).stdout.splitlines()
    assert out[0].split()[:3] == ["episode", "feed", "no."], out
    assert sorted(ln.split()[:2] for ln in out[2:4]) == [["one", FEED_ID], ["two", "weekly-extra"]]


def test_the_init_makefile_has_a_cue_target(show: Path) -> None:
    import os
    import subprocess
    # Under `make test` this runs inside make: a sub-make would inherit its flags and
    # print "Entering directory" lines. The producer runs it from a shell.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    make = subprocess.run(["make", "-n", "cue", "EP=x"], cwd=show, capture_output=True, text=True,
                          timeout=60, env=env)
    assert make.returncode == 0, make.stderr
    assert make.stdout.strip() == "podkit cue  x"
    assert "make cue" in subprocess.run(["make"], cwd=show, capture_output=True, text=True,
                                        timeout=60, env=env).stdout
