"""Cuts as data: the named deliverables one episode makes besides the podcast (docs/radio.md).

    [cuts.air]                      # in feeds/<id>.toml or episodes/<slug>/episode.toml
    preset = "ebu-r128"             # -23 LUFS, -1 dBTP
    format = "wav"                  # wav (PCM 16/24-bit), mp2 (MPEG-1 Layer II), flac
    name = "{cart}"                 # the file-name template
    slot = "9:30"

A `Cut` is what the sources declare (resolved: the episode's table over the feed's);
a `CutOutput` is what a build made of it, as the build record keeps it and the delivery
step reads it. Stdlib only, no I/O (re-exported by `toolkit.model`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

#: The podcast cut: what the feed publishes (a part with `cuts = ["podcast"]` is only in it).
PODCAST = "podcast"
#: Cut file formats (the MP3/AAC/Opus of the podcast cut are renditions, not cuts).
CUT_FORMATS = ("wav", "mp2", "flac")
#: How a cut may be fitted to its slot (`fit = ...`): not at all, the closing bed, the gaps.
FIT_MODES = ("none", "bed", "gaps")


@dataclass(frozen=True)
class Cut:
    """A named deliverable declared by `[cuts.<name>]`: loudness, file, parts, slot, cart."""

    name: str                           # the table's name: "air"
    integrated: float = -23.0           # LUFS target
    true_peak: float = -1.0             # dBTP ceiling, measured on the cut's own file
    tolerance: float = 0.5              # LU either side of the target that counts as on target
    preset: str | None = None           # the named preset the numbers came from, if any
    format: str = "wav"                 # one of CUT_FORMATS
    sample_rate: int = 48000
    bits: int = 24                      # wav/flac sample size: 16 or 24
    bitrate: int = 256                  # kbps, mp2 only
    channels: int | None = None         # None: the programme's channels
    filename: str = "{slug}-{cut}"      # template: {cart} {slug} {cut} {date:%Y%m%d} {title}
    cart: str | None = None             # AES46 CutID (may be a template like the file name)
    client: str = ""                    # AES46 ClientID
    category: str = ""                  # AES46 Category
    artist: str = ""                    # AES46 Artist; "" = the show's author
    kill_date: datetime | None = None   # AES46 EndDate/EndTime: last air (None: open-ended)
    slot: float | None = None           # seconds the cut must fill
    slot_tolerance: float = 1.0         # seconds either way that still count as filling it
    fit: str = "none"                   # one of FIT_MODES
    max_gap_change: float = 2.0         # fit = "gaps": at most this many seconds per gap


@dataclass(frozen=True)
class CutOutput:
    """One built cut, as the build record keeps it (and `podkit deliver` reads it).

    Numbers are measured on the cut's own file; `path` is POSIX, relative to `build/`.
    """

    name: str                           # the cut's name ("air")
    path: str                           # the file, relative to build/
    format: str                         # "wav", "mp2" or "flac"
    sha256: str
    size: int                           # bytes
    duration: float                     # seconds
    integrated: float                   # LUFS, measured on the file
    true_peak: float                    # dBTP, measured on the file
    target: float                       # LUFS the cut aims at
    ceiling: float                      # dBTP it must stay under
    tolerance: float = 0.5              # LU
    cart: str | None = None             # AES46 CutID written into the file (None: no cart)
    slot: float | None = None           # seconds of the slot (None: no slot)
    slot_error: float | None = None     # duration - slot after fitting (+ over, - under)
    slot_note: str = ""                 # one line: fitted how, or why not

    @property
    def on_target(self) -> bool:
        """True when the file's loudness is within tolerance and its peak under the ceiling."""
        return abs(self.integrated - self.target) <= self.tolerance + 1e-9 \
            and self.true_peak <= self.ceiling + 1e-9


@dataclass(frozen=True)
class CutsPart:
    """The cuts step's part of the build record: every named cut built, in name order."""

    cuts: tuple[CutOutput, ...] = ()
