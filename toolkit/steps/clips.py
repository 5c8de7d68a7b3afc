"""The clips step: each soundbite becomes a shareable video clip (toolkit.clips).

Runs after the tags (the mastered MP3 and the timed transcript exist) and before the page
(which shows the clips). A clip is rendered into the episode's cache folder under a key of
everything it is made from (the audio master key, the words it captions, the art, the
titles, the shape, the renderer's settings), so an episode rebuilt for its notes, or a
rebuild with --force, takes the clip from the cache; only a change to its inputs renders
it again. The published copy has a content-addressed name, like the audio.
"""
from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from pathlib import Path

from toolkit.clips import render
from toolkit.clips.captions import clip_words
from toolkit.clips.timing import timed_cues
from toolkit.fsutil import sha256_file
from toolkit.standards.clipspec import CLIP_SHAPES
from toolkit.steps.base import Context, Step, copy_addressed
from toolkit.store.parts import ClipFile, ClipsPart

log = logging.getLogger(__name__)

#: Bump when the renderer's output changes for the same inputs (layout, colours, encoder
#: settings): cached clips are then rendered again.
RENDER_VERSION = 1


def _clip_key(ctx: Context, index: int, art: Path, words: list, titles: tuple[str, ...],
              start: float, duration: float, shape: str) -> str:
    """The cache key of one clip: a hash of everything that goes into its bytes."""
    blob = json.dumps({"v": RENDER_VERSION, "audio": ctx.audio.key, "art": sha256_file(art),
                       "titles": titles, "start": start, "duration": duration,
                       "shape": shape, "index": index, "x264": render.X264,
                       "words": [(w.text, w.start, w.end) for w, _ in words]},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class Clips(Step):
    """Render a video clip for each soundbite with `clip = true` (the default)."""

    name = "clips"
    part_type = ClipsPart
    topic = "clips"

    def applies(self, ctx: Context) -> bool:
        """Only episodes with soundbites that ask for a clip."""
        return any(sb.clip for sb in ctx.episode.soundbites)

    def run(self, ctx: Context) -> ClipsPart:
        """Render (or take from the cache) each clip and its poster into the work folder."""
        episode, show = ctx.episode, ctx.show
        cache = ctx.layout.cache(show.id, episode.slug)
        art = episode.art or show.artwork
        cues = timed_cues(ctx.texts)
        titles = (show.title, episode.title)
        bites = [(i, sb) for i, sb in enumerate(episode.soundbites, 1) if sb.clip]
        out, skipped = [], []
        for n, (index, sb) in enumerate(bites):
            ctx.progress("clips", n / len(bites))
            start = max(0.0, min(sb.start, ctx.audio.duration))
            duration = min(sb.duration, ctx.audio.duration - start)
            if duration < render.MIN_S:
                # The soundbite runs past the end of the programme (an imported feed's, or
                # audio edited shorter): the feed keeps it, the clip is left, and said so.
                skipped.append(f"soundbite {index} ({sb.start:g} s + {sb.duration:g} s) runs "
                               f"past the end of the programme ({ctx.audio.duration:.1f} s): "
                               "no clip")
                continue
            words = clip_words(cues, start, duration)
            key = _clip_key(ctx, index, art, words, titles, start, duration, sb.shape)
            video = cache / f"clip-{key}.mp4"
            still = cache / f"clip-{key}.jpg"
            if not video.is_file():
                req = render.ClipRequest(ctx.audio.mp3, start, duration, art, titles, cues,
                                         sb.shape)
                cache.mkdir(parents=True, exist_ok=True)
                with tempfile.TemporaryDirectory(prefix=".clip-", dir=cache) as work:
                    render.render(req, video, Path(work))
            if not still.is_file():
                first = words[0][0].end if words else duration / 3
                render.poster(video, min(first + 0.1, duration - 0.1), still)
            stem = f"{episode.slug}-clip{index}"
            video_pub = copy_addressed(video, ctx.work, stem)
            still_pub = copy_addressed(still, ctx.work, stem)
            width, height = CLIP_SHAPES[sb.shape]
            out.append(ClipFile(index=index, start=start, duration=duration, title=sb.title,
                                shape=sb.shape, width=width, height=height,
                                video=ctx.folder.media(video_pub, "video/mp4", duration),
                                poster=ctx.folder.media(still_pub, "image/jpeg"),
                                captions=bool(words)))
        ctx.progress("clips", 1.0)
        return ClipsPart(clips=tuple(out), skipped=tuple(skipped))

    def warnings(self, part: ClipsPart) -> tuple[str, ...]:
        """A clip drawn without captions says why."""
        return part.skipped + tuple(
            f"soundbite {c.index} ({c.start:g} s): no timed transcript covers it, the clip has "
            "no captions" for c in part.clips if not c.captions)
