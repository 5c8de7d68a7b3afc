"""Run one job per episode in worker processes, with progress and clean interrupts.

    results = run_jobs(build_episode, [(slug, (job,)), ...], workers=2, progress=show)

Workers are a `concurrent.futures.ProcessPoolExecutor` with a fork context: forked after
the caller's warm-up (the audio engine already imported), so each starts cheap. One
failure path for every worker count: a job that raises is that job's failure (podkit's
own errors as their one line, anything else, `OSError(ENOSPC)` say, as its type and
message) and the others go on; with one worker the jobs run in this process, through
the same path. A worker that dies (killed by a signal, out of memory) is its job's
failure; the jobs the broken pool took down with it are run again in a new pool.
Progress events flow back through a queue. On Ctrl-C (or SIGTERM) every worker is
sent SIGTERM, which a worker turns into an exception, so its ffmpeg children are killed
and its temp files removed (see ffmpeg.popen and fsutil.atomic_path): no orphans,
previous outputs intact.
"""
from __future__ import annotations

import concurrent.futures as cf
import gc
import logging
import multiprocessing as mp
import multiprocessing.connection as mp_connection
import os
import signal
import time
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.errors import PodkitError

log = logging.getLogger(__name__)

#: progress(key, stage, fraction) as the CLI receives it.
Progress = Callable[[str, str, float], None]
#: How often a job whose worker was taken down by another's death is run again.
RETRIES = 2
#: Seconds workers get to clean up after SIGTERM before they are killed.
STOP_GRACE_S = 10.0


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


def failure(exc: BaseException) -> str:
    """The one line a failed job is listed with."""
    if isinstance(exc, PodkitError):
        return str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, OSError) and exc.strerror:
        # The machine's trouble (a full disk, a permission), not a bug: said as the OS says it.
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return f"internal error: {type(exc).__name__}: {exc}"


def _run_one(fn: Callable[..., Any], key: str, args: tuple[Any, ...],
             progress: Callable[[str, float], None]) -> JobResult:
    """Run one job; every exception but an interrupt of this process is its failure."""
    try:
        return JobResult(key, fn(*args, progress=progress))
    except PodkitError as exc:
        return JobResult(key, error=failure(exc))
    except Exception as exc:  # noqa: BLE001 - one failed episode, the others go on
        log.debug("job %s failed", key, exc_info=True)     # the traceback at -v
        return JobResult(key, error=failure(exc))


# ---- in a worker -------------------------------------------------------------------------

_queue: Any = None      # the worker's end of the progress queue (set by _init)
_running = False        # a job is running in this worker


def _init(q: Any) -> None:
    """Worker start: progress goes to `q`; SIGTERM and Ctrl-C unwind the running job."""
    global _queue
    _queue = q
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)


def _terminate(signum: int, frame: object) -> None:
    if not _running:        # an idle worker holds nothing: it just goes (no traceback)
        os._exit(128 + signum)
    # One interrupt is enough. Ctrl-C reaches the whole process group and the parent then
    # sends SIGTERM: a second KeyboardInterrupt raised inside the cleanup would cut it short
    # (ffmpeg children left unwaited, temp files left behind). A Python no-op, not SIG_IGN:
    # a signal already pending would otherwise print "ignored due to race condition".
    signal.signal(signal.SIGTERM, _ignore)
    signal.signal(signal.SIGINT, _ignore)
    raise KeyboardInterrupt(f"signal {signum}")


def _ignore(signum: int, frame: object) -> None:
    """Signal handler of a worker that is already stopping."""


