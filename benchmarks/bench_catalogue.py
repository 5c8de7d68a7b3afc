"""Catalogue benchmark: a daily show's back catalogue (2,000 episodes) through every command.

    .venv/bin/python benchmarks/bench_catalogue.py [--episodes 2000 200] [--dir DIR] [--keep]
        [--fake] [--repeat N] [--no-publish]

For each size it generates a show as `podkit init` lays it out (templates/ with its
README; 1 s of audio, a timed transcript and two chapters per episode; the audio files
are hard links of one WAV, the hash memo still reads each path once), then times the
real `podkit` command in a subprocess, as a producer runs it:

  first build   `podkit build -j 2`; CPU per episode beyond the audio stage (the audio
                stage's own time is read from the workers' log and subtracted)
  no-op build   `podkit build -j 2` again: nothing changed          target <= 3 s
  first feed    `podkit feed` after the first build: every file linked into the site
  no-op build   (above)
  one changed   one episode retitled, `podkit build -j 2`           target <= 2 s (+ its audio)
  feed          `podkit feed` after that (2,000 items, index, site)  target <= 1.2 s
  status        `podkit status` (records only)                       target <= 1 s
  validate      `podkit validate` of our own feed, no process per item target <= 1.2 s
  no-op publish `podkit publish` to a local S3 server (moto, 127.0.0.1) after a first
                publish, requests counted by verb: LIST only,
                at most ceil(objects / 1000) of them

`--fake` builds one episode and gives every other one hard links of its files and of its
audio cache, and a record of its own (bench_status.fake_records), for a shared machine
where building 2,000 episodes costs half an hour of CPU: every figure after the first
build is then the same work on the same records (the retitled episode takes its audio
from the cache, as after a real build). `--repeat N` takes the best of N runs of each
command (wall and CPU separately; the machine is shared; "one changed" retitles the
episode again before each run); `--no-publish` skips the S3 figures.

Every figure is also taken at the smaller size: 2,000 episodes must stay within 1.2x of
ten times 200 (linear). The machine is shared: the 1-minute load average is printed
with each figure. Exits 1 when a target is missed.
"""
from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

FEED = """\
title = "Daily Briefing"
description = "Five years of a daily news show."
link = "https://www.example.org/daily/"
language = "en"
author = "Example Radio"
explicit = false
categories = ["News > Daily News"]
artwork = "daily.jpg"
base_url = "https://media.example.org/daily/"
feed_url = "https://media.example.org/daily/feed.xml"
preset = "podcast"

[owner]
name = "Example Radio"
email = "podcasts@example.org"
"""


