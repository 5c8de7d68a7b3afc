"""The pipeline: wires the stages in one readable order, for one episode and for a show.

    catalogue (loaded once) -> per episode, unless its record is current:
      audio (assemble, normalize, encode; cached) -> transcripts -> chapters -> tag
        -> notes -> page -> cue sheet -> record       (build_episode, in a private folder,
                                                        promoted whole: toolkit.store.promote)
    records -> feed + index page                       (toolkit.public.write_feed)
    records + site -> validate                         (toolkit.public.validate_own)
    site -> publish (media first, feed last)           (toolkit.public.publish_show)

After the build, the record is the only source of truth: nothing later reads the
episode's sources again. The CLI calls these functions; they log, never print.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit import environ
from toolkit.config import catalog
from toolkit.config.catalog import Catalog
from toolkit.errors import ConfigError, MediaError, PodkitError, Problem, ProblemsError
from toolkit.fsutil import write_text
from toolkit.model import AlignReport, Episode, Show
from toolkit.standards import artwork
from toolkit.store import promote
from toolkit.store.addressed import copy_addressed
from toolkit.store.layout import Layout, is_media_name, site_key

if TYPE_CHECKING:
    from toolkit import runner
    from toolkit.cluster import ClusterTarget   # the dask extra is optional
    from toolkit.episode_build import BuildSettings, EpisodeJob

log = logging.getLogger(__name__)

__all__ = ["BuildSettings", "BuildSummary", "EpisodeJob", "build", "build_episode", "load",
           "now", "page_data", "page_notes", "parse_time", "record_page", "select",
           "show_cover", "write_cues", "align"]

#: Names this module re-exports from the build and the pages, imported on first use:
#: `podkit feed`, `validate` and `status` import this module for `select` and must not
#: pay for the build machinery (the steps, the runner: ~0.1 s at every start).
_LAZY = {"BuildSettings": "toolkit.episode_build", "BuildSummary": "toolkit.episode_build",
         "EpisodeJob": "toolkit.episode_build", "build_episode": "toolkit.episode_build",
         "page_data": "toolkit.site.pages", "page_notes": "toolkit.site.pages",
         "record_page": "toolkit.site.pages"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def parse_time(text: str, field: str) -> dt.datetime:
    """An ISO date-time given on the command line or in the environment (UTC when it has
    no zone); ConfigError naming `field` otherwise."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"not an ISO date-time: {text!r}", field=field) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def now() -> dt.datetime:
    """The current time (PODKIT_NOW overrides it, for previews of scheduled episodes)."""
    override = environ.now_override()
    return parse_time(override, "PODKIT_NOW") if override else dt.datetime.now(dt.timezone.utc)


def load(root: Path | Catalog) -> Catalog:
    """The catalogue of a show folder (a Catalog passes through: load once per command)."""
    return root if isinstance(root, Catalog) else catalog.load(Path(root))


def select(root: Path | Catalog, slugs: tuple[str, ...] = (),
           feed_id: str | None = None) -> tuple[Catalog, list[Episode]]:
    """Pick episodes by slug and/or feed from the catalogue; unknown names are errors."""
    cat = load(root)
    if feed_id is not None and feed_id not in cat.shows:
        bad = [p for p in cat.errors if p.path == f"feeds/{feed_id}.toml"]
        if bad:
            raise ProblemsError(bad)
        raise ConfigError(f"no feed {feed_id!r} (feeds/{feed_id}.toml)", field="feed")
    episodes = [e for e in cat.episodes if feed_id in (None, e.feed)]
    if slugs:
        by_slug = {e.slug: e for e in episodes}
        missing = [s for s in slugs if s not in by_slug]
        if missing:
            invalid = [p for p in cat.errors if any(p.path.startswith(f"episodes/{s}") for s in missing)]
            if invalid:
                raise ProblemsError(invalid)
            raise ConfigError(f"no episode {', '.join(missing)} (looked in episodes/)", field="slug")
        episodes = [by_slug[s] for s in slugs]
    return cat, episodes


# ---- one episode -------------------------------------------------------------------------------

