"""Render one video clip (an "audiogram"): art, titles, a moving waveform, word-timed captions.

One ffmpeg run through the chokepoint (toolkit.ffmpeg): the art is scaled once and held
on a plain backdrop (`overlay` repeats its single frame, so the picture is not decoded
again for every video frame), `showwaves` draws the audio as it plays, libass (`ass`)
draws the titles and captions from the script toolkit.clips.captions writes, with the
bundled DejaVu Sans handed over as `fontsdir` so no system font is needed. The audio is
cut from the mastered programme with short fades, at the programme's loudness.

Reproducible bytes: x264 and the AAC encoder are deterministic for fixed settings and a
fixed thread count, so the thread count is pinned (`-threads 2`) rather than left to the
machine's core count, and every stamp is left out (`+bitexact`, no metadata).
"""
from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from toolkit import ffmpeg
from toolkit.clips.captions import Style, ass_script, clip_words, layout
from toolkit.errors import PodkitError
from toolkit.fsutil import atomic_path
from toolkit.standards import fonts
from toolkit.standards.clipspec import CLIP_MAX_S as MAX_S
from toolkit.standards.clipspec import CLIP_MIN_S as MIN_S
from toolkit.textmodel import Cue

log = logging.getLogger(__name__)

#: Frame rate: smooth enough for a waveform, half the frames of 50 fps to encode.
FPS = 25
#: Fades at the clip's ends (seconds): no click where the cut falls mid-sound.
FADE_IN_S, FADE_OUT_S = 0.15, 0.4
#: x264 settings: `veryfast` renders a 60 s square clip in well under its own length on a
#: 2-core machine; CRF 23 is x264's default quality; `stillimage` suits a mostly static frame.
X264 = ["-c:v", "libx264", "-preset", "veryfast", "-tune", "stillimage", "-crf", "23",
        "-pix_fmt", "yuv420p", "-color_range", "tv", "-threads", "2"]
AAC = ["-c:a", "aac", "-b:a", "128k"]

#: The font (toolkit.standards.fonts): DejaVu Sans Bold covers Latin, Greek and Cyrillic;
#: characters it lacks are left out of the titles before rendering.
FONT_NAME = "DejaVu Sans"
FONT_FILE = fonts.BOLD


@dataclass(frozen=True)
class Shape:
    """A clip's frame and where things go in it (pixels)."""

    name: str
    width: int
    height: int
    art: tuple[int, int, int]           # x, y, side
    wave: tuple[int, int, int, int]     # x, y, width, height
    caption_y: int                      # captions' bottom edge
    caption_size: int
    caption_chars: int                  # characters per caption line at that size
    title_y: int
    title_size: int


SHAPES = {
    "square": Shape("square", 1080, 1080, (300, 150, 480), (60, 660, 960, 120), 1030, 56, 28,
                    30, 40),
    "vertical": Shape("vertical", 1080, 1920, (140, 300, 800), (60, 1160, 960, 180), 1760,
                      64, 25, 110, 48),
    "landscape": Shape("landscape", 1920, 1080, (100, 170, 600), (760, 300, 1080, 180), 1030,
                       56, 44, 40, 44),
}


@dataclass(frozen=True)
class ClipRequest:
    """What to render: a stretch of the mastered programme and what to show over it."""

    audio: Path                         # the mastered programme (any format ffmpeg reads)
    start: float
    duration: float
    art: Path
    titles: tuple[str, ...]             # show title, episode title
    cues: tuple[Cue, ...] = ()          # the timed transcript; empty: no captions
    shape: str = "square"


def drawable(text: str) -> str:
    """`text` without the characters the clip font lacks (emoji, Hangul, ...).

    Left out quietly, as the QC picture does: libass would draw an empty box or warn, and
    no pip-installable font covers every script.
    """
    cmap = fonts.charmap(FONT_FILE)
    kept = "".join(ch for ch in text if ord(ch) in cmap or ch.isspace())
    # A separator left hanging where a left-out word stood (“Title — 하노이”) goes too.
    return " ".join(kept.split()).strip(" -–—:|/·")


