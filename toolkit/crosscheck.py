"""`podkit check`: load every feed and episode, cross-check them, list all problems.

Writes nothing. Problems are `path: field: message` lines; errors fail the check,
warnings (for example an overrun radio slot) are listed but pass.
"""
from __future__ import annotations

import logging
from pathlib import Path

from toolkit import ffmpeg
from toolkit.config import catalog
from toolkit.config.catalog import Catalog
from toolkit.config.show import display
from toolkit.errors import ConfigError, MediaError, PodkitError, Problem, ProblemsError, Severity
from toolkit.model import Episode
from toolkit.publish import shared
from toolkit.site import cue
from toolkit.standards import artwork
from toolkit.steps.cuts import slot_problem
from toolkit.text import chapters, transcript

__all__ = ["Catalog", "load_catalog"]

log = logging.getLogger(__name__)


#: How far the duration `podkit check` works out may be from the built audio's: ffmpeg
#: reports durations to 10 ms, and a compressed file's may be an estimate from its bitrate.
DURATION_TOLERANCE_S = 0.05


def load_catalog(root: Path, *, probe_media: bool = True) -> Catalog:
    """Read and cross-check every feed and episode under `root`.

    With `probe_media`, every audio file is opened with ffmpeg, every image with Pillow
    and every transcript is parsed, so a text file named .wav, a WebP named .png or a
    Latin-1 transcript is caught before a build; chapter and cue times are checked
    against the programme's duration worked out from the parts, as the build will.
    """
    cat = catalog.load(root)
    # Two feeds writing one bucket prefix or folder would overwrite each other's feed.
    cat.problems.extend(shared.problems(cat.shows.values(), cat.root))
    if probe_media:
        for show in cat.shows.values():
            for msg in artwork.problems(show.artwork):
                cat.problems.append(Problem(display(show.path, root), "artwork", msg))
            if artwork.is_placeholder(show.artwork):
                cat.problems.append(Problem(
                    display(show.path, root), "artwork",
                    f"{show.artwork.name} is still the placeholder cover `podkit init` drew: "
                    "replace it with your own artwork (1400-3000 px, square)", Severity.WARNING))
        for ep in cat.episodes:
            _probe_episode(cat, ep)
    _check_built(cat)
    if cat.layout.build.is_dir():
        cat.save()          # the sources' hash memo; check writes nothing else
    return cat


def _probe_episode(cat: Catalog, ep: Episode) -> None:
    shown = display(ep.path, cat.root)
    single = len(ep.parts) == 1 and ep.parts[0].title is None and not ep.parts[0].gap_s
    durations: list[float | None] = []
    for i, part in enumerate(ep.parts):
        key = "audio" if single else f"parts[{i}].file"
        for fld, path in ((key, part.path), (f"parts[{i}].bed", part.bed)):
            if path is None:
                continue
            try:
                info = ffmpeg.probe(path)
            except MediaError as exc:
                cat.problems.append(Problem(shown, fld, f"{path.name}: {exc.message}"))
                info = None
            if fld == key:
                durations.append(info.duration if info else None)
    duration = _programme_duration(ep, durations)
    _cut_slots(cat, ep, {p.path: d for p, d in zip(ep.parts, durations)})
    for src in ep.transcripts:
        # Timed cues against the duration the parts add up to, as the build checks them.
        try:
            transcript.load(src, duration=duration)
        except ProblemsError as exc:
            cat.problems.extend(Problem(display(Path(p.path), cat.root), p.field, p.message,
                                        p.severity) for p in exc.problems)
        except PodkitError as exc:
            cat.problems.append(Problem(display(Path(exc.path or src.path), cat.root),
                                        exc.field or "", exc.message))
    if ep.chapters and duration is not None:
        try:
            chapters.resolve(ep, (), duration)
        except ConfigError as exc:
            cat.problems.append(Problem(shown, exc.field or "chapters", exc.message))
    if ep.art is not None:
        for msg in artwork.problems(ep.art):
            cat.problems.append(Problem(shown, "art", msg))
    for i, ch in enumerate(ep.chapters):
        if ch.img and "://" not in ch.img:  # a local picture (the loader checked the path)
            for msg in artwork.format_problems(ep.dir / ch.img):
                cat.problems.append(Problem(shown, f"chapters[{i}].img", msg))


