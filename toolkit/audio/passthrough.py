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
from pathlib import Path

from toolkit import codec, ffmpeg, fsutil
from toolkit.audio import loudness
from toolkit.audio.master import AudioResult, Progress
from toolkit.errors import MediaError
from toolkit.model import ENGINE_VERSION, Episode, LoudnessStats

log = logging.getLogger(__name__)


def _source(episode: Episode) -> Path:
    """The one MP3 of a passthrough episode; MediaError naming it when it is not MP3 audio."""
    if len(episode.parts) != 1:
        raise MediaError("passthrough needs exactly one audio file", path=episode.path,
                         field="passthrough")
    path = episode.parts[0].path
    info = ffmpeg.probe(path)
    if info.codec != "mp3":
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
