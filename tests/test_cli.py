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
        "dropped (4):",
        "      1  Programme",
        "      3  Segment",
        "      5  Title of the piece",
        "     13  Share this article",
        "kept (first 2 of 3 lines of text):",
        "      7  Host: Good evening.",
        "      9  Guest: Thank you.",
    ]
    assert (show_root / "episodes/first-episode/t.txt").read_bytes() == before
    assert not (show_root / "build").exists()  # nothing built, nothing written


def test_transcript_command_names_a_bad_line_number(show_root: Path) -> None:
    _with_transcript(show_root, "Title\n\nHost: Hello.\n", "[5]")
    proc = subprocess.run([sys.executable, "-m", "toolkit", "--root", str(show_root), "transcript",
                           "first-episode"], capture_output=True, text=True)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.strip().endswith(
        "t.txt: drop_lines: line 5 does not exist: the file has 2 lines of text"), proc.stderr
