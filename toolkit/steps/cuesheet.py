"""The cue step: the producer's cue sheet (cue.txt, cue.csv) into the reports."""
from __future__ import annotations

from toolkit.site import cue
from toolkit.steps.base import Context, Step
from toolkit.store.parts import CueSheet


class Cue(Step):
    """The cue sheet: parts with their starts, in and out cues, loudness, the slot."""

    name = "cue"
    part_type = CueSheet
    topic = "cue"

    def run(self, ctx: Context) -> CueSheet:
        """Make and write the sheet."""
        from toolkit.text import transcript
        episode, audio, texts = ctx.episode, ctx.audio, ctx.texts
        sheet = cue.make_sheet(episode, show_title=ctx.show.title, duration=audio.duration,
                               parts=cue.parts_from(episode.parts, [s for _, s in audio.parts]),
                               transcript_text=transcript.plain_text(texts[0]) if texts else None,
                               loudness=audio.after, limiting=audio.limiting)
        cue.write_sheet(ctx.reports, sheet)
        return sheet