def _work(fn: Callable[..., Any], key: str, args: tuple[Any, ...]) -> JobResult:
    """One job in a worker process: started and progress events to the parent, then the
    result (interrupted: a failure too, so the parent's list is complete)."""
    global _running
    _queue.put((key, "started", 0.0, os.getpid()))
    _running = True
    try:
        return _run_one(fn, key, args, lambda stage, f: _queue.put((key, stage, f, None)))
    except KeyboardInterrupt:
        return JobResult(key, error="interrupted")
    except SystemExit as exc:   # sys.exit() deep in a library: this job's end, not the worker's
        return JobResult(key, error=f"internal error: exit({exc.code})")
    finally:
        _running = False
        # Objects only reachable through reference cycles (a failed job's frames: from
        # Python 3.12 contextlib's __exit__ frame holds the exception whose traceback holds
        # it) would run their cleanups at some later collection, or never: an abandoned
        # ffmpeg.popen would leave its process running. Collect now, while they can be.
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


# ---- in the parent -----------------------------------------------------------------------

def run_jobs(fn: Callable[..., Any], jobs: Sequence[tuple[str, tuple[Any, ...]]], *,
             workers: int, progress: Progress | None = None) -> list[JobResult]:
    """Run `fn(*args, progress=...)` for each (key, args); results in the order given.

    With one worker (or one job) the jobs run in this process: tracebacks stay readable
    with -v, and failures are the same as in workers.
    """
    report = progress or (lambda key, stage, fraction: None)
    if workers <= 1 or len(jobs) <= 1:
        results = []
        for key, args in jobs:
            report(key, "started", 0.0)
            result = _run_one(fn, key, args, lambda stage, f, key=key: report(key, stage, f))
            report(key, "done" if result.ok else "failed", 1.0)
            results.append(result)
        return results
    results: dict[str, JobResult] = {}
    todo, tries = list(jobs), {key: 0 for key, _ in jobs}
    while todo:
        todo = _pool(fn, todo, workers, results, report)
        for key, _ in todo:
            tries[key] += 1
            if tries[key] > RETRIES:
                results[key] = JobResult(key, error=f"its worker died {tries[key]} times")
                report(key, "failed", 1.0)
        todo = [(key, args) for key, args in todo if key not in results]
    return [results[key] for key, _ in jobs]


def _pool(fn: Callable[..., Any], jobs: list[tuple[str, tuple[Any, ...]]], workers: int,
          results: dict[str, JobResult], report: Progress) -> list[tuple[str, tuple[Any, ...]]]:
    """Run `jobs` in one pool, filling `results`; the jobs to run again when the pool broke
    (a worker died: its own job failed, the others it took down are returned)."""
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
    # A SimpleQueue writes in the caller's thread: a worker killed right after "started"
    # has still said which job it was running.
    q = ctx.SimpleQueue()
    pool = cf.ProcessPoolExecutor(min(workers, len(jobs)), mp_context=ctx,
                                  initializer=_init, initargs=(q,))
    # The workers fork at the first submit. Frozen, the caller's objects stay out of the
    # workers' collections (each job ends with one): a collection touches every object it
    # scans, which copies each page of the inherited heap into the worker. In a big caller
    # (a loaded catalogue, a test process) that halved a -j 2 build's speed.
    # A caller that froze objects itself (cli.main does) keeps them frozen: unfreeze only
    # undoes a freeze when it was ours alone (it cannot tell whose objects are whose).
    ours = gc.get_freeze_count() == 0
    gc.freeze()
    try:
        futures = {pool.submit(_work, fn, key, args): (key, args) for key, args in jobs}
    finally:
        if ours:
            gc.unfreeze()
    workers_of: dict[str, int] = {}          # key -> pid of the worker that started it
    # Every worker process seen (pid -> Process): when the pool breaks, its manager thread
    # may reap the dead and drop them from its table before we look; our own references
    # keep their exit codes.
    seen: dict[int, Any] = {}
    broken: list[tuple[str, tuple[Any, ...]]] = []
    try:
        pending = set(futures)
        while pending:
            seen.update(_processes(pool))
            done, pending = cf.wait(pending, timeout=0.1, return_when=cf.FIRST_COMPLETED)
            seen.update(_processes(pool))
            _drain(q, report, workers_of)
            for future in done:
                key, args = futures[future]
                try:
                    result = future.result()
                except BrokenProcessPool:
                    broken.append((key, args))
                    continue
                results[key] = result
                report(key, "done" if result.ok else "failed", 1.0)
        if broken:
            _drain(q, report, workers_of)
            dead = _dead_workers(seen)
            for key, _ in broken:
                code = dead.get(workers_of.get(key, -1))
                if code is not None:     # its own worker died: that is this job's failure
                    results[key] = JobResult(key, error=_death(code))
                    report(key, "failed", 1.0)
    except BaseException:
        _stop(pool)
        raise
    finally:
        if broken:
            # A broken pool's survivors may wait forever for work that never comes, while
            # the pool's manager thread, holding the lock shutdown() takes, waits for them to
            # exit (Python 3.13): kill them first, without the pool's lock.
            for proc in list({**seen, **_processes(pool)}.values()):
                if proc.is_alive():
                    proc.kill()
                    proc.join(STOP_GRACE_S)
        pool.shutdown(wait=True, cancel_futures=True)
    return [(key, args) for key, args in broken if key not in results]


