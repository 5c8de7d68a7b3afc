"""Commands that only read records start without the build machinery.

`podkit feed`, `validate` and `status` run on every publish of a daily show; importing
the episode build (its steps, the worker runner, the audio engine), the S3 and HTTP
stacks or langcodes' registry cost each of them a tenth of a second or more at every
start. Each command runs here in a fresh interpreter, on a built show, as a producer
runs it; the modules it imported are read back from that process.
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

#: Modules a read-only command has no use for (a prefix covers its submodules).
BUILD_ONLY = ("toolkit.episode_build", "toolkit.runner", "toolkit.steps", "toolkit.audio.master",
              "toolkit.cluster", "concurrent.futures.process", "numpy", "scipy")
OTHER_COMMANDS = ("boto3", "botocore", "toolkit.http", "toolkit.publish.s3", "langcodes",
                  "markdown_it")

_RUN = """
import json, sys
sys.argv = ["podkit", *json.loads(sys.argv[1])]
from toolkit import cli
try:
    cli.main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def _imported(root: Path, *args: str) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", _RUN, json.dumps(["--root", str(root), *args])],
                          capture_output=True, text=True, timeout=120)
    result = json.loads(proc.stderr.strip().splitlines()[-1])
    assert result["code"] in (0, None), proc.stderr[-2000:]
    return result["modules"]


@pytest.fixture(scope="module")
def show(built_show: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("imports") / "show"
    shutil.copytree(built_show, root, symlinks=True)
    return root


@pytest.mark.parametrize("command", [["feed"], ["validate"], ["status"]])
def test_a_reading_command_imports_no_build_machinery(show: Path, command: list[str]) -> None:
    now = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc).isoformat()
    args = [*command, "--now", now] if command != ["validate"] else command
    modules = _imported(show, *args)
    unwanted = [m for m in modules for prefix in (*BUILD_ONLY, *OTHER_COMMANDS)
                if m == prefix or m.startswith(prefix + ".")]
    assert unwanted == [], f"podkit {' '.join(command)} imported {unwanted}"


def test_the_build_still_finds_its_machinery(show: Path) -> None:
    # The other side of the lazy imports: a build that has work imports what it needs.
    (show / "episodes" / "first-episode" / "episode.toml").write_text(
        (show / "episodes" / "first-episode" / "episode.toml").read_text()
        .replace('title = "First episode"', 'title = "First episode, retitled"'))
    modules = _imported(show, "build")
    assert "toolkit.episode_build" in modules and "toolkit.steps" in modules
