"""BS.1770-4 / EBU R 128 meter against the EBU Tech 3341 and 3342 compliance cases."""
from __future__ import annotations

import numpy as np
import pytest
from audiosignals import convert, ebur128, speech_like, tone, write_wav

from toolkit import ffmpeg
from toolkit.audio import loudness, truepeak
from toolkit.errors import MediaError

FS = 48000


def _fade_in(x: np.ndarray, seconds: float = 0.01) -> np.ndarray:
    # An abrupt start from digital zero really has intersample overshoot; the
    # compliance cases measure the steady tone, so it starts with a 10 ms fade.
    n = int(seconds * FS)
    x = x.copy()
    x[:n] *= (np.sin(np.linspace(0, np.pi / 2, n)) ** 2)[:, None]
    return x


def _integrated(*pieces: np.ndarray, rate: int = FS) -> float:
    return loudness.measure_array(np.concatenate(pieces), rate).integrated


@pytest.mark.parametrize("case, pieces, expected", [
    ("3341-1", [(-23, 20)], -23.0),
    ("3341-2", [(-33, 20)], -33.0),
    ("3341-3", [(-36, 10), (-23, 60), (-36, 10)], -23.0),
    ("3341-4", [(-72, 10), (-36, 10), (-23, 60), (-36, 10), (-72, 10)], -23.0),
    ("3341-5", [(-26, 20), (-20, 20.1), (-26, 20)], -23.0),
])
def test_tech3341_integrated(case, pieces, expected):
    assert _integrated(*(tone(db, s) for db, s in pieces)) == pytest.approx(expected, abs=0.1), case


@pytest.mark.parametrize("levels, expected", [
    ([-20, -30], 10.0), ([-20, -15], 5.0), ([-40, -20], 20.0), ([-50, -35, -20, -35, -50], 15.0),
])
def test_tech3342_lra(levels, expected):
    x = np.concatenate([tone(db, 20) for db in levels])
    assert loudness.measure_array(x, FS).lra == pytest.approx(expected, abs=1.0)


@pytest.mark.parametrize("divisor", [4, 6, 8])
@pytest.mark.parametrize("phase", [0.0, 22.5, 45.0, 67.5])
def test_tech3341_true_peak_at_half_scale(divisor, phase):
    x = _fade_in(tone(-6.0206, 1.0, freq=FS / divisor, phase_deg=phase))
    tp = loudness.measure_array(x, FS).true_peak
    assert -6.4 <= tp <= -5.8, (divisor, phase, tp)


def test_true_peak_fs4_45deg_sits_between_samples():
    # 3341 fs/4, 0.5 FS, 45°: every sample is at 0.354 (-9 dBFS), the peak between them.
    stats = loudness.measure_array(_fade_in(tone(-6.0206, 1.0, freq=FS / 4, phase_deg=45)), FS)
    assert stats.sample_peak == pytest.approx(-9.03, abs=0.05)
    assert -6.4 <= stats.true_peak <= -5.8


def test_tech3341_19_true_peak_over_full_scale():
    x = _fade_in(tone(20 * np.log10(1.41), 1.0, freq=FS / 4, phase_deg=45))
    stats = loudness.measure_array(x, FS)
    assert stats.sample_peak == pytest.approx(-0.03, abs=0.02)
    assert 2.6 <= stats.true_peak <= 3.2


def test_k_weighting_matches_the_48k_coefficients_printed_in_bs1770():
    sos = loudness.k_weighting(48000)
    np.testing.assert_allclose(sos[0], [1.53512485958697, -2.69169618940638, 1.19839281085285,
                                        1.0, -1.69065929318241, 0.73248077421585], atol=1e-8)
    np.testing.assert_allclose(sos[1], [1.0, -2.0, 1.0, 1.0, -1.99004745483398,
                                        0.99007225036621], atol=1e-8)


@pytest.mark.parametrize("rate", [44100, 96000, 22050])
def test_other_sample_rates_are_exact_too(rate):
    assert _integrated(tone(-23, 20, rate=rate), rate=rate) == pytest.approx(-23.0, abs=0.1)


def test_mono_counts_one_channel():
    assert _integrated(tone(-23, 20, channels=1)) == pytest.approx(-26.01, abs=0.1)


def test_chunking_does_not_change_the_result():
    x = speech_like(12, rate=FS)
    whole = loudness.Meter(FS, 2)
    whole.feed(x)
    pieces = loudness.Meter(FS, 2)
    rng = np.random.default_rng(0)
    pos = 0
    while pos < len(x):
        step = int(rng.integers(1, 20000))
        pieces.feed(x[pos:pos + step])
        pos += step
    a, b = whole.stats(), pieces.stats()
    # The per-block sample peaks (the QC waveform) do not depend on the chunking either.
    blocks = len(x) // whole.block
    expected = np.abs(x[:blocks * whole.block]).reshape(blocks, -1).max(axis=1)
    np.testing.assert_array_equal(whole.sample_peaks(), expected)
    np.testing.assert_array_equal(pieces.sample_peaks(), expected)
    assert a.integrated == pytest.approx(b.integrated, abs=1e-4)
    assert a.true_peak == pytest.approx(b.true_peak, abs=1e-4)
    assert a.sample_peak == b.sample_peak
    assert a.duration == b.duration == pytest.approx(12.0)


