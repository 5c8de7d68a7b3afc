"""Building one episode: every step after the catalogue, in a private folder promoted whole.

    EpisodeJob (picklable: show, episode, input hashes, settings)
      -> toolkit.steps.STEPS, in order (audio, transcripts, chapters, tags, notes, page,
         cue), each adding its part to the record, all into a work folder
      -> record -> promote (toolkit.store.promote)

`build_episode` runs in a worker process under `podkit build -j N`: it reads nothing but
its job and the files the job names, and never loads the catalogue.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from toolkit import steps
from toolkit.errors import PodkitError
from toolkit.site import cue
from toolkit.steps.cuts import cut_line
from toolkit.steps.base import (  # noqa: F401 - the build's public names live here too
    BuildSettings,
    Context,
    EpisodeJob,
    Folder,
    Progress,
    copy_addressed,
)
from toolkit.store import promote, record
from toolkit.store.layout import Layout

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildSummary:
    """What the CLI reports for one episode of `podkit build`."""

    slug: str
    feed: str
    duration: float
    integrated: float
    true_peak: float
    size: int
    cached: bool = False            # the audio came from the cache
    unchanged: bool = False         # nothing to do: the record matched every input
    overrun: str | None = None      # the radio slot warning, if any
    renditions: tuple[tuple[str, float, float], ...] = ()  # (kind, LUFS, dBTP), MP3 first
    warnings: tuple[tuple[str, str], ...] = ()  # (topic, message) from each step's part
    as_delivered: bool = False      # passthrough: the loudness is the file's own, not a target
    cuts: tuple[str, ...] = ()      # each named cut as the build line shows it (steps.cuts)

    @classmethod
    def of(cls, rec: record.EpisodeRecord, *, cached: bool, unchanged: bool = False) -> BuildSummary:
        """The summary of a build from its record, the one way: a build served unchanged
        from its record keeps its first build's warnings."""
        after = rec.loudness_after
        return cls(slug=rec.slug, feed=rec.episode.feed, duration=rec.duration,
                   integrated=after.integrated if after else float("nan"),
                   true_peak=after.true_peak if after else float("nan"), size=rec.audio.size,
                   cached=cached, unchanged=unchanged,
                   overrun=cue.check_slot(rec.duration, rec.episode.max_duration),
                   renditions=tuple((kind, s.integrated, s.true_peak) for kind, s in
                                    sorted(rec.renditions.items(), key=lambda r: r[0] != "mp3")),
                   warnings=rec.warnings,
                   # re-mastered passthrough went through the limiter (only then reported)
                   as_delivered=rec.episode.passthrough and rec.limiting is None,
                   cuts=tuple(cut_line(c) for c in rec.cuts))

    @property
    def limiting_warning(self) -> str | None:
        """The limiter worked hard (the audio step's warning)."""
        return next((m for topic, m in self.warnings if topic == "audio"), None)

    @property
    def align_warnings(self) -> tuple[str, ...]:
        """Transcripts published untimed, and why."""
        return tuple(m for topic, m in self.warnings if topic == "transcript")

    def warning_lines(self) -> tuple[str, ...]:
        """The build's warnings as `path: topic: warning: message` lines, each once: every
        step's (in step order), then the slot's."""
        lines = [f"episodes/{self.slug}: {topic}: warning: {m}" for topic, m in self.warnings]
        if self.overrun:
            lines.append(f"episodes/{self.slug}/episode.toml: max_duration: warning: "
                         f"{self.overrun}")
        return tuple(dict.fromkeys(lines))

    @property
    def mix_warnings(self) -> tuple[str, ...]:
        """Parts standing far above the speech (toolkit.audio.mix), from the audio step."""
        return tuple(m for topic, m in self.warnings if topic == "audio"
                     and m != self.limiting_warning)


def _noop(stage: str, fraction: float) -> None:
    pass


def build_episode(job: EpisodeJob, *, progress: Progress = _noop) -> BuildSummary:
    """Build one episode into a private folder and promote it whole (see toolkit.store.promote).

    Runs each step of `toolkit.steps.STEPS` that applies, keeping each one's part for the
    record. Runs in a worker process under `podkit build -j`: everything it needs is in `job`.
    """
    show, slug = job.show, job.episode.slug
    layout = Layout(job.root)
    final, reports_final = layout.episode_stage(show.id, slug), layout.reports(show.id, slug)
    # On a cluster an episode may be attempted twice at once (a worker presumed dead that
    # was only slow): each attempt builds in its own folders and only the claim's winner
    # promotes (toolkit.store.promote.claim).
    attempt = uuid.uuid4().hex[:12] if job.settings.claim else None
    work, reports = promote.begin(final, attempt), promote.begin(reports_final, attempt)
    try:
        ctx = Context(job, Folder(work, final, layout.stage(show.id), show.base_url), reports,
                      progress)
        for step in steps.STEPS:       # looked up now: a test (or a plugin) may add a step
            if step.applies(ctx):
                ctx.add(step.name, step.run(ctx))
        # The episode as loaded (its digest is the record's key); a re-mastered passthrough's
        # settings are in the audio part.
        rec = record.EpisodeRecord(version=record.VERSION, episode=job.episode,
                                   inputs=job.inputs, steps=dict(ctx.parts),
                                   warnings=steps.warnings(ctx.parts))
        record.save(work, rec, root=job.root)
    except PodkitError as exc:
        promote.abandon(work)
        promote.abandon(reports)
        # Name the file where the producer will look for it, not the private work folder.
        for private, public in ((work, final), (reports, reports_final)):
            if exc.path and exc.path.startswith(f"{private}/"):
                exc.path = str(public) + exc.path[len(str(private)):]
        raise
    except BaseException as exc:
        promote.abandon(work)
        promote.abandon(reports)
        if isinstance(exc, OSError) and isinstance(exc.filename, str):   # a full disk, say
            for private, public in ((work, final), (reports, reports_final)):
                if exc.filename.startswith(f"{private}/"):
                    exc.filename = str(public) + exc.filename[len(str(private)):]
        raise
    if job.settings.claim and not promote.claim(final, job.settings.claim):
        promote.abandon(work)
        promote.abandon(reports)
        log.warning("%s: another attempt at this episode promoted first; this one is discarded",
                    slug)
        return BuildSummary.of(rec, cached=ctx.audio.cached)
    promote.commit(work, final)          # the record moves in with its files
    promote.commit(reports, reports_final)
    progress("done", 1.0)
    return BuildSummary.of(rec, cached=ctx.audio.cached)
