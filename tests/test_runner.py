"""The parallel job runner: results in order, failures listed, workers never orphaned."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from toolkit.errors import MediaError
from toolkit.runner import run_jobs


def _job(x: int, progress) -> int:
    progress("working", 0.5)
    if x == 3:
        raise MediaError("bad input", path=f"f{x}", field="audio")
    return x * x


def test_parallel_results_in_order_and_failures_listed() -> None:
    events = []
    results = run_jobs(_job, [(f"k{i}", (i,)) for i in range(5)], workers=2,
                       progress=lambda k, s, f: events.append((k, s)))
    assert [r.value for r in results] == [0, 1, 4, None, 16]
    assert results[3].error == "f3: audio: bad input"
    assert ("k1", "working") in events and ("k3", "failed") in events


def test_inline_when_one_worker() -> None:
    results = run_jobs(_job, [("a", (2,)), ("b", (3,))], workers=1)
    assert results[0].value == 4 and not results[1].ok


def test_interrupt_kills_workers_and_their_children(tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    script = textwrap.dedent(f"""
        import os, subprocess, time
        from toolkit.runner import run_jobs
        def job(i, progress):
            child = subprocess.Popen(["sleep", "60"])
            with open({str(pidfile)!r}, "a") as f:
                f.write(f"{{os.getpid()}} {{child.pid}}\\n")
            try:
                time.sleep(60)
            finally:
                child.kill()
        run_jobs(job, [("a", (1,)), ("b", (2,))], workers=2)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (not pidfile.exists()
                                           or len(pidfile.read_text().splitlines()) < 2):
        time.sleep(0.1)
    pids = [int(p) for line in pidfile.read_text().splitlines() for p in line.split()]
    assert len(pids) == 4
    proc.send_signal(signal.SIGINT)  # Ctrl-C reaches the parent only
    proc.wait(timeout=20)
    time.sleep(0.5)
    for pid in pids:
        try:
            os.kill(pid, 0)
            alive = Path(f"/proc/{pid}/status").read_text().find("zombie") == -1
        except ProcessLookupError:
            alive = False
        assert not alive, f"process {pid} outlived the interrupt"


def _job_leaving_a_cycle(pidfile: str, progress) -> None:
    """Start a child inside a generator that only a reference cycle keeps alive, then fail:
    the child is stopped by the generator's cleanup, if anything ever runs it."""
    def stream():
        child = subprocess.Popen(["sleep", "60"])
        Path(pidfile).write_text(str(child.pid))
        try:
            yield 1
        finally:
            child.kill()
            child.wait()

    holder: dict = {"gen": stream()}
    holder["self"] = holder                 # the cycle: refcounting alone never frees it
    next(holder["gen"])
    raise MediaError("gave up", path="f")


def test_worker_runs_pending_cleanups_before_it_exits(tmp_path: Path) -> None:
    """A worker ends with os._exit (no garbage collection): what is only reachable through
    reference cycles (as a failed encode's frames are on Python 3.12+) is collected first,
    so its cleanups run and no child of the worker is left behind."""
    _assert_no_child_left(_job_leaving_a_cycle, tmp_path)


def _assert_no_child_left(job, tmp_path: Path) -> None:  # noqa: ANN001 - a job function
    """Run `job` in two workers; the child each started must be gone (not even a zombie)."""
    pidfiles = [tmp_path / "a", tmp_path / "b"]
    results = run_jobs(job, [(p.name, (str(p),)) for p in pidfiles], workers=2)
    assert [r.error for r in results] == ["f: gave up", "f: gave up"]
    for pidfile in pidfiles:
        pid = int(pidfile.read_text())
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            state = None                    # gone: killed and waited for
        assert state is None, f"the worker's child {pid} was left behind (state {state})"


def _job_leaving_a_child(pidfile: str, progress) -> None:
    """Start a child no Popen object knows of (as when an interrupt lands inside
    subprocess.Popen, after the fork, before the object exists), then fail."""
    pid = os.posix_spawn("/bin/sleep", ["sleep", "60"], os.environ)
    Path(pidfile).write_text(str(pid))
    raise MediaError("gave up", path="f")


def test_worker_leaves_no_child_behind(tmp_path: Path) -> None:
    _assert_no_child_left(_job_leaving_a_child, tmp_path)


def _crashing_job(x: int, progress) -> int:
    progress("working", 0.5)
    if x == 1:
        raise OSError(28, "No space left on device")
    if x == 2:
        raise ValueError("a bug")
    return x


@pytest.mark.parametrize("workers", [1, 2])
def test_any_exception_is_one_failed_job_at_every_worker_count(workers: int) -> None:
    events = []
    results = run_jobs(_crashing_job, [(f"k{i}", (i,)) for i in range(4)], workers=workers,
                       progress=lambda k, s, f: events.append((k, s)))
    assert [(r.key, r.value, r.error) for r in results] == [
        ("k0", 0, None), ("k1", None, "No space left on device"),
        ("k2", None, "internal error: ValueError: a bug"), ("k3", 3, None)]
    assert ("k1", "failed") in events and ("k3", "done") in events


def _killed_job(x: int, progress) -> int:
    if x == 1:
        time.sleep(0.3)
        os.kill(os.getpid(), signal.SIGKILL)       # as the OOM killer would
    time.sleep(1.0)
    return x


def test_a_worker_killed_by_a_signal_is_its_jobs_failure_and_the_others_finish() -> None:
    events = []
    results = run_jobs(_killed_job, [(f"k{i}", (i,)) for i in range(4)], workers=2,
                       progress=lambda k, s, f: events.append((k, s)))
    assert [(r.key, r.value, r.error) for r in results] == [
        ("k0", 0, None), ("k1", None, "worker killed by SIGKILL"), ("k2", 2, None),
        ("k3", 3, None)]
    assert ("k1", "failed") in events


class _DyingWorker:
    """A worker as the parent sees it while the kernel tears it down: its sentinel is
    already closed, yet for a few looks it still reads as running (exit code None)."""

    def __init__(self, looks_alive: int, code: int) -> None:
        self._r, w = os.pipe()
        os.close(w)                     # the dead process's end of the pipe
        self.sentinel = self._r
        self._looks, self._code = looks_alive, code

    @property
    def exitcode(self) -> int | None:
        self._looks -= 1
        return None if self._looks >= 0 else self._code

    def join(self, timeout: float | None = None) -> None:
        pass

    def close(self) -> None:
        os.close(self._r)


def test_a_dying_worker_is_blamed_once_its_exit_code_can_be_read() -> None:
    # Seen under load: the pool broke on the closed sentinel while waitpid still found the
    # worker running; it was blamed on nobody and every job ended "its worker died 3 times".
    from toolkit.runner import _dead_workers
    dying, stopped = _DyingWorker(looks_alive=5, code=-signal.SIGKILL), \
        _DyingWorker(looks_alive=2, code=-signal.SIGTERM)
    try:
        assert _dead_workers({101: dying, 102: stopped}) == {101: -signal.SIGKILL}
    finally:
        dying.close()
        stopped.close()
