"""What an air cut adds to a build (issue 25): at most 0.3x the podcast build's time.

    .venv/bin/python benchmarks/bench_cuts.py                  # about 2 minutes
    .venv/bin/python benchmarks/bench_cuts.py --minutes 10 --repeat 2

A show with one episode (the speech-like benchmark programme, `programme.py`, in three
parts with a gap) is built by the real `podkit build` in a fresh process, from an empty
build folder, twice: as a podcast only (MP3 at -16 LUFS), and with `[cuts.air]` added
(a -23 LUFS 48 kHz 24-bit BWF WAV with bext and cart). CPU time (user + system, podkit
and its ffmpeg children) and wall time of each; the air cut's cost is the difference,
against the podcast build. Both outputs are measured with ffmpeg's ebur128 (on target
within 0.5 LU, under the ceiling). Best of --repeat. Exits 1 when a target is missed.
Inputs and outputs live under build/bench/cuts/.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

import programme  # noqa: E402
from audiosignals import ebur128  # noqa: E402
from conftest import FEED_TOML, make_cover  # noqa: E402

BENCH = ROOT / "build" / "bench" / "cuts"
TARGET = 0.3
EPISODE = """feed = "test-radio"
title = "Benchmark"
date = 2024-05-01T09:00:00+09:00
cart = "BM0001"
{cut}
[[parts]]
file = "a.wav"
title = "One"
[[parts]]
file = "b.wav"
title = "Two"
gap = 0.5
[[parts]]
file = "c.wav"
title = "Three"
gap = 0.5
"""
AIR = '[cuts.air]\npreset = "ebu-r128"\nname = "{cart}"\n'
#: --own-parts: part "c" only in the podcast, so the air cut cannot share its measurement.
OWN = '\ncuts = ["podcast"]\n'


def _show(folder: Path, minutes: float, air: bool, own: bool = False) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "feeds").mkdir(parents=True)
    (folder / "feeds" / "test-radio.toml").write_text(FEED_TOML, "utf-8")
    make_cover(folder / "feeds" / "test-radio.jpg")
    ep = folder / "episodes" / "bench"
    ep.mkdir(parents=True)
    for i, name in enumerate(("a.wav", "b.wav", "c.wav")):
        src = BENCH / f"src-{minutes:g}-{name}"
        if not src.is_file():
            programme.write(src, minutes * 60 / 3, "speech", seed=i + 1)
        os.link(src, ep / name)
    text = EPISODE.format(cut=AIR if air else "")
    (ep / "episode.toml").write_text(text + (OWN.lstrip() if own else ""), "utf-8")
    return folder


def _build(folder: Path) -> tuple[float, float]:
    before, clock = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run([sys.executable, "-m", "toolkit", "--root", str(folder), "-q", "build"],
                   check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, time.perf_counter() - clock


def main() -> int:
    """Run the benchmark; print the figures; 1 when a target is missed."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--own-parts", action="store_true",
                    help="the air cut leaves out a podcast-only part: its own measuring pass")
    args = ap.parse_args()
    BENCH.mkdir(parents=True, exist_ok=True)
    best: dict[bool, tuple[float, float]] = {}
    for _ in range(args.repeat):
        for air in (False, True):
            folder = _show(BENCH / ("air" if air else "podcast"), args.minutes, air,
                           args.own_parts)
            cpu, wall = _build(folder)
            if air not in best or cpu < best[air][0]:
                best[air] = (cpu, wall)
    ok = True
    stage = BENCH / "air" / "build" / "stage" / "test-radio" / "episodes" / "bench"
    mp3 = ebur128(next(stage.glob("*.mp3")))
    wav = ebur128(BENCH / "air" / "build" / "reports" / "test-radio" / "bench" / "BM0001.wav")
    for name, m, aim, ceiling in (("podcast MP3", mp3, -16.0, -1.0), ("air WAV", wav, -23.0, -1.0)):
        good = abs(m["I"] - aim) <= 0.5 and m["TP"] <= ceiling
        ok &= good
        print(f"{name}: {m['I']:.1f} LUFS, {m['TP']:.1f} dBTP (target {aim:g}, <= {ceiling:g}) "
              f"{'ok' if good else 'MISSED'}")
    (pc, pw), (ac, aw) = best[False], best[True]
    ratio = (ac - pc) / pc
    print(f"{args.minutes:g}-minute programme{' (air cut with its own parts)' if args.own_parts else ''}, "
          f"best of {args.repeat}: podcast build "
          f"{pc:.1f} s CPU / {pw:.1f} s wall; with the air cut {ac:.1f} s CPU / {aw:.1f} s wall; "
          f"the air cut adds {ac - pc:.1f} s CPU = {ratio:.2f}x (target <= {TARGET}x), wall "
          f"{(aw - pw) / pw:.2f}x; load {os.getloadavg()[0]:.1f}")
    ok &= ratio <= TARGET
    print(json.dumps({"podcast_cpu_s": round(pc, 2), "air_cpu_s": round(ac, 2),
                      "ratio": round(ratio, 3), "ok": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
