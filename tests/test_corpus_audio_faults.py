"""Corpus: faults during the audio stage. ffmpeg killed in the middle of an encode, and Ctrl-C
during `podkit build -j 2` while two episodes are encoding.

Both run the real `podkit build` in a child process with `PODKIT_FFMPEG` pointing at a
wrapper script that records every ffmpeg podkit starts (its kind and pid: the wrapper
`exec`s, so the pid is ffmpeg's) and throttles the main encoder to a few times real time
(`-readrate`), so a programme of seconds is reliably caught mid-encode. Each starts from a
good build and changes an input (a part's gain: new audio), so the faulted run has
previous outputs to lose: afterwards build/ (stage, site, reports, cache) must be byte for
byte as before, no temp file left, and no process podkit started still there (not even a
zombie: every ffmpeg and worker was waited for).
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from corpus_support import (  # noqa: F401
    PROGRESS_RE,
    REPO,
    Row,
    Run,
    copy_show,
    corpus_built,
    edit,
    leftovers,
    sources_hash,
    tree_hash,
)

from toolkit import ffmpeg, pipeline

ROWS = [
    Row("ffmpeg-killed", "the encoding ffmpeg gets SIGKILL mid-encode (1 s into a 5 s "
        "encode, its temp MP3 open), in `podkit build` and in a `-j 2` worker",
        "exit 1; one line `failed first-episode: <cache mp3>: encoding failed: ffmpeg stopped "
        "mid-encode (killed by signal 9)` (was `cannot write file: Broken pipe`)",
        "build/ byte-identical after changing an input, no temp files, every recorded ffmpeg "
        "gone"),
    Row("ctrl-c-group", "Ctrl-C (SIGINT to the process group, as a terminal sends it) during "
        "`podkit build -j 2`, both episodes mid-encode",
        "exit 130, `Aborted.`; workers stop their ffmpeg and remove their temp files "
        "(a second signal no longer cuts that short: ffmpeg children were left unreaped)",
        "build/ byte-identical, no temp files; every ffmpeg and worker pid seen is gone from "
        "/proc (zombies included)"),
    Row("ctrl-c-parent", "SIGINT to the podkit process only during `podkit build -j 2`, both "
        "episodes mid-encode", "exit 130, `Aborted.`; the parent stops the workers (SIGTERM), "
        "they stop their ffmpeg", "as ctrl-c-group"),
]

WRAPPER = """#!/bin/sh
# podkit's fault tests: record each ffmpeg podkit starts ("kind pid"; exec keeps the pid)
# and throttle the main encoder (the one that also decodes its MP3 for the monitor: through
# a loopback decoder on ffmpeg 7+, through the tee muxer before).
case " $* " in
  *" -dec 0:0 "*|*" -f tee "*) echo "encode $$" >> "$PODKIT_TEST_PIDS"
                exec "{real}" -readrate "$PODKIT_TEST_READRATE" "$@" ;;
esac
echo "ffmpeg $$" >> "$PODKIT_TEST_PIDS"
exec "{real}" "$@"
"""


class Build:
    """`podkit build` in a child process (its own session) with the recording ffmpeg wrapper."""

    def __init__(self, root: Path, tmp: Path, *args: str, readrate: float) -> None:
        wrapper = tmp / "ffmpeg-wrapper.sh"
        wrapper.write_text(WRAPPER.format(real=ffmpeg.binary()))
        wrapper.chmod(0o755)
        self.pids_file = tmp / "ffmpeg-pids.txt"
        env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1",
               "PODKIT_FFMPEG": str(wrapper), "PODKIT_TEST_PIDS": str(self.pids_file),
               "PODKIT_TEST_READRATE": str(readrate)}
        self.args = ("--root", str(root), "build", *args)
        self.proc = subprocess.Popen([sys.executable, "-m", "toolkit", *self.args], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)
        self.seen: set[int] = set()

    def recorded(self, kind: str | None = None) -> list[int]:
        """Pids the wrapper recorded (of one kind, or all)."""
        if not self.pids_file.exists():
            return []
        rows = [ln.split() for ln in self.pids_file.read_text().splitlines() if ln.strip()]
        return [int(pid) for k, pid in rows if kind in (None, k)]

    def watch(self, until, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
        """Record podkit's descendants every 10 ms until `until()` is true."""
        deadline = time.monotonic() + timeout
        while not until():
            assert self.proc.poll() is None, self.finish()
            assert time.monotonic() < deadline, "timed out waiting for the encoders"
            self.seen |= descendants(self.proc.pid)
            time.sleep(0.01)
        self.seen |= descendants(self.proc.pid)

    def finish(self) -> Run:
        out, err = self.proc.communicate(timeout=60)
        return Run(self.args, self.proc.returncode, out, err)

    def survivors(self) -> dict[int, str]:
        """Every pid podkit started that still exists, with its state (Z: never waited for)."""
        left = {}
        for pid in self.seen | set(self.recorded()):
            try:
                left[pid] = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                pass
        return left


def descendants(pid: int) -> set[int]:
    """All processes below `pid`, from /proc/*/stat's parent pids."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.add(child)
            todo.append(child)
    return out


def alive(pid: int) -> bool:
    """Whether `pid` runs (exists and is not a zombie)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def new_audio(root: Path, slug: str = "first-episode") -> None:
    """A changed input: the second part gets louder (a new audio cache key)."""
    edit(root / "episodes" / slug / "episode.toml", "gap = 0.5", "gap = 0.5\ngain = 1.5")


