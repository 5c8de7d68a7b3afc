"""Speech processing benchmark on generated material with known truth (issue 16, part e).

    .venv/bin/python benchmarks/bench_processing.py            # about 5 minutes
    .venv/bin/python benchmarks/bench_processing.py --minutes 2 --repeat 2

1. Leveller: two voices taking 15 s turns at -16 and -28 LUFS (measured on the input
   with ffmpeg's ebur128). Built with `processing = ["level"]` (broadcast preset, -23 LUFS,
   where the limiter stays out of the way; a 44.1 kHz WAV rendition beside the MP3 so the
   output lines up sample for sample with the input): each voice's loudness in the output
   (ebur128 over its turns) within 3 LU of the other; the MP3's integrated loudness on
   target (-23 LUFS +- 0.5, ebur128); the leveller's gain
   never faster than MAX_RATE_DB_S (6 dB/s): exact in the plan (qc.json), and measured
   on the audio: the levelled output over the same build without the leveller, per
   10 ms block, compared 100 ms apart wherever both blocks hold speech.
2. Clean-up: speech with pink noise at -50 dBFS RMS and a 50 Hz hum at -40 dBFS peak,
   built with and without `["highpass", "dehum", "denoise"]`: the noise floor in pauses
   >= 12 dB lower and the hum >= 20 dB lower (speechlevel.Analyzer on the decoded MP3s,
   both at the same loudness target), and the processing itself changing the speech's
   loudness by <= 1 LU (ebur128 of the input and of the processed render before any gain).
3. Cost: CPU time (user + system, this process and ffmpeg) of the full build with
   `processing = "speech"` minus the build without, against a bare LAME encode of the
   same input; each in a fresh process, best of --repeat. Target <= 0.5x.

Exits 1 when a target is missed. Inputs and outputs live under build/bench/processing/.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import numpy as np  # noqa: E402
from audiosignals import decode_all, ebur128, pink_noise, speech_like, tone, two_voices, write_wav  # noqa: E402

from toolkit import ffmpeg
from toolkit.audio import assemble, master, processing, speechlevel
from toolkit.config import presets, speechconf  # noqa: E402
from toolkit.model import AudioPart, Episode, Processing  # noqa: E402

BENCH = ROOT / "build" / "bench" / "processing"
RATE = 44100
CLEANUP = Processing(highpass_hz=80.0, dehum=True, denoise_db=18.0)


def _episode(src: Path, proc: Processing | None) -> Episode:
    return Episode(slug="bench", dir=BENCH, path=BENCH / "episode.toml", feed="bench",
                   title="Benchmark", date=datetime(2024, 1, 1, tzinfo=timezone.utc),
                   parts=(AudioPart(src, title="Programme"),), guid="bench", processing=proc)


def _build(src: Path, proc: Processing | None, cache: str, wav: bool = False,
           preset_name: str = "podcast"):
    preset = presets.get(preset_name)
    if wav:
        preset = replace(preset, encoding=replace(preset.encoding, wav=True, sample_rate=RATE,
                                                  wav_sample_rate=RATE, wav_bits=24))
    folder = BENCH / cache
    for old in folder.glob("*"):
        old.unlink()
    return master.build_audio(_episode(src, proc), preset, preset.loudness, folder)


def _windows_db(x: np.ndarray, win: int, hop: int) -> np.ndarray:
    e = np.concatenate([[0.0], np.cumsum(np.mean(x.astype(np.float64) ** 2, axis=1))])
    starts = np.arange(0, len(x) - win, hop)
    return 10 * np.log10(np.maximum((e[starts + win] - e[starts]) / win, 1e-20))


def leveller(turn_s: float, turns: int) -> tuple[dict, bool]:
    x, spans = two_voices(turn_s, turns, RATE)
    src = write_wav(BENCH / "voices.wav", x, RATE, bits=16)
    # The broadcast target (-23 LUFS) keeps both builds under the limiter, so the levelled
    # build over the plain one is the leveller's gain alone.
    plain = _build(src, None, "voices-plain", wav=True, preset_name="broadcast")
    done = _build(src, Processing(level=True), "voices-level", wav=True,
                  preset_name="broadcast")
    out, ref = decode_all(done.wav, RATE, 2), decode_all(plain.wav, RATE, 2)

    def per_voice(sig: np.ndarray, name: str) -> list[float]:
        return [ebur128(write_wav(BENCH / f"{name}-{v}.wav", np.concatenate(
            [sig[s:e] for w, s, e in spans if w == v]), RATE))["I"] for v in (0, 1)]
    before, after = per_voice(x, "in"), per_voice(out, "out")
    # The leveller's gain as heard: levelled over not levelled (no limiter at -23 LUFS,
    # so the ratio is the leveller's gain plus a constant), in 10 ms blocks, compared
    # 100 ms apart where both blocks hold speech (within 40 dB of the loudest block).
    blk = RATE // 100
    gain = _windows_db(out, blk, blk) - _windows_db(ref, blk, blk)
    level_in = _windows_db(ref, blk, blk)
    speech = level_in > level_in.max() - 40
    step = 10
    both = speech[step:] & speech[:-step]
    rates = np.abs(gain[step:] - gain[:-step])[both] / (step * blk / RATE)
    q = json.loads(done.qc_json.read_text())["processing"]
    res = {"voices_in_lufs": before, "voices_out_lufs": after,
           "spread_in_lu": round(abs(before[0] - before[1]), 2),
           "spread_out_lu": round(abs(after[0] - after[1]), 2),
           "mp3_I": ebur128(done.mp3)["I"], "plan_max_rate_db_s": q["leveller"]["max_rate_db_per_s"],
           "audio_max_rate_db_s": round(float(rates.max()), 2),
           "audio_p99_rate_db_s": round(float(np.percentile(rates, 99)), 2),
           "qc_spread_before_after": [q["before"]["speaker_spread_lu"],
                                      q["after"]["speaker_spread_lu"]]}
    ok = (res["spread_out_lu"] <= 3.0 and abs(res["mp3_I"] + 23.0) <= 0.5
          and res["plan_max_rate_db_s"] <= speechlevel.MAX_RATE_DB_S + 1e-6
          and res["audio_max_rate_db_s"] <= speechlevel.MAX_RATE_DB_S + 1.0)
    return res, ok


def cleanup_input(minutes: float) -> Path:
    path = BENCH / f"noisy-{minutes:g}.wav"
    if not path.exists():
        s = minutes * 60
        x = speech_like(s, RATE, hot_peaks=False) + pink_noise(s, RATE, -50.0) + tone(
            -40.0, s, RATE, freq=50.0)
        write_wav(path, x, RATE, bits=16)
    return path


def cleanup(src: Path) -> tuple[dict, bool]:
    plain = _build(src, None, "noisy-plain")
    done = _build(src, CLEANUP, "noisy-clean")

    def figures(path: Path) -> dict:
        a = speechlevel.Analyzer(RATE)
        for chunk in ffmpeg.decode(path, sample_rate=RATE, channels=2):
            a.feed(chunk)
        return a.figures()
    before, after = figures(plain.mp3), figures(done.mp3)
    # The processing alone, before any gain: the render with the processing staged.
    ep = _episode(src, CLEANUP)
    prep = processing.prepare(ep, presets.get("podcast"), RATE, 2, BENCH / "stage")
    try:
        rendered = np.concatenate(list(assemble.Render(ep.parts, RATE, 2, prep.stages)))
    finally:
        prep.remove()
    loud_in = ebur128(src)["I"]
    loud_out = ebur128(write_wav(BENCH / "noisy-processed.wav", rendered, RATE, bits=32))["I"]
    res = {"noise_floor_dbfs": [before["noise_floor_dbfs"], after["noise_floor_dbfs"]],
           "hum_dbfs": [before["hum_dbfs"], after["hum_dbfs"]],
           "noise_lower_db": round(before["noise_floor_dbfs"] - after["noise_floor_dbfs"], 1),
           "hum_lower_db": round(before["hum_dbfs"] - after["hum_dbfs"], 1),
           "speech_lufs_in_out": [loud_in, loud_out],
           "speech_change_lu": round(abs(loud_out - loud_in), 2)}
    ok = res["noise_lower_db"] >= 12 and res["hum_lower_db"] >= 20 and res["speech_change_lu"] <= 1
    return res, ok


def _cpu_run(argv: list[str]) -> tuple[float, float]:
    """(wall, CPU user + system of the child and its children) of one fresh process."""
    t0 = time.perf_counter()
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, check=True, capture_output=True)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (time.perf_counter() - t0,
            r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)


def cost(src: Path, repeat: int) -> tuple[dict, bool]:
    runs: dict[str, list[tuple[float, float]]] = {"encode": [], "plain": [], "speech": []}
    for _ in range(repeat):
        runs["encode"].append(_cpu_run([ffmpeg.binary(), "-hide_banner", "-nostdin", "-v",
                                        "error", "-y", "-i", str(src), "-c:a", "libmp3lame",
                                        "-b:a", "128k", str(BENCH / "bare.mp3")]))
        for kind in ("plain", "speech"):
            runs[kind].append(_cpu_run([sys.executable, __file__, "--worker", kind, str(src)]))
    best = {k: (min(w for w, _c in v), min(c for _w, c in v)) for k, v in runs.items()}
    extra_cpu = best["speech"][1] - best["plain"][1]
    extra_wall = best["speech"][0] - best["plain"][0]
    res = {k: {"wall_s": round(w, 2), "cpu_s": round(c, 2)} for k, (w, c) in best.items()}
    res["processing_extra_cpu_s"] = round(extra_cpu, 2)
    res["processing_extra_wall_s"] = round(extra_wall, 2)
    res["ratio_cpu_vs_encode"] = round(extra_cpu / best["encode"][1], 2)
    res["ratio_wall_vs_encode"] = round(extra_wall / best["encode"][0], 2)
    return res, res["ratio_cpu_vs_encode"] <= 0.5


def worker(kind: str, src: Path) -> None:
    """One full build in this (fresh) process, with or without `processing = "speech"`."""
    _build(src, speechconf.SPEECH if kind == "speech" else None, f"cost-{kind}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=5, help="clean-up and cost input length")
    ap.add_argument("--turn", type=float, default=15, help="seconds per speaker turn")
    ap.add_argument("--turns", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3, help="cost runs (best kept)")
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    BENCH.mkdir(parents=True, exist_ok=True)
    if args.worker:
        worker(args.worker[0], Path(args.worker[1]))
        return
    print(f"load {os.getloadavg()[0]:.1f}, ffmpeg {ffmpeg.info().version}", flush=True)
    results, failed = {}, []
    for name, run in (("leveller", lambda: leveller(args.turn, args.turns)),
                      ("cleanup", lambda: cleanup(cleanup_input(args.minutes))),
                      ("cost", lambda: cost(cleanup_input(args.minutes), args.repeat))):
        res, ok = run()
        results[name] = res
        print(f"{name}: {'OK' if ok else 'MISSED'} {json.dumps(res)}", flush=True)
        if not ok:
            failed.append(name)
    (BENCH / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    if failed:
        sys.exit(f"targets missed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
