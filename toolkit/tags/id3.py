"""ID3 tags on the MP3, with mutagen (the other formats: tags/mp4.py and tags/opus.py;
tags/tagging.py picks the tagger by format).

Tagging rebuilds the file as `fresh tag + the untouched audio payload`: every tag
already in the input (ID3v2 at the front, APEv2, Lyrics3 and ID3v1 at the end) is dropped, the new ID3v2 tag is
rendered to bytes, and the MPEG frames are copied after it byte for byte into a temp
file that is renamed over the target. So tagging never touches the audio, never
leaves a half-written file, and tagging twice gives identical bytes.

Frames written (ID3v2.3 by default, UTF-16 text; v2.4 with UTF-8 on request; never ID3v1):
TIT2 title, TPE1 and TALB (show author and title), TRCK/TPOS (number/season), the date
(TDRC, converted to TYER/TDAT/TIME for v2.3), TCON "Podcast", COMM and TDES (summary),
APIC front cover, USLT transcript, CHAP+CTOC chapters (CHAP with TIT2, WXXX, APIC),
WOAF+WXXX episode page, TCOP, and the iTunes podcast frames PCST, TCAT, TGID, TKWD, WFED.
"""
from __future__ import annotations

import io
import logging
import struct
from collections.abc import Sequence
from pathlib import Path

from mutagen.id3 import (
    APIC,
    CHAP,
    COMM,
    CTOC,
    ID3,
    PCST,
    TALB,
    TCAT,
    TCON,
    TCOP,
    TDES,
    TDRC,
    TGID,
    TIME,
    TIT2,
    TKWD,
    TPE1,
    TPOS,
    TRCK,
    USLT,
    WFED,
    WOAF,
    WXXX,
    CTOCFlags,
    Encoding,
    PictureType,
)
from mutagen.mp3 import MP3, HeaderNotFoundError

from toolkit import fsutil
from toolkit.errors import MediaError
from toolkit.model import Chapter, Episode, Show
from toolkit.tags import pictures

log = logging.getLogger(__name__)

#: Fixed padding after the frames, so a later tag edit by hand need not rewrite the file
#: and our own output stays byte-identical from run to run.
PADDING = 1024

#: ISO 639-1 -> ISO 639-2/B for the COMM and USLT language fields ("und" otherwise).
_LANG3 = {"ar": "ara", "cs": "cze", "da": "dan", "de": "ger", "el": "gre", "en": "eng",
          "es": "spa", "fa": "per", "fi": "fin", "fr": "fre", "he": "heb", "hi": "hin",
          "hu": "hun", "id": "ind", "it": "ita", "ja": "jpn", "ko": "kor", "nl": "dut",
          "no": "nor", "nb": "nob", "pl": "pol", "pt": "por", "ro": "rum", "ru": "rus",
          "sv": "swe", "th": "tha", "tr": "tur", "uk": "ukr", "vi": "vie", "zh": "chi"}


def id3_language(code: str | None) -> str:
    """The three-letter ISO 639-2 code ID3 wants for a feed language such as `en-us`."""
    base = (code or "").split("-")[0].strip().lower()
    if len(base) == 3 and base.isalpha():
        return base
    return _LANG3.get(base, "und")


# ---- where the audio is ------------------------------------------------------------------------

def _syncsafe(b: bytes) -> int:
    return (b[0] << 21) | (b[1] << 14) | (b[2] << 7) | b[3]


