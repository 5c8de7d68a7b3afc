"""The runner's freeze around the workers' fork and ffmpeg.probe's memory (issue 24)."""
from __future__ import annotations

import gc
import os
from pathlib import Path

from conftest import make_tone

from toolkit import ffmpeg
from toolkit.runner import run_jobs


def _pid(x: int, progress) -> int:  # noqa: ANN001 - a job function
    return os.getpid()


def test_workers_fork_with_the_heap_frozen_and_a_callers_freeze_is_kept() -> None:
    gc.unfreeze()
    results = run_jobs(_pid, [("a", (1,)), ("b", (2,))], workers=2)
    assert all(r.ok for r in results) and results[0].value != os.getpid()
    assert gc.get_freeze_count() == 0            # our own freeze is undone
    gc.freeze()                                  # a caller that froze (cli.main does)
    try:
        before = gc.get_freeze_count()
        assert all(r.ok for r in run_jobs(_pid, [("a", (1,)), ("b", (2,))], workers=2))
        assert gc.get_freeze_count() >= before   # not thawed under the caller's feet
    finally:
        gc.unfreeze()


def test_probe_asks_again_only_when_the_file_changed(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    path = make_tone(tmp_path / "a.wav", 1.0)
    calls: list[list[str]] = []
    real = ffmpeg._run_waited

    def counted(argv, timeout):  # noqa: ANN001, ANN202
        if argv[-2:] == ["-i", str(path)]:       # a probe of this file (not the tone maker)
            calls.append(argv)
        return real(argv, timeout)
    monkeypatch.setattr(ffmpeg, "_run_waited", counted)
    first = ffmpeg.probe(path)
    assert ffmpeg.probe(path) == first and len(calls) == 1
    make_tone(tmp_path / "b.wav", 2.0)
    os.replace(tmp_path / "b.wav", path)         # another file under the same name
    again = ffmpeg.probe(path)
    assert len(calls) == 2 and abs(again.duration - 2.0) < 0.05
