"""The pipeline: wires the stages in one readable order, for one episode and for a show.

    catalogue (loaded once) -> per episode, unless its record is current:
      audio (assemble, normalize, encode; cached) -> transcripts -> chapters -> tag
        -> notes -> page -> cue sheet -> record       (build_episode, in a private folder,
                                                        promoted whole: toolkit.promote)
    records -> feed + index page                       (toolkit.release.write_feed)
    records + site -> validate                         (toolkit.release.validate_own)
    site -> publish (media first, feed last)           (toolkit.release.publish_show)

After the build, the record is the only source of truth: nothing later reads the
episode's sources again. The CLI calls these functions; they log, never print.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from toolkit import artwork, catalog, config, cue, markup, notes, promote, record, runner
from toolkit.catalog import Catalog
from toolkit.contenttypes import CHAPTERS_TYPE
from toolkit.errors import ConfigError, MediaError, PodkitError, ProblemsError
from toolkit.fsutil import atomic_path, sha256_file, write_text
from toolkit.layout import Layout, media_name, site_key, url_for
from toolkit.model import (AlignReport, AlignStatus, Episode, MediaFile, Show, Transcript,
                           TranscriptFormat)

log = logging.getLogger(__name__)

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class BuildSettings:
    """Options of a build that are not in the show's files."""

    id3_version: int = 3
    force: bool = False             # rebuild even when the record says nothing changed


@dataclass(frozen=True)
class EpisodeJob:
    """Everything a worker needs to build one episode (picklable: no catalogue reload)."""

    root: Path
    show: Show
    episode: Episode
    inputs: dict[str, str]
    cover: str                      # site key of the show's published cover
    settings: BuildSettings = BuildSettings()


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
    limiting_warning: str | None = None   # the limiter worked hard (normalize.limiting)
    align_warnings: tuple[str, ...] = ()  # transcripts published untimed, and why

    @classmethod
    def of(cls, rec: record.EpisodeRecord, *, cached: bool, unchanged: bool = False) -> BuildSummary:
        """The summary of a build from its record."""
        after = rec.loudness_after
        return cls(slug=rec.slug, feed=rec.episode.feed, duration=rec.duration,
                   integrated=after.integrated if after else float("nan"),
                   true_peak=after.true_peak if after else float("nan"), size=rec.audio.size,
                   cached=cached, unchanged=unchanged,
                   overrun=cue.check_slot(rec.duration, rec.episode.max_duration),
                   renditions=tuple((kind, s.integrated, s.true_peak) for kind, s in
                                    sorted(rec.renditions.items(), key=lambda r: r[0] != "mp3")),
                   limiting_warning=rec.limiting.get("warning"),
                   align_warnings=tuple(f"{a.source.name}: {a.message}" for a in rec.alignments
                                        if a.status in (AlignStatus.NO_MODEL,
                                                        AlignStatus.MISMATCH)))


def _noop(stage: str, fraction: float) -> None:
    pass


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
    override = config.now_override()
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

def _copy_addressed(src: Path, folder: Path, stem: str) -> Path:
    """Copy `src` into `folder` under a content-addressed name; reuse it if already there."""
    digest = sha256_file(src)
    target = folder / media_name(stem, digest, src.suffix.lower().lstrip(".").replace("jpeg", "jpg"))
    if not target.is_file() or sha256_file(target) != digest:
        with atomic_path(target) as tmp:
            shutil.copyfile(src, tmp)
    return target


def show_cover(show: Show, layout: Layout) -> str:
    """Publish the show's artwork under a content-addressed name; return its site key.

    Refuses (MediaError) a file that is not the JPEG or PNG its name says: its URL would
    promise one format and serve another. Size and colour rules are `podkit check`'s and
    `podkit validate`'s.
    """
    for problem in artwork.format_problems(show.artwork):
        raise MediaError(problem, path=show.path, field="artwork")
    site = layout.stage(show.id)
    path = _copy_addressed(show.artwork, site, show.id)
    for old in site.glob(f"{show.id}-*.*"):   # earlier covers (the site keeps its own links)
        if old != path and len(old.stem) == len(show.id) + 13:
            old.unlink()
    return site_key(site, path)


