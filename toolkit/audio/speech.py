"""Speech processing of a part: high-pass, hum notches and broadband noise reduction.

    analyse (pass 0: the raw part, once) -> Chain (high-pass + notches, then an STFT
    noise gate) -> a staged copy of the processed part, replayed by the second render

The part is read once by `analyse`, which learns what the chain needs from the whole
recording: the mains hum (50 or 60 Hz and which harmonics stand out of the long-term
spectrum) and a noise profile (the mean spectrum of the quietest tenth of the part).
The first render then processes the part and keeps the result in a temporary raw file
in the episode's cache folder; the second render reads that file, so the processing
is paid once and both renders get the same samples by construction.

The speech leveller is not here: it is a slow gain planned from the first render's
loudness blocks, applied with the loudness gain (toolkit/audio/speechlevel.py, normalize).
"""
from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.fft
from scipy import signal

from toolkit.audio import sources
from toolkit.model import AudioPart, Processing

log = logging.getLogger(__name__)

HUM_HARMONICS = 8           # notches at most up to the 8th harmonic
HUM_PROMINENCE_DB = 8.0     # a harmonic stands this far above its neighbourhood: notch it
MAINS_DRIFT = 0.25          # Hz per harmonic: how far mains may be off 50 or 60 Hz (0.5 %)
HUM_FFT_S = 0.74            # long-term spectrum resolution: 1.35 Hz at 44.1 kHz
NOTCH_BANDWIDTH_HZ = 3.0    # -3 dB width of each notch: mains drifts by a tenth of a hertz
HIGHPASS_ORDER = 4          # 24 dB/octave under the cut-off
QUIET_SHARE = 0.10          # the noise profile is learned from the quietest tenth of frames
OVERSUBTRACT = 3.0          # noise-only bins need 3x the profile's power to pass
STFT_S = 0.023              # denoiser window (about 23 ms: 1024 frames at 44.1 kHz)


def mono_mix(chunk: np.ndarray) -> np.ndarray:
    """The mean of the channels (columns summed one by one: ndarray.mean(axis=1) on a
    two-column array is several times slower)."""
    out = chunk[:, 0].copy()
    for c in range(1, chunk.shape[1]):
        out += chunk[:, c]
    if chunk.shape[1] > 1:
        out *= np.float32(1.0 / chunk.shape[1])
    return out


def _pow2(seconds: float, rate: int) -> int:
    return 1 << max(6, round(math.log2(seconds * rate)))


@dataclass(frozen=True)
class Profile:
    """What pass 0 learned about a part."""

    hum_hz: float | None                    # the mains frequency found (None: no hum)
    notches: tuple[float, ...]              # notch frequencies (Hz), measured peaks
    noise: np.ndarray | None                # mean power per denoiser bin in quiet frames