def audio_span(path: Path) -> tuple[int, int]:
    """(start, end) byte offsets of the MPEG audio in an MP3, without any tag around it.

    Skips ID3v2 tags at the front (several, with or without footer) and ID3v1, Enhanced
    TAG+, APEv2 and Lyrics3v2 at the end. MediaError if no MPEG frame starts the audio.
    """
    if not path.is_file():
        raise MediaError("file not found", path=path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        start = 0
        while True:
            f.seek(start)
            head = f.read(10)
            if len(head) < 10 or head[:3] != b"ID3" or head[3] == 0xFF:
                break
            start += 10 + _syncsafe(head[6:10]) + (10 if head[5] & 0x10 else 0)
        end = size
        while end > start:
            tail = _read_at(f, max(end - 32, start), min(32, end - start))
            new_end = end
            if end - 128 >= start and _read_at(f, end - 128, 3) == b"TAG":
                new_end = end - 128
                if new_end - 227 >= start and _read_at(f, new_end - 227, 4) == b"TAG+":
                    new_end -= 227
            elif tail[:8] == b"APETAGEX" and len(tail) == 32:
                tag_size, flags = struct.unpack("<I", tail[12:16])[0], struct.unpack("<I", tail[20:24])[0]
                new_end = end - tag_size - (32 if flags & 0x80000000 else 0)
            elif tail[-9:] == b"LYRICS200" and tail[-15:-9].isdigit():
                new_end = end - int(tail[-15:-9]) - 15
            # A damaged size field must neither loop forever nor cut into the audio.
            if not start <= new_end < end:
                break
            end = new_end
        head = _read_at(f, start, 2)
    if len(head) < 2 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        raise MediaError(f"no MPEG audio frame at byte {start} where the audio should start: "
                         "not an MP3?", path=path)
    return start, end


def _read_at(f: io.BufferedReader, pos: int, n: int) -> bytes:
    f.seek(pos)
    return f.read(n)


# ---- building the tag --------------------------------------------------------------------------

def _fill_ends(chapters: Sequence[Chapter], duration: float) -> list[tuple[Chapter, float]]:
    ordered = sorted(chapters, key=lambda c: c.start)
    out = []
    for i, ch in enumerate(ordered):
        nxt = ordered[i + 1].start if i + 1 < len(ordered) else duration
        out.append((ch, ch.end if ch.end is not None else nxt))
    return out


def _chapter_image(episode: Episode, img: str | None, index: int) -> tuple[bytes, str] | None:
    if not img or img.lower().startswith(("http://", "https://")):
        return None  # a remote image stays a URL (chapters.json); ID3 embeds local files only
    return pictures.picture(episode.dir / img, max_px=pictures.CHAPTER_MAX_PX,
                           max_bytes=pictures.CHAPTER_MAX_BYTES, field=f"chapters[{index}].img")


def build_id3(show: Show, episode: Episode, *, chapters: Sequence[Chapter] = (),
              transcript_text: str | None = None, transcript_language: str | None = None,
              cover: Path | None = None, page_url: str | None = None, feed_url: str | None = None,
              duration: float = 0.0, v2_version: int = 3) -> ID3:
    """The ID3 tag for an episode, ready to render (see module docstring for the frames)."""
    if v2_version not in (3, 4):
        raise ValueError(f"ID3v2 version must be 3 or 4, not {v2_version}")
    # v2.3 has no UTF-8: UTF-16 with BOM is what v2.3 readers (Windows, car stereos) expect.
    enc = Encoding.UTF16 if v2_version == 3 else Encoding.UTF8
    lang = id3_language(show.language)
    t = ID3()
    t.add(TIT2(encoding=enc, text=episode.title))
    t.add(TPE1(encoding=enc, text=show.author))
    t.add(TALB(encoding=enc, text=show.title))
    if episode.number is not None:
        t.add(TRCK(encoding=enc, text=str(episode.number)))
    if episode.season is not None:
        t.add(TPOS(encoding=enc, text=str(episode.season)))
    # The producer's own local date and time: ID3 timestamps carry no zone.
    t.add(TDRC(encoding=enc, text=episode.date.strftime("%Y-%m-%dT%H:%M:%S")))
    t.add(TCON(encoding=enc, text="Podcast"))
    if episode.summary:
        t.add(COMM(encoding=enc, lang=lang, desc="", text=episode.summary))
        t.add(TDES(encoding=enc, text=episode.summary))
    if show.copyright:
        t.add(TCOP(encoding=enc, text=show.copyright))
    art = cover or episode.art or show.artwork
    data, mime = pictures.picture(art, field="art" if art == episode.art else "artwork")
    t.add(APIC(encoding=enc, mime=mime, type=PictureType.COVER_FRONT, desc="Cover", data=data))
    if transcript_text:
        t.add(USLT(encoding=enc, lang=id3_language(transcript_language or show.language), desc="",
                   text=transcript_text))
    if page_url:
        t.add(WOAF(url=page_url))
        t.add(WXXX(encoding=enc, desc="", url=page_url))
    t.add(PCST(value=1))
    if show.categories:
        t.add(TCAT(encoding=enc, text=show.categories[0].name))
    t.add(TGID(encoding=enc, text=episode.guid))
    keywords = episode.keywords or show.keywords
    if keywords:
        t.add(TKWD(encoding=enc, text=",".join(keywords)))
    t.add(WFED(url=feed_url or show.feed_url))
    _add_chapters(t, episode, chapters, duration, enc)
    if v2_version == 3:
        t.update_to_v23()
        # mutagen only converts TDRC's time when hour and minute are both non-zero (18:00 is lost).
        if "TIME" not in t:
            t.add(TIME(encoding=enc, text=episode.date.strftime("%H%M")))
    return t


def _add_chapters(t: ID3, episode: Episode, chapters: Sequence[Chapter], duration: float,
                  enc: Encoding) -> None:
    if not chapters:
        return
    toc_ids: list[str] = []
    for i, (ch, end) in enumerate(_fill_ends(chapters, duration)):
        element = f"chp{i}"
        subs: list = [TIT2(encoding=enc, text=ch.title)] if ch.title else []
        if ch.url:
            subs.append(WXXX(encoding=enc, desc="", url=ch.url))
        pic = _chapter_image(episode, ch.img, i)
        if pic:
            subs.append(APIC(encoding=enc, mime=pic[1], type=PictureType.COVER_FRONT, desc="",
                             data=pic[0]))
        t.add(CHAP(element_id=element, start_time=round(ch.start * 1000),
                   end_time=round(end * 1000), sub_frames=subs))
        if ch.toc:
            toc_ids.append(element)
    # mutagen writes CHAP frames ordered by size; the CTOC child list carries the time order.
    t.add(CTOC(element_id="toc", flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
               child_element_ids=toc_ids, sub_frames=[]))


def render_id3(tags: ID3, v2_version: int = 3) -> bytes:
    """The tag as bytes (header, frames, fixed padding); no ID3v1."""
    buf = io.BytesIO()
    tags.save(buf, v2_version=v2_version, v1=0, padding=lambda info: PADDING)
    return buf.getvalue()


# ---- public entry points -------------------------------------------------------------------------

def mp3_duration(path: Path) -> float:
    """Duration of an MP3 in seconds, from its Xing/LAME header or frame count (mutagen)."""
    try:
        return float(MP3(path).info.length)
    except (HeaderNotFoundError, OSError) as exc:
        raise MediaError(f"not a readable MP3 ({exc})", path=path) from exc


def tag_mp3(path: Path, show: Show, episode: Episode, *, chapters: Sequence[Chapter] = (),
            transcript_text: str | None = None, transcript_language: str | None = None,
            cover: Path | None = None, page_url: str | None = None, feed_url: str | None = None,
            v2_version: int = 3, out: Path | None = None) -> Path:
    """Tag the MP3 at `path` (in place, or into `out`) and return the tagged file's path.

    `chapters` should come from `chapters.resolve` (ends filled; a missing end is taken
    as the next start or the duration). `cover` defaults to the episode's art, then the
    show's. `feed_url` defaults to `show.feed_url`. The source audio is copied unchanged
    behind a freshly rendered tag in a temp file that is renamed onto the target.
    """
    path = Path(path)
    target = Path(out) if out is not None else path
    start, end = audio_span(path)
    duration = mp3_duration(path) if any(c.end is None for c in chapters) else 0.0
    tags = build_id3(show, episode, chapters=chapters, transcript_text=transcript_text,
                     transcript_language=transcript_language, cover=cover, page_url=page_url,
                     feed_url=feed_url, duration=duration, v2_version=v2_version)
    head = render_id3(tags, v2_version)
    with fsutil.atomic_path(target) as tmp:
        with open(path, "rb") as src, open(tmp, "wb") as dst:
            dst.write(head)
            src.seek(start)
            _copy_range(src, dst, end - start)
    log.info("%s: tagged (ID3v2.%d, %d bytes of tag, %d chapters)", target, v2_version, len(head),
             len(chapters))
    return target


def _copy_range(src: io.BufferedReader, dst: io.BufferedWriter, length: int) -> None:
    remaining = length
    while remaining > 0:
        block = src.read(min(1 << 20, remaining))
        if not block:
            raise MediaError("the file got shorter while it was being tagged", path=src.name)
        dst.write(block)
        remaining -= len(block)


__all__ = ["tag_mp3", "build_id3", "render_id3", "audio_span", "mp3_duration",
           "id3_language"]
