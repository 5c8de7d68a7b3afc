"""The air cut's audio: its own plan, measured by ffmpeg's meter; BWF and cart read back by
readers podkit did not write (wavinfo for bext, an AES46 reader written here for cart)."""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from wavinfo import WavInfoReader

from audiosignals import decode_all, ebur128, speech_like, tone, write_wav
from toolkit.audio import cutaudio
from toolkit.cutmodel import Cut
from toolkit.model import AudioPart
from toolkit.standards import bwf

RATE = 44100


def read_cart(path: Path) -> dict:
    """The cart chunk of a WAV, from the AES46-2002 byte layout (independent of bwf.py)."""
    data = path.read_bytes()
    pos, order = 12, []
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        order.append(cid.decode())
        if cid == b"cart":
            body = data[pos + 8:pos + 8 + size]
            break
        pos += 8 + size + (size & 1)
    else:
        raise AssertionError(f"no cart chunk; chunks {order}")

    def text(a: int, b: int) -> str:
        return body[a:b].split(b"\0")[0].decode("ascii")
    timers = {}
    for i in range(8):
        usage = body[684 + 8 * i:688 + 8 * i]
        value = struct.unpack("<I", body[688 + 8 * i:692 + 8 * i])[0]
        if usage != b"\0\0\0\0":
            timers[usage.decode()] = value
    return {"order": order, "version": text(0, 4), "title": text(4, 68), "artist": text(68, 132),
            "cut_id": text(132, 196), "client": text(196, 260), "category": text(260, 324),
            "out_cue": text(388, 452), "start_date": text(452, 462), "start_time": text(462, 470),
            "end_date": text(470, 480), "end_time": text(480, 488), "app": text(488, 552),
            "app_version": text(552, 616), "level_ref": struct.unpack("<i", body[680:684])[0],
            "timers": timers, "tag_text": body[2048:].decode("ascii")}


def _describe(timing: cutaudio.Timing, loud: bwf.Loudness) -> tuple[bwf.Bext, bwf.Cart]:
    bext = bwf.Bext(description="Test programme", originator="podkit", originator_reference=
                    "PODKIT-test-air", date="2019-03-07", time="18:00:00", time_reference=0,
                    loudness=loud, coding_history=("A=PCM,F=48000,W=24,M=stereo,T=podkit",))
    cart = bwf.Cart(title="Test programme", artist="Example Radio", cut_id="KA0312",
                    client_id="EPR", category="NEWS", out_cue="and that is all",
                    start_date="2019-03-07", start_time="18:00:00", end_date="2019-04-07",
                    end_time="23:59:59", producer_version="0.2", level_reference=8388608,
                    timers=(("AUDs", timing.audio_start), ("AUDe", timing.audio_end),
                            ("INT1", timing.intro_end), ("SEGs", timing.segue)))
    return bext, cart


@pytest.fixture(scope="module")
def parts(tmp_path_factory) -> list[AudioPart]:
    d = tmp_path_factory.mktemp("parts")
    sting = write_wav(d / "sting.wav", tone(-6.0, 3.0, RATE, 440.0), RATE)
    voice = write_wav(d / "voice.wav", speech_like(20.0, RATE, -20.0), RATE)
    bed = write_wav(d / "bed.wav", 0.5 * tone(-10.0, 30.0, RATE, 220.0)
                    + 0.5 * tone(-10.0, 30.0, RATE, 330.0), RATE)
    return [AudioPart(sting, title="Opening"), AudioPart(voice, title="Talk", gap_s=0.5),
            AudioPart(bed, title="Closing bed", gap_s=0.3)]


@pytest.mark.parametrize("preset", [(-23.0, -1.0), (-24.0, -2.0)])
def test_a_wav_cut_lands_on_its_own_target_by_ffmpegs_meter(parts, tmp_path, preset):
    cut = Cut(name="air", integrated=preset[0], true_peak=preset[1])
    out = cutaudio.build_cut(cut, parts, tmp_path / "air.wav", channels=2, work=tmp_path,
                             describe=_describe)
    ref = ebur128(out.path)
    assert abs(ref["I"] - preset[0]) <= 0.5, ref
    assert ref["TP"] <= preset[1] + 0.05, ref
    # bext, read by wavinfo: version 2, the loudness measured on this very file.
    info = WavInfoReader(str(out.path))
    assert (info.fmt.sample_rate, info.fmt.channel_count, info.fmt.bits_per_sample) == (48000, 2, 24)
    assert info.fmt.audio_format == 1                   # plain WAVE_FORMAT_PCM
    b = info.bext
    assert b.version == 2 and b.description == "Test programme" and b.originator == "podkit"
    assert b.originator_ref == "PODKIT-test-air" and b.originator_date == "2019-03-07"
    assert b.originator_time == "18:00:00" and b.time_reference == 0
    assert abs(b.loudness_value - ref["I"]) <= 0.1
    assert abs(b.loudness_range - ref["LRA"]) <= 0.5
    # ffmpeg's ebur128 true peak reads up to ~0.2 dB lower than podkit's (BS.1770-4 4x
    # interpolation) on noisy speech; podkit's is the conservative one, never lower.
    assert -0.05 <= b.max_true_peak - ref["TP"] <= 0.3
    assert b.coding_history.strip() == "A=PCM,F=48000,W=24,M=stereo,T=podkit"
    assert b.max_momentary_loudness >= b.max_shortterm_loudness >= b.loudness_value - 3


