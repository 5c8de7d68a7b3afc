"""Building one episode: every step after the catalogue, in a private folder promoted whole.

    EpisodeJob (picklable: show, episode, input hashes, settings)
      -> audio (toolkit.audio.master: assemble, normalize, encode; cached)
      -> transcripts (aligned where plain text) -> chapters -> tags -> notes -> page
      -> cue sheet -> record, all into a work folder -> promote (toolkit.store.promote)

`build_episode` runs in a worker process under `podkit build -j N`: it reads nothing but
its job and the files the job names, and never loads the catalogue.
"""
from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from toolkit.errors import MediaError, PodkitError
from toolkit.fsutil import atomic_path, sha256_file, write_text
from toolkit.model import (
    AlignReport,
    CutOutput,
    AlignStatus,
    Episode,
    MediaFile,
    Show,
    Transcript,
    TranscriptFormat,
)
from toolkit.site import cue, notes
from toolkit.site.pages import page_data, page_notes
from toolkit.standards import artwork, renditions
from toolkit.standards.contenttypes import CHAPTERS_TYPE
from toolkit.store import promote, record
from toolkit.store.layout import Layout, media_name, site_key, url_for

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
    cuts: tuple[str, ...] = ()      # each named cut as the build line shows it (aircuts.line)

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
                   cuts=tuple(cut_line(c) for c in rec.cuts),
                   align_warnings=tuple(f"{a.source.name}: {a.message}" for a in rec.alignments
                                        if a.status in (AlignStatus.NO_MODEL,
                                                        AlignStatus.MISMATCH)))


    @classmethod
    def unchanged_from(cls, raw: dict, ep: Episode) -> BuildSummary:
        """The summary of an episode left as it was, from its record's plain data."""
        audio = raw.get("audio") or {}
        after = raw.get("loudness_after") or {}
        duration = float(audio.get("duration") or 0.0)
        return cls(slug=ep.slug, feed=ep.feed, duration=duration,
                   integrated=_number(after.get("integrated")),
                   true_peak=_number(after.get("true_peak")), size=int(audio.get("size") or 0),
                   cached=True, unchanged=True,
                   overrun=cue.check_slot(duration, ep.max_duration))


def cut_line(c: CutOutput) -> str:
    """A built cut as the build line shows it: 'AIR -23.0 LUFS -4.1 dBTP 9:30 (slot 9:30)'."""
    text = f"{c.name.upper()} {c.integrated:.1f} LUFS {c.true_peak:.1f} dBTP {cue.clock(c.duration)}"
    if c.slot is not None:
        text += f" (slot {cue.clock(c.slot)}{_slot_words(c.slot_error)})"
    return text if c.on_target else text + f" OFF TARGET {c.target:g} LUFS / {c.ceiling:g} dBTP"


def _slot_words(error: float | None) -> str:
    if error is None or abs(error) < 0.5:
        return ""
    return f", {abs(error):.1f} s {'over' if error > 0 else 'under'}"


def _number(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


def _noop(stage: str, fraction: float) -> None:
    pass


def copy_addressed(src: Path, folder: Path, stem: str) -> Path:
    """Copy `src` into `folder` under a content-addressed name; reuse it if already there."""
    digest = sha256_file(src)
    target = folder / media_name(stem, digest, src.suffix.lower().lstrip(".").replace("jpeg", "jpg"))
    if not target.is_file() or sha256_file(target) != digest:
        with atomic_path(target) as tmp:
            shutil.copyfile(src, tmp)
    return target


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
    """Build one episode into a private folder and promote it whole (see toolkit.store.promote).

    Runs in a worker process under `podkit build -j`: everything it needs is in `job`.
    """
    # The audio engine (numpy, scipy) and the taggers: only building needs them, and
    # feed, validate and publish start faster without.
    from toolkit.audio import master
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
            from toolkit.audio import passthrough
            audio = passthrough.build_audio(episode, layout.cache(show.id, slug),
                                            progress=audio_progress)
        else:
            # An episode's own [encoding] (its renditions, say) replaces the feed's.
            preset = replace(show.preset, encoding=episode.encoding or show.preset.encoding)
            audio = master.build_audio(episode, preset, target, layout.cache(show.id, slug),
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
    # Long because it is the build's steps after the audio in their order (numbered below),
    # each a few lines writing into the same work folder.
    from toolkit.tags import id3
    from toolkit.text import chapters, transcript
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
            return folder.url(copy_addressed(episode.dir / img, work, "chapter"))
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
    built: list[MediaFile] = []
    for kind, master_file in audio.files.items():   # the MP3 first: it is the enclosure
        fmt = renditions.get(kind)
        if not fmt.in_feed:  # the broadcast deliverable is for the station, not the feed
            _link_or_copy(master_file, reports / f"{slug}-broadcast.{fmt.ext}")
            continue
        if episode.keep_tags:  # passthrough, byte for byte: the listeners' file stays theirs
            tagged = work / f".tagging.{fmt.ext}"
            shutil.copyfile(master_file, tagged)
        else:
            tagged = id3.tag_audio(master_file, show, episode, out=work / f".tagging.{fmt.ext}",
                                   v2_version=job.settings.id3_version, **tag_args)
        placed = work / media_name(slug, sha256_file(tagged), fmt.ext)
        os.replace(tagged, placed)
        built.append(folder.media(placed, fmt.mime, audio.duration))
    art_url = folder.url(copy_addressed(episode.art, work, "art")) if episode.art else None
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
    # 7. the named cuts (air...): station deliverables beside the reports, each at its own loudness
    cuts = ()
    if episode.cuts and not episode.passthrough:
        from toolkit import aircuts
        layout = Layout(job.root)
        preset = replace(show.preset, encoding=episode.encoding or show.preset.encoding)
        cuts = aircuts.build_cuts(show, episode, preset, reports=reports,
                                  reports_final=layout.reports(show.id, slug),
                                  build_root=layout.build, cache=layout.cache(show.id, slug),
                                  out_cue=sheet.out_cue)
    return record.EpisodeRecord(
        version=record.VERSION, episode=episode, inputs=job.inputs, audio=built[0],
        extra_audio=tuple(built[1:]), transcripts=transcript_files, chapters_file=chapters_file,
        chapters=chs, page_url=page_url, image_url=art_url, cover=art_url or job.cover,
        description_html=ep_notes.description_html, content_html=ep_notes.content_html,
        page_notes_html=page_notes_html, has_transcript_html=bool(transcript_html),
        loudness_before=audio.before, loudness_after=audio.after,
        renditions=dict(audio.renditions) or {"mp3": audio.after}, limiting=limiting,
        parts=tuple(audio.parts), cue=sheet, alignments=alignments, cuts=cuts)


def align_transcripts(texts: list[Transcript], job: EpisodeJob, audio  # type: ignore[no-untyped-def]
                      ) -> tuple[list[Transcript], tuple[AlignReport, ...]]:
    """Time the plain-text transcripts against the built master (toolkit.text.align), where
    `align` is on; the others pass through. One report per plain-text transcript."""
    from toolkit.text import align
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
