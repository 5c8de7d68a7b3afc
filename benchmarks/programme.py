"""Synthetic test programmes for the audio benchmark (deterministic, streamed to WAV).

- `speech`: speech-like material (formant-filtered noise in syllables and words) from
  speakers at different levels, quiet passages, music-like beds under some talk and
  loud music interludes. It measures about -20 LUFS with peaks near -1 dBTP, so gain
  alone cannot reach -16 LUFS without the limiter.
- `music`: mostly dense music-like material (chords, noise percussion).
- `clipped`: loud, hard-clipped material (a limiter must pull it *down*).
"""
from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
from scipy import signal

RATE = 44100
SECTION_S = 10.0


def _speech(rng: np.random.Generator, n: int, level_db: float) -> np.ndarray:
    noise = rng.standard_normal(n)
    out = np.zeros(n)
    # Two formant-ish resonances and some breath noise above 2 kHz.
    for lo, hi, w in ((300, 900, 1.0), (1200, 2600, 0.6), (3000, 7000, 0.15)):
        sos = signal.butter(2, [lo, hi], btype="bandpass", fs=RATE, output="sos")
        out += w * signal.sosfilt(sos, noise)
    env = np.zeros(n)
    pos = 0
    while pos < n:                      # words of 2-6 syllables, then a pause
        for _ in range(int(rng.integers(2, 7))):
            syl = int(RATE * rng.uniform(0.12, 0.3))
            seg = np.sin(np.linspace(0, np.pi, syl)) ** 2 * rng.uniform(0.4, 1.0)
            env[pos:pos + syl] = seg[:max(0, min(syl, n - pos))]
            pos += syl
        pos += int(RATE * rng.uniform(0.1, 0.7))
    x = out * env
    x *= 10 ** (level_db / 20) / (np.sqrt(np.mean(x ** 2)) + 1e-12)
    return x


def _music(rng: np.random.Generator, n: int, level_db: float, dense: bool) -> np.ndarray:
    t = np.arange(n) / RATE
    x = np.zeros(n)
    chord_len = int(RATE * 2.0)
    for start in range(0, n, chord_len):
        root = 110 * 2 ** (rng.integers(0, 12) / 12)
        seg = slice(start, min(n, start + chord_len))
        for ratio in (1, 1.25, 1.5, 2):
            for h in range(1, 6):
                x[seg] += np.sin(2 * np.pi * root * ratio * h * t[seg]) / h
    if dense:                           # percussion: noise bursts on the beat
        hits = np.zeros(n)
        hits[::RATE // 2] = 1.0
        burst = rng.standard_normal(RATE // 20) * np.exp(-np.linspace(0, 8, RATE // 20))
        x += 3 * signal.fftconvolve(hits, burst)[:n]
    x *= 10 ** (level_db / 20) / (np.sqrt(np.mean(x ** 2)) + 1e-12)
    return x


def _section(rng: np.random.Generator, kind: str, index: int) -> np.ndarray:
    n = int(SECTION_S * RATE)
    if kind == "music":
        x = _music(rng, n, rng.uniform(-22, -16), dense=True)
        if index % 6 == 5:
            x = _speech(rng, n, -24)
    elif kind == "clipped":
        x = np.clip(_music(rng, n, -8, dense=True) * 2.5, -0.99, 0.99)
    else:
        roll = index % 12
        level = float(rng.choice([-24.0, -27.0, -30.0, -22.0]))   # speakers at varied levels
        if roll == 5:
            x = _music(rng, n, -18, dense=True)                    # loud interlude
        elif roll == 9:
            x = _speech(rng, n, -42)                               # quiet passage
        else:
            x = _speech(rng, n, level)
            if roll in (2, 3):
                x += _music(rng, n, -38, dense=False)              # a bed under talk
        # A few hot transients, as real speech has (plosives, laughs): up to 12 dB over.
        swell = 1.0 + 3.0 * np.hanning(600)
        for pos in rng.integers(0, n - 600, 3):
            x[pos:pos + 600] *= swell
    if kind != "clipped":
        # Analogue-style saturation keeps peaks near -1 dBFS, as a real unprocessed master.
        x = 0.89 * np.tanh(x / 0.89)
    return np.stack([x, np.roll(x, 17) * 0.9], axis=1)


def write(path: Path, seconds: float, kind: str = "speech", seed: int = 1) -> Path:
    """Write a 16-bit stereo 44.1 kHz WAV of `seconds` to path (streamed, flat memory)."""
    rng = np.random.default_rng(seed)
    sections = max(1, int(round(seconds / SECTION_S)))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(RATE)
        for i in range(sections):
            x = _section(rng, kind, i)
            w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())
    return path
