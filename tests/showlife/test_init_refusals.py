"""`podkit init` and `podkit new` refuse bad settings and odd folders with one line, no
traceback, nothing written (issue 22 item 10: each of these used to end in a traceback)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from corpus_support import REPO, podkit_inprocess

SETTINGS = ("--author", "Ann", "--email", "ann@example.org",
            "--base-url", "https://cdn.example.org/show/")


def _no_traceback(stderr: str) -> None:
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1, stderr


def test_invalid_utf8_title_from_the_command_line(tmp_path: Path) -> None:
    # A real argv of bytes: Python decodes it with surrogate escapes, which UTF-8 cannot
    # encode (it was a UnicodeEncodeError while writing the feed).
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUTF8": "1"}
    proc = subprocess.run([sys.executable, "-m", "toolkit", "--root", str(tmp_path), "init",
                           "--title", b"Caf\xe9 Radio", *SETTINGS], capture_output=True,
                          env=env, timeout=120)
    stderr = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 1, stderr
    _no_traceback(stderr)
    assert stderr.startswith("podkit: --title: is not valid UTF-8"), stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("field", ["--title", "--author", "--description"])
def test_control_characters_in_init_settings(tmp_path: Path, field: str) -> None:
    values = {"--title": "Night Shift", "--author": "Ann", "--description": "About it."}
    values[field] = "a\x1bb"
    args = [a for k, v in values.items() for a in (k, v)]
    run = podkit_inprocess(tmp_path, "init", *args, "--email", "ann@example.org",
                           "--base-url", "https://cdn.example.org/show/")
    assert run.rc == 1 and run.stderr.startswith(f"podkit: {field}: contains U+001B"), run
    _no_traceback(run.stderr)
    assert list(tmp_path.iterdir()) == []


def test_feeds_being_a_file(tmp_path: Path) -> None:
    (tmp_path / "feeds").write_text("not a folder\n")
    run = podkit_inprocess(tmp_path, "init", "--title", "Night Shift", *SETTINGS)
    assert run.rc == 1, run
    _no_traceback(run.stderr)
    assert f"{tmp_path / 'feeds'}: exists and is not a folder" in run.stderr, run
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feeds"]
    assert (tmp_path / "feeds").read_text() == "not a folder\n"


def test_init_into_dev_null(tmp_path: Path) -> None:
    run = podkit_inprocess(tmp_path, "init", "/dev/null", "--title", "Night Shift", *SETTINGS)
    assert run.rc == 1 and "/dev/null: exists and is not a folder" in run.stderr, run
    _no_traceback(run.stderr)
    assert Path("/dev/null").is_char_device()


def test_new_refuses_control_characters_and_invalid_utf8_in_the_title(tmp_path: Path) -> None:
    assert podkit_inprocess(tmp_path, "init", "--title", "Night Shift", *SETTINGS).rc == 0
    for title, words in (("a\x7fb", "contains U+007F"), ("a\udcffb", "is not valid UTF-8")):
        run = podkit_inprocess(tmp_path, "new", "first", "--title", title)
        assert run.rc == 1 and run.stderr.startswith(f"podkit: --title: {words}"), run
        _no_traceback(run.stderr)
        assert list((tmp_path / "episodes").iterdir()) == []
    # Printable non-ASCII text is fine.
    run = podkit_inprocess(tmp_path, "new", "first", "--title", "Café — 첫날")
    assert run.rc == 0, run
    assert 'title = "Café — 첫날"' in (tmp_path / "episodes/first/episode.toml").read_text("utf-8")
