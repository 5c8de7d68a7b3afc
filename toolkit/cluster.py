"""Build episodes on a Dask cluster (`podkit build --executor dask --scheduler tcp://...`).

The client (the machine running podkit) loads the catalogue, decides what is stale and
writes the memo, exactly as for a local build; only the episode builds go to the workers,
each as the same picklable `EpisodeJob` a local worker process gets. Workers see the show
folder on a shared filesystem at the same path, or at `worker_root` (the job is re-rooted:
every path in it is stored relative to the show folder and read back under the worker's).
See docs/scale.md for the storage model.

Two attempts at one episode (a worker the scheduler presumed dead that was only slow, and
the retry on another worker) each build in their own work folder and race for one claim
(`toolkit.store.promote.claim`, an atomic mkdir): the winner promotes, the loser discards
its work. Dask retries a task whose worker was lost (`allowed_failures`); a task that
raised is a failed episode, reported like a local failure, and the others go on.

Longest episodes first (by their sources' duration) keeps the makespan short: the
scheduler takes `priority`, and the biggest jobs are submitted with the highest.
"""
from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from toolkit import codec
from toolkit.errors import PodkitError
from toolkit.runner import JobResult, Progress

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class ClusterTarget:
    """Where a cluster build runs: the scheduler, and the show folder's path on the workers."""

    scheduler: str                      # e.g. tcp://10.0.0.5:8786
    worker_root: str | None = None      # None: the same path as on the client
    connect_timeout: float = 10.0       # seconds to reach the scheduler before giving up


#: How long the client waits for at least one worker to be connected.
WORKER_WAIT_S = 30.0


def _shown(address: str) -> str:
    """The scheduler address as printed: any credentials in it left out."""
    scheme, sep, rest = address.rpartition("://")
    host = rest.rsplit("@", 1)[-1]
    return f"{scheme}{sep}{host}"


def _client(scheduler: str, timeout: float) -> Any:
    """A connected `distributed.Client`, or one PodkitError line saying why not."""
    try:
        from distributed import Client
    except ImportError as exc:
        raise PodkitError("the dask executor needs Dask's distributed package: "
                          "pip install 'podkit[dask]'") from exc
    shown = _shown(scheduler)
    try:
        client = Client(scheduler, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc)
        userinfo = scheduler.rpartition("://")[2].rpartition("@")[0]
        if userinfo:   # Dask's own message repeats the address it was given
            reason = reason.replace(userinfo, "***")
        raise PodkitError(f"cannot reach the Dask scheduler at {shown} "
                          f"({type(exc).__name__}: {reason}); nothing was built") from None
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT_S)
    except (OSError, TimeoutError) as exc:
        client.close()
        raise PodkitError(f"the Dask scheduler at {shown} has no worker after "
                          f"{WORKER_WAIT_S:g} s; nothing was built") from exc
    return client


def _sees(root: str) -> bool:
    """On a worker: is the show folder there?"""
    return os.path.isdir(os.path.join(root, "feeds"))


def _rerooted_call(fn: Callable[..., Any], data: Any, job_type: type, root: str,
                   key: str, progress_topic: str | None) -> Any:
    """On a worker: decode the job under this worker's show folder and build it."""
    # Paths inside the show folder are stored relative to it; the root itself is not.
    job = replace(codec.load(job_type, data, base=Path(root)), root=Path(root))
    report: Callable[[str, float], None] = lambda stage, fraction: None  # noqa: E731
    if progress_topic:
        # Dask's structured events: the worker logs, the client's handler receives them.
        from distributed import get_worker
        worker = get_worker()
        report = lambda stage, fraction: worker.log_event(  # noqa: E731
            progress_topic, (key, stage, fraction))
    return fn(job, progress=report)


def run_jobs(fn: Callable[..., Any], jobs: Sequence[tuple[str, tuple[Any, ...]]], *,
             target: ClusterTarget, root: Path,
             sizes: dict[str, float] | None = None, progress: Progress | None = None) -> list[JobResult]:
    """Run `fn(job, progress=...)` for each (key, (job,)) on the cluster; results in order.

    `sizes` (seconds of source audio per key) sets the order: longest first. A job that
    raises is that key's failure (not retried: the same inputs fail the same way); a job
    whose worker was lost is run again elsewhere by the scheduler (`allowed_failures`).
    """
    report = progress or (lambda key, stage, fraction: None)
    if not jobs:
        return []
    client = _client(target.scheduler, target.connect_timeout)
    try:
        where = target.worker_root or str(root)
        blind = [w for w, ok in client.run(_sees, where).items() if not ok]
        if blind:
            raise PodkitError(f"{len(blind)} Dask worker(s) do not see the show folder at "
                              f"{where} ({', '.join(sorted(blind)[:3])}): mount it there, or "
                              "give --worker-root (docs/scale.md)")
        return _submit_all(client, fn, jobs, root, where, sizes or {}, report)
    finally:
        client.close()


def _submit_all(client: Any, fn: Callable[..., Any], jobs: Sequence[tuple[str, tuple[Any, ...]]],
                root: Path, where: str, sizes: dict[str, float], report: Progress
                ) -> list[JobResult]:
    """Submit every job (longest first), then collect results as they finish."""
    from distributed import as_completed
    topic = f"podkit-progress-{uuid.uuid4().hex}"
    seen: list[tuple[str, str, float]] = []
    # The handler runs on the client's event loop thread: it only queues, the main thread
    # reports (the CLI's progress display is not thread-safe).
    client.subscribe_topic(topic, lambda event: seen.append(tuple(event[1])))
    order = sorted(jobs, key=lambda kj: -sizes.get(kj[0], 0.0))
    futures = {}
    for rank, (key, (job,)) in enumerate(order):
        data = codec.dump(job, base=root)
        fut = client.submit(_rerooted_call, fn, data, type(job), where, key, topic,
                            key=f"podkit-{key}-{uuid.uuid4().hex[:8]}", pure=False,
                            priority=len(order) - rank)
        futures[fut] = key
        report(key, "queued", 0.0)
    results: dict[str, JobResult] = {}
    pending = as_completed(list(futures), loop=client.loop)
    for fut in pending:
        _drain(seen, report)
        key = futures[fut]
        try:
            value = fut.result()
        except PodkitError as exc:
            results[key] = JobResult(key, error=str(exc))
            report(key, "failed", 1.0)
            continue
        except Exception as exc:   # a worker's crash, or a task Dask gave up on
            results[key] = JobResult(key, error=f"on the cluster: {type(exc).__name__}: {exc}")
            report(key, "failed", 1.0)
            continue
        results[key] = JobResult(key, value)
        report(key, "done", 1.0)
    _drain(seen, report)
    client.unsubscribe_topic(topic)
    return [results[key] for key, _ in jobs]


def _drain(seen: list[tuple[str, str, float]], report: Progress) -> None:
    """Pass on the progress events the workers logged since the last look."""
    while seen:
        key, stage, fraction = seen.pop(0)
        if stage not in ("done", "failed"):
            report(key, stage, fraction)
