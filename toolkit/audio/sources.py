"""Reading audio sources as float32 chunks: uncompressed PCM in-process, the rest by ffmpeg.

A producer's long recordings are mostly WAV already at the programme's rate and
channels. Piping those through an ffmpeg process costs ~3 s of CPU per hour of
stereo audio per pass (a 1.3 GB float stream through a pipe, both sides waking each
other), CPU the encoder's second core needs. soundfile (libsndfile) reads them in
the build's own process for ~0.3 s; its GIL-free reads overlap the meter's threads.

The in-process path is taken only where it gives the very samples ffmpeg would (the
same integer-to-float scaling, exact in float32; tested against ffmpeg): WAV, RF64,
W64 or AIFF holding 16- or 24-bit integer or 32-bit float PCM at the wanted rate and
channel count, whose length agrees with ffmpeg's probe. Anything else (compressed
formats, resampling, channel mixing, odd headers) is decoded by ffmpeg.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from toolkit import ffmpeg
from toolkit.errors import MediaError

if TYPE_CHECKING:
    from soundfile import SoundFile

log = logging.getLogger(__name__)

#: Containers whose samples libsndfile reads without decoding anything.
_CONTAINERS = {"WAV", "WAVEX", "RF64", "W64", "AIFF"}
#: subtype -> (dtype to read, scale to float): libsndfile left-justifies 24-bit samples
#: in int32, as ffmpeg does, so both scale by the same power of two (exact in float32).
_SUBTYPES: dict[str, tuple[str, float | None]] = {
    "PCM_16": ("int16", 2.0 ** -15),
    "PCM_24": ("int32", 2.0 ** -31),
    "FLOAT": ("float32", None),
}
#: The length libsndfile reads may differ from ffmpeg's probe by this much (seconds)
#: before the file is considered odd and left to ffmpeg.
_LENGTH_SLACK_S = 0.01


def _in_process(path: Path, info: ffmpeg.ProbeInfo, sample_rate: int, channels: int
                ) -> SoundFile | None:
    """An open soundfile.SoundFile if the fast path applies, else None."""
    if info.sample_rate != sample_rate or info.channels != channels or info.duration is None:
        return None
    try:
        # Imported on first use (the CLI starts faster without it). soundfile's wheels carry
        # libsndfile for the common platforms; elsewhere it may be missing: ffmpeg reads.
        import soundfile
    except (ImportError, OSError) as exc:
        log.debug("soundfile unavailable (%s): every source is decoded by ffmpeg", exc)
        return None
    try:
        f = soundfile.SoundFile(str(path))
    except (RuntimeError, OSError, TypeError, ValueError):   # LibsndfileError included
        return None
    # libsndfile's own view must agree with ffmpeg's probe (rate, channels, length): where
    # the two readers disagree the file is odd, and ffmpeg's reading is the reference.
    usable = (f.format in _CONTAINERS and f.subtype in _SUBTYPES and f.samplerate == sample_rate
              and f.channels == channels
              and abs(f.frames / sample_rate - info.duration) <= _LENGTH_SLACK_S)
    if not usable:
        f.close()
        return None
    return f


def _read(f: SoundFile, path: Path, channels: int, chunk_frames: int) -> Iterator[np.ndarray]:
    dtype, scale = _SUBTYPES[f.subtype]
    # Integers go through one reused buffer and are scaled into a new array; float
    # samples are read straight into the array that is handed on.
    raw = np.empty((chunk_frames, channels), dtype=dtype) if scale is not None else None
    with f:
        while True:
            buf = raw if raw is not None else np.empty((chunk_frames, channels), np.float32)
            try:
                got = f.read(out=buf, dtype=dtype)
            except Exception as exc:     # libsndfile's own errors, of several types
                raise MediaError(f"cannot read the audio: {exc}", path=path) from exc
            if not len(got):
                return
            if scale is None:
                out = got
            else:
                # Cast first (exact: at most 24 significant bits), then scale by a power
                # of two (exact): the same float32 values as ffmpeg's conversion.
                out = got.astype(np.float32)
                out *= np.float32(scale)
            yield out
            if len(got) < chunk_frames:
                return


def stream(path: str | Path, *, sample_rate: int, channels: int,
           info: ffmpeg.ProbeInfo | None = None,
           chunk_frames: int = ffmpeg.CHUNK_FRAMES) -> Iterator[np.ndarray]:
    """Stream an audio file as float32 chunks (frames, channels) at the given format.

    `info` is the file's ffmpeg probe (probed here if not given). Memory stays flat
    whatever the length; the samples are the same whichever path reads them.
    """
    path = Path(path)
    info = info or ffmpeg.probe(path)
    f = _in_process(path, info, sample_rate, channels)
    if f is None:
        yield from ffmpeg.decode(path, sample_rate=sample_rate, channels=channels,
                                 chunk_frames=chunk_frames)
        return
    log.debug("%s: read in-process (%s %s)", path, f.format, f.subtype)
    yield from _read(f, path, channels, chunk_frames)