def show_cover(show: Show, layout: Layout) -> str:
    """Publish the show's artwork under a content-addressed name; return its site key.

    Refuses (MediaError) a file that is not the JPEG or PNG its name says: its URL would
    promise one format and serve another. Size and colour rules are `podkit check`'s and
    `podkit validate`'s.
    """
    for problem in artwork.format_problems(show.artwork):
        raise MediaError(problem, path=show.path, field="artwork")
    site = layout.stage(show.id)
    path = copy_addressed(show.artwork, site, show.id)
    for old in site.glob(f"{show.id}-*.*"):   # earlier covers (the site keeps its own links)
        if old != path and is_media_name(old.name, show.id):
            old.unlink()
    return site_key(site, path)


def write_cues(root: Path | Catalog, slugs: tuple[str, ...] = (),
               feed_id: str | None = None) -> list[Path]:
    """Write cue.txt/cue.csv per built episode and one cue.csv per feed, from the records.

    Like `podkit feed`, it refuses (ProblemsError, nothing written) when an episode's
    sources changed since its build: a sheet must describe the audio that airs (a new
    slot or max_duration is a change too).
    """
    from toolkit.site import cue    # the build's sheets: not every command needs them
    cat, episodes = select(root, slugs, feed_id)
    layout = cat.layout
    written: list[Path] = []
    by_feed: dict[str, list[cue.CueSheet]] = {}
    ordered = sorted(episodes, key=lambda e: (e.feed, e.date, e.slug))
    records, problems = {}, []
    for ep in ordered:
        records[ep.slug] = rec = cat.load_record(ep)
        changed = cat.stale(ep, rec)
        if changed:
            problems.append(Problem(f"episodes/{ep.slug}", "build",
                                    f"stale: changed since its build: {', '.join(changed)}; "
                                    f"run `podkit build {ep.slug}`"))
    cat.save()
    if problems:
        raise ProblemsError(problems)
    for ep in ordered:
        rec = records[ep.slug]
        if rec.cue is None:
            continue
        cue.write_sheet(layout.reports(ep.feed, ep.slug), rec.cue)
        written.append(layout.reports(ep.feed, ep.slug) / "cue.txt")
        by_feed.setdefault(ep.feed, []).append(rec.cue)
    for feed, sheets in by_feed.items():
        path = layout.build / "reports" / feed / "cue.csv"
        write_text(path, cue.render_csv(sheets))
        written.append(path)
    return written


def align(root: Path | Catalog, slugs: tuple[str, ...] = (), feed_id: str | None = None, *,
          jobs: int = 1, progress: runner.Progress | None = None
          ) -> list[tuple[str, tuple[AlignReport, ...]]]:
    """`podkit align`: build the selected episodes where their record is not current
    (alignment runs inside the build, so its output lands in the record and the published
    files together), then each episode's alignment reports, read from its record."""
    cat, episodes = select(root, slugs, feed_id)
    results = build(cat, slugs, feed_id, jobs=jobs, progress=progress)
    failed = [f"{r.key}: {r.error}" for r in results if not r.ok]
    if failed:
        raise PodkitError(f"build failed: {'; '.join(failed)}")
    return [(ep.slug, cat.load_record(ep).alignments) for ep in episodes]


def _leftovers(layout: Layout, episodes: list[Episode]) -> set[str]:
    """Slugs of episodes a killed build left traces of: work and old folders beside their
    stage and report folders, temp files in their cache. One listing per folder."""
    found = set()
    for feed in {e.feed for e in episodes}:
        for parent in (layout.stage(feed) / "episodes", layout.build / "reports" / feed):
            names = os.listdir(parent) if parent.is_dir() else []
            # .work-<slug>[.<attempt>], .old-<slug>, .claim-<slug>.<build> (cluster builds)
            found |= {n.split("-", 1)[1].split(".", 1)[0] for n in names
                      if n.startswith((".work-", ".old-", ".claim-"))}
    caches: dict[str, str] = {}     # feed -> its cache folder (a string: 2,000 episodes)
    for ep in episodes:
        if ep.feed not in caches:
            caches[ep.feed] = str(layout.cache(ep.feed, ep.slug).parent)
        try:
            if any(n.startswith(".") and n.endswith(".part")
                   for n in os.listdir(f"{caches[ep.feed]}/{ep.slug}")):
                found.add(ep.slug)
        except OSError:
            continue
    return found


def _tidy(layout: Layout, ep: Episode) -> None:
    """Remove what a killed build of `ep` left (work folders, the cache's temp files)."""
    promote.tidy(layout.episode_stage(ep.feed, ep.slug))
    promote.tidy(layout.reports(ep.feed, ep.slug))
    cache = layout.cache(ep.feed, ep.slug)
    if cache.is_dir():
        for leftover in cache.glob(".*.part"):
            leftover.unlink(missing_ok=True)


