"""The output formats an episode can be built in, as data: one registry, read by every stage.

    [encoding]
    renditions = ["mp3", "aac", "opus"]     # the MP3 is always there: it is the <enclosure>

Each `Format` says how the encoder writes it (ffmpeg codec, bitrate and sample-rate
rules, muxer), how the tagger labels it, what the pages and the feed call it, whether
it goes into the feed at all (the broadcast WAV is a station deliverable) and what
measuring it needs on the decoder side. The encoder, the cache, the calibration, the
tagger, the pages, the feed, `validate` and `publish` iterate this registry instead of
naming formats. MIME types come from `toolkit.standards.contenttypes`, the one place for them.

Stdlib only, no I/O.
"""
from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from toolkit.standards import contenttypes

if TYPE_CHECKING:
    from toolkit.model import EncodingSettings

#: How a format carries its tags (toolkit.tags.tagging dispatches on it).
ID3, MP4_ATOMS, VORBIS, UNTAGGED = "id3", "mp4", "vorbis", "none"


@dataclass(frozen=True)
class Format:
    """One output format: everything a stage needs to know about it."""

    key: str                        # the name in `renditions = [...]`, record and QC keys
    ext: str                        # file extension, without the dot
    label: str                      # download label on the episode page, alternateEnclosure title
    tagging: str                    # ID3, MP4_ATOMS, VORBIS or UNTAGGED
    codec: str                      # ffmpeg encoder
    muxer: str                      # ffmpeg output format of the file
    primary: bool = False           # the <enclosure> (the MP3)
    in_feed: bool = True            # published: feed, pages, site (not the broadcast WAV)
    lossy: bool = True              # lossy: calibrated and normalized with its own plan
    bitrate_key: str | None = None  # EncodingSettings field: kbps (stereo)
    bitrate_mono_key: str | None = None  # ... for mono programmes (None: bitrate_key's)
    sample_rate: int | None = None  # fixed output rate (Opus: 48 kHz); None: from rate_key
    rate_key: str = "sample_rate"   # EncodingSettings field holding the output rate
    codec_options: tuple[str, ...] = ()  # extra encoder options (ffmpeg args)
    mux_options: tuple[str, ...] = ()   # extra muxer options of the file (ffmpeg args)
    tee_file: str = ""              # the file's tee slave options (encode's fallback monitor)
    # Decoder side: how the encoder's monitor (encode.open_encoder: each file is metered as
    # it is written) gets the decoded samples when ffmpeg has no loopback decoder: the
    # stream piped out of the tee, and the demuxer that reads it back. The decoder trims
    # the encoder's priming where the container says so (LAME header, the .m4a's edit
    # list, the OpusHead pre-skip); its output is resampled to the programme rate (the
    # Opus decodes at 48 kHz) so one meter serves every rendition.
    pipe_format: str = ""           # the monitor's pipe stream (muxer) ...
    pipe_demuxer: str = ""          # ... and how ffmpeg reads it back (demuxer)
    codecs: str | None = None       # RFC 6381 codecs string (podcast:alternateEnclosure)

    @property
    def mime(self) -> str:
        """The MIME type the file is served and listed with (contenttypes.BY_EXTENSION)."""
        return contenttypes.BY_EXTENSION[f".{self.ext}"]

    def bitrate(self, settings: EncodingSettings) -> int | None:
        """The nominal bitrate (kbps) for these settings; None for lossless formats."""
        if self.bitrate_key is None:
            return None
        key = self.bitrate_mono_key if settings.channels == 1 and self.bitrate_mono_key \
            else self.bitrate_key
        return int(getattr(settings, key))

    def rate(self, settings: EncodingSettings) -> int:
        """The output sample rate for these settings."""
        if self.sample_rate is not None:
            return self.sample_rate
        return int(getattr(settings, self.rate_key))


MP3 = Format(key="mp3", ext="mp3", label="MP3", tagging=ID3, codec="libmp3lame", muxer="mp3",
             primary=True, bitrate_key="mp3_bitrate", bitrate_mono_key="mp3_bitrate_mono",
             mux_options=("-id3v2_version", "0", "-write_id3v1", "0"),
             tee_file="f=mp3:id3v2_version=0:write_id3v1=0",
             pipe_format="mp3", pipe_demuxer="mp3")
AAC = Format(key="aac", ext="m4a", label="AAC (.m4a)", tagging=MP4_ATOMS, codec="aac",
             muxer="ipod", bitrate_key="aac_bitrate", mux_options=("-movflags", "+faststart"),
             tee_file="f=ipod:movflags=+faststart", pipe_format="adts", pipe_demuxer="aac",
             codecs="mp4a.40.2")