def check_length(duration: float, what: str) -> None:
    """Refuse a clip length outside MIN_S..MAX_S with one line naming it."""
    if not MIN_S <= duration <= MAX_S:
        raise PodkitError(f"{what}: a clip is {MIN_S:g} to {MAX_S:g} s long (the social "
                          f"platforms' common limit), not {duration:g} s")


def _filter_value(path: Path) -> str:
    """A path as a filter option value: quoted for the option, escaped for the graph."""
    inner = str(path).replace("\\", "\\\\").replace("'", "\\'").replace(":", "\\:")
    return "'" + inner.replace("\\", "\\\\").replace("'", "\\'") + "'"


def render(req: ClipRequest, out: Path, work: Path) -> bool:
    """Render `req` into `out` (MP4, faststart); returns whether it carries captions.

    `work` is a private folder for the caption script and font; `out` is written to a
    temporary name and renamed, so a failed render leaves the previous clip in place.
    """
    check_length(req.duration, str(out.name))
    shape = SHAPES[req.shape]
    words = clip_words(req.cues, req.start, req.duration)
    captions = layout(words, shape.caption_chars)
    style = Style(shape.width, shape.height, FONT_NAME, shape.caption_size, shape.caption_y,
                  shape.title_size, shape.title_y, 60)
    work.mkdir(parents=True, exist_ok=True)
    script = work / "clip.ass"
    script.write_text(ass_script(style, captions, [drawable(t) for t in req.titles],
                                 req.duration), encoding="utf-8")
    fontdir = work / "fonts"
    fontdir.mkdir(exist_ok=True)
    shutil.copyfile(fonts.path(FONT_FILE), fontdir / FONT_FILE)
    ax, ay, side = shape.art
    wx, wy, ww, wh = shape.wave
    d = req.duration
    graph = ";".join([
        f"color=c=0x15171C:s={shape.width}x{shape.height}:r={FPS}:d={d:.3f}[bg]",
        f"[0:v]scale={side}:{side}:force_original_aspect_ratio=decrease,"
        f"pad={side}:{side}:(ow-iw)/2:(oh-ih)/2:color=0x15171C,scale=out_range=tv,"
        "format=yuv420p[art]",
        "[1:a]asplit=2[wa][aa]",
        f"[wa]showwaves=s={ww}x{wh}:mode=cline:rate={FPS}:colors=0xFFC845:scale=sqrt:draw=full,"
        "format=yuva420p[wave]",
        f"[bg][art]overlay={ax}:{ay}:eof_action=repeat[v1]",
        f"[v1][wave]overlay={wx}:{wy}:shortest=1[v2]",
        f"[v2]ass={_filter_value(script)}:fontsdir={_filter_value(fontdir)},format=yuv420p[v]",
        f"[aa]afade=t=in:d={FADE_IN_S},afade=t=out:st={max(0.0, d - FADE_OUT_S):.3f}:"
        f"d={FADE_OUT_S}[a]",
    ])
    with atomic_path(out) as tmp:
        ffmpeg.run(["-y", "-i", str(req.art),
                    "-ss", f"{req.start:.3f}", "-t", f"{d:.3f}", "-i", str(req.audio),
                    "-filter_complex", graph, "-map", "[v]", "-map", "[a]",
                    *X264, *AAC, "-t", f"{d:.3f}",
                    "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:v", "+bitexact",
                    "-flags:a", "+bitexact", "-movflags", "+faststart", "-f", "mp4", str(tmp)],
                   what="render the clip", path=out)
    log.info("rendered %s (%s, %.1f s, %d caption cues)", out.name, shape.name, d,
             len(captions))
    return bool(captions)


def poster(clip: Path, at: float, out: Path) -> None:
    """A JPEG of the clip's frame at `at` seconds (the `<video>` poster and link preview)."""
    with atomic_path(out) as tmp:
        ffmpeg.run(["-y", "-ss", f"{at:.3f}", "-i", str(clip), "-frames:v", "1", "-q:v", "3",
                    "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:v", "+bitexact",
                    "-f", "image2", "-c:v", "mjpeg", str(tmp)],
                   what="take the clip's poster frame", path=clip)
