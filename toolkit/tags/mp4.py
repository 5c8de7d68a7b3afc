"""The tag stage for AAC (.m4a): iTunes metadata atoms with mutagen, chapters with ffmpeg.

mutagen 1.47/1.48 reads MP4 chapters (the Nero `chpl` atom) but cannot write them,
so chapters go in with an ffmpeg stream-copy remux first: ffmpeg's mov muxer writes
both a QuickTime chapter text track (what Apple's players read) and a Nero `chpl`
atom (what mutagen and many Android players read). The remux copies the AAC packets
untouched (`-c copy`), drops every old tag and chapter, and runs `bitexact`, so the
result depends only on the audio and the chapters. mutagen then adds the `ilst` tags.
All of it happens in a temp file beside the target, renamed into place at the end.

No standard MP4 atom holds a web page link: the episode page URL is not written here.
"""
from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Sequence
from datetime import timezone
from pathlib import Path

from mutagen import MutagenError
from mutagen.mp4 import MP4, MP4Cover

from toolkit import ffmpeg, fsutil
from toolkit.errors import MediaError
from toolkit.model import Chapter, Episode, Show
from toolkit.tags import pictures

log = logging.getLogger(__name__)

#: Fixed `free` padding after the tags (reproducible bytes; room for edits by hand).
PADDING = 1024
#: iTunes media kind (`stik`) for a podcast episode.
STIK_PODCAST = 21


def _escape(value: str) -> str:
    """Escape a value for ffmpeg's ffmetadata format ('=', ';', '#', '\\' and newlines)."""
    for ch in ("\\", "=", ";", "#", "\n"):
        value = value.replace(ch, "\\" + ch)
    return value


def ffmetadata(chapters: Sequence[Chapter], duration: float) -> str:
    """An ffmetadata document holding just `chapters` (times in milliseconds)."""
    ordered = sorted(chapters, key=lambda c: c.start)
    lines = [";FFMETADATA1"]
    for i, ch in enumerate(ordered):
        end = ch.end if ch.end is not None else (ordered[i + 1].start if i + 1 < len(ordered)
                                                  else duration)
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={round(ch.start * 1000)}",
                  f"END={round(end * 1000)}", f"title={_escape(ch.title)}"]
    return "\n".join(lines) + "\n"


def _duration(path: Path) -> float:
    try:
        return float(MP4(path).info.length)
    except (MutagenError, OSError) as exc:
        raise MediaError(f"not a readable MP4/M4A file ({exc})", path=path) from exc


def _remux(src: Path, dst: Path, chapters: Sequence[Chapter], duration: float) -> None:
    """Stream-copy the audio of `src` into `dst` with only `chapters` as metadata."""
    # The chapter list is ffmpeg's second input: a scratch file beside the output, always removed.
    fd, name = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".ffmeta", dir=dst.parent)
    meta = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(ffmetadata(chapters, duration))
        args = ["-v", "error", "-y", "-i", str(src), "-f", "ffmetadata", "-i", str(meta),
                "-map", "0:a:0", "-map_metadata", "1",
                "-map_chapters", "1" if chapters else "-1",
                "-c", "copy", "-fflags", "+bitexact", "-flags:a", "+bitexact",
                "-movflags", "+faststart", "-f", "ipod", str(dst)]
        ffmpeg.run(args, what="adding chapters to the AAC file", path=src)
    finally:
        meta.unlink(missing_ok=True)


def tag_m4a(path: Path, show: Show, episode: Episode, *, chapters: Sequence[Chapter] = (),
            transcript_text: str | None = None, transcript_language: str | None = None,
            cover: Path | None = None, page_url: str | None = None, feed_url: str | None = None,
            out: Path | None = None) -> Path:
    """Tag an .m4a (in place, or into `out`) with iTunes podcast atoms and chapters.

    Atoms: ©nam, ©ART, aART, ©alb, ©day (UTC), ©gen "Podcast", ©cmt/desc/ldes (summary),
    trkn/tves (number), disk/tvsn (season), covr, ©lyr (transcript), cprt, pcst, stik 21,
    catg, keyw, purl (feed URL), egid (guid). `page_url` and `transcript_language` are
    accepted for symmetry with tag_mp3 and not written (no standard atom).
    """
    del page_url, transcript_language  # no standard MP4 atom for either
    path = Path(path)
    target = Path(out) if out is not None else path
    duration = _duration(path)
    with fsutil.atomic_path(target, suffix=".m4a") as tmp:
        _remux(path, tmp, chapters, duration)
        mp4 = MP4(tmp)
        if mp4.tags is None:
            mp4.add_tags()
        t = mp4.tags
        assert t is not None
        t["\xa9nam"] = [episode.title]
        t["\xa9ART"] = [show.author]
        t["aART"] = [show.author]
        t["\xa9alb"] = [show.title]
        t["\xa9day"] = [episode.date.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")]
        t["\xa9gen"] = ["Podcast"]
        if episode.summary:
            t["\xa9cmt"] = [episode.summary]
            t["desc"] = [episode.summary[:255]]  # iTunes' short description field
            t["ldes"] = [episode.summary]
        if episode.number is not None:
            t["trkn"] = [(episode.number, 0)]
            t["tves"] = [episode.number]
        if episode.season is not None:
            t["disk"] = [(episode.season, 0)]
            t["tvsn"] = [episode.season]
        art = cover or episode.art or show.artwork
        data, mime = pictures.picture(art, field="art" if art == episode.art else "artwork")
        fmt = MP4Cover.FORMAT_PNG if mime == "image/png" else MP4Cover.FORMAT_JPEG
        t["covr"] = [MP4Cover(data, imageformat=fmt)]
        if transcript_text:
            t["\xa9lyr"] = [transcript_text]
        if show.copyright:
            t["cprt"] = [show.copyright]
        t["pcst"] = True
        t["stik"] = [STIK_PODCAST]
        if show.categories:
            t["catg"] = [show.categories[0].name]
        keywords = episode.keywords or show.keywords
        if keywords:
            t["keyw"] = [",".join(keywords)]
        t["purl"] = [feed_url or show.feed_url]
        t["egid"] = [episode.guid]
        mp4.save(padding=lambda info: PADDING)
    log.info("%s: tagged (MP4, %d chapters)", target, len(chapters))
    return target