def _cut_slots(cat: Catalog, ep: Episode, known: dict[Path, float | None]) -> None:
    """Warn when a cut will not fill its slot: over (cut off) or under (dead air), or,
    with `fit = "bed"`, when even the whole closing bed cannot make it fit."""
    from toolkit.audio.cutfit import FADE_S, MAX_EXTEND_S
    for cut in ep.cuts:
        if cut.slot is None:
            continue
        parts = ep.cut_parts(cut.name)
        for part in parts:
            if part.path not in known:
                try:
                    known[part.path] = ffmpeg.probe(part.path).duration
                except MediaError as exc:
                    cat.problems.append(Problem(display(ep.path, cat.root), "parts",
                                                f"{part.path.name}: {exc.message}"))
                    known[part.path] = None
        lengths = [known[p.path] for p in parts]
        if any(d is None for d in lengths):
            continue
        total = sum((d or 0.0) + p.gap_s - p.crossfade_s for p, d in zip(parts, lengths))
        field, diff = f"cuts.{cut.name}.slot", total - cut.slot
        if cut.fit == "bed" and len(parts) > 1:
            rest = total - (lengths[-1] or 0.0)
            if rest > cut.slot - FADE_S:
                message = (f"cannot be fitted: without its closing bed the {cut.name} cut runs "
                           f"{cue.clock(rest)}, over its {cue.clock(cut.slot)} slot")
            elif -diff > MAX_EXTEND_S:
                message = (f"the closing bed would have to grow by {cue.clock(-diff)} (at most "
                           f"{MAX_EXTEND_S:g} s): {cue.clock(-diff - MAX_EXTEND_S)} of dead air")
            else:
                continue
        elif abs(diff) > cut.slot_tolerance:
            how = "over (the end is cut off)" if diff > 0 else "under (dead air)"
            message = (f"the {cut.name} cut will run about {cue.clock(total)} in its "
                       f"{cue.clock(cut.slot)} slot: {abs(diff):.1f} s {how}; set fit = \"bed\" "
                       "or change the parts")
        else:
            continue
        cat.problems.append(Problem(display(ep.path, cat.root), field, message, Severity.WARNING))


def _programme_duration(ep: Episode, durations: list[float | None]) -> float | None:
    """The length the assembled programme will have (None when a part's is unknown).

    Parts follow each other after their gaps, overlapping by their crossfades, as
    `toolkit.audio.assemble` joins them. Trimmed silence makes the programme shorter by an
    amount only the build knows, so then the figure is an upper bound.
    """
    if not durations or any(d is None for d in durations):
        return None
    total = 0.0
    for part, seconds in zip(ep.parts, durations):
        total += (seconds or 0.0) + part.gap_s - part.crossfade_s
    return total + DURATION_TOLERANCE_S


def _check_built(cat: Catalog) -> None:
    """Warn about built episodes whose sources changed since (stale: `podkit feed` will
    refuse them) and built audio that overruns its radio slot (max_duration)."""
    for ep in cat.episodes:
        rec = cat.record(ep)
        if rec is None:
            continue  # not built yet: nothing to compare
        changed = cat.stale(ep, rec)
        if changed:
            cat.problems.append(Problem(display(ep.path, cat.root), "build",
                                        f"stale: changed since its build: {', '.join(changed)}; "
                                        f"run `podkit build {ep.slug}`", Severity.WARNING))
        overrun = cue.check_slot(rec.duration, ep.max_duration) if ep.max_duration else None
        if overrun:
            cat.problems.append(Problem(display(ep.path, cat.root), "max_duration",
                                        f"built audio {overrun}", Severity.WARNING))
        for c in rec.cuts:
            problem = slot_problem(c)
            if problem:
                cat.problems.append(Problem(display(ep.path, cat.root), f"cuts.{c.name}.slot",
                                            f"built {c.name} cut {problem}", Severity.WARNING))
