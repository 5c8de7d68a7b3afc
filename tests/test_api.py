"""docs/api.md's example runs as written, on a copy of the test show."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from corpus_support import REPO, copy_show


def test_the_documented_example_runs(built_show: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    doc = (REPO / "docs" / "api.md").read_text("utf-8")
    (code,) = re.findall(r"```python\n(.*?)```", doc, flags=re.S)
    show = copy_show(built_show, tmp_path / "show")
    exec(compile(code, "docs/api.md", "exec"), {"show_folder": show})  # noqa: S102
    out = capsys.readouterr().out
    assert "first-episode: 5.0 s, -16.0 LUFS, unchanged" in out
    assert "feed.xml" in out and "('first-episode',)" in out


def test_a_failing_episode_is_a_result(built_show: Path, tmp_path: Path) -> None:
    from toolkit import Project
    show = copy_show(built_show, tmp_path / "show")
    (show / "episodes/first-episode/body.flac").write_bytes(b"not audio")
    (result,) = Project(show).build()
    assert not result.ok and result.summary is None and "body.flac" in result.error


@pytest.mark.parametrize("args, method", [
    (["check", "--no-media"], "check"), (["build"], "build"), (["feed"], "feed"),
    (["validate"], "validate"), (["publish", "--dry-run"], "publish"), (["cue"], "cue"),
    (["status"], "status"), (["release"], "release"), (["align", "x"], "align"),
])
def test_the_cli_goes_through_the_project(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                          args: list[str], method: str) -> None:
    """Each show command calls its Project method: the CLI holds no logic of its own."""
    from click.testing import CliRunner

    from toolkit.api import Project
    from toolkit.cli import cli
    from toolkit.errors import PodkitError
    called: list[str] = []

    def fake(self: Project, *a: object, **k: object) -> object:
        called.append(method)
        raise PodkitError("stopped by the test")

    monkeypatch.setattr(Project, method, fake)
    monkeypatch.setattr(Project, "select", lambda self, *a, **k: [])
    result = CliRunner().invoke(cli, ["--root", str(tmp_path), *args])
    assert called == [method], result.output
