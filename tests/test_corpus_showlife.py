"""Corpus: starting a show and releasing it. Bad input to `podkit init` and `podkit new`, and
`podkit release` stopping at a failing step with nothing published.

Each row runs the real command and checks the one line it prints (no traceback), that
nothing was written where it must not be (init and new write all or nothing) and, for
release, that the published folder is byte for byte as before.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import make_tone
from corpus_support import Row, Run, podkit, podkit_inprocess, tree_hash

from toolkit import ffmpeg

ROWS = [
    Row("init-exists", "`podkit init` in a folder that already holds a Makefile and the feed's "
        "TOML", "exit 1, one line listing both files; nothing written",
        "the folder's files byte-identical, no cover, no .gitignore", process=False),
    Row("init-bad-email", "`podkit init --email not-an-address`",
        "exit 1, one line `feeds/<id>.toml: owner.email: ... is not an email address`; nothing "
        "written",
        "the folder stays empty (the feed is read back in a staging folder first)",
        process=False),
    Row("init-missing", "`podkit init` without --email and --base-url (not interactive)",
        "exit 1, one line naming both options", "nothing written", process=False),
    Row("new-no-show", "`podkit new SLUG` in an empty folder",
        "exit 1, one line: `<root>/feeds: feed: no feed here: start the show with podkit init` "
        "(was `choose the feed with --feed (no valid feed)`)", "nothing written", process=False),
    Row("new-audio-missing", "`podkit new SLUG --audio` naming a missing file, or a folder",
        "exit 1, one line naming the path and `audio`", "no episode folder, no work folder left",
        process=False),
    Row("new-template-ignores-audio", "`podkit new --audio` with a show's own episode.toml.j2 "
        "that has no `audio` variable", "exit 1, one line naming templates/episode.toml.j2 and "
        "`audio`", "no episode folder", process=False),
    Row("release-check-fails", "`podkit release` with an episode.toml that does not load",
        "exit 1: the check problems, then `release: check failed; nothing was published`",
        "published folder byte-identical; nothing built"),
    Row("release-build-fails", "`podkit release` after adding an episode, ffmpeg failing "
        "its encode (a wrapper)", "exit 1: `failed <slug>: ...`, then `release: build failed; "
        "nothing was published`", "published folder byte-identical (the feed too)"),
]

INIT = ("init", "--title", "Night Shift Notes", "--author", "Ann Author",
        "--email", "ann@example.org", "--base-url", "https://media.example.org/night/")


def one_line(run: Run) -> str:
    assert run.rc == 1, run
    assert "Traceback" not in run.stderr, run
    lines = run.err_lines
    assert len(lines) == 1, run
    return lines[0]


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
            if p.is_file()}


def test_init_exists(tmp_path: Path) -> None:
    (tmp_path / "feeds").mkdir()
    (tmp_path / "feeds" / "night-shift-notes.toml").write_text("# mine\n")
    (tmp_path / "Makefile").write_text("all:\n\techo mine\n")
    before = files(tmp_path)
    line = one_line(podkit_inprocess(tmp_path, *INIT))
    assert "feeds/night-shift-notes.toml" in line and "Makefile" in line and "never overwrites" in line
    assert files(tmp_path) == before


def test_init_bad_email(tmp_path: Path) -> None:
    args = [a if a != "ann@example.org" else "not-an-address" for a in INIT]
    line = one_line(podkit_inprocess(tmp_path, *args))
    assert line == ("podkit: feeds/night-shift-notes.toml: owner.email: 'not-an-address' is not "
                    "an email address")
    assert list(tmp_path.iterdir()) == []


def test_init_missing(tmp_path: Path) -> None:
    line = one_line(podkit_inprocess(tmp_path, "init", "--title", "X Files", "--author", "A"))
    assert "--email" in line and "--base-url" in line
    assert list(tmp_path.iterdir()) == []


def test_new_no_show(tmp_path: Path) -> None:
    wav = make_tone(tmp_path.parent / f"{tmp_path.name}-take.wav", 1.0)
    root = tmp_path / "empty"
    root.mkdir()
    line = one_line(podkit_inprocess(root, "new", "first", "--audio", str(wav)))
    assert line == (f"podkit: {root}/feeds: feed: no feed here: start the show with `podkit init` "
                    "(or use --root)")
    assert list(root.iterdir()) == []


@pytest.mark.parametrize("what", ["missing", "folder"])
def test_new_audio_missing(tmp_path: Path, what: str) -> None:
    root = tmp_path / "show"
    assert podkit_inprocess(root, *INIT).rc == 0
    src = tmp_path / "take.wav"
    if what == "folder":
        src.mkdir()
    line = one_line(podkit_inprocess(root, "new", "first", "--audio", str(src)))
    assert line.startswith(f"podkit: {src}: audio: ")
    assert ("not found" if what == "missing" else "is a folder") in line
    assert list((root / "episodes").iterdir()) == []


def test_new_template_ignores_audio(tmp_path: Path) -> None:
    root = tmp_path / "show"
    assert podkit_inprocess(root, *INIT).rc == 0
    (root / "templates" / "episode.toml.j2").write_text(
        'feed = {{ feed|toml }}\ntitle = {{ title|toml }}\ndate = {{ date }}\n'
        '[[parts]]\nfile = "main.wav"\n')
    wav = make_tone(tmp_path / "take.wav", 1.0)
    line = one_line(podkit_inprocess(root, "new", "first", "--audio", str(wav)))
    assert line.startswith(f"podkit: {root}/templates/episode.toml.j2: audio: ")
    assert list((root / "episodes").iterdir()) == []


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A show started from nothing and released once (one episode)."""
    base = tmp_path_factory.mktemp("released")
    root = base / "show"
    assert podkit_inprocess(root, *INIT).rc == 0
    wav = make_tone(base / "take.wav", 2.0)
    assert podkit_inprocess(root, "new", "first", "--audio", str(wav), "--no-draft",
                            "--date", "2024-01-01T09:00:00+00:00").rc == 0
    run = podkit(root, "release")
    assert run.rc == 0, run
    return root