def test_the_cart_chunk_reads_back_by_the_aes46_layout(parts, tmp_path):
    out = cutaudio.build_cut(Cut(name="air"), parts, tmp_path / "air.wav", channels=2,
                             work=tmp_path, describe=_describe)
    c = read_cart(out.path)
    assert c["order"] == ["fmt ", "bext", "cart"]       # and data after it
    assert (c["version"], c["title"], c["artist"], c["cut_id"]) == (
        "0101", "Test programme", "Example Radio", "KA0312")
    assert (c["client"], c["category"], c["out_cue"]) == ("EPR", "NEWS", "and that is all")
    assert (c["start_date"], c["start_time"], c["end_date"], c["end_time"]) == (
        "2019-03-07", "18:00:00", "2019-04-07", "23:59:59")
    assert (c["app"], c["app_version"], c["level_ref"]) == ("podkit", "0.2", 8388608)
    t = c["timers"]
    frames = round(out.duration * 48000)
    # The sting starts at once; the voice after it (3 s + 0.5 s gap); the bed after the voice.
    assert t["AUDs"] <= 480 and abs(t["AUDe"] - frames) <= 480
    assert abs(t["INT1"] - 3.5 * 48000) <= 48 and abs(t["SEGs"] - 23.8 * 48000) <= 48
    samples = decode_all(out.path, 48000, 2)
    assert len(samples) == frames


def test_the_slot_is_met_to_the_frame_by_shortening_or_extending_the_closing_bed(parts, tmp_path):
    natural = 3.0 + 0.5 + 20.0 + 0.3 + 30.0
    for slot in (45.0, 75.0):                   # shorter than the bed allows, then longer
        cut = Cut(name="air", slot=slot, fit="bed")
        out = cutaudio.build_cut(cut, parts, tmp_path / f"air{slot}.wav", channels=2,
                                 work=tmp_path, describe=_describe)
        info = WavInfoReader(str(out.path))
        assert info.data.frame_count == round(slot * 48000), (slot, natural)
        assert out.slot_error == pytest.approx(0.0, abs=1 / 48000)
        x = decode_all(out.path, 48000, 2)
        assert np.abs(x[-480:]).max() < 0.01          # faded out, not cut off
        assert abs(ebur128(out.path)["I"] + 23.0) <= 0.5
    assert "extended" in out.slot_note


def test_a_slot_the_bed_cannot_reach_is_reported_not_faded_into_speech(parts, tmp_path):
    cut = Cut(name="air", slot=15.0, fit="bed")          # speech alone runs 23.8 s
    out = cutaudio.build_cut(cut, parts, tmp_path / "air.wav", channels=2, work=tmp_path)
    assert out.slot_note.startswith("could not fit")
    assert out.slot_error == pytest.approx(53.8 - 15.0, abs=0.05)


@pytest.mark.parametrize("fmt,ext", [("flac", "flac"), ("mp2", "mp2")])
def test_flac_and_layer_ii_cuts_land_on_target(parts, tmp_path, fmt, ext):
    cut = Cut(name="air", integrated=-24.0, true_peak=-2.0, format=fmt, bits=16)
    out = cutaudio.build_cut(cut, parts, tmp_path / f"air.{ext}", channels=2, work=tmp_path)
    ref = ebur128(out.path)
    assert abs(ref["I"] + 24.0) <= 0.5 and ref["TP"] <= -2.0 + 0.1, ref
    assert abs(out.stats.integrated - ref["I"]) <= 0.1
    head = out.path.read_bytes()[:4]
    assert head == b"fLaC" if fmt == "flac" else head[:2] in (b"\xff\xfd", b"\xff\xfc")
