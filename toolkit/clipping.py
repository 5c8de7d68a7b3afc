"""`podkit clip`: a one-off video clip of a built episode, from its record alone.

The clip is cut from the published MP3 (the mastered programme, at the episode's loudness)
and captioned from the published Podcasting 2.0 JSON transcript (word-timed when the
transcript was aligned), so it needs no source file and no rebuild. It is written to the
episode's reports folder (`build/reports/<feed>/<slug>/`), never published: a clip meant
to be published belongs in `[[soundbites]]`, where the build renders and records it.
"""
from __future__ import annotations

from pathlib import Path

from toolkit.clips import render
from toolkit.clips.timing import timed_cues
from toolkit.config.catalog import Catalog
from toolkit.errors import PodkitError
from toolkit.model import TranscriptFormat, TranscriptSource
from toolkit.standards.clipspec import CLIP_SHAPES


def _name(slug: str, start: float, duration: float, shape: str) -> str:
    """clip-<slug>-<start>-<duration>-<shape>.mp4 (seconds, decimals as 'p')."""
    def s(v: float) -> str:
        return f"{v:g}".replace(".", "p")
    return f"clip-{slug}-{s(start)}s-{s(duration)}s-{shape}.mp4"


def one_clip(cat: Catalog, slug: str, start: float, duration: float,
             shape: str = "square") -> tuple[Path, bool]:
    """Render a clip of built episode `slug`: (the MP4 written, whether it has captions)."""
    if shape not in CLIP_SHAPES:
        raise PodkitError(f"--shape {shape!r}: one of {', '.join(CLIP_SHAPES)}")
    render.check_length(duration, f"podkit clip {slug}")
    ep = next((e for e in cat.episodes if e.slug == slug), None)
    if ep is None:
        raise PodkitError(f"no episode {slug!r} (episodes/{slug}/episode.toml)")
    rec = cat.load_record(ep)
    changed = cat.stale(ep, rec)
    if changed:
        raise PodkitError(f"{slug}: the build is stale ({', '.join(changed[:3])}); "
                          f"run `podkit build {slug}` first")
    if not 0 <= start < rec.duration or start + duration > rec.duration + 0.05:
        raise PodkitError(f"{slug}: --start {start:g} --duration {duration:g} runs past the "
                          f"end of the programme ({rec.duration:.1f} s)")
    from toolkit.text import transcript
    texts = [transcript.load(TranscriptSource(Path(f.path), TranscriptFormat.JSON),
                             duration=rec.duration)
             for f in rec.transcripts if f.mime == "application/json"]
    show = cat.shows[ep.feed]
    req = render.ClipRequest(Path(rec.audio.path), start, duration, ep.art or show.artwork,
                             (show.title, ep.title), timed_cues(texts), shape)
    reports = cat.layout.reports(ep.feed, ep.slug)
    out = reports / _name(slug, start, duration, shape)
    import tempfile
    reports.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".clip-", dir=reports) as work:
        captioned = render.render(req, out, Path(work))
    return out, captioned