def copy(src: Path, dst: Path) -> Path:
    import shutil
    shutil.copytree(src, dst, symlinks=True)
    return dst


def release_failed(run: Run, step: str) -> list[str]:
    assert run.rc == 1 and "Traceback" not in run.stderr, run
    lines = run.err_lines
    assert lines[-1] == f"podkit: release: {step} failed; nothing was published", run
    return lines


def test_release_check_fails(released: Path, tmp_path: Path) -> None:
    root = copy(released, tmp_path / "show")
    public = root / "build" / "public" / "night-shift-notes"
    before, stage = tree_hash(public), tree_hash(root / "build" / "stage")
    toml = root / "episodes" / "first" / "episode.toml"
    toml.write_text(toml.read_text().replace('title = "First"', 'title = 42'))
    lines = release_failed(podkit(root, "release"), "check")
    assert lines[0] == "episodes/first/episode.toml: title: must be a string, not int" or \
        lines[0].startswith("episodes/first/episode.toml: title: "), lines
    assert tree_hash(public) == before and tree_hash(root / "build" / "stage") == stage


FAILING_ENCODER = """#!/bin/sh
# The main encode (it also decodes its MP3 for the monitor) fails; everything else runs.
case " $* " in
  *" -dec 0:0 "*|*" -f tee "*) echo "simulated encoder failure" >&2; exit 1 ;;
esac
exec "{real}" "$@"
"""


def test_release_build_fails(released: Path, tmp_path: Path) -> None:
    root = copy(released, tmp_path / "show")
    public = root / "build" / "public" / "night-shift-notes"
    before = tree_hash(public)
    wav = make_tone(tmp_path / "second.wav", 2.0, 660)
    assert podkit_inprocess(root, "new", "second", "--audio", str(wav), "--no-draft",
                            "--date", "2024-02-01T09:00:00+00:00").rc == 0
    wrapper = tmp_path / "ffmpeg.sh"
    wrapper.write_text(FAILING_ENCODER.format(real=ffmpeg.binary()))
    wrapper.chmod(0o755)
    run = podkit(root, "release", env={"PODKIT_FFMPEG": str(wrapper)})
    lines = [ln for ln in release_failed(run, "build") if ln.startswith("failed ")]
    assert len(lines) == 1 and lines[0].startswith("failed second: "), run
    assert tree_hash(public) == before
    assert os.path.exists(root / "episodes" / "second" / "second.wav")