class _Spectra:
    """Accumulates, from mono frames: a long-term spectrum (hum) and quiet-frame spectra."""

    def __init__(self, rate: int, n_noise: int) -> None:
        self.rate = rate
        self.n_hum = _pow2(HUM_FFT_S, rate)
        self.n_noise = n_noise
        self.hum_sum = np.zeros(self.n_hum // 2 + 1)
        self.hum_count = 0
        # Spectra summed per 1 dB bucket of frame power: the quietest buckets are the
        # quiet passages, found at the end without holding the part's spectra.
        self.buckets = np.zeros((161, n_noise // 2 + 1))
        self.counts = np.zeros(161, dtype=np.int64)
        self._win_h = signal.get_window("hann", self.n_hum).astype(np.float32)
        self._win_n = np.sqrt(signal.get_window("hann", n_noise)).astype(np.float32)

    def feed(self, mono: np.ndarray) -> None:
        nh = len(mono) // self.n_hum
        if nh:
            frames = mono[:nh * self.n_hum].reshape(nh, self.n_hum) * self._win_h
            self.hum_sum += (np.abs(scipy.fft.rfft(frames, axis=1)) ** 2).sum(axis=0)
            self.hum_count += nh
        nn = len(mono) // self.n_noise
        if nn:
            frames = mono[:nn * self.n_noise].reshape(nn, self.n_noise) * self._win_n
            power = np.abs(scipy.fft.rfft(frames, axis=1)) ** 2
            level = 10 * np.log10(np.maximum(power.sum(axis=1), 1e-30))
            idx = np.clip(np.floor(level + 140).astype(int), 0, 160)
            order = np.argsort(idx, kind="stable")
            keys, starts = np.unique(idx[order], return_index=True)
            self.buckets[keys] += np.add.reduceat(power[order], starts, axis=0)
            self.counts[keys] += np.diff(np.append(starts, len(order)))

    def noise_profile(self) -> np.ndarray | None:
        """Mean power per bin over the quietest QUIET_SHARE of frames (digital silence left out)."""
        counts = self.counts.copy()
        counts[:20] = 0                     # below -120 dB: padding or muted, not noise
        total = counts.sum()
        if total == 0:
            return None
        want, got, acc = max(1, int(total * QUIET_SHARE)), 0, np.zeros(self.buckets.shape[1])
        for i in np.flatnonzero(counts):
            acc += self.buckets[i]
            got += counts[i]
            if got >= want:
                break
        return acc / got

    def hum(self, hum_hz: float | None) -> tuple[float | None, tuple[float, ...]]:
        """(mains frequency, notch frequencies) from the long-term spectrum.

        A harmonic counts when its peak stands HUM_PROMINENCE_DB above the median of
        the +-12 Hz around it and lies within MAINS_DRIFT of k x f0 (mains drifts in
        proportion: 50.05 Hz puts the 3rd harmonic at 150.15). Hum is found when the
        fundamental counts, or at least two harmonics do: a chord's notes near 150 and
        300 Hz are music, not mains.
        """
        if not self.hum_count:
            return None, ()
        spec = self.hum_sum / self.hum_count
        res = self.rate / self.n_hum
        best: tuple[float, float, tuple[float, ...]] = (0.0, 0.0, ())
        for f0 in ((hum_hz,) if hum_hz else (50.0, 60.0)):
            score, found, fundamental = 0.0, [], False
            for k in range(1, HUM_HARMONICS + 1):
                f, tol = f0 * k, MAINS_DRIFT * k
                near = np.arange(int((f - tol) / res) - 1, int((f + tol) / res) + 2)
                around = np.setdiff1d(np.arange(int((f - 12) / res), int((f + 12) / res) + 1),
                                      near)
                if near[-1] + 1 >= len(spec) or around[0] < 1:
                    continue
                peak = int(near[np.argmax(spec[near])])
                # The peak's frequency between bins (a parabola through the log powers).
                a, b, c = np.log(np.maximum(spec[peak - 1:peak + 2], 1e-30))
                shift = 0.5 * (a - c) / (a - 2 * b + c) if a - 2 * b + c < 0 else 0.0
                freq = (peak + shift) * res
                # Floors on both sides: digital silence has no power at all (log10(0)).
                prominence = 10 * math.log10(max(float(spec[peak]), 1e-30)
                                             / max(float(np.median(spec[around])), 1e-30))
                if prominence >= HUM_PROMINENCE_DB and abs(freq - f) <= tol:
                    score += prominence
                    found.append(round(float(freq), 2))
                    fundamental = fundamental or k == 1
            if (fundamental or len(found) >= 2 or hum_hz) and score > best[1]:
                best = (f0, score, tuple(found))
        return (best[0], best[2]) if best[2] else (None, ())


def _highpass_sos(proc: Processing, rate: int) -> list[np.ndarray]:
    if not proc.highpass_hz:
        return []
    return [signal.butter(HIGHPASS_ORDER, proc.highpass_hz, "highpass", fs=rate, output="sos")]


def chain_sos(proc: Processing, notches: tuple[float, ...], rate: int) -> np.ndarray | None:
    """The high-pass and the hum notches as one sos cascade (None: no filter).

    Used for the filters' response (the denoiser's profile is filtered with it); ffmpeg
    runs the same filters on the audio (`ffmpeg_filters`).
    """
    sections = _highpass_sos(proc, rate)
    for f in notches:
        if f < rate / 2:
            b, a = signal.iirnotch(f, f / NOTCH_BANDWIDTH_HZ, fs=rate)
            sections.append(signal.tf2sos(b, a))
    return np.concatenate(sections) if sections else None


#: The Q of each biquad of a 4th-order Butterworth high-pass.
_BUTTER4_Q = (0.5411961, 1.3065630)


def ffmpeg_filters(proc: Processing, notches: tuple[float, ...], rate: int) -> str | None:
    """The high-pass and notches as an ffmpeg filter chain, run by the part's decoder.

    ffmpeg's biquads run in double precision in the decoding process: a 50 Hz notch has
    its poles within 1e-4 of the unit circle, and the decoder's core is otherwise idle.
    """
    steps = [f"highpass=f={proc.highpass_hz:g}:width_type=q:width={q}" for q in _BUTTER4_Q
             ] if proc.highpass_hz else []
    steps += [f"bandreject=f={f:g}:width_type=h:width={NOTCH_BANDWIDTH_HZ:g}"
              for f in notches if f < rate / 2]
    return ",".join(steps) or None


def analyse(part: AudioPart, proc: Processing, rate: int, channels: int,
            spectra_hook: Callable[[np.ndarray], None] | None = None) -> Profile:
    """Pass 0: read the raw part once and learn its hum and noise profile."""
    n_noise = _pow2(STFT_S, rate)
    spectra = _Spectra(rate, n_noise)
    carry = np.zeros(0, dtype=np.float32)
    block = max(spectra.n_hum, n_noise)
    for chunk in sources.stream(part.path, sample_rate=rate, channels=channels):
        if spectra_hook is not None:
            spectra_hook(chunk)
        mono = mono_mix(chunk)
        carry = np.concatenate([carry, mono])
        whole = len(carry) // block * block
        if whole:
            spectra.feed(carry[:whole])
            carry = carry[whole:]
    spectra.feed(carry)
    hum_hz, notches = spectra.hum(proc.hum_hz) if proc.dehum else (None, ())
    noise = spectra.noise_profile() if proc.denoise_db else None
    if noise is not None:
        sos = chain_sos(proc, notches, rate)
        if sos is not None:
            # The denoiser sees the filtered part: its profile is filtered the same way.
            _w, h = signal.sosfreqz(sos, worN=n_noise // 2 + 1, fs=rate)
            noise = noise * np.abs(h) ** 2
    log.info("%s: hum %s (notches %s), noise profile from the quietest %d %% of frames",
             part.path.name, f"{hum_hz:g} Hz" if hum_hz else "none",
             ", ".join(f"{f:g}" for f in notches) or "none", round(100 * QUIET_SHARE))
    return Profile(hum_hz=hum_hz, notches=notches, noise=noise)


class Chain:
    """The noise reduction of one part, streamed: `process` chunks in order, then `flush`.

    Output frames equal input frames: the STFT's latency (half a window) is taken
    off the front and the tail flushed at the end, so part boundaries do not move.
    The gain per bin comes from the mid's power (both channels get the same gain, so
    the stereo image stays), smoothed over three frames, against the learned profile.
    """

    def __init__(self, proc: Processing, profile: Profile, rate: int, channels: int) -> None:
        self.channels = channels
        noise = profile.noise if proc.denoise_db else None
        self._noise = None if noise is None else (OVERSUBTRACT * noise).astype(np.float32)
        self._n = _pow2(STFT_S, rate)
        self._hop = self._n // 2
        # sqrt-Hann analysis and synthesis at 50 % overlap reconstruct exactly.
        self._win = np.sqrt(signal.get_window("hann", self._n)).astype(np.float32)
        self._floor = np.float32(10.0 ** (-(proc.denoise_db or 0.0) / 20.0))
        bins = self._n // 2 + 1
        self._prev = np.zeros((2, bins), dtype=np.float32)      # the last two frames' power
        self._buf = np.zeros((channels, self._hop), dtype=np.float32)   # latency padding
        self._tail = np.zeros((channels, self._hop), dtype=np.float32)
        self._skip = self._hop
        self._in = 0
        self._out = 0

    def _denoise(self, x: np.ndarray) -> np.ndarray:
        assert self._noise is not None
        self._buf = np.concatenate([self._buf, x.T], axis=1)   # (channels, frames)
        n, hop = self._n, self._hop
        nf = (self._buf.shape[1] - n) // hop + 1 if self._buf.shape[1] >= n else 0
        if nf <= 0:
            return np.zeros((0, self.channels), dtype=np.float32)
        frames = np.lib.stride_tricks.sliding_window_view(self._buf, n, axis=1)[:, ::hop][:, :nf]
        spec = scipy.fft.rfft(frames * self._win, axis=2)          # (channels, nf, bins)
        power = spec.real ** 2
        power += spec.imag ** 2
        power = power.mean(axis=0) if self.channels > 1 else power[0]
        # A causal 3-frame mean of the power: a steadier estimate, fewer musical tones.
        padded = np.concatenate([self._prev, power])
        smooth = (padded[2:] + padded[1:-1] + padded[:-2]) * np.float32(1 / 3)
        self._prev = padded[-2:]
        gain = np.maximum(np.float32(1.0) - self._noise / np.maximum(smooth, np.float32(1e-30)),
                          self._floor)
        # Neighbouring bins share their gain (a 3-bin mean): fewer isolated tones.
        gain[:, 1:-1] = (gain[:, :-2] + gain[:, 1:-1] + gain[:, 2:]) * np.float32(1 / 3)
        spec *= gain
        out = scipy.fft.irfft(spec, n=n, axis=2)
        out *= self._win
        first, second = out[:, :, :hop], out[:, :, hop:]
        first[:, 0] += self._tail
        first[:, 1:] += second[:, :-1]
        self._tail = second[:, -1].copy()
        self._buf = self._buf[:, nf * hop:]
        return first.reshape(self.channels, nf * hop).T

    def _emit(self, y: np.ndarray) -> np.ndarray:
        if self._skip:
            cut = min(self._skip, len(y))
            y, self._skip = y[cut:], self._skip - cut
        y = y[:max(0, self._in - self._out)]
        self._out += len(y)
        return np.ascontiguousarray(y, dtype=np.float32)

    def process(self, chunk: np.ndarray) -> np.ndarray:
        """The next chunk processed (may be shorter than the input: the STFT lags)."""
        self._in += len(chunk)
        if self._noise is None:
            self._out += len(chunk)
            return chunk
        return self._emit(self._denoise(chunk))

    def flush(self) -> np.ndarray:
        """The last frames, so the output is exactly as long as the input."""
        if self._noise is None:
            return np.zeros((0, self.channels), dtype=np.float32)
        pad = np.zeros((self._n + self._hop, self.channels), dtype=np.float32)
        return self._emit(self._denoise(pad))


class Staged:
    """A processed part: the first render processes and keeps it, later renders replay it."""

    def __init__(self, proc: Processing, profile: Profile, rate: int, channels: int,
                 path: Path) -> None:
        self.proc, self.profile = proc, profile
        self.rate, self.channels = rate, channels
        self.path = path
        self.frames: int | None = None      # set once the staged copy is complete

    def stream(self, decoded: Callable[[str | None], Iterator[np.ndarray]]
               ) -> Iterator[np.ndarray]:
        """The processed part as float32 chunks: computed the first time, then read back.

        `decoded(filters)` decodes the raw part through an ffmpeg filter chain (or none).
        """
        if self.frames is not None:
            yield from self._replay()
            return
        chain = Chain(self.proc, self.profile, self.rate, self.channels)
        filters = ffmpeg_filters(self.proc, self.profile.notches, self.rate)
        frames = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "wb") as out:
            for chunk in decoded(filters):
                y = chain.process(chunk)
                if len(y):
                    y.astype("<f4").tofile(out)
                    frames += len(y)
                    yield y
            y = chain.flush()
            if len(y):
                y.astype("<f4").tofile(out)
                frames += len(y)
                yield y
        self.frames = frames

    def _replay(self) -> Iterator[np.ndarray]:
        step = 65536
        with open(self.path, "rb") as f:
            while True:
                data = np.fromfile(f, dtype="<f4", count=step * self.channels)
                if not len(data):
                    return
                yield data.reshape(-1, self.channels)

    def remove(self) -> None:
        """Delete the staged copy (the build is over)."""
        self.path.unlink(missing_ok=True)
