"""toolkit.audio.sources: uncompressed PCM read in-process gives exactly ffmpeg's samples;
everything else is still decoded by ffmpeg."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from audiosignals import decode_all

from toolkit import ffmpeg
from toolkit.audio import sources
from toolkit.errors import MediaError

RATE = 44100


def make(path: Path, *args: str, channels: int = 2, rate: int = RATE,
         seconds: float = 3.0) -> Path:
    """Noise plus a sine driven past full scale (integer formats clip there, so the
    extremes of the range are used; float keeps values above 1), written by ffmpeg."""
    left = "1.3*sin(2*PI*997*t)*(0.5+0.5*sin(2*PI*0.7*t))+0.2*(2*random(0)-1)"
    right = "0.9*sin(2*PI*331*t+1)+0.3*(2*random(1)-1)"
    ffmpeg.run(["-v", "error", "-f", "lavfi", "-i",
                f"aevalsrc=exprs='{left}|{right}':s={rate}:d={seconds}", "-ac", str(channels),
                *args, "-y", str(path)], what="making a test file")
    return path


def reference(path: Path, channels: int = 2) -> np.ndarray:
    return decode_all(path, RATE, channels)


def no_ffmpeg_decode(*_a: object, **_k: object) -> None:
    raise AssertionError("ffmpeg.decode was called for a file meant to be read in-process")


@pytest.mark.parametrize("name,args", [
    ("s16.wav", ["-c:a", "pcm_s16le"]),
    ("s24.wav", ["-c:a", "pcm_s24le"]),
    ("f32.wav", ["-c:a", "pcm_f32le"]),
    ("rf64.wav", ["-c:a", "pcm_s24le", "-rf64", "always"]),
    ("s16.aiff", ["-c:a", "pcm_s16be"]),
    ("s24.w64", ["-c:a", "pcm_s24le"]),
])
def test_pcm_is_read_in_process_with_ffmpegs_exact_samples(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, args: list[str]) -> None:
    path = make(tmp_path / name, *args)
    want = reference(path)
    assert np.abs(want).max() >= 0.99          # the loud end of the range is covered
    monkeypatch.setattr(ffmpeg, "decode", no_ffmpeg_decode)
    # An odd chunk size: several chunks and a short last one.
    chunks = list(sources.stream(path, sample_rate=RATE, channels=2, chunk_frames=10_007))
    assert all(c.dtype == np.float32 and c.shape[1] == 2 for c in chunks)
    assert [len(c) for c in chunks[:-1]] == [10_007] * (len(chunks) - 1)
    np.testing.assert_array_equal(np.concatenate(chunks), want)


@pytest.mark.parametrize("name,args,channels,rate", [
    ("a.flac", [], 2, RATE),                          # compressed: ffmpeg decodes
    ("mono.wav", ["-c:a", "pcm_s16le"], 1, RATE),     # channel mixing: ffmpeg's
    ("48k.wav", ["-c:a", "pcm_s16le"], 2, 48000),     # resampling: ffmpeg's
    ("s32.wav", ["-c:a", "pcm_s32le"], 2, RATE),      # 32-bit integers: not exact in float32
    ("u8.wav", ["-c:a", "pcm_u8"], 2, RATE),
])
def test_other_files_are_decoded_by_ffmpeg(tmp_path: Path, name: str, args: list[str],
                                            channels: int, rate: int) -> None:
    path = make(tmp_path / name, *args, channels=channels, rate=rate)
    info = ffmpeg.probe(path)
    assert sources._in_process(path, info, RATE, 2) is None
    got = np.concatenate(list(sources.stream(path, sample_rate=RATE, channels=2)))
    np.testing.assert_array_equal(got, reference(path))


def test_a_wav_shorter_than_its_header_reads_as_ffmpeg_reads_it(tmp_path: Path) -> None:
    # (The episode check rejects such a file before a build: toolkit.standards.wavheader.)
    path = make(tmp_path / "cut.wav", "-c:a", "pcm_s16le")
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2 + 1])          # and half a frame
    got = np.concatenate(list(sources.stream(path, sample_rate=RATE, channels=2)))
    np.testing.assert_array_equal(got, reference(path))
    assert len(got) == pytest.approx(1.5 * RATE, abs=16)


def test_a_read_error_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = make(tmp_path / "a.wav", "-c:a", "pcm_s16le")
    import soundfile

    def broken(self: object, *a: object, **k: object) -> None:
        raise soundfile.LibsndfileError(1, "simulated read failure ")
    monkeypatch.setattr(soundfile.SoundFile, "read", broken)
    with pytest.raises(MediaError) as err:
        list(sources.stream(path, sample_rate=RATE, channels=2))
    assert "a.wav" in str(err.value) and "cannot read the audio" in str(err.value)


def test_without_soundfile_ffmpeg_reads_everything(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # A platform whose soundfile wheel lacks libsndfile must still build.
    path = make(tmp_path / "a.wav", "-c:a", "pcm_s16le")
    want = reference(path)
    monkeypatch.setitem(__import__("sys").modules, "soundfile", None)   # import fails
    assert sources._in_process(path, ffmpeg.probe(path), RATE, 2) is None
    np.testing.assert_array_equal(
        np.concatenate(list(sources.stream(path, sample_rate=RATE, channels=2))), want)
