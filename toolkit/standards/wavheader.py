"""WAV headers, read without decoding: what a RIFF, RF64 or BW64 file says it holds.

ffmpeg trusts a WAV's data chunk size, quietly. A file cut short (an interrupted copy or
export) decodes to whatever is there; a plain RIFF file over 4 GiB, whose 32-bit size
fields wrapped around, decodes to what the wrapped size says: a fraction of it. Either
would build an episode with audio missing and no error. Reading the chunk headers (a few
hundred bytes, however big the file) finds both before anything is decoded or hashed, so
the loader, and with it `podkit check` and `podkit build`, refuses them.

RF64 and BW64 (the formats for WAVs over 4 GiB) give the real sizes in their ds64 chunk.
A data size of 0 or 0xFFFFFFFF means "unknown" (streaming writers): ffmpeg then reads to
the end of the file, so nothing is missing.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

#: Audio missing at the end below this is not called truncation (a last partial block).
TOLERANCE_S = 0.1
RIFF_LIMIT = 0xFFFFFFFF + 8       # the largest file a RIFF header can describe
_UNKNOWN = (0, 0xFFFFFFFF)
_MAX_CHUNKS = 64                  # chunks before `data` (fmt, bext, LIST, JUNK...): plenty


@dataclass(frozen=True)
class WavHeader:
    """Where a WAV file's samples are and how much of them it declares."""

    kind: str                  # "RIFF", "RF64" or "BW64"
    byte_rate: int             # bytes per second of audio (fmt chunk); 0 if not given
    data_offset: int           # where the samples start
    data_size: int | None      # declared bytes of samples; None when unknown
    file_size: int

    def seconds(self, size: int) -> float:
        """`size` bytes of samples in seconds (0.0 without a byte rate)."""
        return size / self.byte_rate if self.byte_rate else 0.0


def read_header(path: Path) -> WavHeader | None:
    """The header of a RIFF/RF64/BW64 WAVE file; None if `path` is not one or has no data
    chunk (then ffmpeg's probe judges the file)."""
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[8:12] != b"WAVE" or head[:4] not in (b"RIFF", b"RF64", b"BW64"):
            return None
        kind = head[:4].decode("ascii")
        file_size = f.seek(0, 2)
        pos, byte_rate, big_data = 12, 0, None
        for _ in range(_MAX_CHUNKS):
            f.seek(pos)
            chunk = f.read(8)
            if len(chunk) < 8:
                return None
            cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"ds64":
                ds64 = f.read(16)
                if len(ds64) == 16:
                    big_data = struct.unpack("<QQ", ds64)[1]    # riffSize, dataSize
            elif cid == b"fmt ":
                fmt = f.read(16)
                if len(fmt) == 16:
                    byte_rate = struct.unpack("<HHIIHH", fmt)[3]
            elif cid == b"data":
                if kind != "RIFF" and size == 0xFFFFFFFF and big_data is not None:
                    size = big_data
                declared = None if size in _UNKNOWN else size
                return WavHeader(kind, byte_rate, pos + 8, declared, file_size)
            pos += 8 + size + (size & 1)                          # chunks are word-aligned
    return None


def problem(path: Path) -> str | None:
    """Why this WAV would decode to less audio than it holds or claims (one sentence naming
    the file); None if it is fine or not a WAV."""
    try:
        h = read_header(path)
    except OSError:
        return None                        # unreadable: the loader and ffmpeg say so
    if h is None or h.data_size is None:
        return None
    name = path.name
    if h.kind == "RIFF" and h.file_size > RIFF_LIMIT:
        return (f"{name} is a {h.file_size / 2**30:.1f} GiB RIFF WAV, but a RIFF header cannot "
                f"describe more than 4 GiB: its sizes wrapped around and declare "
                f"{h.seconds(h.data_size):.3f} s, so most of the audio would be lost. Save it as "
                f"RF64 (BWF over 4 GiB) or FLAC")
    missing = h.data_offset + h.data_size - h.file_size
    if missing > 0 and h.seconds(missing) > TOLERANCE_S:
        return (f"{name} is truncated: its header declares {h.seconds(h.data_size):.3f} s of "
                f"audio, the file holds {h.seconds(h.file_size - h.data_offset):.3f} s (an "
                f"interrupted copy or export?); export it again")
    return None
