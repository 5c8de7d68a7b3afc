"""The audio step: sources -> master and renditions (toolkit.audio.master; cached)."""
from __future__ import annotations

import logging
import os
from dataclasses import replace
from pathlib import Path

from toolkit.steps.base import Context, Step, link_or_copy
from toolkit.store.parts import MasterPart

log = logging.getLogger(__name__)


def _cpu_seconds() -> float:
    """CPU time of this process and of the children it waited for (ffmpeg)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class Audio(Step):
    """Assemble, normalize and encode every rendition (or measure a passthrough MP3)."""

    name = "audio"
    part_type = MasterPart
    topic = "audio"

    def run(self, ctx: Context) -> MasterPart:
        """Build (or take from the cache) the untagged master files; QC into the reports."""
        # The audio engine (numpy, scipy): only building needs it, and feed, validate and
        # publish start faster without.
        from toolkit.audio import master
        show, episode = ctx.show, ctx.episode
        cache = ctx.layout.cache(show.id, episode.slug)
        clock = _cpu_seconds()
        progress = lambda st, f: ctx.progress(f"audio {st}" if st in  # noqa: E731
                                              ("done", "cached") else st, f)
        from toolkit.audio import passthrough
        remastered = None
        if episode.passthrough and not passthrough.as_delivered(episode, show):
            # `[encoding] remaster = true`: mastered like any episode, in its own channels
            # and bitrate; the record keeps the settings used (the episode as built).
            episode = passthrough.remaster(episode, episode.encoding or show.preset.encoding)
            ctx.job = replace(ctx.job, episode=episode)     # later steps tag it like any
            remastered = episode.encoding
        if episode.passthrough:  # already mastered: measured, never re-encoded
            audio = passthrough.build_audio(episode, cache, progress=progress)
        else:
            # An episode's own [encoding] (its renditions, say) replaces the feed's.
            preset = replace(show.preset, encoding=episode.encoding or show.preset.encoding)
            target = episode.loudness or show.preset.loudness
            audio = master.build_audio(episode, preset, target, cache, progress=progress)
        # The benchmarks subtract this to get the cost of everything around the audio.
        log.info("%s: audio stage %.3f s cpu", episode.slug, _cpu_seconds() - clock)
        ctx.master = audio
        for src, name in ((audio.qc_png, "qc.png"), (audio.qc_json, "qc.json")):
            if src and Path(src).is_file():
                link_or_copy(Path(src), ctx.reports / name)
        return MasterPart(before=audio.before, after=audio.after,
                          renditions=dict(audio.renditions) or {"mp3": audio.after},
                          assembled=tuple(audio.parts), limiting=audio.limiting,
                          # a passthrough result has no mix to report on
                          mix_warnings=tuple(getattr(audio, "mix_warnings", ())),
                          remastered=remastered)

    def warnings(self, part: MasterPart) -> tuple[str, ...]:
        """The limiter worked hard."""
        heavy = (part.limiting.warning,) if part.limiting and part.limiting.warning else ()
        return heavy + part.mix_warnings
