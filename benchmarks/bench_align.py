"""Forced alignment benchmark: sentence-start error against known times, and cost.

    .venv/bin/python benchmarks/bench_align.py              # sample show + 20-minute programme
    .venv/bin/python benchmarks/bench_align.py --minutes 5  # a shorter generated programme

1. The sample show's second episode (pyeongchang-hockey): its transcript.vtt holds the
   script's true sentence times; the same text without times is aligned to episode.ogg.
2. A generated multi-voice programme of at least --minutes: the sample show's two
   scripts read by four eSpeak NG voices (tests/speech.py: the espeakng-loader wheel,
   no apt install), with music beds under some paragraphs and music stings between
   sections, encoded to MP3 as a master would be. True sentence times come from the
   synthesis.

Targets (issue 16): median sentence-start error <= 0.15 s, 95th percentile <= 0.5 s,
cost <= 0.1x real time (CPU seconds of this process and its ffmpeg per second of audio).
Exits 1 when a target is missed. Inputs are generated under build/bench/align/.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "scripts"))

from sample_audio import SR, bed, sting, to_mono  # noqa: E402
from speech import programme, write_wav  # noqa: E402

from toolkit import ffmpeg
from toolkit.model import AlignStatus, TranscriptFormat, TranscriptSource  # noqa: E402
from toolkit.text import align, transcript  # noqa: E402
from toolkit.text.transcript_read import drop_lines  # noqa: E402

BENCH = ROOT / "build" / "bench" / "align"
VOICES = [("Claire", "en-us+f3"), ("Ji-hoon", "en-gb-x-rp+m3"), ("Sam", "en-us+m1"),
          ("Ana", "en-gb-scotland+f2")]
MEDIAN_S, P95_S, COST = 0.15, 0.5, 0.1


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _errors(cues, truth: list[tuple[str, float]]) -> np.ndarray:  # type: ignore[no-untyped-def]
    """|aligned start - true start| of each true sentence, by its first word (the aligner's
    sentences may be cut differently: "Dr. Seo" ends none for podkit)."""
    words = [w for c in cues for w in c.words]
    assert [w.text for w in words] == " ".join(t for t, _ in truth).split(), "text differs"
    out, at = [], 0
    for text, start in truth:
        out.append(abs(words[at].start - start))
        at += len(text.split())
    return np.array(out)


def _run(name: str, text_path: Path, audio: Path, truth: list[tuple[str, float]],
         seconds: float) -> bool:
    text = transcript.load(TranscriptSource(text_path, TranscriptFormat.TEXT, "en"), duration=None)
    cache = BENCH / f"cache-{name}"
    for old in cache.glob("*.json") if cache.is_dir() else ():
        old.unlink()      # measure the aligner, not the cache
    clock, wall = _cpu(), time.perf_counter()
    result = align.align(text, audio, audio_key=name, cache_dir=cache)
    cpu, wall = _cpu() - clock, time.perf_counter() - wall
    if result.report.status is not AlignStatus.ALIGNED:
        print(f"{name}: NOT ALIGNED: {result.report.message}")
        return False
    err = _errors(result.transcript.cues, truth)
    med, p95, cost = float(np.median(err)), float(np.percentile(err, 95)), cpu / seconds
    ok = med <= MEDIAN_S and p95 <= P95_S and cost <= COST
    print(f"{name}: {seconds / 60:.1f} min, {len(err)} sentences, {result.report.words} words "
          f"({result.report.guessed} by eSpeak NG): start error median {med:.3f} s, p95 "
          f"{p95:.3f} s, max {err.max():.3f} s; {cpu:.1f} s CPU ({cost:.3f}x real time), "
          f"{wall:.1f} s wall  [{'OK' if ok else 'MISSED'}]")
    return ok


def sample_episode() -> bool:
    """The sample show's second episode against its script's times."""
    ep = ROOT / "episodes" / "pyeongchang-hockey"
    vtt = transcript.load(TranscriptSource(ep / "transcript.vtt", TranscriptFormat.VTT),
                          duration=None)
    BENCH.mkdir(parents=True, exist_ok=True)
    text_path = BENCH / "pyeongchang-hockey.txt"
    text_path.write_text("\n\n".join(f"{c.speaker}: {c.text}" for c in vtt.cues) + "\n", "utf-8")
    seconds = ffmpeg.probe(ep / "episode.ogg").duration or 0.0
    return _run("sample-episode", text_path, ep / "episode.ogg",
                [(c.text, c.start or 0.0) for c in vtt.cues], seconds)


def _script_paragraphs() -> list[str]:
    hanoi = ROOT / "episodes" / "hanoi-summit" / "transcript.txt"
    lines = drop_lines(hanoi.read_text("utf-8").splitlines(), (1, 2, 3, -2, -1), hanoi)
    lines += (ROOT / "scripts" / "sample_show" / "pyeongchang-hockey.txt").read_text(
        "utf-8").splitlines()
    return [ln.split(": ", 1)[1] for ln in lines if ": " in ln and not ln.startswith("#")]


def generated(minutes: float) -> bool:
    """A multi-voice programme with music beds and stings, at least `minutes` long."""
    paras = _script_paragraphs()
    rng = np.random.default_rng(16)
    pieces: list[np.ndarray] = []
    truth: list[tuple[str, float]] = []
    script: list[str] = []
    pos, n = 0, 0
    while pos < minutes * 60 * SR:
        chunk = [paras[(n + k) % len(paras)] for k in range(4)]
        voices = [VOICES[(n + k) % len(VOICES)] for k in range(4)]
        n += 4
        speech, spoken = programme([(v[0], v[1], p) for v, p in zip(voices, chunk)])
        speech = resample_poly(speech, 2, 1).astype(np.float32)     # 22.05 -> 44.1 kHz
        if rng.random() < 0.5:   # a music bed under the whole section, 16 dB under the voice
            music = bed(speech.size / SR + 0.1)[:speech.size]   # bed() may round one short
            music = to_mono(music) if music.ndim > 1 else music
            speech = speech + 0.16 * music[:speech.size] / max(1e-9, np.abs(music).max())
        stinger = to_mono(sting(rising=bool(n % 2)))
        stinger = 0.5 * stinger / max(1e-9, np.abs(stinger).max())
        pieces += [stinger, speech]
        pos += stinger.size
        truth += [(s.text, pos / SR + s.start) for s in spoken]
        para_speaker = ""
        for s in spoken:
            if s.speaker != para_speaker:
                script.append(f"\n{s.speaker}: {s.text}")
                para_speaker = s.speaker
            else:
                script[-1] += f" {s.text}"
        pos += speech.size
    audio = np.concatenate(pieces)
    seconds = audio.size / SR
    BENCH.mkdir(parents=True, exist_ok=True)
    wav, mp3 = BENCH / "programme.wav", BENCH / "programme.mp3"
    write_wav(wav, audio, SR)
    ffmpeg.run(["-v", "error", "-y", "-i", str(wav), "-c:a", "libmp3lame", "-b:a", "128k",
                str(mp3)], what="encoding the benchmark programme")
    text_path = BENCH / "programme.txt"
    text_path.write_text("\n".join(script).strip() + "\n", "utf-8")
    # The transcript's sentences must be the synthesized ones, in order.
    assert all(re.search(r"[.!?]$", t) for t, _ in truth)
    return _run("generated", text_path, mp3, truth, seconds)


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20.0,
                        help="length of the generated programme (default 20)")
    parser.add_argument("--us-only", action="store_true",
                        help="only the two US-English voices (the model's own accent)")
    args = parser.parse_args()
    if args.us_only:
        VOICES[:] = [v for v in VOICES if v[1].startswith("en-us")]
    load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
    print(f"bench_align: load {load}")
    ok = sample_episode()
    ok = generated(args.minutes) and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
