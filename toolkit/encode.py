"""Encoding: the normalized programme is piped into one ffmpeg process that writes
every deliverable at once (MP3, optionally AAC in .m4a and the broadcast WAV).

The encoder runs in its own process, so while LAME works on one core Python
prepares the next chunks on the other. Outputs are written to temp files beside
their targets and renamed only when ffmpeg succeeded (fsutil.atomic_path), with
bit-exact flags so the same samples always give the same bytes.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from toolkit import ffmpeg, fsutil
from toolkit.model import EncodingSettings

log = logging.getLogger(__name__)

#: LAME's default low-pass (Hz) by bitrate per stereo pair (lame's optimum_bandwidth table)...
_LAME_LOWPASS = ((64, 11000), (80, 13500), (96, 15100), (112, 15600), (128, 17000),
                 (160, 17500), (192, 18600), (224, 19400), (256, 19700), (320, 20500))
#: ... and by VBR quality 0-9.
_LAME_VBR_LOWPASS = (19500, 19000, 18600, 18000, 17500, 16900, 16000, 15300, 14500, 12300)


@dataclass(frozen=True)
class Targets:
    """Where the deliverables go; None leaves one out."""

    mp3: Path
    m4a: Path | None = None
    wav: Path | None = None


def mp3_bitrate(settings: EncodingSettings) -> int:
    """The CBR bitrate (kbps) used for this channel count."""
    return settings.mp3_bitrate_mono if settings.channels == 1 else settings.mp3_bitrate


def lame_lowpass_hz(settings: EncodingSettings) -> float:
    """About where LAME band-limits the MP3 at these settings (the limiter plans for it)."""
    if settings.mp3_vbr_quality is not None:
        return float(_LAME_VBR_LOWPASS[max(0, min(9, settings.mp3_vbr_quality))])
    # A mono stream gets the bandwidth of a stereo pair at twice its bitrate.
    rate = mp3_bitrate(settings) * (2 if settings.channels == 1 else 1)
    return float(next((hz for kbps, hz in _LAME_LOWPASS if rate <= kbps), _LAME_LOWPASS[-1][1]))


def mp3_args(settings: EncodingSettings) -> list[str]:
    """ffmpeg output options for the MP3 (CBR unless a VBR quality is set)."""
    rate = ["-c:a", "libmp3lame"]
    if settings.mp3_vbr_quality is not None:
        rate += ["-q:a", str(settings.mp3_vbr_quality)]
    else:
        rate += ["-b:a", f"{mp3_bitrate(settings)}k"]
    return rate + ["-ar", str(settings.sample_rate), "-ac", str(settings.channels), "-f", "mp3"]


def _output_args(settings: EncodingSettings, kind: str, lossless_gain_db: float = 0.0) -> list[str]:
    # No metadata and bit-exact muxing: the same samples give the same bytes (and the
    # tagging stage writes all the tags).
    common = ["-map", "0:a", "-map_metadata", "-1", "-fflags", "+bitexact",
              "-flags:a", "+bitexact"]
    if kind == "mp3":
        return common + mp3_args(settings) + ["-id3v2_version", "0", "-write_id3v1", "0"]
    if kind == "m4a":
        return common + ["-c:a", "aac", "-b:a", f"{settings.aac_bitrate}k",
                         "-ar", str(settings.sample_rate), "-ac", str(settings.channels),
                         "-movflags", "+faststart", "-f", "ipod"]
    codec = {16: "pcm_s16le", 24: "pcm_s24le", 32: "pcm_s32le"}[settings.wav_bits]
    filters = []
    if lossless_gain_db:
        filters.append(f"volume={lossless_gain_db:.4f}dB:precision=double")
    if settings.wav_sample_rate != settings.sample_rate:
        filters.append("aresample=resampler=soxr:precision=28")
    resample = ["-af", ",".join(filters)] if filters else []
    return common + resample + ["-c:a", codec, "-ar", str(settings.wav_sample_rate),
                                "-ac", str(settings.channels), "-rf64", "auto", "-write_bext", "1",
                                "-f", "wav"]


class Encoder:
    """An open ffmpeg encoder: `write()` float32 chunks (frames, channels)."""

    def __init__(self, proc) -> None:  # type: ignore[no-untyped-def]
        self._proc = proc
        self.frames = 0

    def write(self, chunk: np.ndarray) -> None:
        """Send the next chunk to the encoder."""
        data = np.ascontiguousarray(chunk, dtype="<f4")
        self.frames += len(data)
        self._proc.stdin.write(data.tobytes())


@contextmanager
def open_encoder(targets: Targets, settings: EncodingSettings, *, sample_rate: int,
                 channels: int, lossless_gain_db: float = 0.0) -> Iterator[Encoder]:
    """Start the encoder; the targets appear (atomically) when the block exits cleanly.

    The samples are planned for the lossy encoders (which take a little loudness
    away); `lossless_gain_db` corrects the WAV, which loses nothing, by that much.
    """
    with ExitStack() as stack:
        outputs = [("mp3", targets.mp3), ("m4a", targets.m4a), ("wav", targets.wav)]
        args = ["-v", "error", "-f", "f32le", "-ar", str(sample_rate), "-ac", str(channels),
                "-i", "pipe:0"]
        for kind, target in outputs:
            if target is not None:
                tmp = stack.enter_context(fsutil.atomic_path(target))
                args += _output_args(settings, kind, lossless_gain_db) + ["-y", str(tmp)]
        with ffmpeg.popen(args, what="encoding", path=targets.mp3, stdin=True) as proc:
            yield Encoder(proc)
            proc.stdin.close()


def encode(chunks: Iterable[np.ndarray], targets: Targets, settings: EncodingSettings, *,
           sample_rate: int, channels: int, lossless_gain_db: float = 0.0) -> int:
    """Encode a stream of chunks to the targets; returns the frames written."""
    with open_encoder(targets, settings, sample_rate=sample_rate, channels=channels,
                      lossless_gain_db=lossless_gain_db) as enc:
        for chunk in chunks:
            enc.write(chunk)
    return enc.frames

