"""Short synthetic test signals for the audio tests (deterministic, seconds long)."""
from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import numpy as np
from scipy import signal

from toolkit import ffmpeg


def tone(db: float, seconds: float, rate: int = 48000, freq: float = 1000.0,
         channels: int = 2, phase_deg: float = 0.0) -> np.ndarray:
    """A sine at `db` dBFS peak, shape (frames, channels), float32."""
    t = np.arange(int(round(seconds * rate))) / rate
    x = 10 ** (db / 20) * np.sin(2 * np.pi * freq * t + np.deg2rad(phase_deg))
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32)


def speech_like(seconds: float, rate: int = 44100, level_db: float = -26.0,
                seed: int = 3, hot_peaks: bool = True) -> np.ndarray:
    """Formant-filtered noise in syllables and pauses, stereo, RMS about `level_db`."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    noise = rng.standard_normal(n)
    x = np.zeros(n)
    for lo, hi, w in ((300, 900, 1.0), (1200, 2600, 0.6), (3000, 7000, 0.15)):
        x += w * signal.sosfilt(signal.butter(2, [lo, hi], "bandpass", fs=rate, output="sos"), noise)
    env = np.zeros(n)
    pos = 0
    while pos < n:
        syl = int(rate * rng.uniform(0.12, 0.3))
        seg = np.sin(np.linspace(0, np.pi, syl)) ** 2 * rng.uniform(0.4, 1.0)
        env[pos:pos + syl] = seg[:max(0, min(syl, n - pos))]
        pos += syl + int(rate * rng.uniform(0.02, 0.4))
    x *= env
    x *= 10 ** (level_db / 20) / np.sqrt(np.mean(x ** 2))
    if hot_peaks:   # plosives: short transients far above the speech level
        for p in rng.integers(0, n - 400, max(1, int(seconds))):
            x[p:p + 200] *= 5.0
    x = np.clip(x, -0.95, 0.95)
    return np.stack([x, 0.9 * np.roll(x, 11)], axis=1).astype(np.float32)


def write_wav(path: Path, samples: np.ndarray, rate: int, bits: int = 16) -> Path:
    """Write float samples (frames, channels) as a PCM WAV."""
    samples = np.asarray(samples)
    if samples.ndim == 1:
        samples = samples[:, None]
    with wave.open(str(path), "wb") as w:
        w.setnchannels(samples.shape[1])
        w.setframerate(rate)
        if bits == 16:
            w.setsampwidth(2)
            w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
        else:
            w.setsampwidth(4)
            w.writeframes((np.clip(samples, -1, 1) * (2**31 - 1)).astype("<i4").tobytes())
    return path


def convert(src: Path, dst: Path, *args: str) -> Path:
    """Convert with the project's ffmpeg (format by dst's extension)."""
    ffmpeg.run(["-v", "error", "-i", str(src), *args, "-y", str(dst)], what="test convert")
    return dst


def decode_all(path: Path, rate: int, channels: int) -> np.ndarray:
    """A whole (short) file as float32 (frames, channels)."""
    chunks = list(ffmpeg.decode(path, sample_rate=rate, channels=channels))
    return np.concatenate(chunks) if chunks else np.zeros((0, channels), np.float32)


def ebur128(path: Path) -> dict[str, float]:
    """ffmpeg's own meter (an independent check): I, LRA and true peak of a file."""
    proc = subprocess.run([ffmpeg.binary(), "-hide_banner", "-nostats", "-i", str(path),
                           "-af", "ebur128=peak=true", "-f", "null", "-"],
                          capture_output=True, text=True, check=True)
    summary = proc.stderr[proc.stderr.rfind("Summary:"):]
    def grab(label: str) -> float:
        line = next(ln for ln in summary.splitlines() if ln.strip().startswith(label))
        return float(line.split(":")[1].split()[0])
    return {"I": grab("I:"), "LRA": grab("LRA:"), "TP": grab("Peak:")}


def pink_noise(seconds: float, rate: int = 44100, rms_db: float = -50.0, seed: int = 5,
               channels: int = 2) -> np.ndarray:
    """Pink (1/f) noise with an RMS of `rms_db` dBFS, independent per channel."""
    n = int(round(seconds * rate))
    rng = np.random.default_rng(seed)
    spec = np.fft.rfft(rng.standard_normal((n, channels)), axis=0)
    f = np.arange(spec.shape[0], dtype=np.float64)
    f[0] = 1.0
    x = np.fft.irfft(spec / np.sqrt(f)[:, None], n=n, axis=0)
    x *= 10 ** (rms_db / 20) / np.sqrt(np.mean(x ** 2))
    return x.astype(np.float32)


def two_voices(turn_s: float, turns: int, rate: int = 44100, levels_db: tuple = (-16.0, -28.0)
               ) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """Speakers taking turns at different loudness: (samples, [(voice, start, end) frames]).

    Each turn is speech_like with its own seed, scaled to the voice's integrated loudness
    with podkit's meter, so the levels are known (LUFS) before any processing.
    """
    from toolkit.audio import loudness
    chunks, spans, pos = [], [], 0
    for t in range(turns):
        voice = t % len(levels_db)
        x = speech_like(turn_s, rate=rate, seed=11 + t, hot_peaks=False)
        x *= 10 ** ((levels_db[voice] - loudness.measure_array(x, rate).integrated) / 20)
        chunks.append(np.clip(x, -0.98, 0.98))      # a few loud voice's peaks (< 0.1 LU)
        spans.append((voice, pos, pos + len(x)))
        pos += len(x)
    return np.concatenate(chunks).astype(np.float32), spans