def load() -> str:
    """The 1-minute load average (the machine is shared)."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def episode_toml(i: int) -> str:
    day = 1 + (i % 28)
    month = 1 + (i // 28) % 12
    year = 2020 + i // (28 * 12)
    return (f'feed = "daily"\ntitle = "Briefing {i}"\n'
            f"date = {year}-{month:02d}-{day:02d}T06:00:00+00:00\nnumber = {i}\n"
            f'summary = "The news of day {i}."\n'
            f'notes = "Headlines of day {i}, with [sources](https://www.example.org/{i})."\n'
            'audio = "audio.wav"\n\n[[transcripts]]\nfile = "transcript.srt"\n\n'
            '[[chapters]]\nstart = 0\ntitle = "Headlines"\n'
            '[[chapters]]\nstart = 0.5\ntitle = "Weather"\n')


SRT = ("1\n00:00:00,000 --> 00:00:00,500\nHost: Good morning, here are the headlines.\n\n"
       "2\n00:00:00,500 --> 00:00:01,000\nHost: And now the weather.\n")


def generate(root: Path, n: int) -> None:
    """A show folder with `n` episodes (audio hard-linked from one generated WAV)."""
    from PIL import Image

    from toolkit import ffmpeg
    (root / "feeds").mkdir(parents=True)
    (root / "feeds" / "daily.toml").write_text(FEED)
    # As `podkit init` makes a show: a templates/ folder with its README (its digest is
    # part of every episode's inputs).
    (root / "templates").mkdir()
    (root / "templates" / "README.md").write_text("Override podkit's templates here.\n")
    Image.new("RGB", (1400, 1400), "navy").save(root / "feeds" / "daily.jpg", "JPEG")
    wav = root / "source.wav"
    ffmpeg.run(["-v", "error", "-f", "lavfi", "-i", "anoisesrc=d=1:c=pink:r=44100:a=0.1",
                "-ac", "2", "-y", str(wav)], what="making the benchmark audio")
    for i in range(1, n + 1):
        folder = root / "episodes" / f"day-{i:04d}"
        folder.mkdir(parents=True)
        (folder / "episode.toml").write_text(episode_toml(i))
        (folder / "transcript.srt").write_text(SRT)
        os.link(wav, folder / "audio.wav")


def podkit(root: Path, *args: str, env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run `podkit --root ROOT ARGS` -v; (wall seconds, CPU seconds of it and its children, stderr)."""
    before = os.times()
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "toolkit", "--root", str(root), *args],
                          capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    after = os.times()
    if proc.returncode != 0:
        sys.exit(f"podkit {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return wall, cpu, proc.stderr


FIGURES = ("first_build", "first_feed", "noop_build", "one_changed", "feed", "validate",
           "status", "noop_publish")
AUDIO_RE = re.compile(r"audio stage (\d+\.\d+) s cpu")


def best(root: Path, *args: str, repeat: int = 1) -> tuple[float, float, str]:
    """The best wall and CPU time of `repeat` runs of a command that changes nothing."""
    runs = [podkit(root, *args)[:2] for _ in range(repeat)]
    return min(w for w, _ in runs), min(c for _, c in runs), load()


def measure(n: int, workdir: Path, reuse: bool = False, *, fake: bool = False,
            repeat: int = 1, publish: bool = True) -> dict[str, object]:
    """Every figure for a show of `n` episodes (`reuse`: a show built by an earlier run;
    `fake`: one episode built, the others given copies of it)."""
    from s3server import FaultProxy, start_moto
    root = workdir / f"show-{n}"
    out: dict[str, object] = {"episodes": n, "publish_requests": {}, "objects": 0,
                              "noop_publish": (float("nan"),) * 2 + ("",)}
    if fake:
        from bench_status import fake_records
        if root.exists():
            shutil.rmtree(root)
        generate(root, n)
        podkit(root, "build", "day-0001")
        fake_records(root)
        out["first_build"] = (float("nan"), float("nan"), "(faked)")
        out["beyond_audio_per_ep"] = float("nan")
    elif reuse and (root / "build" / "stage").is_dir():
        podkit(root, "build", "-j", "2")                 # finish what an earlier run left
        out["first_build"] = (float("nan"), float("nan"), "(reused)")
        out["beyond_audio_per_ep"] = float("nan")
    else:
        if root.exists():
            shutil.rmtree(root)
        generate(root, n)
        wall, cpu, err = podkit(root, "-v", "build", "-j", "2")
        audio_cpu = sum(float(m) for m in AUDIO_RE.findall(err))
        out["first_build"] = (wall, cpu, load())
        out["beyond_audio_per_ep"] = (cpu - audio_cpu) / n if audio_cpu else float("nan")
    out["first_feed"] = podkit(root, "feed")[:2] + (load(),)   # links every file into the site
    out["noop_build"] = best(root, "build", "-j", "2", repeat=repeat)
    toml = root / "episodes" / f"day-{n // 2:04d}" / "episode.toml"
    changed = []
    for _ in range(repeat):
        # A new title every run (the show may be reused): one episode's tags and pages change.
        toml.write_text(re.sub(r'^title = ".*"$', f'title = "Retitled {time.time_ns()}"',
                               toml.read_text(), count=1, flags=re.M))
        changed.append(podkit(root, "build", "-j", "2")[:2])
    out["one_changed"] = (min(w for w, _ in changed), min(c for _, c in changed), load())
    out["feed"] = podkit(root, "feed")[:2] + (load(),)          # after one changed episode
    if repeat > 1:                                              # then nothing changes
        out["feed"] = min(out["feed"], best(root, "feed", repeat=repeat - 1))
    out["validate"] = best(root, "validate", repeat=repeat)
    out["status"] = best(root, "status", repeat=repeat)
    if not publish:
        return out
    proc, url = start_moto()
    proxy = FaultProxy(int(url.rsplit(":", 1)[1]))      # counts every request it forwards
    try:
        import boto3
        env = dict(os.environ, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench-secret",
                   AWS_DEFAULT_REGION="us-east-1", PODKIT_S3_BUCKET="daily",
                   PODKIT_S3_ENDPOINT_URL=proxy.url, PODKIT_S3_REGION="us-east-1",
                   PODKIT_S3_ADDRESSING_STYLE="path", AWS_EC2_METADATA_DISABLED="true")
        boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                     aws_access_key_id="bench", aws_secret_access_key="bench-secret"
                     ).create_bucket(Bucket="daily")
        podkit(root, "publish", env=env)
        objects = sum(1 for p in (root / "build/site/daily").rglob("*") if p.is_file())
        proxy.reset()
        wall, cpu, _ = podkit(root, "publish", env=env)
        out["noop_publish"] = (wall, cpu, load())
        out["publish_requests"] = verbs(proxy.requests(outcome=None))
        out["objects"] = objects
    finally:
        proxy.stop()
        proc.terminate()
        proc.wait()
    return out


