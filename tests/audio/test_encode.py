"""Encoding: MP3 CBR/VBR, AAC, broadcast WAV, exact durations, atomic and reproducible."""
from __future__ import annotations

import gc
import os
import signal
import struct
from pathlib import Path

import mutagen.mp3
import mutagen.mp4
import mutagen.oggopus
import pytest
from audiosignals import decode_all, speech_like

from toolkit import ffmpeg
from toolkit.audio import encode
from toolkit.errors import FFmpegError
from toolkit.model import EncodingSettings
from toolkit.standards import renditions

RATE = 44100


def _chunks(x, size=10000):
    return (x[i:i + size] for i in range(0, len(x), size))


def test_mp3_cbr_keeps_rate_channels_and_exact_length(tmp_path):
    x = speech_like(3.3, rate=RATE) * 0.5
    target = tmp_path / "out.mp3"
    frames = encode.encode(_chunks(x), encode.Targets(mp3=target), EncodingSettings(),
                           sample_rate=RATE, channels=2)
    assert frames == len(x)
    info = mutagen.mp3.MP3(target).info
    assert (info.sample_rate, info.channels) == (RATE, 2)
    assert info.bitrate == pytest.approx(128000, abs=100)
    assert info.bitrate_mode == mutagen.mp3.BitrateMode.CBR
    # The LAME header records encoder delay and padding, so a decoder gives back
    # exactly the samples that went in.
    decoded = decode_all(target, RATE, 2)
    assert len(decoded) == len(x)
    assert info.length == pytest.approx(len(x) / RATE, abs=0.06)   # mutagen counts padding
    assert mutagen.mp3.MP3(target).tags is None     # untagged: the tag stage owns tags


def test_mp3_vbr_option_and_mono_bitrate(tmp_path):
    x = speech_like(2.0, rate=RATE)[:, :1] * 0.5
    vbr = tmp_path / "vbr.mp3"
    encode.encode(_chunks(x), encode.Targets(mp3=vbr),
                  EncodingSettings(channels=1, mp3_vbr_quality=4), sample_rate=RATE, channels=1)
    assert mutagen.mp3.MP3(vbr).info.bitrate_mode == mutagen.mp3.BitrateMode.VBR
    cbr = tmp_path / "cbr.mp3"
    encode.encode(_chunks(x), encode.Targets(mp3=cbr), EncodingSettings(channels=1),
                  sample_rate=RATE, channels=1)
    info = mutagen.mp3.MP3(cbr).info
    assert info.channels == 1 and info.bitrate == pytest.approx(96000, abs=100)


def test_aac_and_broadcast_wav_from_the_same_pass(tmp_path):
    x = speech_like(2.0, rate=RATE) * 0.5
    t = encode.Targets(mp3=tmp_path / "a.mp3", others={"aac": tmp_path / "a.m4a",
                                                        "wav": tmp_path / "a.wav"})
    encode.encode(_chunks(x), t, EncodingSettings(renditions=("mp3", "aac", "wav")),
                  sample_rate=RATE, channels=2)
    m4a = mutagen.mp4.MP4(t.get("aac")).info
    assert m4a.codec == "mp4a.40.2" and m4a.sample_rate == RATE
    assert m4a.length == pytest.approx(2.0, abs=0.05)
    chunks = _riff_chunks(t.get("wav").read_bytes())
    assert b"bext" in chunks                                # a Broadcast Wave File
    channels, rate, _bps, align, bits = struct.unpack("<HIIHH", chunks[b"fmt "][2:16])
    assert (rate, bits, channels) == (48000, 24, 2)
    assert len(chunks[b"data"]) // align == pytest.approx(2.0 * 48000, abs=64)


def _riff_chunks(data: bytes) -> dict[bytes, bytes]:
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    chunks, pos = {}, 12
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        chunks[cid] = data[pos + 8:pos + 8 + size]
        pos += 8 + size + (size & 1)
    return chunks


def test_same_samples_same_bytes(tmp_path):
    x = speech_like(1.5, rate=RATE) * 0.5
    a, b = tmp_path / "a.mp3", tmp_path / "b.mp3"
    for target in (a, b):
        encode.encode(_chunks(x), encode.Targets(mp3=target), EncodingSettings(),
                      sample_rate=RATE, channels=2)
    assert a.read_bytes() == b.read_bytes()


def test_failed_encode_leaves_the_previous_file(tmp_path):
    x = speech_like(1.5, rate=RATE) * 0.5
    target = tmp_path / "ep.mp3"
    encode.encode(_chunks(x), encode.Targets(mp3=target), EncodingSettings(), sample_rate=RATE,
                  channels=2)
    good = target.read_bytes()

    def broken():
        yield x[:20000]
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        encode.encode(broken(), encode.Targets(mp3=target), EncodingSettings(),
                      sample_rate=RATE, channels=2)
    assert target.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ep.mp3"]