@pytest.mark.parametrize("channels, block", [(1, 441), (2, 441), (2, 480), (6, 7)])
def test_true_peak_kernel_matches_a_direct_convolution(channels, block):
    rng = np.random.default_rng(channels * block)
    blocks = 50
    padded = rng.uniform(-1, 1, (blocks * block + truepeak.TP_TAPS - 1, channels))
    padded = padded.astype(np.float32)
    # Reference: each phase of the Annex 2 filter by np.convolve, channel by channel.
    want = np.zeros(blocks)
    for c in range(channels):
        for phase in truepeak.TP_FIR:
            y = np.convolve(padded[:, c].astype(np.float64), phase, mode="valid")
            want = np.maximum(want, np.abs(y).reshape(blocks, block).max(axis=1))
    # Every block, and a scattered subset (runs, gaps, a lone block at the end).
    every = np.arange(blocks)
    np.testing.assert_allclose(truepeak.interpolated_peaks(padded, every, block), want,
                               rtol=1e-5)
    some = np.array([0, 1, 2, 7, 20, 21, 30, blocks - 1])
    np.testing.assert_allclose(truepeak.interpolated_peaks(padded, some, block), want[some],
                               rtol=1e-5)


def test_in_place_filter_kernel_matches_the_public_sosfilt(monkeypatch):
    x = speech_like(5, rate=FS)
    fast = loudness.Meter(FS, 2, exact_peaks=True)
    fast.feed(x)
    monkeypatch.setitem(loudness._filters(), "inplace", None)   # a scipy without the kernel
    public = loudness.Meter(FS, 2, exact_peaks=True)
    public.feed(x)
    np.testing.assert_array_equal(fast.block_log().energy, public.block_log().energy)
    assert fast.stats() == public.stats()


def test_exact_block_peaks_agree_with_the_pruned_meter():
    x = speech_like(6, rate=FS)
    fast, exact = loudness.Meter(FS, 2), loudness.Meter(FS, 2, exact_peaks=True)
    fast.feed(x)
    exact.feed(x)
    assert fast.stats().true_peak == pytest.approx(exact.stats().true_peak, abs=1e-6)
    log = exact.block_log()
    assert len(log.peak) == len(x) // log.block
    assert (log.peak >= np.abs(x[:len(log.peak) * log.block]).reshape(len(log.peak), -1).max(1)).all()


def test_agrees_with_ffmpeg_ebur128_on_speech(tmp_path):
    wav = write_wav(tmp_path / "speech.wav", speech_like(30, rate=44100), 44100)
    ours = loudness.measure_file(wav)
    theirs = ebur128(wav)
    assert ours.integrated == pytest.approx(theirs["I"], abs=0.1)
    assert ours.lra == pytest.approx(theirs["LRA"], abs=0.5)
    assert ours.true_peak == pytest.approx(theirs["TP"], abs=0.2)
    assert ours.duration == pytest.approx(30.0, abs=1e-3)


def test_measure_file_reads_compressed_formats_and_short_term(tmp_path):
    wav = write_wav(tmp_path / "s.wav", speech_like(8, rate=44100), 44100)
    flac = convert(wav, tmp_path / "s.flac")
    stats = loudness.measure_file(flac)
    plain = loudness.measure_file(wav)
    fields = ("integrated", "lra", "true_peak", "sample_peak", "duration")
    # Lossless: the same numbers.
    assert [getattr(stats, f) for f in fields] == [getattr(plain, f) for f in fields]
    # The short-term series (what the QC picture plots) of the same stream.
    meter = loudness.Meter(44100, 2)
    for chunk in ffmpeg.decode(flac, sample_rate=44100, channels=2):
        meter.feed(chunk)
    assert len(meter.short_term()) == (80 - 30 + 1)   # one per 100 ms from 3 s on


def test_measure_file_rejects_non_audio(tmp_path):
    bad = tmp_path / "notes.mp3"
    bad.write_text("this is not audio\n")
    with pytest.raises(MediaError) as err:
        loudness.measure_file(bad)
    assert str(bad) in str(err.value)


def test_silence_measures_minus_infinity():
    stats = loudness.measure_array(np.zeros((FS, 2), np.float32), FS)
    assert stats.integrated == -np.inf and stats.true_peak == -np.inf