def verbs(seen: list) -> dict[str, int]:
    """Requests by verb; a GET of the bucket itself (no key) is a LIST."""
    counts: dict[str, int] = {}
    for s in seen:
        path = s.path.split("?", 1)[0].strip("/")
        verb = "LIST" if s.method == "GET" and "/" not in path else s.method
        counts[verb] = counts.get(verb, 0) + 1
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, nargs="+", default=[2000, 200])
    ap.add_argument("--dir", type=Path, help="work folder (default: a temp folder)")
    ap.add_argument("--keep", action="store_true", help="keep the generated shows")
    ap.add_argument("--reuse", action="store_true",
                    help="reuse shows an earlier run built in --dir (skips the first build)")
    ap.add_argument("--fake", action="store_true",
                    help="build one episode and copy it to the others (no first-build figures)")
    ap.add_argument("--repeat", type=int, default=1, help="best of N runs of each no-op command")
    ap.add_argument("--no-publish", action="store_true", help="skip the S3 publish figures")
    args = ap.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="podkit-catalogue-"))
    work.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        for n in args.episodes:
            print(f"-- {n} episodes (load {load()})", flush=True)
            r = measure(n, work, reuse=args.reuse, fake=args.fake, repeat=args.repeat,
                        publish=not args.no_publish)
            results.append(r)
            report(r)
    finally:
        if not args.keep and args.dir is None:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if judge(results) else 1)


def report(r: dict) -> None:
    """Print one size's figures."""
    for key in FIGURES:
        wall, cpu, ld = r[key]
        print(f"  {key:<14} {wall:7.2f} s wall {cpu:7.2f} s CPU   load {ld}")
    print(f"  CPU per episode beyond the audio stage: {r['beyond_audio_per_ep']:.3f} s")
    print(f"  no-op publish requests: {r['publish_requests']} for {r['objects']} objects")


def judge(results: list[dict]) -> bool:
    """Check the targets; print each verdict."""
    ok = True

    def verdict(name: str, good: bool, text: str) -> None:
        nonlocal ok
        ok &= good
        print(f"{'met   ' if good else 'MISSED'} {name}: {text}")

    big = max(results, key=lambda r: r["episodes"])
    for key, target in (("noop_build", 3.0), ("one_changed", 2.0), ("feed", 1.2),
                        ("validate", 1.2), ("status", 1.0)):
        verdict(key, big[key][0] <= target, f"{big[key][0]:.2f} s (target <= {target:g} s)")
    measured = [r for r in results if math.isfinite(r["beyond_audio_per_ep"])]
    if measured:    # a reused show has no first build to measure
        first = max(measured, key=lambda r: r["episodes"])
        verdict("beyond audio", first["beyond_audio_per_ep"] <= 0.5,
                f"{first['beyond_audio_per_ep']:.3f} s CPU per episode at {first['episodes']} "
                "episodes (target <= 0.5 s)")
    reqs = big["publish_requests"]
    lists = math.ceil(big["objects"] / 1000)
    if big["objects"]:
        verdict("no-op publish", set(reqs) <= {"LIST"} and reqs.get("LIST", 0) <= lists,
                f"{reqs} (target: LIST <= {lists}, no HEAD or PUT)")
    small = min(results, key=lambda r: r["episodes"])
    if small is not big:
        scale = big["episodes"] / small["episodes"]
        for key in FIGURES:
            if not (math.isfinite(big[key][0]) and math.isfinite(small[key][0])):
                continue
            ratio = big[key][0] / (scale * small[key][0])
            verdict(f"linear {key}", ratio <= 1.2,
                    f"{big[key][0]:.2f} s vs {scale:g} x {small[key][0]:.2f} s = {ratio:.2f}x")
    return ok


if __name__ == "__main__":
    main()
