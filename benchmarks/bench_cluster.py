"""Cluster benchmark: the same shows built locally (-j 2) and on a Dask LocalCluster (issue 26).

    .venv/bin/python benchmarks/bench_cluster.py                 # 200 x 1 s and 20 x 5 min
    .venv/bin/python benchmarks/bench_cluster.py --short 40 --long 4 --minutes 1   # quick

Two generated shows, as the catalogue benchmark makes them (one WAV hard-linked into every
episode, a timed transcript, two chapters): `--short` episodes of 1 s (the scheduling cost
per task dominates) and `--long` episodes of `--minutes` of speech-like audio (the audio
work dominates). Each is built twice in one run, by the real `podkit build` in a
subprocess: locally with `-j 2`, then with `--scheduler` on a LocalCluster of two
single-threaded worker processes on 127.0.0.1 (started here, warm before the clock starts).

Reported: wall time of each build, the cluster's overhead against local for the long
episodes (target <= 10 %), the per-task scheduling cost from the short ones
((cluster - local) / episodes), and, from those figures, an estimate of re-mastering a
10,000-hour archive on 1, 10 and 100 eight-core workers with where it stops scaling.
Exits 1 when the overhead target is missed. The machine is shared: the load average is
printed with each figure.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))

import bench_catalogue as cat  # noqa: E402


def generate(root: Path, n: int, seconds: float) -> None:
    """A show of `n` episodes of `seconds` each (one generated WAV, hard-linked)."""
    cat.generate(root, n)
    if seconds > 1:
        from audiosignals import speech_like, write_wav
        wav = root / "long.wav"
        write_wav(wav, speech_like(seconds, level_db=-24.0), 44100)
        for folder in (root / "episodes").iterdir():
            (folder / "audio.wav").unlink()
            os.link(wav, folder / "audio.wav")


def timed_build(root: Path, *args: str) -> float:
    """Wall seconds of `podkit build ARGS` in a subprocess (exits on failure)."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "toolkit", "--root", str(root), "-q", "build",
                           *args], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"podkit build {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return wall


def pair(work: Path, name: str, n: int, seconds: float, address: str) -> tuple[float, float]:
    """(local -j 2 wall, cluster wall) for one generated show, each on its own copy."""
    base = work / f"{name}-src"
    generate(base, n, seconds)
    here, there, warm = work / f"{name}-local", work / f"{name}-dask", work / f"{name}-warm"
    for dst in (here, there, warm):
        shutil.copytree(base, dst, copy_function=os.link)
    # One untimed local build first: what a first run on a machine pays once (the encoder
    # calibration, the page cache of the sources) is paid before either clock starts.
    timed_build(warm, "-j", "2")
    local = timed_build(here, "-j", "2")
    print(f"  {name}: local -j 2   {local:7.1f} s  (load {cat.load()})", flush=True)
    dask = timed_build(there, "--scheduler", address)
    print(f"  {name}: dask 2 x 1   {dask:7.1f} s  (load {cat.load()})", flush=True)
    return local, dask


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--short", type=int, default=200)
    ap.add_argument("--long", type=int, default=20)
    ap.add_argument("--minutes", type=float, default=5.0)
    args = ap.parse_args()
    from distributed import Client, LocalCluster
    work = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    lc = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=40)
    try:
        with Client(lc.scheduler_address) as c:   # workers import podkit before the clock
            c.run(lambda: __import__("toolkit.episode_build"))
        print(f"LocalCluster at {lc.scheduler_address}: 2 workers x 1 thread")
        short_l, short_d = pair(work, "short", args.short, 1.0, lc.scheduler_address)
        long_l, long_d = pair(work, "long", args.long, args.minutes * 60, lc.scheduler_address)
    finally:
        lc.close()
        shutil.rmtree(work, ignore_errors=True)
    per_task = (short_d - short_l) / args.short
    overhead = (long_d - long_l) / long_l
    audio_h = args.long * args.minutes / 60
    # Throughput per core: hours of audio mastered per wall hour per core, locally.
    per_core = audio_h / (long_l / 3600) / 2
    print(f"\nper-task scheduling cost: {per_task * 1000:.0f} ms "
          f"({args.short} short episodes: {short_l:.1f} s local, {short_d:.1f} s dask)")
    print(f"cluster overhead on {args.long} x {args.minutes:g} min: {overhead * 100:+.1f} % "
          f"(target <= 10 %)")
    print(f"throughput: {per_core:.1f} h of audio per core-hour (local, -j 2)")
    archive_h, ep_min = 10_000, 30
    episodes = archive_h * 60 / ep_min
    fs_gbps = 1.0                # a shared NFS/EFS mount's sustained read+write, GB/s
    gb_per_h = 1.1               # 48 kHz 24-bit stereo WAV in (~1 GB/h) + renditions out
    fs_floor = archive_h * gb_per_h / fs_gbps / 3600
    client_s = episodes * 0.0005 + episodes * max(per_task, 0.0)   # catalogue load + submits
    print(f"\n10,000-hour archive ({episodes:,.0f} episodes of {ep_min} min):")
    for workers in (1, 10, 100):
        cores = workers * 8
        compute = archive_h / (per_core * cores)
        total = max(compute, fs_floor) + client_s / 3600
        bound = "shared filesystem" if fs_floor > compute else "CPU"
        print(f"  {workers:3d} x 8 cores: compute {compute:7.1f} h, filesystem floor "
              f"{fs_floor:5.1f} h, client {client_s / 3600:4.2f} h -> {total:7.1f} h ({bound})")
    return 0 if overhead <= 0.10 else 1


if __name__ == "__main__":
    sys.exit(main())
