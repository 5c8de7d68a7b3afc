"""The audio stage end to end: real parts -> MP3 at the target, cache, atomicity, QC."""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone

import numpy as np
import pytest

from audiosignals import ebur128, speech_like, tone, write_wav
from toolkit import encode, loudness, master, presets
from toolkit.errors import MediaError
from toolkit.model import AudioPart, Episode

RATE = 44100


def _episode(tmp_path, parts):
    return Episode(slug="ep-1", dir=tmp_path, path=tmp_path / "episode.toml", feed="show",
                   title="A test", date=datetime(2024, 1, 2, tzinfo=timezone.utc),
                   parts=tuple(parts), guid="g")


@pytest.fixture()
def parts(tmp_path):
    intro = write_wav(tmp_path / "intro.wav", tone(-30, 2.0, rate=RATE, freq=660), RATE)
    body = write_wav(tmp_path / "body.wav", speech_like(8.0, rate=RATE, level_db=-24, hot_peaks=False), RATE)
    return [AudioPart(intro, title="Intro"),
            AudioPart(body, title="Interview", crossfade_s=0.5),
            AudioPart(intro, title="Outro", gap_s=0.25, chapter=False)]


def _build(tmp_path, parts, preset="podcast", **kw):
    p = presets.get(preset)
    return master.build_audio(_episode(tmp_path, parts), p, p.loudness, tmp_path / "cache", **kw)


def test_build_reaches_target_under_ceiling_with_chapters_and_qc(tmp_path, parts):
    seen = []
    r = _build(tmp_path, parts, progress=lambda stage, frac: seen.append((stage, frac)))
    assert not r.cached and r.mp3.parent == tmp_path / "cache"
    # Our meter on the MP3, and ffmpeg's as an independent check.
    assert r.after.integrated == pytest.approx(-16.0, abs=0.3)
    assert r.after.true_peak <= -1.0
    theirs = ebur128(r.mp3)
    assert theirs["I"] == pytest.approx(-16.0, abs=0.5) and theirs["TP"] <= -1.0
    assert r.before.integrated < -20          # it really needed gain (and the limiter)
    assert r.duration == pytest.approx(2.0 + 8.0 - 0.5 + 0.25 + 2.0, abs=1e-3)
    assert [(c.start, c.title) for c in r.chapters] == [(0.0, "Intro"), (1.5, "Interview")]
    assert r.chapters[-1].end == pytest.approx(r.duration, abs=1e-3)
    assert [t for t, _s in r.parts] == ["Intro", "Interview", "Outro"]
    assert r.qc_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = json.loads(r.qc_json.read_text())
    assert report["after"]["integrated_lufs"] == pytest.approx(-16.0, abs=0.3)
    assert report["before"]["integrated_lufs"] == pytest.approx(r.before.integrated, abs=0.01)
    stages = [s for s, _f in seen]
    assert {"measure", "encode", "done"} <= set(stages)
    fracs = [f for s, f in seen if s == "encode"]
    assert fracs == sorted(fracs) and len(fracs) > 3


def test_second_build_is_cached_and_ignores_mtimes(tmp_path, parts, monkeypatch):
    first = _build(tmp_path, parts)
    mp3_bytes = first.mp3.read_bytes()
    os.utime(parts[1].path, (1, 1))            # touching a source changes nothing

    def no_audio_work(*a, **k):
        raise AssertionError("audio was rebuilt")

    monkeypatch.setattr(encode, "encode", no_audio_work)
    monkeypatch.setattr(loudness.Meter, "feed", no_audio_work)
    again = _build(tmp_path, parts)
    assert again.cached
    assert again.mp3 == first.mp3 and again.mp3.read_bytes() == mp3_bytes
    assert (again.chapters, again.parts, again.duration) == (first.chapters, first.parts,
                                                             first.duration)
    assert again.after.integrated == pytest.approx(first.after.integrated)


def test_changed_input_rebuilds_and_replaces_old_outputs(tmp_path, parts):
    first = _build(tmp_path, parts)
    changed = [parts[0], AudioPart(parts[1].path, title="Interview", gain_db=-3.0,
                                   crossfade_s=0.5), parts[2]]
    second = _build(tmp_path, changed)
    assert second.key != first.key and not second.cached
    assert not first.mp3.exists()
    names = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert all(n.startswith(f"ep-1-{second.key[:16]}.") for n in names), names


def test_interrupted_build_keeps_the_previous_good_output(tmp_path, parts, monkeypatch):
    first = _build(tmp_path, parts)
    before = sorted(p.name for p in (tmp_path / "cache").iterdir())
    real = encode.Encoder.write
    calls = {"n": 0}

    def dies(self, chunk):
        calls["n"] += 1
        if calls["n"] > 2:
            raise KeyboardInterrupt
        real(self, chunk)

    monkeypatch.setattr(encode.Encoder, "write", dies)
    changed = [AudioPart(parts[0].path, title="Intro", gain_db=-1.0), *parts[1:]]
    with pytest.raises(KeyboardInterrupt):
        _build(tmp_path, changed)
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == before
    assert _build(tmp_path, parts).cached and first.mp3.exists()


def test_mono_preset_aims_at_the_mono_target(tmp_path, parts):
    r = _build(tmp_path, parts[1:2], preset="mono-speech")
    assert r.after.integrated == pytest.approx(-19.0, abs=0.3)
    assert r.after.true_peak <= -1.0


def test_broadcast_preset_writes_the_wav_deliverable(tmp_path, parts):
    r = _build(tmp_path, parts[:2], preset="broadcast")
    assert r.wav is not None and r.wav.is_file()
    assert r.after.integrated == pytest.approx(-23.0, abs=0.3)
    assert loudness.measure_file(r.wav).integrated == pytest.approx(-23.0, abs=0.3)


def test_silent_part_is_a_media_error(tmp_path):
    silent = write_wav(tmp_path / "silence.wav", np.zeros((RATE * 2, 2)), RATE)
    with pytest.raises(MediaError) as err:
        _build(tmp_path, [AudioPart(silent, title="Nothing")])
    assert "silence.wav" in str(err.value) and "digital silence" in str(err.value)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())