@pytest.mark.parametrize("loopback", [True, False], ids=["loopback-decoder", "tee-fallback"])
def test_monitor_measures_the_mp3_as_it_is_written(tmp_path, monkeypatch, loopback):
    from toolkit.audio import loudness
    if loopback and not encode.loopback_decoders():
        pytest.skip("this ffmpeg has no loopback decoders")
    monkeypatch.setattr(encode, "loopback_decoders", lambda: loopback)
    x = speech_like(6.0, rate=RATE) * 0.5
    target = tmp_path / "m.mp3"
    meter = loudness.Meter(RATE, 2)
    frames = encode.encode(_chunks(x), encode.Targets(mp3=target), EncodingSettings(),
                           sample_rate=RATE, channels=2, monitor=meter.feed)
    live, afterwards = meter.stats(), loudness.measure_file(target)
    assert frames == len(x)
    # The loopback decoder sees exactly the file's samples; the fallback's stream still
    # holds the encoder delay, a few ms.
    i_tolerance, tp_tolerance = (1e-4, 1e-4) if loopback else (0.02, 0.05)
    assert live.integrated == pytest.approx(afterwards.integrated, abs=i_tolerance)
    assert live.true_peak == pytest.approx(afterwards.true_peak, abs=tp_tolerance)
    if loopback:
        assert meter.frames == len(x)
    # The file itself is exactly what a plain encode writes.
    plain = tmp_path / "p.mp3"
    encode.encode(_chunks(x), encode.Targets(mp3=plain), EncodingSettings(), sample_rate=RATE,
                  channels=2)
    assert plain.read_bytes() == target.read_bytes()


def test_failing_monitor_stops_the_encode_with_its_error(tmp_path):
    # 60 s of audio is far more than the pipes hold: a monitor that stopped reading
    # would block ffmpeg, and the encode with it, unless its failure is propagated.
    x = speech_like(60.0, rate=RATE, hot_peaks=False) * 0.5
    calls = []

    def monitor(chunk):
        calls.append(len(chunk))
        raise ValueError("the monitor broke")

    target = tmp_path / "m.mp3"
    with pytest.raises(ValueError, match="the monitor broke"):
        encode.encode(_chunks(x, 65536), encode.Targets(mp3=target), EncodingSettings(),
                      sample_rate=RATE, channels=2, monitor=monitor)
    assert len(calls) == 1 and not target.exists()


@pytest.fixture()
def small_disk(tmp_path):
    """A 200 kB tmpfs (root only); skipped where mounting is not permitted."""
    import subprocess
    where = tmp_path / "small"
    where.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "podkit-test", str(where)],
                      capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs is not permitted here")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


@pytest.mark.parametrize("seconds", [4.0, 60.0], ids=["fails-at-the-end", "fails-mid-encode"])
def test_full_disk_says_no_space_left_with_the_path(small_disk, seconds):
    from toolkit.errors import FFmpegError
    # 4 s of MP3 (64 kB) fits the 200 kB disk until the WAV beside it fills it at the end;
    # 60 s (960 kB) fills it while ffmpeg is still being fed.
    x = speech_like(seconds, rate=RATE, hot_peaks=False) * 0.5
    t = encode.Targets(mp3=small_disk / "ep.mp3",
                       others={"wav": small_disk / "ep.wav" if seconds < 10 else None})
    (small_disk / "ep.mp3").write_bytes(b"the previous good MP3")
    with pytest.raises(FFmpegError) as err:
        encode.encode(_chunks(x, 65536), t, EncodingSettings(renditions=("mp3", "wav")),
                      sample_rate=RATE,
                      channels=2)
    assert str(err.value) == f"{small_disk / 'ep.mp3'}: encoding failed: no space left on device"
    assert sorted(p.name for p in small_disk.iterdir()) == ["ep.mp3"]        # no temp files
    assert (small_disk / "ep.mp3").read_bytes() == b"the previous good MP3"