def partial_mp3s(root: Path) -> list[Path]:
    """Temp MP3s the encoders are writing in the audio cache."""
    return sorted((root / "build" / "cache").rglob(".*.mp3.part"))


def last_good(root: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The hashes of the sources and of build/ before the faulted run."""
    return sources_hash(root), tree_hash(root / "build")


def nothing_lost(root: Path, before: tuple[dict[str, str], dict[str, str]], run: Run,
                 build: Build) -> None:
    """No traceback, no temp file, sources and build/ byte for byte as before (an episode
    rebuilt from cache reproduces every byte, its manifest included), no process left."""
    assert "Traceback" not in run.stderr, run
    assert leftovers(root) == [], leftovers(root)
    after = tree_hash(root / "build")
    assert (sources_hash(root), after) == before, "outputs changed"
    assert build.survivors() == {}, (build.survivors(), run)


_two: dict[str, Path] = {}


@pytest.fixture(scope="session")
def two_episodes_built(corpus_built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The corpus show with a second episode (same audio), both built: the last good build."""
    if "root" not in _two:
        root = copy_show(corpus_built, tmp_path_factory.mktemp("two") / "show")
        shutil.copytree(root / "episodes/first-episode", root / "episodes/second")
        toml = root / "episodes/second/episode.toml"
        edit(toml, 'title = "First episode"', 'title = "Second episode"')
        edit(toml, "number = 1", "number = 2")
        assert all(r.ok for r in pipeline.build(root, ("second",)))
        _two["root"] = root
    return _two["root"]


# ---- ffmpeg killed mid-encode ------------------------------------------------------------------

@pytest.mark.parametrize("jobs", ["1", "2"], ids=["inline", "worker"])
def test_ffmpeg_killed_mid_encode(corpus_built: Path, two_episodes_built: Path, tmp_path: Path,
                                  jobs: str) -> None:
    """Inline (one episode: -j has nothing to share out) and in a -j 2 worker (two episodes,
    the second's audio unchanged: it still builds, the first fails alone)."""
    root = copy_show(corpus_built if jobs == "1" else two_episodes_built, tmp_path / "show")
    new_audio(root)
    before = last_good(root)
    build = Build(root, tmp_path, "-j", jobs, readrate=1)
    # Mid-encode: the encoder runs, its temp MP3 is open, and 1 s into its 5 s (5 s of
    # audio at real time) it is killed.
    build.watch(lambda: build.recorded("encode") and partial_mp3s(root))
    time.sleep(1.0)
    (encoder,) = build.recorded("encode")
    assert alive(encoder), "the encode finished before the kill"
    os.kill(encoder, signal.SIGKILL)
    run = build.finish()
    lines = [ln for ln in run.err_lines if not PROGRESS_RE.match(ln)]
    assert run.rc == 1 and len(lines) == 2, run
    cache = root / "build/cache/test-radio/first-episode"
    assert lines[0].startswith(f"failed first-episode: {cache}/first-episode-"), run
    assert lines[0].endswith(".mp3: encoding failed: ffmpeg stopped mid-encode (killed by "
                             "signal 9)"), run
    assert lines[1] == f"podkit: 1 of {1 if jobs == '1' else 2} episode(s) failed"
    if jobs == "2":
        # The second episode's record matches its inputs: it is left as it was, untouched.
        assert "unchanged: 1 episode(s)" in run.stdout, run
    nothing_lost(root, before, run, build)


# ---- Ctrl-C during build -j 2 ---------------------------------------------------------------------

@pytest.mark.parametrize("target", ["group", "parent"])
def test_ctrl_c_during_parallel_build(two_episodes_built: Path, tmp_path: Path,
                                      target: str) -> None:
    root = copy_show(two_episodes_built, tmp_path / "show")
    new_audio(root, "first-episode")
    new_audio(root, "second")
    before = last_good(root)
    build = Build(root, tmp_path, "-j", "2", readrate=1)   # 5 s programmes: 5 s encodes
    build.watch(lambda: len(build.recorded("encode")) == 2 and len(partial_mp3s(root)) >= 2)
    time.sleep(0.3)
    build.seen |= descendants(build.proc.pid)
    encoders = build.recorded("encode")
    assert all(alive(pid) for pid in encoders), "an encode finished before the interrupt"
    # The -j 2 workers: podkit's own children running toolkit. Not any descendant whose
    # command line says so: a worker's child between fork and exec (an ffmpeg starting) still
    # shows the worker's command line.
    workers = {pid for pid in build.seen
               if _ppid(pid) == build.proc.pid and "-m toolkit" in _cmdline(pid)}
    assert len(workers) == 2, workers
    if target == "group":
        os.killpg(build.proc.pid, signal.SIGINT)               # what a terminal's Ctrl-C does
    else:
        os.kill(build.proc.pid, signal.SIGINT)
    run = build.finish()
    assert run.rc == 130 and run.err_lines[-1] in ("Aborted.", "Interrupted."), run
    nothing_lost(root, before, run, build)


def _ppid(pid: int) -> int | None:
    """A process's parent pid (None once it is gone)."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None


def _cmdline(pid: int) -> str:
    """A process's command line ('' once it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
