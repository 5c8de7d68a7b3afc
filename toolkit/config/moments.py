"""Moments in an episode's programme: its chapters and its soundbites (episode.toml).

Read by toolkit.config.episode; each problem names the file and the field.
"""
from __future__ import annotations

import re
from pathlib import Path

from toolkit.config.show import check_https
from toolkit.config.tomlread import Table
from toolkit.model import Chapter, Soundbite
from toolkit.standards import artwork
from toolkit.standards.clipspec import CLIP_MAX_S, CLIP_MIN_S, CLIP_SHAPES


def _chapter_img(ct: Table, base: Path) -> str | None:
    """A chapter picture: an https:// URL, or a .jpg/.png inside the episode folder.

    The build copies a local picture into the published site, so a path that leaves the
    folder (`..`, absolute, a symlink) would publish any file the producer can read.
    """
    img = ct.text("img")
    if not img:
        return None
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", img):
        check_https(ct, "img", img)
        return img
    path = ct.check_file("img", img, base)
    if path is not None and path.suffix.lower() not in (".jpg", ".jpeg", ".png"):
        ct.error("img", f"{img!r} must be a .jpg or .png file (or an https:// URL)")
    elif path is not None and (warning := artwork.size_warning(path)):
        ct.warn("img", warning)  # it is published as it is, beside the audio
    return img


def chapters(t: Table, base: Path) -> tuple[Chapter, ...]:
    """The `[[chapters]]` tables, in time order."""
    out: list[Chapter] = []
    for ct in t.tables("chapters"):
        start = ct.time("start", required=True)
        title = ct.text("title", required=True)
        url = ct.text("url")
        check_https(ct, "url", url)
        img = _chapter_img(ct, base)
        toc = ct.flag("toc", default=True)
        ct.finish()
        if start is not None and title:
            if out and start <= out[-1].start:
                ct.error("start", f"{start:g} s is not after the previous chapter "
                                  f"({out[-1].start:g} s): chapters must be in time order")
            out.append(Chapter(start=start, title=title, url=url, img=img, toc=bool(toc)))
    return tuple(out)


def soundbites(t: Table) -> tuple[Soundbite, ...]:
    """The `[[soundbites]]` tables; each gets a video clip unless `clip = false` or its
    length is outside what a clip may be (a warning says so)."""
    out: list[Soundbite] = []
    for st in t.tables("soundbites"):
        start, dur = st.time("start", required=True), st.time("duration", required=True)
        title_sb = st.text("title")
        clip = bool(st.flag("clip", default=True))
        shape = st.text("shape", default="square") or "square"
        if shape not in CLIP_SHAPES:
            st.error("shape", f"{shape!r}: one of {', '.join(CLIP_SHAPES)}")
        st.finish()
        if start is not None and dur is not None:
            if not 15 <= dur <= 120:
                st.warn("duration", f"{dur:g} s; Podcasting 2.0 suggests 15 to 120 s")
            if clip and not CLIP_MIN_S <= dur <= CLIP_MAX_S:
                # A warning, not an error: a soundbite is valid in the feed at any length
                # (shows imported with long ones must still build); only its clip is left.
                st.warn("duration", f"{dur:g} s: no video clip (a clip is {CLIP_MIN_S:g} to "
                        f"{CLIP_MAX_S:g} s, social platforms' limits); shorten it, or set "
                        "clip = false to keep it as a soundbite without a clip")
                clip = False
            out.append(Soundbite(start, dur, title_sb, clip, shape))
    return tuple(out)