@pytest.mark.parametrize("kind", ["aac", "opus"])
@pytest.mark.parametrize("loopback", [True, False], ids=["loopback-decoder", "tee-fallback"])
def test_monitor_measures_each_lossy_rendition_on_its_own(tmp_path, monkeypatch, loopback, kind):
    from toolkit.audio import loudness
    if loopback and not encode.loopback_decoders():
        pytest.skip("this ffmpeg has no loopback decoders")
    monkeypatch.setattr(encode, "loopback_decoders", lambda: loopback)
    x = speech_like(6.0, rate=RATE) * 0.5
    target = tmp_path / f"a.{renditions.get(kind).ext}"
    meter = loudness.Meter(RATE, 2)
    frames = encode.encode(_chunks(x), encode.Targets(mp3=None, others={kind: target}),
                           EncodingSettings(renditions=("mp3", kind)), sample_rate=RATE,
                           channels=2, monitor=meter.feed)
    live, afterwards = meter.stats(), loudness.measure_file(target)
    assert frames == len(x)
    if kind == "aac":
        assert mutagen.mp4.MP4(target).info.codec == "mp4a.40.2"
    else:
        info = mutagen.oggopus.OggOpus(target).info
        assert info.channels == 2 and info.length == pytest.approx(6.0, abs=0.03)
    # Both decoders see the rendition's samples; the stream may keep the encoder's
    # priming (AAC: 1024 frames) that the .m4a's edit list (the OpusHead pre-skip) trims.
    assert live.integrated == pytest.approx(afterwards.integrated, abs=0.02)
    assert live.true_peak == pytest.approx(afterwards.true_peak, abs=0.05)


def test_opus_is_48_khz_ogg_with_fixed_serials_and_no_gain(tmp_path):
    x = speech_like(3.0, rate=RATE) * 0.5
    settings = EncodingSettings(renditions=("mp3", "opus"))
    outs = []
    for name in ("a", "b"):
        target = tmp_path / f"{name}.opus"
        encode.encode(_chunks(x), encode.Targets(mp3=None, others={"opus": target}), settings,
                      sample_rate=RATE, channels=2)
        outs.append(target.read_bytes())
    assert outs[0] == outs[1]                      # bit-exact: the same samples, the same bytes
    data = outs[0]
    assert data[:4] == b"OggS" and struct.unpack("<I", data[14:18])[0] == 0  # serial 0
    head = data.index(b"OpusHead")
    channels, _skip, rate, gain = struct.unpack("<BHIh", data[head + 9:head + 18])
    assert (channels, rate, gain) == (2, 48000, 0)
    info = mutagen.oggopus.OggOpus(tmp_path / "a.opus").info
    bitrate = len(data) * 8 / info.length
    assert 40_000 < bitrate < 72_000               # 64 kbps stereo, constrained VBR
    mono = tmp_path / "m.opus"
    encode.encode(_chunks(x[:, :1]), encode.Targets(mp3=None, others={"opus": mono}),
                  EncodingSettings(channels=1, renditions=("mp3", "opus")), sample_rate=RATE,
                  channels=1)
    assert mutagen.oggopus.OggOpus(mono).info.channels == 1
    assert encode.lossy_args(EncodingSettings(channels=1), renditions.OPUS)[3] == "48k"


def _ffmpeg_children(mentioning: Path) -> dict[int, str]:
    """This process's ffmpeg children whose command line names `mentioning`: pid -> argv
    (a zombie, never waited for, still counts)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            argv = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and str(mentioning) in argv:
            found[int(stat.parent.name)] = argv
    return found


def test_killed_encoder_leaves_no_source_decoder_behind(tmp_path):
    """The encoder killed mid-encode: by the time encode() raises, the ffmpeg decoding its
    source has been stopped and waited for. Nothing may wait for the garbage collector: a
    -j worker exits without one, and on Python 3.12+ the failed encode's frames sit in a
    reference cycle (contextlib's __exit__ frame, held by the exception it re-raises)."""
    src = tmp_path / "long.flac"          # 60 s: far more than the pipes hold
    ffmpeg.run(["-f", "lavfi", "-i", f"sine=frequency=440:duration=60:sample_rate={RATE}",
                "-ac", "2", "-c:a", "flac", "-y", str(src)], what="making the source")
    killed = []

    def source():
        # The decoder is reachable only through this generator, as in a build.
        for i, chunk in enumerate(ffmpeg.decode(src, sample_rate=RATE, channels=2)):
            if i == 3:
                (encoder,) = [pid for pid, argv in _ffmpeg_children(tmp_path).items()
                              if "pipe:0" in argv]
                os.kill(encoder, signal.SIGKILL)
                killed.append(encoder)
            yield chunk

    gc.disable()          # what the worker's exit amounts to: no collection
    try:
        with pytest.raises(FFmpegError, match=r"stopped mid-encode \(killed by signal 9\)"):
            encode.encode(source(), encode.Targets(mp3=tmp_path / "out.mp3"),
                          EncodingSettings(), sample_rate=RATE, channels=2)
        # The exception (and its traceback) is still alive here, as in the worker.
        assert killed and _ffmpeg_children(tmp_path) == {}
    finally:
        gc.enable()
    assert not (tmp_path / "out.mp3").exists()