def _drain(q: Any, report: Progress, workers_of: dict[str, int]) -> None:
    """Pass on every progress event waiting in the queue."""
    while True:
        try:
            if q.empty():
                return
            key, stage, fraction, pid = q.get()
        except (OSError, EOFError, ValueError):
            return
        if pid is not None:
            workers_of[key] = pid
        report(key, stage, fraction)


def _processes(pool: cf.ProcessPoolExecutor) -> dict[int, Any]:
    # The executor's own table of its processes (pid -> multiprocessing.Process): the one
    # place this module reads a private attribute (Python 3.14 adds terminate_workers()).
    return dict(getattr(pool, "_processes", None) or {})


def _dead_workers(procs: dict[int, Any]) -> dict[int, int]:
    """pid -> exit code of the workers killed by a signal they did not handle (SIGKILL,
    SIGSEGV...). The pool stops the others with SIGTERM, which a worker handles: those
    are never blamed, only run again (a job that kills its worker some other way fails
    after RETRIES runs)."""
    # Dead means its sentinel is closed: that is what the pool saw. The kernel closes a
    # dying process's files before the process can be waited for (unmapping a big inherited
    # heap takes a while under load), so for a moment is_alive() still says True and the
    # exit code reads None: wait for the code of each dead worker. join() may also lose
    # the wait to the pool's manager thread, which then stores the code in the same object.
    deadline = time.monotonic() + STOP_GRACE_S
    for proc in procs.values():
        if not _sentinel_closed(proc):
            continue
        while proc.exitcode is None and time.monotonic() < deadline:
            proc.join(0.05)                 # returns at once: the sentinel is closed
            if proc.exitcode is None:
                time.sleep(0.005)           # not yet waitable: look again shortly
    return {pid: p.exitcode for pid, p in procs.items()
            if p.exitcode is not None and p.exitcode < 0 and p.exitcode != -signal.SIGTERM}


def _sentinel_closed(proc: Any) -> bool:
    """True once the worker process has ended (its end of the sentinel pipe is closed)."""
    try:
        return bool(mp_connection.wait([proc.sentinel], 0))
    except (ValueError, OSError):       # a closed Process object: long gone
        return True


def _death(code: int) -> str:
    try:
        return f"worker killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"worker killed by signal {-code}"


def _stop(pool: cf.ProcessPoolExecutor) -> None:
    """Ctrl-C in the parent: SIGTERM to every worker (each unwinds its job), then SIGKILL
    to what is left after STOP_GRACE_S."""
    procs = list(_processes(pool).values())
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
    # Workers done with their job wait for the next: no more jobs tells them to leave.
    pool.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + STOP_GRACE_S
    for proc in procs:
        proc.join(max(0.1, deadline - time.monotonic()))
        if proc.is_alive():
            proc.kill()
            proc.join()
