"""The transcripts step: load, time plain text against the master, write every format."""
from __future__ import annotations

import logging

from toolkit.fsutil import write_text
from toolkit.model import AlignReport, AlignStatus, Transcript, TranscriptFormat
from toolkit.steps.base import Context, Step
from toolkit.store import record
from toolkit.store.parts import TranscriptsPart

log = logging.getLogger(__name__)


class Transcripts(Step):
    """Transcripts validated against the built duration, in every format apps read."""

    name = "transcripts"
    part_type = TranscriptsPart
    topic = "transcript"

    def run(self, ctx: Context) -> TranscriptsPart:
        """Load, align and write the episode's transcripts; the page's HTML fragment too."""
        from toolkit.text import transcript
        ctx.progress("transcripts", 0.0)
        audio, folder = ctx.audio, ctx.folder
        texts = [transcript.load(src, duration=audio.duration) for src in ctx.episode.transcripts]
        texts, alignments = align_transcripts(texts, ctx)
        files = tuple(folder.moved(m) for m in transcript.write_all(
            texts, ctx.work, url_of=folder.url, title=ctx.episode.title))
        ctx.texts = texts
        ctx.transcript_html = transcript.to_page_html(texts[0]) if texts else ""
        if ctx.transcript_html:
            write_text(ctx.work / record.TRANSCRIPT_FRAGMENT, ctx.transcript_html)
        return TranscriptsPart(files=files, alignments=alignments,
                               has_html=bool(ctx.transcript_html))

    def warnings(self, part: TranscriptsPart) -> tuple[str, ...]:
        """Transcripts published untimed, and why."""
        return tuple(f"{a.source.name}: {a.message}" for a in part.alignments
                     if a.status in (AlignStatus.NO_MODEL, AlignStatus.MISMATCH))


def align_transcripts(texts: list[Transcript], ctx: Context
                      ) -> tuple[list[Transcript], tuple[AlignReport, ...]]:
    """Time the plain-text transcripts against the built master (toolkit.text.align), where
    `align` is on; the others pass through. One report per plain-text transcript."""
    from toolkit.text import align
    out: list[Transcript] = []
    reports: list[AlignReport] = []
    job, audio = ctx.job, ctx.audio
    cache = ctx.layout.cache(job.show.id, job.episode.slug)
    for src, text in zip(job.episode.transcripts, texts):
        if src.format is not TranscriptFormat.TEXT:
            out.append(text)
            continue
        if not src.align:
            out.append(text)
            reports.append(AlignReport(src.path, AlignStatus.OFF, words=len(
                [w for c in text.cues for w in c.text.split()])))
            continue
        result = align.align(text, audio.mp3, audio_key=audio.key, cache_dir=cache,
                             language=job.show.language)
        if result.report.status is not AlignStatus.ALIGNED:
            log.info("%s: %s", src.path, result.report.message)  # the CLI reports it
        out.append(result.transcript)
        reports.append(result.report)
    return out, tuple(reports)
