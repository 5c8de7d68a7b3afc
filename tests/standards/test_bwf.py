"""The BWF writer's container: plain PCM where it can, EXTENSIBLE with a mask where it must,
RF64 past 4 GiB; each read back by ffmpeg and wavinfo (readers podkit did not write)."""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from wavinfo import WavInfoReader

from audiosignals import decode_all
from toolkit.standards import bwf, wavheader


def _pcm(path: Path, frames: int, channels: int) -> np.ndarray:
    x = (np.arange(frames * channels, dtype=np.int64) % 2000 - 1000).astype("<i2")
    path.write_bytes(x.tobytes())
    return x.reshape(-1, channels).astype(np.float32) / 32768


def _chunks(path: Path) -> list[tuple[bytes, int]]:
    data, pos, out = path.read_bytes(), 12, []
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        out.append((cid, size))
        if cid == b"data":
            break
        pos += 8 + size + (size & 1)
    return out


BEXT = bwf.Bext("d", "o", "r", "2019-03-07", "18:00:00", 5, None, ("A=PCM,F=48000,W=16,M=mono",))


@pytest.mark.parametrize("channels,tag", [(1, 1), (2, 1), (6, 0xFFFE)])
def test_plain_pcm_for_mono_and_stereo_extensible_only_with_a_channel_mask(tmp_path, channels, tag):
    want = _pcm(tmp_path / "raw", 4800, channels)
    out = tmp_path / "x.wav"
    bwf.write(out, pcm=tmp_path / "raw", rate=48000, channels=channels, bits=16, bext=BEXT,
              cart=bwf.Cart(title="t"))
    assert [c for c, _ in _chunks(out)] == [b"fmt ", b"bext", b"cart", b"data"]
    info = WavInfoReader(str(out))
    assert info.fmt.audio_format == tag and info.fmt.channel_count == channels
    assert info.bext.version == 2 and info.bext.time_reference == 5
    assert info.bext.loudness_value == pytest.approx(327.67)     # 0x7FFF: not measured
    assert np.array_equal(decode_all(out, 48000, channels), want)


def test_past_4_gib_the_file_is_rf64_with_its_sizes_in_ds64(tmp_path, monkeypatch):
    # The RF64 switch at a small size, so the test writes kilobytes, not gigabytes.
    monkeypatch.setattr(bwf, "_RIFF_MAX", 4000)
    want = _pcm(tmp_path / "raw", 4800, 2)
    out = tmp_path / "x.wav"
    bwf.write(out, pcm=tmp_path / "raw", rate=48000, channels=2, bits=16, bext=BEXT)
    head = out.read_bytes()[:12]
    assert head[:4] == b"RF64" and head[8:] == b"WAVE"
    assert [c for c, _ in _chunks(out)] == [b"ds64", b"fmt ", b"bext", b"data"]
    h = wavheader.read_header(out)
    assert (h.kind, h.data_size) == ("RF64", 4800 * 4) and wavheader.problem(out) is None
    assert np.array_equal(decode_all(out, 48000, 2), want)
