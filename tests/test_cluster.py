"""Builds on a Dask cluster: a real LocalCluster (worker processes on 127.0.0.1).

The same show built locally and on the cluster gives the same bytes; a worker killed
mid-episode leaves nothing partial and another worker builds the episode; a failing
episode is one failure and the others build; an unreachable scheduler is one line.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest

from audiosignals import speech_like, write_wav
from conftest import write_show
from toolkit import pipeline
from toolkit.errors import PodkitError
from toolkit.store import promote
from toolkit.store.layout import Layout

distributed = pytest.importorskip("distributed")
ClusterTarget = pytest.importorskip("toolkit.cluster").ClusterTarget

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded worker processes on 127.0.0.1 (the scheduler in this process)."""
    lc = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None,
                                  silence_logs=40)
    yield lc
    lc.close()


def tree(root: Path) -> dict[str, str]:
    """Every built file (stage, reports, records) by path and hash."""
    build = root / "build"
    return {p.relative_to(build).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(build.rglob("*")) if p.is_file()
            and p.relative_to(build).parts[0] in ("stage", "reports")}


def two_episode_show(root: Path, media: Path, seconds: float = 6.0) -> Path:
    write_show(root, media)
    first = root / "episodes" / "first-episode"
    second = root / "episodes" / "second-episode"
    shutil.copytree(first, second)
    toml = second / "episode.toml"
    toml.write_text(toml.read_text("utf-8").replace('title = "First episode"',
                                                     'title = "Second episode"')
                    .replace("number = 1", "number = 2"), "utf-8")
    write_wav(second / "body.wav", speech_like(seconds, level_db=-24.0), 44100)
    toml.write_text(toml.read_text("utf-8").replace("body.flac", "body.wav"), "utf-8")
    return root


def test_cluster_build_matches_a_local_build_byte_for_byte(cluster, tmp_path, _media_cache):
    here = two_episode_show(tmp_path / "local" / "show", _media_cache)
    there = two_episode_show(tmp_path / "dask" / "show", _media_cache)
    local = pipeline.build(here, jobs=2)
    remote = pipeline.build(there, cluster=ClusterTarget(cluster.scheduler_address))
    assert all(r.ok for r in local) and all(r.ok for r in remote), remote
    assert [r.key for r in remote] == [r.key for r in local]
    a, b = tree(here), tree(there)
    assert a.keys() == b.keys() and len(a) > 10
    # Records name their show folder's files relative to it: equal bytes, different roots.
    assert a == b
    # Nothing left beside the promoted folders: no attempt folders, no temp files.
    stage = Layout(there).stage("test-radio") / "episodes"
    assert sorted(p.name for p in stage.iterdir() if not p.name.startswith(".claim-")) == \
        ["first-episode", "second-episode"]


def test_a_failing_episode_is_one_failure_and_the_others_build(cluster, tmp_path,
                                                              _media_cache):
    root = two_episode_show(tmp_path / "show", _media_cache)
    broken = root / "episodes" / "second-episode" / "body.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot audio at all")
    results = {r.key: r for r in pipeline.build(
        root, cluster=ClusterTarget(cluster.scheduler_address))}
    assert results["first-episode"].ok
    assert not results["second-episode"].ok and "body.wav" in results["second-episode"].error
    assert not (Layout(root).episode_stage("test-radio", "second-episode")).exists()


def test_unreachable_scheduler_is_one_line_and_builds_nothing(tmp_path, _media_cache):
    root = write_show(tmp_path / "show", _media_cache)
    for address in ("tcp://127.0.0.1:9", "tcp://user:secret@127.0.0.1:9"):
        with pytest.raises(PodkitError, match=r"^cannot reach the Dask scheduler at "
                           r"tcp://127\.0\.0\.1:9 \(.*\); nothing was built$") as err:
            pipeline.build(root, cluster=ClusterTarget(address, connect_timeout=0.5))
        assert "secret" not in str(err.value) and "\n" not in str(err.value)
    assert not (root / "build" / "stage").exists() or not any(
        (root / "build" / "stage").rglob("*.mp3"))


def test_two_attempts_at_one_episode_only_one_promotes(tmp_path):
    final = tmp_path / "stage" / "ep"
    first, second = promote.begin(final, "a1"), promote.begin(final, "b2")
    (first / "x").write_text("first")
    (second / "x").write_text("second")
    assert promote.claim(final, "build1") is True
    promote.commit(first, final)
    assert promote.claim(final, "build1") is False     # the late attempt is refused
    promote.abandon(second)
    assert (final / "x").read_text() == "first"
    promote.tidy(final)                                 # the next build starts afresh
    assert promote.claim(final, "build2") is True


def test_cli_build_on_the_cluster_and_its_usage_errors(cluster, tmp_path, _media_cache,
                                                      monkeypatch):
    from click.testing import CliRunner

    from toolkit.cli import cli
    root = write_show(tmp_path / "show", _media_cache)
    runner = CliRunner()
    bad = runner.invoke(cli, ["--root", str(root), "build", "--executor", "dask"])
    assert bad.exit_code == 2 and "--executor dask needs --scheduler" in bad.output
    monkeypatch.setenv("PODKIT_DASK_SCHEDULER", cluster.scheduler_address)
    ok = runner.invoke(cli, ["--root", str(root), "build"])
    assert ok.exit_code == 0, ok.output + str(ok.exception)
    assert "built first-episode" in ok.output
    assert any(Layout(root).episode_stage("test-radio", "first-episode").glob("*.mp3"))


# Last in the file: it kills one of the module cluster's workers (its nanny starts another).
def test_a_worker_killed_mid_episode_leaves_nothing_partial(cluster, tmp_path, _media_cache):
    lc = cluster
    root = two_episode_show(tmp_path / "show", _media_cache, seconds=40.0)
    client = distributed.Client(lc.scheduler_address)
    pids = client.run(os.getpid)
    killed: list[str] = []

    def kill_the_worker_on_the_long_episode() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            for worker, tasks in client.processing().items():
                if any("second-episode" in str(t) for t in tasks):
                    time.sleep(1.0)                 # let it start writing
                    os.kill(pids[worker], signal.SIGKILL)
                    killed.append(worker)
                    return
            time.sleep(0.1)

    killer = threading.Thread(target=kill_the_worker_on_the_long_episode)
    killer.start()
    results = pipeline.build(root, cluster=ClusterTarget(lc.scheduler_address))
    killer.join()
    client.close()
    assert killed, "the long episode never ran"
    assert all(r.ok for r in results), [r.error for r in results]
    stage = Layout(root).episode_stage("test-radio", "second-episode")
    assert (stage / ".podkit-record.json").is_file() or any(stage.glob(".podkit*"))
    # The killed attempt's work folder is removed by the next build's tidy; it never
    # has the final name, and the record that was promoted is complete.
    assert any(stage.glob("*.mp3"))
    assert all(r.ok for r in pipeline.build(root, cluster=ClusterTarget(
        lc.scheduler_address)))
    leftovers = [p.name for p in stage.parent.iterdir() if p.name.startswith(".work-")]
    assert leftovers == []
