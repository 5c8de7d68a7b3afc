"""The Makefile's help: what `make help` tells producers must exist in podkit."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_help_names_only_environment_variables_podkit_reads() -> None:
    out = subprocess.run(["make", "-s", "-C", str(REPO), "help"], capture_output=True,
                         text=True, check=True).stdout
    named = set(re.findall(r"PODKIT_[A-Z0-9_]+\*?", out))
    assert named, out                        # the publish target names the bucket variables
    source = "\n".join(p.read_text("utf-8") for p in (REPO / "toolkit").rglob("*.py"))
    unknown = {n for n in named if (n.rstrip("*") if n.endswith("*") else n) not in source}
    assert unknown == set(), f"make help names variables podkit never reads: {unknown}"


def test_the_slow_lane_names_tests_that_exist() -> None:
    """Every entry of conftest.SLOW (what `make test-fast` leaves out) names a test file, and
    a test function in it: a renamed test must not drift into the fast lane unnoticed."""
    import ast

    import conftest
    for entry in conftest.SLOW:
        file, _, test = entry.partition("::")
        path = REPO / file
        assert path.is_file(), f"conftest.SLOW names {file}, which does not exist"
        if test:
            names = {n.name for n in ast.walk(ast.parse(path.read_text("utf-8")))
                     if isinstance(n, ast.FunctionDef)}
            assert test.split("[")[0] in names, f"conftest.SLOW names {entry}: no such test"


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_test_runs_on_every_core_and_test_fast_leaves_the_slow_lane_out() -> None:
    out = subprocess.run(["make", "-s", "-n", "-C", str(REPO), "test", "test-fast",
                          f"STAMP={REPO / 'pyproject.toml'}"], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    workers = len(os.sched_getaffinity(0)) + 1 if hasattr(os, "sched_getaffinity") else \
        (os.cpu_count() or 1) + 1
    assert any("pytest" in ln and f"-n {workers} " in ln and "not slow" not in ln for ln in out), out
    assert any("pytest" in ln and '-m "not slow"' in ln for ln in out), out
