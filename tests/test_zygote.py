"""The tests' warm-fork runner (tests/zygote.py) gives what a fresh `python -m toolkit` gives:
exit status, stdout and stderr, the working folder and environment of the command."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import zygote


def _fresh(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "toolkit", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=120)


def _same(a: subprocess.CompletedProcess[str], b: subprocess.CompletedProcess[str]) -> None:
    def seen(p: subprocess.CompletedProcess[str]) -> tuple[int, str, str]:
        # A fresh process imports for a tenth of a second more: the timings on lines differ.
        return p.returncode, p.stdout, re.sub(r"\(\d+\.\d s\)", "(t)", p.stderr)
    assert seen(a) == seen(b)


def test_a_failing_command_exits_and_prints_as_a_fresh_process(tmp_path: Path) -> None:
    forked = zygote.run(["check"], cwd=tmp_path)          # no --root: the working folder
    assert forked.returncode == 1 and "feeds/" in forked.stderr and "Traceback" not in forked.stderr
    _same(forked, _fresh(["check"], tmp_path))


def test_output_and_environment_are_the_commands_own(show_root: Path, tmp_path: Path) -> None:
    _same(zygote.run(["--version"], cwd=tmp_path), _fresh(["--version"], tmp_path))
    env = {**os.environ, "PODKIT_FFMPEG": str(tmp_path / "no-such-ffmpeg")}
    forked = zygote.run(["--root", str(show_root), "build"], cwd=tmp_path, env=env)
    assert forked.returncode != 0 and "PODKIT_FFMPEG" in forked.stderr, forked.stderr
    _same(forked, _fresh(["--root", str(show_root), "build"], tmp_path, env))
    # The worker's own environment is untouched, and the next command does not see it.
    assert "PODKIT_FFMPEG" not in os.environ or os.environ["PODKIT_FFMPEG"] != env["PODKIT_FFMPEG"]
    assert zygote.run(["--version"], cwd=tmp_path).returncode == 0
