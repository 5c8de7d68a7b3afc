"""Run one job per episode in parallel worker processes, with progress and clean interrupts.

Each job runs in its own process (audio work is CPU-bound). Progress events flow back
through a queue. A failing job does not stop the others: the caller gets every result
and lists the failures. On Ctrl-C (or SIGTERM) every worker is terminated; a worker
turns SIGTERM into an exception, so its ffmpeg children are killed and its temp files
removed (see ffmpeg.popen and fsutil.atomic_path): no orphans, previous outputs intact.
"""
from __future__ import annotations

import gc
import logging
import multiprocessing as mp
import os
import queue as queue_mod
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.errors import PodkitError

log = logging.getLogger(__name__)

#: progress(key, stage, fraction) as the CLI receives it.
Progress = Callable[[str, str, float], None]


@dataclass(frozen=True)
class JobResult:
    """The outcome of one job: its value, or the one-line error that stopped it."""

    key: str
    value: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the job finished without error."""
        return self.error is None


def _terminate(signum: int, frame: object) -> None:
    # One interrupt is enough. Ctrl-C reaches the whole process group and the parent then
    # sends SIGTERM: a second KeyboardInterrupt raised inside the cleanup would cut it short
    # (ffmpeg children left unwaited, temp files left behind). A Python no-op, not SIG_IGN:
    # a signal already pending would otherwise print "ignored due to race condition".
    signal.signal(signal.SIGTERM, _ignore)
    signal.signal(signal.SIGINT, _ignore)
    raise KeyboardInterrupt(f"signal {signum}")


def _ignore(signum: int, frame: object) -> None:
    """Signal handler of a worker that is already stopping."""


def _worker(fn: Callable[..., Any], key: str, args: tuple[Any, ...], q: Any) -> None:
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)

    def progress(stage: str, fraction: float) -> None:
        q.put(("progress", key, (stage, fraction)))

    try:
        q.put(("done", key, fn(*args, progress=progress)))
    except PodkitError as exc:
        q.put(("failed", key, str(exc)))
    except KeyboardInterrupt:
        q.put(("failed", key, "interrupted"))
    except Exception as exc:  # a bug: report it with its type, the parent lists it
        log.exception("job %s crashed", key)
        q.put(("failed", key, f"internal error: {type(exc).__name__}: {exc}"))
    finally:
        # The worker ends with os._exit, which skips the collection a normal interpreter
        # exit does. Objects only reachable through reference cycles (a failed job's frames:
        # from Python 3.12 contextlib's __exit__ frame holds the exception whose traceback
        # holds it) would never run their cleanups: an abandoned ffmpeg.popen would leave
        # its process running, then a zombie. Collect now, while they can still be waited for.
        gc.collect()
        _reap_children()


def _reap_children() -> None:
    """Kill and wait for every child this worker still has.

    An interrupt can land inside subprocess.Popen after the fork, before the Popen object
    exists: nobody would ever wait for that child. A worker is done with all of its
    children when its job ends. Linux only (/proc); elsewhere nothing is done.
    """
    me = os.getpid()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid != me:
            continue
        pid = int(stat.parent.name)
        log.debug("worker: stopping a child nobody waited for: %d", pid)
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass                       # already gone, or waited for meanwhile


def run_jobs(fn: Callable[..., Any], jobs: Sequence[tuple[str, tuple[Any, ...]]], *,
             workers: int, progress: Progress | None = None) -> list[JobResult]:
    """Run `fn(*args, progress=...)` for each (key, args); results in the order given.

    With one worker the jobs run in this process (tracebacks stay readable with -v).
    """
    report = progress or (lambda key, stage, fraction: None)
    if workers <= 1 or len(jobs) <= 1:
        return [_run_inline(fn, key, args, report) for key, args in jobs]
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
    q = ctx.Queue()
    pending = list(jobs)
    running: dict[str, mp.process.BaseProcess] = {}
    results: dict[str, JobResult] = {}
    dead_since: dict[str, float] = {}
    try:
        while pending or running:
            while pending and len(running) < workers:
                key, args = pending.pop(0)
                proc = ctx.Process(target=_worker, args=(fn, key, args, q), daemon=True)
                proc.start()
                running[key] = proc
                report(key, "started", 0.0)
            try:
                kind, key, payload = q.get(timeout=0.2)
            except queue_mod.Empty:
                _reap_dead(running, results, report, dead_since)
                continue
            if kind == "progress":
                report(key, *payload)
                continue
            results[key] = JobResult(key, payload if kind == "done" else None,
                                     payload if kind == "failed" else None)
            report(key, "done" if kind == "done" else "failed", 1.0)
            proc = running.pop(key)
            proc.join()
    except BaseException:
        _stop_all(running.values())
        raise
    return [results[key] for key, _ in jobs]


def _run_inline(fn: Callable[..., Any], key: str, args: tuple[Any, ...],
                report: Progress) -> JobResult:
    report(key, "started", 0.0)
    try:
        value = fn(*args, progress=lambda stage, fraction: report(key, stage, fraction))
    except PodkitError as exc:
        report(key, "failed", 1.0)
        return JobResult(key, error=str(exc))
    report(key, "done", 1.0)
    return JobResult(key, value)


def _reap_dead(running: dict[str, mp.process.BaseProcess], results: dict[str, JobResult],
               report: Progress, dead_since: dict[str, float]) -> None:
    """A worker that died without reporting (killed by the OS, out of memory) is a failure.

    Its last message may still be in the queue's pipe, so it is given a grace second.
    """
    for key, proc in list(running.items()):
        if proc.is_alive() or key in results:
            continue
        first_seen = dead_since.setdefault(key, time.monotonic())
        if time.monotonic() - first_seen > 1.0:
            proc.join()
            results[key] = JobResult(key, error=f"worker died (exit code {proc.exitcode})")
            report(key, "failed", 1.0)
            del running[key]


def _stop_all(procs: Any) -> None:
    procs = list(procs)
    for proc in procs:
        if proc.is_alive():
            proc.terminate()  # SIGTERM: the worker unwinds, killing its ffmpeg children
    deadline = time.monotonic() + 10
    for proc in procs:
        proc.join(max(0.1, deadline - time.monotonic()))
        if proc.is_alive():
            proc.kill()
            proc.join()
