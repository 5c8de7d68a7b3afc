"""The ffmpeg chokepoint: every process it starts is waited for, however its caller stops."""
from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from toolkit import ffmpeg


def _children() -> dict[int, str]:
    """This process's children: pid -> state (Z: a zombie, ended but never waited for;
    a zombie's command line is empty, so children are told apart by pid, not argv)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == os.getpid():
            found[int(stat.parent.name)] = fields[0]
    return found


def _interrupted(call: Callable[[], object], after: float) -> pytest.ExceptionInfo:
    """Run `call` and interrupt it (KeyboardInterrupt, as Ctrl-C) `after` seconds in.

    The interrupt is returned: kept alive, as a -j worker's failed job is until the worker
    exits, its traceback holds whatever the call left unfinished."""
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt
    old = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, after)
    try:
        with pytest.raises(KeyboardInterrupt) as interrupt_info:
            call()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    return interrupt_info


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_interrupted_run_kills_and_waits_for_its_ffmpeg(tmp_path: Path) -> None:
    """subprocess.run kills its child on Ctrl-C but does not wait for it (it leaves that to
    the Popen's finalizer or a later Popen): in a -j worker whose failed job's traceback is
    alive until it exits, the child stays a zombie."""
    out = tmp_path / "slow.wav"
    before = set(_children())
    # 60 s of audio made at real time (-re): still running when the interrupt comes.
    interrupt = _interrupted(lambda: ffmpeg.run(["-re", "-f", "lavfi", "-i", "sine=duration=60",
                                     "-y", str(out)], what="a slow job"), after=0.5)
    started = {pid: state for pid, state in _children().items() if pid not in before}
    assert started == {}, interrupt

