"""Synthesized music and Ogg Vorbis encoding for scripts/make_sample_show.py.

Stings and the music bed are additive synthesis in numpy (no randomness), so they are
the same on every run. Encoding goes through podkit's own ffmpeg runner.
"""
from __future__ import annotations

import logging
import re
import wave
from pathlib import Path

import numpy as np

from toolkit import ffmpeg
from toolkit.fsutil import atomic_path

log = logging.getLogger("make_sample_show")

SR = 44100
#: libvorbis quality per channel count: modest, as a broadcaster's web audio would be.
VORBIS_QUALITY = {1: 1, 2: 2}


def silence(seconds: float, channels: int = 1) -> np.ndarray:
    """`seconds` of digital silence, mono (n,) or (n, channels)."""
    n = int(round(seconds * SR))
    return np.zeros(n if channels == 1 else (n, channels), dtype=np.float32)


def to_mono(audio: np.ndarray) -> np.ndarray:
    """Average the channels of an (n, c) array."""
    return audio.mean(axis=1).astype(np.float32) if audio.ndim == 2 else audio


def _note(freq: float, seconds: float, decay: float) -> np.ndarray:
    """A bell-like tone: a few harmonics, 8 ms attack, exponential decay."""
    t = np.arange(int(seconds * SR)) / SR
    tone = sum(a * np.sin(2 * np.pi * freq * h * t) for h, a in ((1, 1.0), (2, 0.35), (3, 0.15), (4, 0.07)))
    env = np.minimum(t / 0.008, 1.0) * np.exp(-t / decay)
    return (tone * env).astype(np.float32)


def _hz(semitones_from_a4: int) -> float:
    return 440.0 * 2 ** (semitones_from_a4 / 12)


# D major pentatonic, in semitones from A4: D4 F#4 A4 B4 D5 F#5 A5.
_SCALE = [-7, -3, 0, 2, 5, 9, 12]


def sting(rising: bool) -> np.ndarray:
    """A 4-5 s stereo sting: an arpeggio up (intro) or down (outro), then a ringing chord."""
    order = _SCALE[:5] if rising else _SCALE[:1:-1]
    chord = [5, 9, 12] if rising else [-7, -3, 5]
    length = 4.6 if rising else 5.0
    out = np.zeros((int(length * SR), 2), dtype=np.float32)
    for i, step in enumerate(order):
        note = _note(_hz(step), 1.2, 0.45)
        at = int(i * 0.17 * SR)
        pan = 0.3 + 0.4 * (i % 2)          # alternate left and right of centre
        out[at:at + note.size, 0] += note * (1 - pan)
        out[at:at + note.size, 1] += note * pan
    at = int(len(order) * 0.17 * SR + 0.05 * SR)
    for step in chord + [-19]:           # plus a low D2 under the chord
        note = _note(_hz(step), length, 1.1)[:out.shape[0] - at] * (0.6 if step == -19 else 0.45)
        out[at:] += note[:, None]
    # A ping-pong echo gives the dry synthesis some space.
    d = int(0.23 * SR)
    out[d:, 0] += 0.3 * out[:-d, 1]
    out[d:, 1] += 0.3 * out[:-d, 0]
    fade = int(0.4 * SR)
    out[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None]
    return out * (0.5 / float(np.max(np.abs(out))))


