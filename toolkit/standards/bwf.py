"""Playout-grade WAV files: BWF `bext` (EBU Tech 3285 v2) and AES46-2002 `cart` chunks.

    write(out, pcm=raw_samples_file, rate=48000, channels=2, bits=24,
          bext=Bext(...), cart=Cart(...))

The file is `RIFF` (or `RF64` with a `ds64` chunk when the data would overflow 32-bit
sizes, EBU Tech 3306) with the chunks in the order streaming importers want: `fmt `,
`bext`, `cart`, `data` (some stop reading at `data`). `fmt ` is plain WAVE_FORMAT_PCM
(tag 1, 16 bytes) for mono and stereo, the form older playout importers expect;
WAVE_FORMAT_EXTENSIBLE only for more channels, where a channel mask is needed.

Field layouts are the specs' byte offsets (docs/radio.md lists each with what
playout systems read from it). Stdlib only; the only I/O is writing the file given.
"""
from __future__ import annotations

import os
import shutil
import struct
from dataclasses import dataclass, field
from pathlib import Path

#: The bext chunk's fixed part: up to CodingHistory (EBU Tech 3285 v2, offset 602).
BEXT_FIXED = 602
#: The cart chunk's fixed part: up to TagText (AES46-2002, offset 2048).
CART_FIXED = 2048
#: Post timers in a cart chunk: eight (usage FOURCC, uint32 sample count) pairs.
CART_TIMERS = 8
_RIFF_MAX = 0xFFFFFFFF
#: Channel masks for WAVE_FORMAT_EXTENSIBLE (more than two channels), by channel count.
_MASKS = {3: 0x7, 4: 0x33, 5: 0x37, 6: 0x3F, 8: 0x63F}
_PCM_GUID = bytes.fromhex("0100000000001000800000aa00389b71")


def _ascii(text: str, size: int) -> bytes:
    """A fixed-width ASCII field, NUL-padded; non-ASCII becomes '?' (the specs are ASCII)."""
    data = text.encode("ascii", "replace")[:size]
    return data + b"\0" * (size - len(data))


@dataclass(frozen=True)
class Loudness:
    """The five EBU Tech 3285 v2 loudness fields, as measured on the file they describe."""

    integrated: float           # LUFS
    lra: float                  # LU
    true_peak: float            # dBTP
    max_momentary: float        # LUFS
    max_short_term: float       # LUFS


@dataclass(frozen=True)
class Bext:
    """The Broadcast Audio Extension chunk's fields (EBU Tech 3285 v2)."""

    description: str            # 256 chars
    originator: str             # 32: the organisation or app that made the file
    originator_reference: str   # 32: unique per file (episode and cut)
    date: str                   # yyyy-mm-dd
    time: str                   # hh:mm:ss
    time_reference: int         # samples since midnight of the first sample
    loudness: Loudness | None
    coding_history: tuple[str, ...] = ()   # EBU R98 lines, each written with CR LF
    umid: bytes = b""           # 64 bytes; empty: zeros (no SMPTE UMID)


def _centi(value: float) -> int:
    """A loudness field: value x 100 as int16 (non-finite: 0x7FFF, "not measured")."""
    if value != value or value in (float("inf"), float("-inf")):
        return 0x7FFF
    return max(-32768, min(32767, round(value * 100)))


def bext_body(b: Bext) -> bytes:
    """The bext chunk's body (without the 8-byte chunk header)."""
    loud = (0x7FFF,) * 5 if b.loudness is None else tuple(_centi(v) for v in (
        b.loudness.integrated, b.loudness.lra, b.loudness.true_peak,
        b.loudness.max_momentary, b.loudness.max_short_term))
    body = (_ascii(b.description, 256) + _ascii(b.originator, 32)
            + _ascii(b.originator_reference, 32) + _ascii(b.date, 10) + _ascii(b.time, 8)
            + struct.pack("<II", b.time_reference & 0xFFFFFFFF, b.time_reference >> 32)
            + struct.pack("<H", 2) + (b.umid + b"\0" * 64)[:64]
            + struct.pack("<5h", *loud) + b"\0" * 180)
    assert len(body) == BEXT_FIXED
    history = "".join(line + "\r\n" for line in b.coding_history)
    return body + history.encode("ascii", "replace")


