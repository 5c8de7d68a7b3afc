"""Real synthetic speech for the alignment tests and benchmark: eSpeak NG (the library in the
espeakng-loader wheel, which podkit already depends on for pronunciations), no apt install.

    say("Hello there.", voice="en-us+f3")  -> float32 mono samples at RATE
    programme(paragraphs, ...)             -> samples and the true start/end of every sentence
"""
from __future__ import annotations

import ctypes
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from toolkit.text import g2p

RATE = 22050                   # eSpeak NG always synthesizes at 22.05 kHz
_RATE_PARAM, _PITCH_PARAM = 1, 3
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.c_void_p)


def _synth(text: str, voice: str, speed: int, pitch: int) -> np.ndarray:
    """One eSpeak NG synthesis, untrimmed."""
    lib = g2p._library()
    chunks: list[np.ndarray] = []

    def collect(wav, n, events):  # type: ignore[no-untyped-def]
        if wav and n > 0:
            chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).astype(np.float32) / 32768)
        return 0

    callback = _CALLBACK(collect)           # kept alive until the synthesis returns
    with g2p._lock:
        lib.espeak_SetSynthCallback(callback)
        assert lib.espeak_SetVoiceByName(voice.encode()) == 0, voice
        lib.espeak_SetParameter(_RATE_PARAM, speed, 0)
        lib.espeak_SetParameter(_PITCH_PARAM, pitch, 0)
        data = text.encode("utf-8")
        lib.espeak_Synth(ctypes.c_char_p(data), len(data) + 1, 0, 1, 0, 1, None, None)
    return np.concatenate(chunks) if chunks else np.zeros(0, np.float32)


def say(text: str, voice: str = "en-us", speed: int = 165, pitch: int = 50) -> np.ndarray:
    """`text` spoken by eSpeak NG; silence at both ends trimmed to 10 ms."""
    # After some runs of espeak_TextToPhonemes (podkit's g2p, e.g. "2018" then "z" in
    # British RP), the next synthesis comes out cut short (1.2 s of a 4.7 s sentence),
    # which made the alignment benchmark's true times wrong by seconds. A throwaway
    # synthesis first puts eSpeak NG back in order (measured: full length every time).
    _synth("Hello.", voice, speed, pitch)
    audio = _synth(text, voice, speed, pitch)
    loud = np.flatnonzero(np.abs(audio) > 0.003)
    assert loud.size, f"eSpeak NG said nothing for {text!r}"
    pad = RATE // 100
    return audio[max(loud[0] - pad, 0): loud[-1] + pad]


@dataclass(frozen=True)
class Spoken:
    """One synthesized sentence and where it is in the programme (seconds)."""

    speaker: str
    text: str
    start: float
    end: float


def programme(paragraphs: list[tuple[str, str, str]], *, pause: float = 0.3,
              paragraph_pause: float = 0.7, lead: float = 1.0) -> tuple[np.ndarray, list[Spoken]]:
    """(speaker, voice, text) paragraphs spoken sentence by sentence: the samples and the
    true times of each sentence. Sentences are split at '. ', '? ' and '! '."""
    import re
    pieces: list[np.ndarray] = [np.zeros(int(lead * RATE), np.float32)]
    pos = pieces[0].size
    out: list[Spoken] = []
    for i, (speaker, voice, text) in enumerate(paragraphs):
        for j, sentence in enumerate(re.split(r"(?<=[.!?])\s+", text.strip())):
            if i or j:
                gap = np.zeros(int((pause if j else paragraph_pause) * RATE), np.float32)
                pieces.append(gap)
                pos += gap.size
            audio = say(sentence, voice)
            out.append(Spoken(speaker, sentence, pos / RATE, (pos + audio.size) / RATE))
            pieces.append(audio)
            pos += audio.size
    pieces.append(np.zeros(int(lead * RATE), np.float32))
    return np.concatenate(pieces), out


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE) -> Path:
    """16-bit mono WAV (what ffmpeg, and so podkit, reads)."""
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path
