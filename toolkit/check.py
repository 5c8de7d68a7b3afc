"""`podkit check`: load every feed and episode, cross-check them, list all problems.

Writes nothing. Problems are `path: field: message` lines; errors fail the check,
warnings (for example an overrun radio slot) are listed but pass.
"""
from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from toolkit import artwork, cue, ffmpeg, transcript
from toolkit.episode import episode_folders, read_episode
from toolkit.errors import MediaError, PodkitError, Problem, ProblemsError, Severity
from toolkit.layout import Layout
from toolkit.model import Episode, Show, ShowType
from toolkit.show import display, load_shows

log = logging.getLogger(__name__)


@dataclass
class Catalog:
    """Everything defined in a show folder, and what is wrong with it."""

    root: Path
    shows: dict[str, Show] = field(default_factory=dict)
    episodes: list[Episode] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        """The problems that fail a check."""
        return [p for p in self.problems if p.severity is Severity.ERROR]

    def episodes_of(self, feed: str) -> list[Episode]:
        """The valid episodes of one feed, oldest first."""
        return sorted((e for e in self.episodes if e.feed == feed), key=lambda e: (e.date, e.slug))


def load_catalog(root: Path, *, probe_media: bool = True) -> Catalog:
    """Read and cross-check every feed and episode under `root`.

    With `probe_media`, every audio file is opened with ffmpeg, every image with Pillow
    and every transcript is parsed, so a text file named .wav, a WebP named .png or a
    Latin-1 transcript is caught before a build.
    """
    cat = Catalog(root=root)
    defined = load_shows(root, cat.problems)
    cat.shows = {k: v for k, v in defined.items() if v is not None}
    folders = episode_folders(root)
    if not folders:
        cat.problems.append(Problem("episodes", "folder", "no episode folders found",
                                    Severity.WARNING))
    for folder in folders:
        ep = read_episode(folder, root, cat.problems, defined)
        if ep is not None:
            cat.episodes.append(ep)
    _cross_check(cat)
    if probe_media:
        for show in cat.shows.values():
            for msg in artwork.problems(show.artwork):
                cat.problems.append(Problem(display(show.path, root), "artwork", msg))
        for ep in cat.episodes:
            _probe_episode(cat, ep)
    _check_slots(cat)
    return cat


def _cross_check(cat: Catalog) -> None:
    """Duplicates within a feed, and rules that span a feed and its episodes."""
    by_guid: dict[tuple[str, str], list[Episode]] = defaultdict(list)
    by_number: dict[tuple[str, int | None, int], list[Episode]] = defaultdict(list)
    by_slug: dict[str, list[Episode]] = defaultdict(list)
    for ep in cat.episodes:
        by_guid[(ep.feed, ep.guid)].append(ep)
        by_slug[ep.slug.lower()].append(ep)
        if ep.number is not None:
            by_number[(ep.feed, ep.season, ep.number)].append(ep)
        show = cat.shows.get(ep.feed)
        if show and show.type is ShowType.SERIAL and ep.number is None:
            cat.problems.append(Problem(display(ep.path, cat.root), "number",
                                        f"feed {ep.feed!r} is serial: every episode needs a number"))
    for (feed, guid), eps in by_guid.items():
        for ep in eps[1:]:
            cat.problems.append(Problem(display(ep.path, cat.root), "guid",
                                        f"duplicate guid {guid} (also {eps[0].slug}) in feed {feed!r}"))
    for (feed, season, number), eps in by_number.items():
        for ep in eps[1:]:
            where = f"season {season} " if season else ""
            cat.problems.append(Problem(display(ep.path, cat.root), "number",
                                        f"duplicate episode number {number} in {where}feed "
                                        f"{feed!r} (also {eps[0].slug})"))
    for slug, eps in by_slug.items():
        for ep in eps[1:]:
            cat.problems.append(Problem(display(ep.path, cat.root), "slug",
                                        f"duplicate slug {slug} (also {eps[0].dir.name})"))


def _probe_episode(cat: Catalog, ep: Episode) -> None:
    shown = display(ep.path, cat.root)
    single = len(ep.parts) == 1 and ep.parts[0].title is None and not ep.parts[0].gap_s
    for i, part in enumerate(ep.parts):
        key = "audio" if single else f"parts[{i}].file"
        for fld, path in ((key, part.path), (f"parts[{i}].bed", part.bed)):
            if path is None:
                continue
            try:
                ffmpeg.probe(path)
            except MediaError as exc:
                cat.problems.append(Problem(shown, fld, f"{path.name}: {exc.message}"))
    for src in ep.transcripts:
        # Timing against the audio waits for the build; encoding, syntax and order do not.
        try:
            transcript.load(src, duration=None)
        except ProblemsError as exc:
            cat.problems.extend(Problem(display(Path(p.path), cat.root), p.field, p.message,
                                        p.severity) for p in exc.problems)
        except PodkitError as exc:
            cat.problems.append(Problem(display(Path(exc.path or src.path), cat.root),
                                        exc.field or "", exc.message))
    if ep.art is not None:
        for msg in artwork.problems(ep.art):
            cat.problems.append(Problem(shown, "art", msg))
    for i, ch in enumerate(ep.chapters):
        if ch.img and "://" not in ch.img:  # a local picture (the loader checked the path)
            for msg in artwork.format_problems(ep.dir / ch.img):
                cat.problems.append(Problem(shown, f"chapters[{i}].img", msg))


def _check_slots(cat: Catalog) -> None:
    """Warn when a built episode overruns its declared radio slot (max_duration)."""
    layout = Layout(cat.root)
    for ep in cat.episodes:
        if ep.max_duration is None:
            continue
        report = layout.reports(ep.feed, ep.slug) / "build.json"
        try:
            duration = float(json.loads(report.read_text("utf-8"))["duration"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not built yet: nothing to compare
        overrun = cue.check_slot(duration, ep.max_duration)
        if overrun:
            cat.problems.append(Problem(display(ep.path, cat.root), "max_duration",
                                        f"built audio {overrun}", Severity.WARNING))