def _local(todo: list[tuple[str, tuple[EpisodeJob]]], jobs: int,
           progress: runner.Progress | None) -> list[runner.JobResult]:
    """Build the jobs in local worker processes (`-j`)."""
    from toolkit import runner
    from toolkit.episode_build import build_episode
    if len(todo) > 1 and jobs > 1:
        # Workers are forked: loading the audio engine and the taggers once here spares
        # each of them the imports.
        from toolkit.audio import master
        from toolkit.site import markup
        from toolkit.tags import tagging  # noqa: F401
        from toolkit.text import chapters, transcript  # noqa: F401
        master.warm_up()
        markup.markdown_html("")        # markdown-it is made on first use
    return runner.run_jobs(build_episode, todo, workers=jobs, progress=progress)


def _on_cluster(cat: Catalog, todo: list[tuple[str, tuple[EpisodeJob]]], target: ClusterTarget,
                progress: runner.Progress | None) -> list[runner.JobResult]:
    """Build the jobs on a Dask cluster, longest sources first; one claim per build."""
    import uuid

    from toolkit import cluster
    from toolkit.episode_build import build_episode
    build_id = uuid.uuid4().hex[:12]
    claimed = [(key, (replace(job, settings=replace(job.settings, claim=build_id)),))
               for key, (job,) in todo]
    # The sources' bytes stand for their duration: a stat each, where probing 10,000
    # episodes' audio would cost the client minutes before the first job starts.
    sizes = {key: float(sum(p.path.stat().st_size for p in job.episode.parts
                            if p.path.is_file()))
             for key, (job,) in todo}
    return cluster.run_jobs(build_episode, claimed, target=target, root=cat.root, sizes=sizes,
                            progress=progress)


def build(root: Path | Catalog, slugs: tuple[str, ...] = (), feed_id: str | None = None, *,
          jobs: int = 1, settings: BuildSettings | None = None,
          progress: runner.Progress | None = None,
          cluster: ClusterTarget | None = None) -> list[runner.JobResult]:
    """Build the selected episodes (all by default), `jobs` at a time; failures are listed.

    An episode whose record matches every input (and whose files are there) is not
    rebuilt at all; the others are built by workers from picklable jobs: local processes,
    or a Dask cluster's workers with `cluster` (toolkit.cluster).
    """
    # The build machinery, imported here: the commands that only read records import
    # this module for `select` and never need it.
    from toolkit import runner
    from toolkit.episode_build import BuildSettings, BuildSummary, EpisodeJob
    settings = settings or BuildSettings()
    cat, episodes = select(root, slugs, feed_id)
    layout = cat.layout
    covers = {show.id: show_cover(show, layout)  # once, before workers race to write it
              for show in {cat.shows[e.feed].id: cat.shows[e.feed] for e in episodes}.values()}
    done: dict[str, runner.JobResult] = {}
    todo: list[tuple[str, tuple[EpisodeJob]]] = []
    leftovers = _leftovers(layout, episodes)
    for ep in episodes:
        if ep.slug in leftovers:
            _tidy(layout, ep)
        rec = None if settings.force else cat.record(ep)
        if rec is not None and cat.is_current(ep, rec):
            done[ep.slug] = runner.JobResult(ep.slug, BuildSummary.of(rec, cached=True,
                                                                      unchanged=True))
            if progress:
                progress(ep.slug, "unchanged", 1.0)
            continue
        todo.append((ep.slug, (EpisodeJob(cat.root, cat.shows[ep.feed], ep, cat.inputs(ep),
                                          covers[ep.feed], settings),)))
    cat.save()
    if cluster is not None:
        results_run = _on_cluster(cat, todo, cluster, progress)
    else:
        results_run = _local(todo, jobs, progress)
    for result in results_run:
        done[result.key] = result
    results = [done[e.slug] for e in episodes]
    # Episodes that failed to load are failures of this build too (listed, never skipped).
    if not slugs and feed_id is None:
        loaded = {e.slug for e in cat.episodes}
        for problem in cat.errors:
            slug = problem.path.split("/")[1] if problem.path.startswith("episodes/") else None
            if slug and slug not in loaded and all(r.key != slug for r in results):
                results.append(runner.JobResult(slug, error=str(problem)))
    return results
