"""The tag stage for Ogg Opus (.opus): Vorbis comments with mutagen.

Comments written: TITLE, ARTIST and ALBUMARTIST (the show's author), ALBUM (the show),
DATE (UTC), GENRE "Podcast", TRACKNUMBER / DISCNUMBER (number / season), DESCRIPTION
(the summary), COPYRIGHT, CONTACT (the episode page), LANGUAGE, METADATA_BLOCK_PICTURE
(the cover, a FLAC picture block in base64, as RFC 7845 and Xiph's wiki describe it) and
chapters as CHAPTER001=HH:MM:SS.mmm with CHAPTER001NAME (Xiph's chapter extension).

Never written: R128_TRACK_GAIN / R128_ALBUM_GAIN, and the OpusHead output gain stays 0.
The file is already normalized; players apply those gains on top of it, so the Opus
would play louder or quieter than the MP3 and miss the target.

Every comment in the encoder's output is dropped first; the audio pages are copied as
they are (mutagen rewrites only the comment header and renumbers the pages after it),
so the same input and episode always give the same bytes.
"""
from __future__ import annotations

import base64
import logging
import shutil
from collections.abc import Sequence
from datetime import timezone
from pathlib import Path

from mutagen import MutagenError
from mutagen.flac import Picture
from mutagen.id3 import PictureType
from mutagen.oggopus import OggOpus

from toolkit import fsutil
from toolkit.errors import MediaError
from toolkit.model import Chapter, Episode, Show
from toolkit.tags import pictures

log = logging.getLogger(__name__)


def chapter_time(seconds: float) -> str:
    """HH:MM:SS.mmm, as the Vorbis chapter extension writes a chapter's start."""
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def comments(show: Show, episode: Episode, *, chapters: Sequence[Chapter] = (),
             page_url: str | None = None, language: str | None = None) -> list[tuple[str, str]]:
    """The Vorbis comments (name, value) of an episode, in the order they are written."""
    out = [("TITLE", episode.title), ("ARTIST", show.author), ("ALBUMARTIST", show.author),
           ("ALBUM", show.title),
           ("DATE", episode.date.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")),
           ("GENRE", "Podcast")]
    if episode.number is not None:
        out.append(("TRACKNUMBER", str(episode.number)))
    if episode.season is not None:
        out.append(("DISCNUMBER", str(episode.season)))
    if episode.summary:
        out.append(("DESCRIPTION", episode.summary))
    if show.copyright:
        out.append(("COPYRIGHT", show.copyright))
    if page_url:
        out.append(("CONTACT", page_url))
    if language or show.language:
        out.append(("LANGUAGE", language or show.language))
    for n, ch in enumerate(chapters, start=1):
        out += [(f"CHAPTER{n:03d}", chapter_time(ch.start)), (f"CHAPTER{n:03d}NAME", ch.title)]
    return out


def _picture(path: Path, field: str) -> str:
    """The cover as a METADATA_BLOCK_PICTURE value (base64 of a FLAC picture block)."""
    data, mime = pictures.picture(path, field=field)
    pic = Picture()
    pic.type = PictureType.COVER_FRONT
    pic.mime = mime
    pic.desc = "Cover"
    pic.data = data
    return base64.b64encode(pic.write()).decode("ascii")


def tag_opus(path: Path, show: Show, episode: Episode, *, chapters: Sequence[Chapter] = (),
             transcript_text: str | None = None, transcript_language: str | None = None,
             cover: Path | None = None, page_url: str | None = None, feed_url: str | None = None,
             out: Path | None = None) -> Path:
    """Tag an .opus file (in place, or into `out`) with Vorbis comments; returns the target.

    `transcript_text` and `feed_url` are accepted for symmetry with tag_mp3 and not
    written (no standard comment; the transcript would bloat the header every player
    reads before the audio).
    """
    del transcript_text, feed_url
    path = Path(path)
    target = Path(out) if out is not None else path
    art = cover or episode.art or show.artwork
    picture = _picture(art, "art" if art == episode.art else "artwork")
    with fsutil.atomic_path(target, suffix=".opus") as tmp:
        shutil.copyfile(path, tmp)
        try:
            f = OggOpus(tmp)
        except MutagenError as exc:
            raise MediaError(f"not a readable Ogg Opus file ({exc})", path=path) from exc
        assert f.tags is not None
        f.tags.clear()              # the encoder's own comments (and any R128 gain) go
        for name, value in comments(show, episode, chapters=chapters, page_url=page_url,
                                    language=transcript_language):
            f.tags.append((name, value))
        f.tags.append(("METADATA_BLOCK_PICTURE", picture))
        f.save(padding=lambda info: 0)   # no padding: the same bytes on every run
    log.info("%s: tagged (Vorbis comments, %d chapters)", target, len(chapters))
    return target
