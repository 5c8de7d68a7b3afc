"""toolkit.standards.wavheader: a WAV's declared sizes against the file, without decoding."""
from __future__ import annotations

import struct
import wave
from pathlib import Path

import pytest

from toolkit import ffmpeg
from toolkit.standards import wavheader


def pcm_wav(path: Path, seconds: float = 1.0, rate: int = 8000, extra: bytes = b"") -> Path:
    """A 16-bit stereo WAV of silence; `extra` chunks go between fmt and data."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\0" * int(seconds * rate) * 4)
    if extra:
        data = path.read_bytes()
        at = data.index(b"data")
        data = data[:at] + extra + data[at:]
        path.write_bytes(data[:4] + struct.pack("<I", len(data) - 8) + data[8:])
    return path


def set_data_size(path: Path, size: int) -> None:
    data = bytearray(path.read_bytes())
    at = data.index(b"data")
    data[at + 4:at + 8] = struct.pack("<I", size)
    path.write_bytes(bytes(data))


def test_a_plain_wav_is_fine(tmp_path: Path) -> None:
    h = wavheader.read_header(pcm_wav(tmp_path / "a.wav"))
    assert h is not None and (h.kind, h.byte_rate, h.data_size) == ("RIFF", 32000, 32000)
    assert h.data_offset + h.data_size == h.file_size
    assert wavheader.problem(tmp_path / "a.wav") is None


def test_an_odd_sized_chunk_is_padded(tmp_path: Path) -> None:
    """Chunks are word-aligned: a 3-byte chunk is followed by a pad byte."""
    path = pcm_wav(tmp_path / "a.wav", extra=b"junk" + struct.pack("<I", 3) + b"abc\0")
    h = wavheader.read_header(path)
    assert h is not None and h.data_size == 32000 and h.data_offset + 32000 == h.file_size


def test_truncated(tmp_path: Path) -> None:
    path = pcm_wav(tmp_path / "a.wav", seconds=2.0)
    path.write_bytes(path.read_bytes()[:-32000])          # the second second is gone
    assert wavheader.problem(path) == (
        "a.wav is truncated: its header declares 2.000 s of audio, the file holds 1.000 s "
        "(an interrupted copy or export?); export it again")


def test_a_last_partial_block_is_not_truncation(tmp_path: Path) -> None:
    path = pcm_wav(tmp_path / "a.wav")
    path.write_bytes(path.read_bytes()[:-3])
    assert wavheader.problem(path) is None


@pytest.mark.parametrize("size", [0, 0xFFFFFFFF])
def test_unknown_sizes_are_not_checked(tmp_path: Path, size: int) -> None:
    """Streaming writers leave the size 0 or 0xFFFFFFFF; ffmpeg then reads to the end."""
    path = pcm_wav(tmp_path / "a.wav")
    set_data_size(path, size)
    assert wavheader.read_header(path).data_size is None
    assert wavheader.problem(path) is None


def test_rf64_sizes_come_from_ds64(tmp_path: Path) -> None:
    src = pcm_wav(tmp_path / "a.wav")
    rf = tmp_path / "rf.wav"
    ffmpeg.run(["-v", "error", "-i", str(src), "-rf64", "always", "-y", str(rf)], what="rf64")
    h = wavheader.read_header(rf)
    assert h is not None and (h.kind, h.data_size) == ("RF64", 32000)
    assert wavheader.problem(rf) is None
    rf.write_bytes(rf.read_bytes()[:-16000])
    assert "declares 1.000 s of audio, the file holds 0.500 s" in wavheader.problem(rf)


def test_a_riff_file_over_4_gib(tmp_path: Path) -> None:
    """Sparse: the header and one second are real, the rest is a hole."""
    path = pcm_wav(tmp_path / "a.wav")
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size + 2**32)
    problem = wavheader.problem(path)
    assert problem is not None and problem.startswith("a.wav is a 4.0 GiB RIFF WAV")
    assert "declare 1.000 s" in problem and "RF64" in problem


@pytest.mark.parametrize("data", [b"", b"RIFF", b"RIFF\0\0\0\0AVI LIST", b"fLaC\0\0\0\x22",
                                  b"RIFF\x04\0\0\0WAVE"])
def test_not_a_wav_or_no_data_chunk(tmp_path: Path, data: bytes) -> None:
    (tmp_path / "x.wav").write_bytes(data)
    assert wavheader.read_header(tmp_path / "x.wav") is None
    assert wavheader.problem(tmp_path / "x.wav") is None
