"""Streaming assembly: gaps, crossfades, gain, trimming, ducked beds, chapters, formats."""
from __future__ import annotations

import numpy as np
import pytest
from audiosignals import convert, tone, write_wav

from toolkit import ffmpeg
from toolkit.audio import assemble
from toolkit.errors import MediaError
from toolkit.model import AudioPart

RATE = 44100


def _render(parts, channels=2):
    r = assemble.Render(parts, RATE, channels)
    chunks = list(r)
    return r, (np.concatenate(chunks) if chunks else np.zeros((0, channels)))


def _wav(tmp_path, name, x):
    return write_wav(tmp_path / name, x, RATE, bits=32)


def test_pydub_is_pointed_at_podkits_ffmpeg():
    assert assemble.AudioSegment.converter == ffmpeg.binary()


def test_gap_gain_and_chapters(tmp_path):
    a = _wav(tmp_path, "a.wav", tone(-20, 2.0, rate=RATE))
    b = _wav(tmp_path, "b.wav", tone(-20, 3.0, rate=RATE))
    c = _wav(tmp_path, "c.wav", tone(-20, 1.0, rate=RATE))
    r, x = _render([AudioPart(a, title="Intro"), AudioPart(b, title="Talk", gap_s=0.5, gain_db=-6),
                    AudioPart(c, title="Outro", chapter=False)])
    assert len(x) == r.frames == round(6.5 * RATE)
    gap = x[round(2.0 * RATE) + 10:round(2.5 * RATE) - 10]
    assert np.abs(gap).max() == 0.0
    talk = x[round(2.6 * RATE):round(5.4 * RATE), 0]
    assert np.abs(talk).max() == pytest.approx(0.1 * 10 ** (-6 / 20), rel=1e-3)
    chapters = assemble.chapters(r.spans, RATE, r.frames)
    assert [(c.start, c.title, c.end) for c in chapters] == [(0.0, "Intro", 2.5), (2.5, "Talk", 6.5)]
    assert assemble.part_durations(r.spans, RATE) == (("Intro", 2.0), ("Talk", 3.0), ("Outro", 1.0))


def test_crossfade_overlaps_the_parts_with_pydub_fades(tmp_path):
    a = _wav(tmp_path, "a.wav", tone(-20, 3.0, rate=RATE, freq=440))
    b = _wav(tmp_path, "b.wav", tone(-20, 3.0, rate=RATE, freq=880))
    r, x = _render([AudioPart(a, title="A"), AudioPart(b, title="B", crossfade_s=1.0)])
    assert len(x) == round(5.0 * RATE)
    assert r.spans[1].start == round(2.0 * RATE)
    chapters = assemble.chapters(r.spans, RATE, r.frames)
    assert chapters[1].start == 2.0
    # Mid-fade both tones are present at about half amplitude each.
    mid = x[round(2.45 * RATE):round(2.55 * RATE), 0]
    t = np.arange(len(mid))
    for f in (440, 880):
        amp = 2 * np.abs(np.mean(mid * np.exp(-2j * np.pi * f * t / RATE)))
        assert amp == pytest.approx(0.05, rel=0.15)
    # Fully the second part after the fade.
    after = x[round(3.2 * RATE):round(3.3 * RATE), 0]
    amp440 = 2 * np.abs(np.mean(after * np.exp(-2j * np.pi * 440 * np.arange(len(after)) / RATE)))
    assert amp440 < 1e-3


def test_trim_silence_keeps_50ms_either_side(tmp_path):
    body = tone(-20, 2.0, rate=RATE)
    silent = np.zeros((RATE * 3, 2), np.float32)
    noisy_floor = (np.random.default_rng(0).standard_normal((RATE, 2)) * 1e-4).astype(np.float32)
    src = _wav(tmp_path, "t.wav", np.concatenate([silent, noisy_floor, body, silent]))
    r, x = _render([AudioPart(src, trim_silence=True)])
    assert len(x) == pytest.approx(round(2.1 * RATE), abs=2)
    _r2, untrimmed = _render([AudioPart(src)])
    assert len(untrimmed) == 9 * RATE


def test_music_bed_is_ducked_under_speech(tmp_path):
    # Speech: 2 s of 1 kHz on, 2 s off; the bed: a 100 Hz hum.
    speech = np.concatenate([np.concatenate([tone(-12, 2, rate=RATE),
                                             np.zeros((2 * RATE, 2), np.float32)])] * 3)
    src = _wav(tmp_path, "speech.wav", speech)
    bed = _wav(tmp_path, "bed.wav", tone(-6, 1.7, rate=RATE, freq=100))   # loops
    r, x = _render([AudioPart(src, bed=bed, bed_gain_db=-20)])
    assert len(x) == len(speech)

    def hum(a, b):
        seg = x[round(a * RATE):round(b * RATE), 0]
        t = np.arange(len(seg)) + round(a * RATE)
        return 20 * np.log10(2 * np.abs(np.mean(seg * np.exp(-2j * np.pi * 100 * t / RATE))))

    under = hum(4.8, 5.8)       # speech on
    pause = hum(7.0, 7.9)       # well into a pause
    assert under == pytest.approx(-6 - 20, abs=1.5)
    assert pause - under == pytest.approx(assemble.BED_RISE_DB, abs=2.0)
    assert np.abs(x[-10:]).max() < 1e-3     # faded out by the end of the part


@pytest.mark.parametrize("ext, args", [("flac", []), ("ogg", ["-c:a", "libvorbis"]),
                                       ("mp3", ["-b:a", "192k"]), ("m4a", ["-c:a", "aac"])])
def test_compressed_inputs(tmp_path, ext, args):
    wav = _wav(tmp_path, "src.wav", tone(-20, 2.0, rate=RATE))
    src = convert(wav, tmp_path / f"src.{ext}", *args)
    r, x = _render([AudioPart(src, title="X")])
    assert abs(len(x) - 2 * RATE) < 0.03 * RATE
    assert np.abs(x).max() == pytest.approx(0.1, rel=0.1)


def test_not_audio_is_a_media_error_naming_the_file(tmp_path):
    good = _wav(tmp_path, "a.wav", tone(-20, 1.0, rate=RATE))
    bad = tmp_path / "b.ogg"
    bad.write_bytes(b"OggS but not really" * 10)
    with pytest.raises(MediaError) as err:
        _render([AudioPart(good), AudioPart(bad)])
    assert str(bad) in str(err.value)


def test_rendering_twice_gives_the_same_samples_and_spans(tmp_path):
    a = _wav(tmp_path, "a.wav", tone(-20, 1.5, rate=RATE))
    b = _wav(tmp_path, "b.wav", tone(-25, 2.5, rate=RATE, freq=300))
    r = assemble.Render([AudioPart(a, trim_silence=True), AudioPart(b, crossfade_s=0.3, gap_s=0)],
                        RATE, 2)
    first = np.concatenate(list(r))
    spans = list(r.spans)
    second = np.concatenate(list(r))
    assert np.array_equal(first, second) and spans == r.spans


def test_mono_render_of_stereo_parts(tmp_path):
    a = _wav(tmp_path, "a.wav", tone(-20, 1.0, rate=RATE))
    _r, x = _render([AudioPart(a)], channels=1)
    assert x.shape == (RATE, 1)
