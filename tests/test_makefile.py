"""The Makefile's help: what `make help` tells producers must exist in podkit."""
from __future__ import annotations

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
