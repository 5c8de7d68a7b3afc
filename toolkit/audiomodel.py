"""Audio settings and measurements as data: loudness targets, encoding, speech processing,
presets, and what the meter and the limiter report (re-exported by toolkit.model).

Frozen dataclasses, stdlib only, no I/O, like toolkit.model.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LoudnessTarget:
    """Where normalization aims: integrated loudness and the true-peak ceiling."""

    integrated: float           # LUFS, for stereo programmes
    true_peak: float = -1.0     # dBTP ceiling, measured on the encoded file
    mono_integrated: float | None = None  # LUFS for mono output (None: same as stereo)
    max_lra: float | None = None          # LU; above it, gentle levelling is applied if enabled

    def for_channels(self, channels: int) -> float:
        """The integrated target for a programme with this many channels."""
        if channels == 1 and self.mono_integrated is not None:
            return self.mono_integrated
        return self.integrated


@dataclass(frozen=True)
class EncodingSettings:
    """How the finished programme is encoded."""

    sample_rate: int = 44100
    channels: int = 2
    mp3_bitrate: int = 128          # kbps, CBR (stereo)
    mp3_bitrate_mono: int = 96      # kbps, CBR (mono)
    mp3_vbr_quality: int | None = None  # LAME -q:a 0..9; None means CBR
    aac_bitrate: int = 96           # kbps, the "aac" rendition (.m4a)
    wav_sample_rate: int = 48000    # the "wav" rendition (broadcast deliverable)
    wav_bits: int = 24
    opus_bitrate: int = 64          # kbps, the "opus" rendition (stereo)
    opus_bitrate_mono: int = 48     # kbps (mono)
    # What is built, by toolkit.standards.renditions key; the MP3 always (the <enclosure>).
    renditions: tuple[str, ...] = ("mp3",)
    # Passthrough (imported) episodes are re-mastered to the preset, keeping each file's
    # channels and at most its bitrate (toolkit.audio.passthrough.remaster).
    remaster: bool = False

    @property
    def aac(self) -> bool:
        """True when an AAC (.m4a) rendition is built (the old `aac = true` key)."""
        return "aac" in self.renditions

    @property
    def wav(self) -> bool:
        """True when the broadcast WAV is built (the old `wav = true` key)."""
        return "wav" in self.renditions


@dataclass(frozen=True)
class Processing:
    """Speech processing of a part, ahead of the loudness target (docs/processing.md).

    Everything is off by default: a part without processing is rendered as before.
    """

    highpass_hz: float | None = None    # a high-pass against rumble; None: off
    dehum: bool = False                 # notch out mains hum (detected 50 or 60 Hz + harmonics)
    hum_hz: float | None = None         # 50 or 60 to skip the detection of the mains frequency
    denoise_db: float | None = None     # broadband noise reduction, at most this deep; None: off
    level: bool = False                 # the speech leveller (evens out speakers' levels)

    @property
    def active(self) -> bool:
        """True when any step is on."""
        return bool(self.highpass_hz or self.dehum or self.denoise_db or self.level)

    @property
    def filters(self) -> bool:
        """True when a step changes the part's samples (all but the leveller, a gain plan)."""
        return bool(self.highpass_hz or self.dehum or self.denoise_db)


@dataclass(frozen=True)
class Preset:
    """A named loudness target with its encoding settings (see toolkit/config/presets.py)."""

    name: str
    loudness: LoudnessTarget
    encoding: EncodingSettings
    levelling: bool = False
    processing: Processing | None = None    # the feed's speech processing (None: off)


@dataclass(frozen=True)
class LoudnessStats:
    """BS.1770 / EBU R128 measurements of one programme."""

    integrated: float                   # LUFS
    lra: float                          # LU
    true_peak: float                    # dBTP
    sample_peak: float                  # dBFS
    duration: float                     # seconds


@dataclass(frozen=True)
class Limiting:
    """How hard the limiter worked on a programme, and the warning when that was heavy."""

    seconds: float          # time during which the limiter takes more than normalize.LIMITED_DB
    share: float            # of the programme's duration, 0..1
    max_db: float           # its deepest gain reduction
    warning: str | None     # set above normalize.HEAVY_LIMITING_SHARE or HEAVY_LIMITING_DB
