"""Benchmark: tagging a long MP3, against copying the same file (the floor).

    .venv/bin/python benchmarks/bench_tag.py [--minutes 60]

Builds a long 128 kbps MP3 cheaply (one minute encoded, its MPEG frames repeated), then
times, each in a fresh process so peak RSS is its own: a plain file copy (baseline),
`tag.tag_mp3` with a 1400 px cover, 12 chapters and a transcript, and
`transcript.write_all` for a one-cue-per-sentence WebVTT transcript of the same length.
Prints wall time, peak RSS and the ratio to the baseline.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, resource, shutil, sys, time
from datetime import datetime, timezone
from pathlib import Path
sys.path.insert(0, sys.argv[1])
what, work = sys.argv[2], Path(sys.argv[3])
src = work / "long.mp3"
t0 = time.perf_counter()
if what == "copy":
    shutil.copyfile(src, work / "copy.mp3")
elif what == "tag":
    from PIL import Image
    from toolkit.config import presets
    from toolkit.tags import id3 as tag
    from toolkit.text import chapters
    from toolkit.model import Category, Chapter, Episode, Owner, PublishTarget, Show
    art = work / "art.jpg"
    if not art.exists():
        Image.linear_gradient("L").resize((3000, 3000)).convert("RGB").save(art, quality=95)
    show = Show(id="s", path=work / "s.toml", title="Show", description="d", link="https://e.org/",
                language="en", author="A", owner=Owner("A", "a@e.org"), categories=(Category("News"),),
                explicit=False, artwork=art, base_url="https://e.org/", feed_url="https://e.org/f.xml",
                preset=presets.get("podcast"), publish=PublishTarget())
    dur = tag.mp3_duration(src)
    chs = tuple(Chapter(i * dur / 12, f"Chapter {i}") for i in range(12))
    ep = Episode(slug="e", dir=work, path=work / "e.toml", feed="s", title="T",
                 date=datetime(2024, 1, 1, tzinfo=timezone.utc), parts=(), guid="g", chapters=chs)
    text = " ".join(["A sentence of about ten words in the transcript here."] * 900)
    tag.tag_mp3(src, show, ep, chapters=chapters.resolve(ep, (), dur), transcript_text=text,
                out=work / "tagged.mp3")
elif what == "transcripts":
    from toolkit.text import transcript
    from toolkit.model import TranscriptFormat, TranscriptSource
    minutes = float(sys.argv[4])
    lines = ["WEBVTT", ""]
    for i in range(int(minutes * 60 / 4)):
        s = i * 4
        lines += [str(i + 1), f"{s//3600:02d}:{s//60%60:02d}:{s%60:02d}.000 --> "
                  f"{(s+4)//3600:02d}:{(s+4)//60%60:02d}:{(s+4)%60:02d}.000",
                  f"<v Host>Sentence number {i} of the programme, spoken clearly.", ""]
    vtt = work / "in.vtt"
    vtt.write_text("\n".join(lines), encoding="utf-8")
    t = transcript.load(TranscriptSource(vtt, TranscriptFormat.VTT, "en"), duration=minutes * 60 + 5)
    transcript.write_all([t], work / "out", url_of=str)
wall = time.perf_counter() - t0
print(json.dumps({"wall": wall, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def make_long_mp3(work: Path, minutes: int) -> Path:
    sys.path.insert(0, str(ROOT))
    from toolkit import ffmpeg
    from toolkit.tags import id3
    one = work / "one.mp3"
    ffmpeg.run(["-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440:duration=60", "-ac", "2",
                "-c:a", "libmp3lame", "-b:a", "128k", "-write_xing", "0", str(one)], what="bench mp3")
    start, end = id3.audio_span(one)
    frames = one.read_bytes()[start:end]
    out = work / "long.mp3"
    with open(out, "wb") as f:
        for _ in range(minutes):
            f.write(frames)
    return out


def run(what: str, work: Path, minutes: int) -> dict[str, float]:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), what, str(work), str(minutes)],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=int, default=60)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        src = make_long_mp3(work, args.minutes)
        print(f"input: {src.stat().st_size / 1e6:.1f} MB MP3, {args.minutes} min "
              f"(made in {time.perf_counter() - t0:.1f} s)")
        base = run("copy", work, args.minutes)
        print(f"{'step':<28}{'wall s':>9}{'peak RSS MB':>13}{'x copy':>9}")
        for what in ("copy", "tag", "transcripts"):
            r = base if what == "copy" else run(what, work, args.minutes)
            print(f"{what:<28}{r['wall']:>9.3f}{r['rss_mb']:>13.0f}{r['wall'] / base['wall']:>9.1f}")
        print(f"(python process baseline RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")


if __name__ == "__main__":
    main()
