"""Chapters: which ones an episode has, Podcast Index JSON chapters, show-notes timestamps.

An episode's `[[chapters]]` win; otherwise the audio stage hands over one chapter per
titled part (`AudioPart.chapter`). Either way the list is validated against the built
audio's duration and every chapter gets an `end` (the next start, or the duration), so
the ID3 CHAP frames, the JSON file and the notes all say the same thing.
"""
from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import replace

from toolkit.errors import ConfigError
from toolkit.model import Chapter, Episode

log = logging.getLogger(__name__)

#: Podcast Index JSON chapters version written (podcast-namespace docs/tags/chapters.md).
JSON_CHAPTERS_VERSION = "1.2.0"

#: An explicit chapter end may overrun the audio by this much (encoder padding, rounding);
#: it is then clipped to the duration. More than this is a mistake in the episode file.
END_TOLERANCE_S = 0.5

_URL_RE = re.compile(r"^https?://", re.IGNORECASE)


def format_timestamp(seconds: float) -> str:
    """`mm:ss` below an hour, `h:mm:ss` from an hour on (whole seconds, rounded down).

    Rounding down keeps a label from pointing past the moment it names.
    """
    if seconds < 0 or not math.isfinite(seconds):
        raise ValueError(f"not a time position: {seconds!r}")
    total = int(seconds + 1e-6)  # 59.9999999 from float sums still reads 00:59, 60.0 reads 01:00
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def resolve(episode: Episode, part_chapters: Sequence[Chapter], duration: float) -> tuple[Chapter, ...]:
    """The episode's chapters, validated against `duration` (seconds), each with its `end` set.

    `episode.chapters` win when given; otherwise `part_chapters` (one per part, from the
    audio stage) are used, except for a single untitled file, which gets none. Raises ConfigError naming `episode.toml` and the
    chapter (`chapters[2].start`) when a chapter starts outside the audio, the starts
    are not strictly ascending, or an end is not after its start or overruns the audio.
    """
    own = bool(episode.chapters)
    single = len(episode.parts) == 1 and episode.parts[0].title is None
    # One untitled file has no parts to mark: a lone "Part 1" chapter would only clutter
    # the player's chapter list, the tags and the notes.
    chapters = list(episode.chapters if own else () if single else part_chapters)

    def field(i: int, what: str) -> str:
        # Part chapters come from [[parts]]: name the chapter by title, not an index
        # the producer never wrote.
        return f"chapters[{i}].{what}" if own else f"parts (chapter {chapters[i].title!r}).{what}"

    def fail(i: int, what: str, message: str) -> ConfigError:
        return ConfigError(message, path=episode.path, field=field(i, what))

    out: list[Chapter] = []
    for i, ch in enumerate(chapters):
        if not math.isfinite(ch.start) or ch.start < 0:
            raise fail(i, "start", f"{ch.start!r} is not a time position")
        if ch.start >= duration:
            raise fail(i, "start", f"starts at {format_timestamp(ch.start)}, at or after the end "
                                   f"of the audio ({format_timestamp(duration)}, {duration:.3f} s)")
        if i and ch.start <= chapters[i - 1].start:
            raise fail(i, "start", f"starts at {format_timestamp(ch.start)} ({ch.start:g} s), not after "
                                   f"the previous chapter ({chapters[i - 1].start:g} s): "
                                   "chapters must be in ascending time order")
        next_start = chapters[i + 1].start if i + 1 < len(chapters) else duration
        end = ch.end
        if end is None:
            end = next_start
        else:
            if end <= ch.start:
                raise fail(i, "end", f"ends at {end:g} s, not after its start ({ch.start:g} s)")
            if end > duration + END_TOLERANCE_S:
                raise fail(i, "end", f"ends at {format_timestamp(end)} ({end:g} s), after the end of "
                                     f"the audio ({duration:.3f} s)")
            if i + 1 < len(chapters) and end > next_start:
                raise fail(i, "end", f"ends at {end:g} s, after the next chapter starts "
                                     f"({next_start:g} s)")
            end = min(end, duration)
        out.append(replace(ch, end=end))
    return tuple(out)


def _seconds(value: float) -> int | float:
    # Whole seconds print as integers ("startTime": 120); others keep milliseconds.
    value = round(value, 3)
    return int(value) if value == int(value) else value


def to_json(chapters: Sequence[Chapter], *,
            base_url_for_img: Callable[[str], str] | None = None) -> str:
    """Podcast Index JSON chapters (version 1.2.0) for `chapters`, as deterministic text.

    Keys per chapter: `startTime` (seconds), `title`, then `img`, `url`, `toc` (only when
    false: true is the default) and `endTime` where known. A chapter `img` that is a URL is
    used as is; a path relative to the episode folder is turned into a URL by
    `base_url_for_img` (the caller publishes the image); without it the image is left
    out and a warning logged.
    """
    items = []
    for ch in sorted(chapters, key=lambda c: c.start):
        item: dict[str, object] = {"startTime": _seconds(ch.start)}
        if ch.title:
            item["title"] = ch.title
        if ch.img:
            if _URL_RE.match(ch.img):
                item["img"] = ch.img
            elif base_url_for_img is not None:
                item["img"] = base_url_for_img(ch.img)
            else:
                log.warning("chapter %r: image %s has no public URL; left out of chapters.json",
                            ch.title, ch.img)
        if ch.url:
            item["url"] = ch.url
        if not ch.toc:
            item["toc"] = False
        if ch.end is not None:
            item["endTime"] = _seconds(ch.end)
        items.append(item)
    doc = {"version": JSON_CHAPTERS_VERSION, "chapters": items}
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def notes_lines(chapters: Sequence[Chapter]) -> list[tuple[str, float, str]]:
    """(`mm:ss` label, start seconds, title) per table-of-contents chapter, for show notes.

    Chapters with `toc = false` stay out of the notes, as Podcast Index readers hide them.
    """
    return [(format_timestamp(c.start), c.start, c.title) for c in chapters if c.toc]