def _link_or_copy(src: Path, dst: Path) -> None:
    """Put `src` at `dst`: a hard link (cache files are replaced, never rewritten), else a copy."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def _cpu_seconds() -> float:
    """CPU time of this process and of the children it waited for (ffmpeg)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class _Folder:
    """An episode's private work folder, addressed by the keys its files will have once promoted."""

    def __init__(self, work: Path, final: Path, site: Path, base_url: str) -> None:
        self.work, self.final, self.site, self.base_url = work, final, site, base_url
        self.prefix = site_key(site, final)

    def url(self, path: Path) -> str:
        """The public URL a file in the work folder will have."""
        return url_for(self.base_url, f"{self.prefix}/{path.relative_to(self.work).as_posix()}")

    def media(self, path: Path, mime: str, duration: float | None = None) -> MediaFile:
        """A built file as the record keeps it: its final path, URL, size and hash."""
        return MediaFile(path=self.final / path.relative_to(self.work), url=self.url(path),
                         mime=mime, size=path.stat().st_size, sha256=sha256_file(path),
                         duration=duration)

    def moved(self, m: MediaFile) -> MediaFile:
        """A MediaFile written into the work folder, as it will be after promotion."""
        return replace(m, path=self.final / Path(m.path).relative_to(self.work))


def build_episode(job: EpisodeJob, *, progress: Progress = _noop) -> BuildSummary:
    """Build one episode into a private folder and promote it whole (see toolkit.promote).

    Runs in a worker process under `podkit build -j`: everything it needs is in `job`.
    """
    # The audio engine (numpy, scipy) and the taggers: only building needs them, and
    # feed, validate and publish start faster without.
    from toolkit import master
    show, episode, slug = job.show, job.episode, job.episode.slug
    layout = Layout(job.root)
    final, reports_final = layout.episode_stage(show.id, slug), layout.reports(show.id, slug)
    work, reports = promote.begin(final), promote.begin(reports_final)
    try:
        folder = _Folder(work, final, layout.stage(show.id), show.base_url)
        target = episode.loudness or show.preset.loudness
        clock = _cpu_seconds()
        audio_progress = lambda st, f: progress(f"audio {st}" if st in  # noqa: E731
                                                ("done", "cached") else st, f)
        if episode.passthrough:  # an already mastered MP3: measured, never re-encoded
            from toolkit import passthrough
            audio = passthrough.build_audio(episode, layout.cache(show.id, slug),
                                            progress=audio_progress)
        else:
            audio = master.build_audio(episode, show.preset, target, layout.cache(show.id, slug),
                                       progress=audio_progress)
        # The benchmarks subtract this to get the cost of everything around the audio.
        log.info("%s: audio stage %.3f s cpu", slug, _cpu_seconds() - clock)
        rec = _finish(job, folder, reports, audio, progress)
        record.save(work, rec, root=job.root, site=folder.site)
    except PodkitError as exc:
        promote.abandon(work)
        promote.abandon(reports)
        # Name the file where the producer will look for it, not the private work folder.
        for private, public in ((work, final), (reports, reports_final)):
            if exc.path and exc.path.startswith(f"{private}/"):
                exc.path = str(public) + exc.path[len(str(private)):]
        raise
    except BaseException:
        promote.abandon(work)
        promote.abandon(reports)
        raise
    promote.commit(work, final)          # the record moves in with its files
    promote.commit(reports, reports_final)
    progress("done", 1.0)
    return BuildSummary.of(rec, cached=audio.cached)