def bed(seconds: float) -> np.ndarray:
    """A quiet mono pad (D, Bm, G, A, eight seconds each) `seconds` long, faded in and out."""
    t = np.arange(int(seconds * SR)) / SR
    chords = [[-19, -12, -3], [-22, -15, -7], [-26, -19, -10], [-24, -17, -8]]
    out = np.zeros(t.size, dtype=np.float64)
    span = 8.0
    for k in range(int(seconds // span) + 1):
        # Each chord swells in and out with a raised-cosine window overlapping its neighbours.
        # Computed only where its window is open (elsewhere it adds nothing): same samples.
        lo = max(0, int(np.floor((k * span - 2.0) * SR)))
        hi = min(t.size, int(np.ceil((k * span + span + 2.0) * SR)) + 1)
        tk = t[lo:hi]
        w = np.clip((tk - (k * span - 2.0)) / (span + 4.0), 0.0, 1.0)
        window = np.sin(np.pi * w) ** 2
        for step in chords[k % len(chords)]:
            f = _hz(step)
            out[lo:hi] += window * (np.sin(2 * np.pi * f * tk) + 0.2 * np.sin(4 * np.pi * f * tk))
    out *= 1.0 + 0.15 * np.sin(2 * np.pi * 0.2 * t)   # slow tremolo
    fade_in, fade_out = int(1.5 * SR), int(2.5 * SR)
    out[:fade_in] *= np.linspace(0.0, 1.0, fade_in)
    out[-fade_out:] *= np.linspace(1.0, 0.0, fade_out)
    return (out * (0.5 / np.max(np.abs(out)))).astype(np.float32)


def voice_chain(audio: np.ndarray, lufs: float = -23.0, peak_re_lufs: float = 12.0,
                window_s: float = 0.02) -> np.ndarray:
    """Mono speech through a broadcaster's voice processing: a fast peak compressor.

    Speech synthesis (like a raw microphone) peaks 18-21 dB above its loudness; a voice
    track a station delivers has been compressed to 12-15 dB. Without this the sample
    show's programmes needed 4-5 dB of true-peak limiting to reach -16 LUFS under
    -1 dBTP, and every `make demo` printed heavy-limiting warnings about the sample
    itself. Peaks more than `peak_re_lufs` above `lufs` (the level the part is set to
    afterwards) are pressed down at 4:1 over a 20 ms envelope (attack and release
    alike): no timing changes, so transcripts and chapters still fit.
    """
    from scipy.ndimage import maximum_filter1d, uniform_filter1d
    size = max(1, int(SR * window_s))
    env = uniform_filter1d(maximum_filter1d(np.abs(audio), size=size), size=size)
    # The envelope of a sine-like peak sits about 3 dB above its RMS-equivalent level.
    threshold = 10 ** ((lufs + peak_re_lufs - 3.0) / 20)
    gain = np.minimum(1.0, (threshold / np.maximum(env, 1e-9)) ** 0.75)
    return (audio * gain).astype(np.float32)


def rechain(files: list[Path], lufs: float, workdir: Path) -> None:
    """Put already encoded mono speech files through `voice_chain` (same length, re-encoded)."""
    for path in files:
        audio = np.concatenate([c[:, 0] for c in ffmpeg.decode(path, sample_rate=SR, channels=1)])
        encode(at_loudness(voice_chain(audio, lufs), lufs, workdir), path, workdir)


def _write_wav(audio: np.ndarray, path: Path) -> None:
    channels = 1 if audio.ndim == 1 else audio.shape[1]
    pcm = np.clip(np.round(audio * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(pcm.tobytes())


def loudness(audio: np.ndarray, workdir: Path) -> float:
    """Integrated loudness in LUFS (BS.1770, ffmpeg's ebur128 filter)."""
    wav = workdir / "measure.wav"
    _write_wav(audio, wav)
    err = ffmpeg.run(["-i", str(wav), "-af", "ebur128", "-f", "null", "-"],
                     what="measuring loudness", path=wav).stderr.decode("utf-8", "replace")
    # ffmpeg logs every 100 ms frame; the programme value follows the last "Summary:".
    m = re.search(r"I:\s+(-?[\d.]+) LUFS", err[err.rfind("Summary:"):])
    if m is None:
        raise SystemExit(f"no loudness in ffmpeg's ebur128 report for {wav}")
    return float(m.group(1))


def at_loudness(audio: np.ndarray, lufs: float, workdir: Path) -> np.ndarray:
    """Scale `audio` to an integrated loudness of `lufs`, refusing to clip."""
    gain = 10 ** ((lufs - loudness(audio, workdir)) / 20)
    out = (audio * gain).astype(np.float32)
    peak = float(np.max(np.abs(out)))
    if peak > 0.97:
        raise SystemExit(f"{lufs} LUFS would clip (sample peak {peak:.2f}); lower the target")
    return out


def encode(audio: np.ndarray, target: Path, workdir: Path) -> float:
    """Encode float audio to Ogg Vorbis at 44.1 kHz; return the decoded file's duration."""
    channels = 1 if audio.ndim == 1 else audio.shape[1]
    wav = workdir / f"{target.stem}.wav"
    _write_wav(audio, wav)
    with atomic_path(target, suffix=".ogg") as tmp:
        # bitexact pins the Ogg stream serial number and drops version strings,
        # so the same samples always give the same file.
        ffmpeg.run(["-y", "-i", str(wav), "-map_metadata", "-1", "-c:a", "libvorbis",
                    "-q:a", str(VORBIS_QUALITY[channels]), "-ar", str(SR),
                    "-fflags", "+bitexact", "-flags:a", "+bitexact", "-f", "ogg", str(tmp)],
                   what="encoding Ogg Vorbis", path=target)
    frames = sum(chunk.shape[0] for chunk in ffmpeg.decode(target, sample_rate=SR, channels=channels))
    if abs(frames - audio.shape[0]) > 1:
        raise SystemExit(f"{target}: decodes to {frames} frames, expected {audio.shape[0]}")
    log.debug("%s: %d frames", target, frames)
    return frames / SR


if __name__ == "__main__":
    # `python scripts/sample_audio.py FILE...`: the voice chain for files already committed
    # (how the sample's speech got it without re-running the synthesis).
    import sys
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        rechain([Path(a) for a in sys.argv[1:]], -23.0, Path(tmp))
