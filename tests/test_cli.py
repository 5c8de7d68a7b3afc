"""The CLI surface: help everywhere, clean one-line errors, `new` scaffolds a checkable episode."""
from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from click.testing import CliRunner

from toolkit.cli import cli
from toolkit.crosscheck import load_catalog


def test_every_command_has_help_text() -> None:
    runner = CliRunner()
    assert set(cli.commands) >= {"new", "check", "build", "feed", "validate", "publish",
                                 "preview", "doctor", "loudness", "cue"}
    for name, command in cli.commands.items():
        assert command.help and len(command.help.strip()) > 10, name
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output, name


def test_error_is_one_line_without_traceback(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "toolkit", "--root", str(tmp_path), "check"],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "feeds: folder: no feeds/ folder here" in proc.stdout + proc.stderr


def test_new_scaffolds_an_episode(show_root: Path) -> None:
    result = CliRunner().invoke(cli, ["--root", str(show_root), "new", "second-one"])
    assert result.exit_code == 0, result.output
    toml = show_root / "episodes" / "second-one" / "episode.toml"
    text = toml.read_text()
    assert 'feed = "test-radio"' in text and "number = 2" in text
    # The scaffold only lacks its audio files: exactly those problems are reported.
    cat = load_catalog(show_root)
    assert cat.errors and all(p.path == "episodes/second-one/episode.toml"
                              and "file not found" in p.message for p in cat.errors), cat.errors
    again = CliRunner().invoke(cli, ["--root", str(show_root), "new", "second-one"])
    assert again.exit_code != 0 and toml.read_text() == text  # never overwritten
    bad = CliRunner().invoke(cli, ["--root", str(show_root), "new", "../evil"])
    assert bad.exit_code != 0 and not (show_root / "evil").exists()


def test_new_twice_numbers_the_second_after_the_first(show_root: Path) -> None:
    """The first scaffold has no audio yet (an invalid episode): its number still counts."""
    for slug in ("second-one", "third-one"):
        result = CliRunner().invoke(cli, ["--root", str(show_root), "new", slug])
        assert result.exit_code == 0, result.output
    numbers = [tomllib.loads((show_root / "episodes" / slug / "episode.toml").read_text())["number"]
               for slug in ("second-one", "third-one")]
    assert numbers == [2, 3]


def _with_transcript(root: Path, text: str, drop: str) -> None:
    ep = root / "episodes" / "first-episode"
    (ep / "t.txt").write_text(text, "utf-8")
    with open(ep / "episode.toml", "a", encoding="utf-8") as f:
        f.write(f'\n[[transcripts]]\nfile = "t.txt"\nlanguage = "en"\ndrop_lines = {drop}\nalign = false\n')


def test_transcript_command_shows_dropped_and_kept_lines(show_root: Path) -> None:
    page = ("Programme\n\nSegment\n\nTitle of the piece\n\nHost: Good evening.\n\n"
            "Guest: Thank you.\n\nHost: And goodbye.\n\nShare this article\n")
    _with_transcript(show_root, page, "[1, 2, 3, -1]")
    before = (show_root / "episodes/first-episode/t.txt").read_bytes()
    result = CliRunner().invoke(cli, ["--root", str(show_root), "transcript", "first-episode",
                                      "--lines", "2"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "episodes/first-episode/t.txt: drop_lines = [1, 2, 3, -1]",
        "dropped (4; numbers count lines of text, as drop_lines does):",
        "      1  Programme",
        "      2  Segment",
        "      3  Title of the piece",
        "      7  Share this article",
        "kept (first 2 of 3 lines of text):",
        "      4  Host: Good evening.",
        "      5  Guest: Thank you.",
    ]
    assert (show_root / "episodes/first-episode/t.txt").read_bytes() == before
    assert not (show_root / "build").exists()  # nothing built, nothing written


def _with_rules(root: Path, text: str, rules: str) -> None:
    ep = root / "episodes" / "first-episode"
    (ep / "t.txt").write_text(text, "utf-8")
    with open(ep / "episode.toml", "a", encoding="utf-8") as f:
        f.write(f'\n[[transcripts]]\nfile = "t.txt"\nlanguage = "en"\n{rules}\nalign = false\n')


SCRAPE = ("Home | News | Programmes\n\nWeekly Garden Hour\n\nPublished 3 May\n\n"
          "Host: Good evening.\n\nGuest: Thank you.\n\nAdvertisement\n\n"
          "Host: And goodbye.\n\nShare this article\n\nAdvertisement\n")


def test_transcript_command_shows_pattern_rules_before_any_build(show_root: Path) -> None:
    """A weekly page scrape: the header ends at a line that moves; ads recur anywhere."""
    _with_rules(show_root, SCRAPE, 'drop_until = "^Published "\n'
                'drop_matching = ["^Advertisement$", "^Share this"]')
    result = CliRunner().invoke(cli, ["--root", str(show_root), "transcript", "first-episode",
                                      "--lines", "9"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[2:9] == [
        "      1  Home | News | Programmes  (drop_until)",
        "      2  Weekly Garden Hour  (drop_until)",
        "      3  Published 3 May  (drop_until)",
        "      6  Advertisement  (drop_matching)",
        "      8  Share this article  (drop_matching)",
        "      9  Advertisement  (drop_matching)",
        "kept (first 3 of 3 lines of text):",
    ]
    assert [ln.split(None, 1)[1] for ln in lines[9:]] == \
        ["Host: Good evening.", "Guest: Thank you.", "Host: And goodbye."]
    assert not (show_root / "build").exists()
    # The build publishes what the preview shows: the same three paragraphs.
    from toolkit.config.episode import load_episode
    from toolkit.text import transcript
    episode = load_episode(show_root, "first-episode", None)  # type: ignore[arg-type]
    cues = transcript.load(episode.transcripts[0], duration=None).cues
    assert [c.text for c in cues] == ["Good evening.", "Thank you.", "And goodbye."]


def test_pattern_rules_refuse_a_bad_pattern_and_a_page_that_changed(show_root: Path) -> None:
    _with_rules(show_root, SCRAPE, 'drop_until = "^(Published"')
    result = CliRunner().invoke(cli, ["--root", str(show_root), "check", "--no-media"])
    assert result.exit_code == 1
    assert "drop_until: not a regular expression" in result.output
    ep = show_root / "episodes" / "first-episode" / "episode.toml"
    ep.write_text(ep.read_text("utf-8").replace('"^(Published"', '"^Updated "'), "utf-8")
    proc = subprocess.run([sys.executable, "-m", "toolkit", "--root", str(show_root),
                           "transcript", "first-episode"], capture_output=True, text=True)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.strip().endswith("t.txt: drop_until: no line matches '^Updated '"), proc.stderr


def test_transcript_command_names_a_bad_line_number(show_root: Path) -> None:
    _with_transcript(show_root, "Title\n\nHost: Hello.\n", "[5]")
    proc = subprocess.run([sys.executable, "-m", "toolkit", "--root", str(show_root), "transcript",
                           "first-episode"], capture_output=True, text=True)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.strip().endswith(
        "t.txt: drop_lines: line 5 does not exist: the file has 2 lines of text"), proc.stderr