def _finish(job: EpisodeJob, folder: _Folder, reports: Path, audio, progress: Progress  # type: ignore[no-untyped-def]
            ) -> record.EpisodeRecord:
    """Every step after the audio, writing into the work folders; returns the record."""
    from toolkit import chapters, tag, transcript
    show, episode, slug, work = job.show, job.episode, job.episode.slug, folder.work
    # 2. transcripts, validated against the built duration, in every format apps read
    progress("transcripts", 0.0)
    texts = [transcript.load(src, duration=audio.duration) for src in episode.transcripts]
    texts, alignments = align_transcripts(texts, job, audio)
    transcript_files = tuple(folder.moved(m) for m in transcript.write_all(
        texts, work, url_of=folder.url, title=episode.title))
    # 3. chapters: the episode's own, else one per titled part
    chs = chapters.resolve(episode, audio.chapters, audio.duration)
    chapters_file = None
    if chs:
        def img_url(img: str) -> str:
            for problem in artwork.format_problems(episode.dir / img):  # a clear message
                i = next(i for i, c in enumerate(episode.chapters) if c.img == img)
                raise MediaError(problem, path=episode.path, field=f"chapters[{i}].img")
            return folder.url(_copy_addressed(episode.dir / img, work, "chapter"))
        path = work / "chapters.json"
        write_text(path, chapters.to_json(chs, base_url_for_img=img_url))
        chapters_file = folder.media(path, CHAPTERS_TYPE)
    # 4. tags on a copy of the cached master; content-addressed name
    progress("tagging", 0.0)
    page_key = notes.episode_page_key(slug)
    page_url = url_for(show.base_url, page_key)
    tag_args = dict(chapters=chs, page_url=page_url, feed_url=show.feed_url,
                    transcript_text=transcript.plain_text(texts[0]) if texts else None,
                    transcript_language=texts[0].language if texts else None)
    renditions = [(audio.mp3, "mp3", "audio/mpeg")]
    if audio.m4a is not None:
        renditions.append((audio.m4a, "m4a", "audio/x-m4a"))
    built: list[MediaFile] = []
    for master_file, ext, mime in renditions:
        if episode.keep_tags:  # passthrough, byte for byte: the listeners' file stays theirs
            tagged = work / f".tagging.{ext}"
            shutil.copyfile(master_file, tagged)
        else:
            tagged = tag.tag_audio(master_file, show, episode, out=work / f".tagging.{ext}",
                                   v2_version=job.settings.id3_version, **tag_args)
        placed = work / media_name(slug, sha256_file(tagged), ext)
        os.replace(tagged, placed)
        built.append(folder.media(placed, mime, audio.duration))
    if audio.wav is not None:  # the broadcast deliverable is for the station, not the feed
        _link_or_copy(audio.wav, reports / f"{slug}-broadcast.wav")
    art_url = folder.url(_copy_addressed(episode.art, work, "art")) if episode.art else None
    # 5. notes and the episode page
    progress("pages", 0.0)
    ep_notes = notes.episode_notes(episode, chs, show.templates, page_url=page_url)
    notes.write_notes(reports, ep_notes)
    page_notes_html = page_notes(episode, page_url)
    transcript_html = transcript.to_page_html(texts[0]) if texts else ""
    page = page_data(show, episode, built[0], chs, transcript_files, chapters_file, built[1:],
                     page_notes_html, transcript_html, art_url or job.cover)
    notes.write_page(work / "index.html", notes.render_episode_page(show, page, show.templates))
    notes.write_page(work / "embed.html", notes.render_embed(show, page, show.templates))
    if transcript_html:
        write_text(work / record.TRANSCRIPT_FRAGMENT, transcript_html)
    # 6. producer's reports: QC picture and numbers, cue sheet
    for src, name in ((audio.qc_png, "qc.png"), (audio.qc_json, "qc.json")):
        if src and Path(src).is_file():
            _link_or_copy(Path(src), reports / name)
    limiting = audio.limiting.as_dict() if audio.limiting else {}
    sheet = cue.make_sheet(episode, show_title=show.title, duration=audio.duration,
                           parts=cue.parts_from(episode.parts, [s for _, s in audio.parts]),
                           transcript_text=tag_args["transcript_text"], loudness=audio.after,
                           limiting=limiting)
    cue.write_sheet(reports, sheet)
    return record.EpisodeRecord(
        version=record.VERSION, episode=episode, inputs=job.inputs, audio=built[0],
        extra_audio=tuple(built[1:]), transcripts=transcript_files, chapters_file=chapters_file,
        chapters=chs, page_url=page_url, image_url=art_url, cover=art_url or job.cover,
        description_html=ep_notes.description_html, content_html=ep_notes.content_html,
        page_notes_html=page_notes_html, has_transcript_html=bool(transcript_html),
        loudness_before=audio.before, loudness_after=audio.after,
        renditions=dict(audio.renditions) or {"mp3": audio.after}, limiting=limiting,
        parts=tuple(audio.parts), cue=sheet, alignments=alignments)


def align_transcripts(texts: list[Transcript], job: EpisodeJob, audio  # type: ignore[no-untyped-def]
                      ) -> tuple[list[Transcript], tuple[AlignReport, ...]]:
    """Time the plain-text transcripts against the built master (toolkit.align), where
    `align` is on; the others pass through. One report per plain-text transcript."""
    from toolkit import align
    out: list[Transcript] = []
    reports: list[AlignReport] = []
    cache = Layout(job.root).cache(job.show.id, job.episode.slug)
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


def page_notes(episode: Episode, page_url: str) -> str:
    """The notes as the episode page shows them: without the chapter list the page has anyway."""
    return markup.render_notes(episode.notes, base_url=page_url).content if episode.notes else ""


