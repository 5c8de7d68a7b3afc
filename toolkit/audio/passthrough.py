"""The audio stage for an episode whose MP3 is already the finished master (`passthrough`).

Shows moved in from another host (`podkit import`) arrive mastered and encoded: a
second lossy encode would only lose quality, and listeners would see a new file. So
the MP3 is taken as it is: checked to be MP3, measured (loudness, true peak and the
decoded duration go into the build record like any other build), and handed to the
tag stage, which writes podkit's ID3 tag in front of the unchanged audio frames, or,
with `keep_tags = true`, copies the file byte for byte.

The measurement is cached under the file's content hash, so a rebuild after a notes
edit decodes nothing.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import replace
from pathlib import Path

from toolkit import codec, ffmpeg, fsutil
from toolkit.audio import loudness
from toolkit.audio.master import AudioResult, Progress
from toolkit.errors import MediaError
from toolkit.model import ENGINE_VERSION, EncodingSettings, Episode, LoudnessStats, Show
from toolkit.standards import contenttypes

log = logging.getLogger(__name__)


#: MP3 bitrates LAME writes (MPEG-1 and MPEG-2 layer III), kbps: a re-master picks the
#: highest one not above the source's.
MP3_BITRATES = (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
#: Output rates the loaders accept ([encoding] sample_rate).
SAMPLE_RATES = (22050, 32000, 44100, 48000)


def _source(episode: Episode) -> Path:
    """The one file of a passthrough episode; MediaError naming it when it is not MP3 audio
    (a file published as delivered with `keep_tags`, an imported video say, may be any)."""
    if len(episode.parts) != 1:
        raise MediaError("passthrough needs exactly one audio file", path=episode.path,
                         field="passthrough")
    path = episode.parts[0].path
    info = ffmpeg.probe(path)
    if info.codec != "mp3" and path.suffix.lower() == ".mp3":
        # An .mp3 name on AAC or Opus data: publishing it would lie about the format.
        raise MediaError(f"{path.name} holds {info.codec} audio, not MP3: passthrough publishes "
                         "MP3 only (leave passthrough out to encode it)", path=episode.path,
                         field="passthrough")
    return path


def build_audio(episode: Episode, cache_dir: Path, *, progress: Progress | None = None) -> AudioResult:
    """The AudioResult of a passthrough episode: its own MP3, measured, never re-encoded.

    `AudioResult.mp3` is the source file itself (only read: the tag stage writes a new
    file). MediaError names the episode's `passthrough` key for a file that is not MP3.
    """
    path = _source(episode)
    digest = fsutil.sha256_file(path)
    key = hashlib.sha256(json.dumps({"passthrough": digest, "engine": ENGINE_VERSION,
                                     "ffmpeg": ffmpeg.info().version}).encode()).hexdigest()
    manifest = cache_dir / f"{episode.slug}-{key[:16]}.passthrough.json"
    cached = manifest.is_file()
    if cached:
        stats = codec.load(LoudnessStats, json.loads(manifest.read_text("utf-8")))
        log.info("%s: passthrough MP3 unchanged (cache %s)", episode.slug, key[:16])
    else:
        if progress:
            progress("measure", 0.0)
        stats = loudness.measure_file(path)
        fsutil.write_text(manifest, json.dumps(codec.dump(stats), sort_keys=True) + "\n")
        for old in cache_dir.glob(f"{episode.slug}-*.passthrough.json"):
            if old != manifest:
                old.unlink(missing_ok=True)
        log.info("%s: passthrough MP3 measured: %.2f LUFS, %.2f dBTP, %.1f s", episode.slug,
                 stats.integrated, stats.true_peak, stats.duration)
    if progress:
        progress("cached" if cached else "done", 1.0)
    title = episode.parts[0].title or episode.title
    # No QC picture: nothing was processed, so there is no before/after to draw.
    return AudioResult(mp3=path, duration=stats.duration, before=stats, after=stats,
                       chapters=(), parts=((title, stats.duration),),
                       qc_png=cache_dir / "none.png", qc_json=cache_dir / "none.json", key=key,
                       cached=cached, renditions={"mp3": stats})


def as_delivered(episode: Episode, show: Show) -> bool:
    """True when the episode's file is published as delivered (passthrough, not re-mastered).

    `[encoding] remaster = true` (the feed's, or the episode's own) re-masters a
    passthrough MP3 instead; any other file (an imported video) is always as delivered.
    """
    if not episode.passthrough:
        return False
    remaster = (episode.encoding or show.preset.encoding).remaster
    mp3 = bool(episode.parts) and episode.parts[0].path.suffix.lower() == ".mp3"
    return not (remaster and mp3)


def remaster(episode: Episode, encoding: EncodingSettings) -> Episode:
    """The passthrough episode as one the engine masters: its file's channels kept (mono
    stays mono) and an MP3 bitrate and sample rate no higher than its own.

    The returned episode has passthrough off and those settings as its `[encoding]`, so
    the record says what was built and `validate` checks it against the right target.
    """
    path = _source(episode)
    info = ffmpeg.probe(path)
    channels = 1 if info.channels == 1 else 2
    settings = replace(encoding, channels=channels, mp3_vbr_quality=None, remaster=True)
    if info.bit_rate:
        kbps = info.bit_rate // 1000
        cap = max([b for b in MP3_BITRATES if b <= kbps], default=MP3_BITRATES[0])
        settings = replace(settings, mp3_bitrate=min(settings.mp3_bitrate, cap),
                           mp3_bitrate_mono=min(settings.mp3_bitrate_mono, cap))
    if info.sample_rate < settings.sample_rate:
        rate = max([r for r in SAMPLE_RATES if r <= info.sample_rate], default=SAMPLE_RATES[0])
        settings = replace(settings, sample_rate=rate)
    log.info("%s: re-mastering the passthrough file: %d channel(s), %d kbps, %d Hz",
             episode.slug, channels, settings.mp3_bitrate_mono if channels == 1
             else settings.mp3_bitrate, settings.sample_rate)
    return replace(episode, passthrough=False, keep_tags=False, encoding=settings)


def delivered_format(path: Path, ext: str, mime: str) -> tuple[str, str]:
    """The extension and MIME type a published-as-delivered file keeps: its own (an MP4
    stays video/mp4); `ext` and `mime` (the MP3's) for an MP3."""
    suffix = path.suffix.lower()
    if suffix == ".mp3" or suffix not in contenttypes.BY_EXTENSION:
        return ext, mime
    return suffix.lstrip("."), contenttypes.BY_EXTENSION[suffix]
