"""Audio for the corpus: hostile and unusual inputs made with ffmpeg in tmp_path, planted in
the corpus show, and the checks that a built MP3 is right (measured, never assumed).

Every signal is a few seconds long. The checks read the real MP3 back: its sample rate and
channels from ffmpeg's report, its length by decoding it, its loudness and true peak with
ffmpeg's own `ebur128` meter (independent of podkit's meter), its tags with mutagen.
"""
from __future__ import annotations

import json
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
from audiosignals import decode_all, ebur128, speech_like, write_wav
from corpus_support import EP, EP_TOML, Run, edit

from toolkit import ffmpeg

RATE = 44100           # the podcast preset's sample rate and channels: what every MP3 must have
TARGET = -16.0         # the podcast preset's stereo target (LUFS)
CEILING = -1.0         # its true-peak ceiling (dBTP)
STAGE = "build/stage/test-radio/episodes/first-episode"

Maker = Callable[[Path], None]


# ---- making the inputs -----------------------------------------------------------------------

def lavfi(path: Path, *args: str) -> Path:
    """Run ffmpeg with `args` (inputs, filters, codec) writing `path`."""
    ffmpeg.run(["-v", "error", *args, "-y", str(path)], what="making corpus audio", path=path)
    return path


def sine(freq: float, seconds: float, rate: int = RATE) -> list[str]:
    """An ffmpeg lavfi input: a sine at -18 dBFS peak (lavfi's amplitude 1/8)."""
    return ["-f", "lavfi", "-i", f"sine=frequency={freq}:sample_rate={rate}:duration={seconds}"]


def speech_wav(path: Path, seconds: float, rate: int = RATE, channels: int = 2,
               level_db: float = -26.0, bits: int = 16) -> Path:
    """Speech-like noise (syllables and pauses; not periodic, so waveforms can be aligned),
    made at 44.1 kHz or more (its formants reach 7 kHz), converted by ffmpeg when needed."""
    x = speech_like(seconds, max(rate, RATE), level_db=level_db, hot_peaks=False)
    if bits == 16 and rate >= RATE:
        return write_wav(path, x[:, :channels], rate)
    tmp = write_wav(path.with_suffix(".f.wav"), x[:, :channels], max(rate, RATE), bits=32)
    lavfi(path, "-i", str(tmp), "-ar", str(rate), "-c:a", f"pcm_s{bits}le")
    tmp.unlink()
    return path


def data_chunk(data: bytes) -> tuple[int, int]:
    """(offset of the samples, declared size) of a plain RIFF WAV's data chunk."""
    at = data.find(b"data", 12)
    return at + 8, struct.unpack("<I", data[at + 4:at + 8])[0]


def truncated_wav(path: Path) -> None:
    """3 s of stereo 16-bit audio whose file was cut after 1.5 s (the header still says 3 s)."""
    lavfi(path, *sine(440, 3), "-ac", "2")
    data = path.read_bytes()
    start, _ = data_chunk(data)
    path.write_bytes(data[:start + int(1.5 * RATE) * 4])


def truncated_mp3(path: Path) -> None:
    """A 3 s MP3 (LAME's Info header counts its frames) cut in the middle of a frame."""
    lavfi(path, *sine(440, 3), "-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k")
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2 + 101])


def wrapped_riff(path: Path, seconds: float = 1.0) -> None:
    """A plain RIFF WAV of 4 GiB + 1 s as a recorder that ignores the limit writes it: the
    32-bit size fields wrapped around (they say 1 s). Sparse: only the first second is real."""
    lavfi(path, *sine(440, seconds), "-ac", "2")
    data = bytearray(path.read_bytes())
    start, size = data_chunk(bytes(data))
    total = start + size + 2**32
    data[4:8] = struct.pack("<I", (total - 8) % 2**32)
    with open(path, "r+b") as f:
        f.write(data[:start])
        f.truncate(total)          # a hole: nothing is written, nothing is read back


def surround(path: Path, seconds: float = 4.0) -> None:
    """5.1 (FL FR FC LFE BL BR) with one tone per channel: 300, 500, 700, 60, 900, 1100 Hz."""
    freqs = (300, 500, 700, 60, 900, 1100)
    inputs = [a for f in freqs for a in sine(f, seconds, 48000)]
    joined = "".join(f"[{i}]" for i in range(6))
    # join matches mono (FC) inputs by name first: map every input explicitly.
    mapping = "|".join(f"{i}.0-{c}" for i, c in enumerate(("FL", "FR", "FC", "LFE", "BL", "BR")))
    lavfi(path, *inputs, "-filter_complex",
          f"{joined}join=inputs=6:channel_layout=5.1:map={mapping},volume=-6dB")