def page_data(show: Show, episode: Episode, audio: MediaFile, chs: tuple, transcripts: tuple,
              chapters_file: MediaFile | None, extra: list[MediaFile] | tuple, notes_html: str,
              transcript_html: str, cover: str | None) -> notes.PageData:
    """What the episode page and the index show for one built episode."""
    labels = {"text/vtt": "WebVTT captions", "application/x-subrip": "SRT subtitles",
              "application/json": "Podcast Index JSON", "text/plain": "Plain text",
              "text/html": "HTML"}
    downloads = {"audio/x-m4a": "AAC (.m4a)", "audio/ogg": "Opus (.opus)"}
    return notes.PageData(
        episode=episode, audio=audio.url, duration=audio.duration or 0.0,
        audio_size=audio.size, chapters=tuple(chs), notes_html=notes_html,
        transcript_html=transcript_html,
        transcripts=tuple(notes.Link(labels.get(t.mime, t.mime), t.url, t.mime) for t in transcripts),
        cover=cover, chapters_file=chapters_file.url if chapters_file else None,
        downloads=tuple(notes.Link(downloads.get(m.mime, m.mime), m.url, m.mime) for m in extra))


def record_page(show: Show, rec: record.EpisodeRecord, transcript_html: str = "") -> notes.PageData:
    """The page data of a built episode, from its record alone."""
    return page_data(show, rec.episode, rec.audio, rec.chapters, rec.transcripts,
                     rec.chapters_file, rec.extra_audio, rec.page_notes_html, transcript_html,
                     rec.cover)


def write_cues(root: Path | Catalog, slugs: tuple[str, ...] = (),
               feed_id: str | None = None) -> list[Path]:
    """Write cue.txt/cue.csv per built episode and one cue.csv per feed, from the records."""
    cat, episodes = select(root, slugs, feed_id)
    layout = cat.layout
    written: list[Path] = []
    by_feed: dict[str, list[cue.CueSheet]] = {}
    for ep in sorted(episodes, key=lambda e: (e.feed, e.date, e.slug)):
        rec = cat.load_record(ep)
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


def _tidy(layout: Layout, ep: Episode) -> None:
    """Remove what a killed build of `ep` left (work folders, the cache's temp files)."""
    promote.tidy(layout.episode_stage(ep.feed, ep.slug))
    promote.tidy(layout.reports(ep.feed, ep.slug))
    cache = layout.cache(ep.feed, ep.slug)
    if cache.is_dir():
        for leftover in cache.glob(".*.part"):
            leftover.unlink(missing_ok=True)


def build(root: Path | Catalog, slugs: tuple[str, ...] = (), feed_id: str | None = None, *,
          jobs: int = 1, settings: BuildSettings = BuildSettings(),
          progress: runner.Progress | None = None) -> list[runner.JobResult]:
    """Build the selected episodes (all by default), `jobs` at a time; failures are listed.

    An episode whose record matches every input (and whose files are there) is not
    rebuilt at all; the others are built by workers from picklable jobs.
    """
    cat, episodes = select(root, slugs, feed_id)
    layout = cat.layout
    covers = {show.id: show_cover(show, layout)  # once, before workers race to write it
              for show in {cat.shows[e.feed].id: cat.shows[e.feed] for e in episodes}.values()}
    done: dict[str, runner.JobResult] = {}
    todo: list[tuple[str, tuple[EpisodeJob]]] = []
    for ep in episodes:
        _tidy(layout, ep)
        inputs = cat.inputs(ep)
        rec = cat.record(ep)
        if (rec is not None and not settings.force and rec.inputs == inputs
                and all(m.path.is_file() for m in (rec.audio, *rec.extra_audio))):
            done[ep.slug] = runner.JobResult(ep.slug, BuildSummary.of(rec, cached=True,
                                                                      unchanged=True))
            if progress:
                progress(ep.slug, "unchanged", 1.0)
            continue
        todo.append((ep.slug, (EpisodeJob(cat.root, cat.shows[ep.feed], ep, inputs,
                                          covers[ep.feed], settings),)))
    cat.save()
    if todo and jobs > 1:
        # Workers are forked: loading the audio engine and the taggers once here spares
        # each of them the imports.
        from toolkit import chapters, master, tag, transcript  # noqa: F401
        master.warm_up()
    for result in runner.run_jobs(build_episode, todo, workers=jobs, progress=progress):
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