# Ogg Opus (RFC 7845) always runs at 48 kHz; the OpusHead output gain stays 0 and no
# R128 gain tags are written (players would apply them on top of our normalization).
# Constrained VBR: libopus' free VBR spent 93 kbps at "64k" on the sample show's noisy
# speech; constrained it stays at the nominal rate the feed lists.
OPUS = Format(key="opus", ext="opus", label="Opus", tagging=VORBIS, codec="libopus",
              muxer="ogg", bitrate_key="opus_bitrate", bitrate_mono_key="opus_bitrate_mono",
              sample_rate=48000, codec_options=("-vbr", "constrained"),
              mux_options=("-serial_offset", "0"),
              tee_file="f=ogg:serial_offset=0", pipe_format="ogg", pipe_demuxer="ogg",
              codecs="opus")
WAV = Format(key="wav", ext="wav", label="Broadcast WAV", tagging=UNTAGGED, codec="pcm",
             muxer="wav", in_feed=False, lossy=False, rate_key="wav_sample_rate")

#: Every format, in the order they are built, listed and shown (the primary first).
REGISTRY: dict[str, Format] = {f.key: f for f in (MP3, AAC, OPUS, WAV)}
#: What a feed builds unless it says otherwise.
DEFAULT: tuple[str, ...] = ("mp3",)
#: The old boolean [encoding] keys, still read: `aac = true` adds "aac", `wav = true` "wav".
ALIASES: dict[str, str] = {"aac": "aac", "wav": "wav"}


def get(key: str) -> Format:
    """The format named `key` (KeyError for an unknown one; `problem` explains it)."""
    return REGISTRY[key]


def by_ext(name: str) -> Format | None:
    """The format of a file name, URL or bare extension ('x.m4a', 'm4a'); None if none is."""
    path = name.split("?")[0].split("#")[0]
    last = PurePosixPath(path).name
    ext = last.rsplit(".", 1)[-1].lower()
    return next((f for f in REGISTRY.values() if f.ext == ext), None)


def of(keys: tuple[str, ...]) -> list[Format]:
    """The formats named by `keys`, in registry order (unknown keys are skipped)."""
    return [f for f in REGISTRY.values() if f.key in keys]


def problem(keys: tuple[str, ...]) -> str | None:
    """Why a `renditions` list cannot be built, in one line; None when it can."""
    for key in keys:
        if key not in REGISTRY:
            close = difflib.get_close_matches(key, list(REGISTRY), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            return f"unknown rendition {key!r}{hint}; choose from {', '.join(REGISTRY)}"
    twice = [k for k in REGISTRY if keys.count(k) > 1]
    if twice:
        return f"lists {twice[0]!r} twice"
    if "mp3" not in keys:
        return 'must include "mp3" (the feed\'s <enclosure>)'
    return None


def normalized(keys: tuple[str, ...], *, aac: bool | None = None,
               wav: bool | None = None) -> tuple[str, ...]:
    """`keys` in registry order, with the old `aac` / `wav` flags applied on top."""
    wanted = set(keys)
    for flag, key in ((aac, "aac"), (wav, "wav")):
        if flag is True:
            wanted.add(key)
        elif flag is False:
            wanted.discard(key)
    return tuple(k for k in REGISTRY if k in wanted)


def settings_key(settings: EncodingSettings) -> dict[str, Any]:
    """The encoding settings as the audio cache key holds them (toolkit.audio.master.cache_key).

    In the shape they had before the renditions list (`aac` and `wav` flags), with the
    Opus settings only when an Opus is built: caches made before the registry stay valid.
    The Opus's encoder facts are in it too, so changing them here rebuilds its file.
    """
    d = asdict(settings)
    keys = d.pop("renditions")
    d["aac"], d["wav"] = "aac" in keys, "wav" in keys
    if "opus" in keys:
        d["opus"] = [OPUS.codec, *OPUS.codec_options, OPUS.muxer, *OPUS.mux_options,
                     OPUS.sample_rate]
    else:
        d.pop("opus_bitrate")
        d.pop("opus_bitrate_mono")
    return d


def average_bitrate(fmt: Format, settings: EncodingSettings | None, size: int,
                    duration: float | None) -> int | None:
    """A rendition's bitrate in bits per second, as podcast:alternateEnclosure lists it.

    The encoder's nominal rate when it has one (CBR MP3, AAC, Opus): the file's size
    also counts its tags and cover art. Else the file's average (VBR MP3, WAV); None
    when neither is known.
    """
    vbr = fmt.key == "mp3" and settings is not None and settings.mp3_vbr_quality is not None
    nominal = fmt.bitrate(settings) if settings is not None and not vbr else None
    if nominal is not None:
        return nominal * 1000
    if duration:
        return round(size * 8 / duration)
    return None