def clipped(path: Path, seconds: float = 6.0) -> None:
    """Quiet speech whose plosives were recorded far too hot: hard-clipped at 0 dBFS.

    The programme measures about -26 LUFS with a true peak above 0 dBTP, so reaching
    -16 LUFS needs about +10 dB of gain and some 12 dB of limiting on the clipped bursts.
    """
    x = speech_like(seconds, RATE, level_db=-34.0, hot_peaks=False).astype(np.float64)
    rng = np.random.default_rng(11)
    for p in rng.integers(RATE // 2, len(x) - RATE // 2, 6):
        x[p:p + 200] *= 20.0
    write_wav(path, np.clip(x, -1.0, 1.0), RATE)


def tagged_mp3(path: Path) -> None:
    """Speech as MP3 carrying an ID3v2.3 tag (with a cover and a TXXX), ID3v1 and APEv2 tags,
    each holding the word LEAK that must never reach the built episode."""
    from mutagen.apev2 import APEv2
    from mutagen.id3 import APIC, COMM, ID3, TIT2, TPE1, TXXX
    src = speech_wav(path.with_suffix(".src.wav"), 4.0)
    lavfi(path, "-i", str(src), "-c:a", "libmp3lame", "-b:a", "192k")
    src.unlink()
    ape = APEv2()                                   # APE first: [ID3v2][audio][APE][ID3v1]
    ape["Title"] = "LEAK ape title"
    ape.save(path)
    tags = ID3()
    tags.add(TIT2(encoding=1, text="LEAK source title"))
    tags.add(TPE1(encoding=1, text="LEAK artist"))
    tags.add(COMM(encoding=1, lang="eng", desc="", text="LEAK comment"))
    tags.add(TXXX(encoding=1, desc="LEAK", text="from the editor"))
    tags.add(APIC(encoding=0, mime="image/png", type=3, desc="LEAK cover",
                  data=b"\x89PNG\r\n\x1a\n" + b"LEAK" * 500))
    tags.save(path, v2_version=3, v1=2)             # v1=2: also write an ID3v1 tag
    data = path.read_bytes()
    assert data[:3] == b"ID3" and data[-128:-125] == b"TAG" and b"APETAGEX" in data


def rf64(path: Path) -> None:
    """4 s of speech as an RF64 WAV (ffmpeg's `-rf64 always`: the format of WAVs over 4 GiB)."""
    src = speech_wav(path.with_suffix(".src.wav"), 4.0)
    lavfi(path, "-i", str(src), "-rf64", "always")
    src.unlink()


def sting(path: Path, seconds: float = 2.0) -> None:
    """A stereo sting: 660 Hz on the left, 990 Hz on the right."""
    lavfi(path, *sine(660, seconds), *sine(990, seconds), "-filter_complex",
          "[0][1]join=inputs=2:channel_layout=stereo")


def audio_single(name: str, make: Maker) -> Callable[[Path], None]:
    """Plant: the episode becomes one file, `audio = name`, made by `make`."""
    def plant(root: Path) -> None:
        make(root / EP / name)
        toml = root / EP_TOML
        text = toml.read_text("utf-8")
        toml.write_text(text[:text.index("[[parts]]")] + f'audio = "{name}"\n', "utf-8")
    return plant


def audio_part(name: str, make: Maker, *, replaces: str = "intro.flac") -> Callable[[Path], None]:
    """Plant: the part that was `replaces` becomes `name`, made by `make`."""
    def plant(root: Path) -> None:
        make(root / EP / name)
        edit(root / EP_TOML, f'"{replaces}"', f'"{name}"')
    return plant


# ---- checking the output ---------------------------------------------------------------------

def built_mp3(root: Path) -> Path:
    """The one MP3 the build left in the stage."""
    (mp3,) = (root / STAGE).glob("first-episode-*.mp3")
    return mp3


def check_mp3(root: Path, seconds: float, *, tolerance: float = 0.03) -> np.ndarray:
    """The MP3 is 44.1 kHz stereo, `seconds` long, -16 LUFS ±0.5 LU and at most -1 dBTP by
    ffmpeg's ebur128. Returns its decoded samples for further checks."""
    mp3 = built_mp3(root)
    info = ffmpeg.probe(mp3)
    assert (info.codec, info.sample_rate, info.channels) == ("mp3", RATE, 2), info
    x = decode_all(mp3, RATE, 2)
    assert abs(len(x) / RATE - seconds) <= tolerance, (len(x) / RATE, seconds)
    meter = ebur128(mp3)
    assert abs(meter["I"] - TARGET) <= 0.5, meter
    assert meter["TP"] <= CEILING, meter
    return x


def amplitude(x: np.ndarray, freq: float) -> float:
    """The amplitude of `freq` (whole Hz) in one channel, from one second in the middle."""
    mid = len(x) // 2
    seg = x[mid - RATE // 2: mid + RATE // 2]
    spectrum = np.abs(np.fft.rfft(seg * np.hanning(len(seg)))) / (len(seg) / 4)
    return float(spectrum[int(round(freq))])


def db(ratio: float) -> float:
    """An amplitude ratio in dB (floored at -240 dB)."""
    return 20 * np.log10(max(ratio, 1e-12))


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two equally long signals."""
    return float(np.corrcoef(a, b)[0, 1])


def lag(a: np.ndarray, b: np.ndarray) -> int:
    """How many frames `b` is late against `a` (cross-correlation peak)."""
    from scipy import signal
    c = signal.correlate(b, a, mode="full", method="fft")
    return int(c.argmax()) - (len(a) - 1)


def chapters_of(root: Path) -> list[tuple[float, str]]:
    """(start, title) of the built chapters.json."""
    data = json.loads((root / STAGE / "chapters.json").read_text("utf-8"))
    return [(c["startTime"], c["title"]) for c in data["chapters"]]


def built_ok(run: Run) -> None:
    """`podkit build` said it built the episode."""
    assert "built first-episode:" in run.stdout, run