@dataclass(frozen=True)
class Cart:
    """The AES46-2002 cart chunk's fields."""

    title: str
    artist: str = ""
    cut_id: str = ""
    client_id: str = ""
    category: str = ""
    classification: str = ""
    out_cue: str = ""
    start_date: str = ""        # yyyy-mm-dd: first air
    start_time: str = ""        # hh:mm:ss
    end_date: str = ""          # kill date
    end_time: str = ""
    producer_app: str = "podkit"
    producer_version: str = ""
    user_def: str = ""
    level_reference: int = 32768   # the sample value of the 0 dBFS reference
    timers: tuple[tuple[str, int], ...] = ()   # (FOURCC usage, sample frames), at most 8
    url: str = ""
    tag_text: tuple[str, ...] = field(default_factory=tuple)   # CR LF lines


def cart_body(c: Cart) -> bytes:
    """The cart chunk's body (without the 8-byte chunk header)."""
    if len(c.timers) > CART_TIMERS:
        raise ValueError(f"a cart chunk holds {CART_TIMERS} post timers, not {len(c.timers)}")
    timers = b"".join(_ascii(usage, 4) + struct.pack("<I", max(0, min(value, 0xFFFFFFFE)))
                      for usage, value in c.timers)
    timers += (b"\0" * 4 + struct.pack("<I", 0xFFFFFFFF)) * (CART_TIMERS - len(c.timers))
    body = (b"0101" + _ascii(c.title, 64) + _ascii(c.artist, 64) + _ascii(c.cut_id, 64)
            + _ascii(c.client_id, 64) + _ascii(c.category, 64) + _ascii(c.classification, 64)
            + _ascii(c.out_cue, 64) + _ascii(c.start_date, 10) + _ascii(c.start_time, 8)
            + _ascii(c.end_date, 10) + _ascii(c.end_time, 8) + _ascii(c.producer_app, 64)
            + _ascii(c.producer_version, 64) + _ascii(c.user_def, 64)
            + struct.pack("<i", c.level_reference) + timers + b"\0" * 276 + _ascii(c.url, 1024))
    assert len(body) == CART_FIXED
    return body + "".join(line + "\r\n" for line in c.tag_text).encode("ascii", "replace")


def fmt_body(rate: int, channels: int, bits: int) -> bytes:
    """A `fmt ` body: plain PCM for mono/stereo, EXTENSIBLE with a channel mask above that."""
    align = channels * bits // 8
    base = struct.pack("<HIIHH", channels, rate, rate * align, align, bits)
    if channels <= 2:
        return struct.pack("<H", 1) + base
    mask = _MASKS.get(channels, 0)
    return (struct.pack("<H", 0xFFFE) + base
            + struct.pack("<HHI", 22, bits, mask) + _PCM_GUID)


def _chunk(cid: bytes, body: bytes) -> bytes:
    return cid + struct.pack("<I", len(body)) + body + (b"\0" if len(body) & 1 else b"")


def write(out: Path, *, pcm: Path, rate: int, channels: int, bits: int,
          bext: Bext | None = None, cart: Cart | None = None) -> None:
    """Write `out` from a file of raw little-endian PCM samples, with the given chunks.

    `out` is written in place (the caller writes to a temporary name and renames it).
    """
    size = pcm.stat().st_size
    chunks = _chunk(b"fmt ", fmt_body(rate, channels, bits))
    if bext is not None:
        chunks += _chunk(b"bext", bext_body(bext))
    if cart is not None:
        chunks += _chunk(b"cart", cart_body(cart))
    pad = size & 1
    riff_size = 4 + len(chunks) + 8 + size + pad
    big = riff_size > _RIFF_MAX
    with open(out, "wb") as f:
        if big:
            # RF64 (EBU Tech 3306): the 64-bit sizes live in ds64, the 32-bit ones say -1.
            riff_size += 36
            frames = size // (channels * bits // 8)
            f.write(b"RF64" + struct.pack("<I", _RIFF_MAX) + b"WAVE")
            f.write(_chunk(b"ds64", struct.pack("<QQQI", riff_size, size, frames, 0)))
        else:
            f.write(b"RIFF" + struct.pack("<I", riff_size) + b"WAVE")
        f.write(chunks)
        f.write(b"data" + struct.pack("<I", _RIFF_MAX if big else size))
        with open(pcm, "rb") as src:
            shutil.copyfileobj(src, f, 1 << 20)
        if pad:
            f.write(b"\0")
        f.flush()
        os.fsync(f.fileno())
