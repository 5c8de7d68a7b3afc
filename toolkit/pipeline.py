"""The pipeline: wires the stages in one readable order, for one episode and for a show.

    load + check -> audio (assemble, normalize, encode; cached) -> transcripts -> chapters
      -> tag -> notes -> page -> cue sheet -> manifest           (build_episode, per episode)
    manifests -> feed + index page                               (write_feed, never touches audio)
    feed -> validate                                             (validate_own)
    site -> publish (media first, feed last)                     (toolkit.publish)

The CLI calls these functions; they log, never print.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit import (artwork, chapters, config, cue, manifest, markup, notes, runner, tag,
                     transcript)
from toolkit.check import Catalog, load_catalog
from toolkit.errors import ConfigError, MediaError, ProblemsError
from toolkit.fsutil import atomic_path, sha256_file, write_bytes, write_text
from toolkit.layout import Layout, media_name, site_key, url_for
from toolkit.model import Episode, MediaFile, Show

log = logging.getLogger(__name__)

Progress = Callable[[str, float], None]
CHAPTERS_MIME = "application/json+chapters"


@dataclass(frozen=True)
class BuildSettings:
    """Options of a build that are not in the show's files."""

    id3_version: int = 3


def _noop(stage: str, fraction: float) -> None:
    pass


def now() -> dt.datetime:
    """The current time (PODKIT_NOW overrides it, for previews of scheduled episodes)."""
    override = config.now_override()
    if override:
        try:
            value = dt.datetime.fromisoformat(override)
        except ValueError:
            raise ConfigError(f"not an ISO date-time: {override!r}", field="PODKIT_NOW") from None
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    return dt.datetime.now(dt.timezone.utc)


def select(root: Path, slugs: tuple[str, ...] = (), feed_id: str | None = None, *,
           probe_media: bool = False) -> tuple[Catalog, list[Episode]]:
    """Load the catalog and pick episodes by slug and/or feed; unknown names are errors."""
    cat = load_catalog(root, probe_media=probe_media)
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


def _remove_stale(folder: Path, stem: str, ext: str, keep: Path) -> None:
    """Drop older content-addressed versions (`<stem>-<hash>.<ext>`) beside `keep`."""
    for old in folder.glob(f"{stem}-*.{ext}"):
        if old != keep and len(old.stem) == len(stem) + 13:
            old.unlink()


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
    _remove_stale(site, show.id, path.suffix.lstrip("."), path)
    return site_key(site, path)


def _place_tagged(tagged: Path, folder: Path, slug: str, ext: str) -> Path:
    """Rename a freshly tagged file to its content-addressed name.

    Older versions stay until the new manifest is saved (the caller removes them then):
    the previous page and manifest point at them, and a later step may still fail.
    """
    final = folder / media_name(slug, sha256_file(tagged), ext)
    if final.is_file():
        tagged.unlink()  # identical bytes already in place: reproducible builds change nothing
    else:
        os.replace(tagged, final)
    return final


def _media(path: Path, site: Path, base_url: str, mime: str, duration: float | None) -> MediaFile:
    return MediaFile(path=path, url=url_for(base_url, site_key(site, path)), mime=mime,
                     size=path.stat().st_size, sha256=sha256_file(path), duration=duration)


def build_episode(root: Path, slug: str, settings: BuildSettings = BuildSettings(), *,
                  progress: Progress = _noop) -> dict[str, Any]:
    """Build one episode end to end; return a small summary (picklable, for the CLI).

    Runs in a worker process under `podkit build -j`, so it loads what it needs itself.
    """
    from toolkit import master  # the audio engine (numpy, scipy): only commands that build need it
    layout = Layout(root)
    cat, (episode,) = select(root, (slug,))
    show = cat.shows[episode.feed]
    site, ep_site = layout.stage(show.id), layout.episode_stage(show.id, slug)
    reports = layout.reports(show.id, slug)
    templates = show.templates

    # 1. audio: assemble, normalize, encode (skipped when the inputs are unchanged)
    target = episode.loudness or show.preset.loudness
    audio = master.build_audio(episode, show.preset, target, layout.cache(show.id, slug),
                               progress=lambda st, f: progress(f"audio {st}" if st in
                                                               ("done", "cached") else st, f))
    # 2. transcripts, validated against the built duration, in every format apps read
    progress("transcripts", 0.0)
    texts = [transcript.load(src, duration=audio.duration) for src in episode.transcripts]
    url_of = lambda p: url_for(show.base_url, site_key(site, p))  # noqa: E731
    transcript_files = transcript.write_all(texts, ep_site, url_of=url_of, title=episode.title)
    # 3. chapters: the episode's own, else one per titled part
    chs = chapters.resolve(episode, audio.chapters, audio.duration)
    chapters_file = None
    if chs:
        def img_url(img: str) -> str:
            return url_of(_copy_addressed(episode.dir / img, ep_site, "chapter"))
        path = ep_site / "chapters.json"
        write_text(path, chapters.to_json(chs, base_url_for_img=img_url))
        chapters_file = _media(path, site, show.base_url, CHAPTERS_MIME, None)
    # 4. tags on a copy of the cached master; content-addressed name
    progress("tagging", 0.0)
    page_key = notes.episode_page_key(slug)
    page_url = url_for(show.base_url, page_key)
    tag_args = dict(chapters=chs, page_url=page_url, feed_url=show.feed_url,
                    transcript_text=transcript.plain_text(texts[0]) if texts else None,
                    transcript_language=texts[0].language if texts else None)
    mp3 = _place_tagged(tag.tag_mp3(audio.mp3, show, episode, out=ep_site / ".tagging.mp3",
                                    v2_version=settings.id3_version, **tag_args),
                        ep_site, slug, "mp3")
    audio_file = _media(mp3, site, show.base_url, "audio/mpeg", audio.duration)
    extra: list[MediaFile] = []
    if audio.m4a is not None:
        m4a = _place_tagged(tag.tag_audio(audio.m4a, show, episode, out=ep_site / ".tagging.m4a",
                                          **tag_args), ep_site, slug, "m4a")
        extra.append(_media(m4a, site, show.base_url, "audio/x-m4a", audio.duration))
    if audio.wav is not None:  # the broadcast deliverable is for the station, not the feed
        with atomic_path(reports / f"{slug}-broadcast.wav") as tmp:
            shutil.copyfile(audio.wav, tmp)
    art_url = url_of(_copy_addressed(episode.art, ep_site, "art")) if episode.art else None
    # 5. notes and the episode page
    progress("pages", 0.0)
    ep_notes = notes.episode_notes(episode, chs, templates, page_url=page_url)
    notes.write_notes(reports, ep_notes)
    page = page_data(show, episode, audio_file, chs, transcript_files, chapters_file, extra,
                     page_notes(episode, page_url),
                     transcript.to_html(texts[0]) if texts else "", art_url or show_cover(show, layout))
    notes.write_page(site / page_key, notes.render_episode_page(show, page, templates))
    # 6. producer's reports: QC picture and numbers, cue sheet, the build manifest
    for src, name in ((audio.qc_png, "qc.png"), (audio.qc_json, "qc.json")):
        if src and Path(src).is_file():
            write_bytes(reports / name, Path(src).read_bytes())  # unchanged: left untouched
    saved = manifest.save(layout, show.id, slug, audio=audio_file, transcripts=transcript_files,
                          chapters_file=chapters_file, chapters=chs, extra_audio=tuple(extra),
                          loudness_before=audio.before, loudness_after=audio.after,
                          parts=list(audio.parts), image_url=art_url, page_url=page_url,
                          mastering=_mastering(audio))
    cue.write_sheet(reports, cue_sheet(show, episode, manifest.load(layout, show.id, slug)))
    log.debug("%s: manifest %s", slug, saved)
    # The new build is complete: only now drop the audio the previous one pointed at.
    for done in (audio_file, *extra):
        _remove_stale(ep_site, slug, done.path.suffix.lstrip("."), done.path)
    progress("done", 1.0)
    return {"slug": slug, "feed": show.id, "duration": audio.duration, "cached": audio.cached,
            "integrated": audio.after.integrated, "true_peak": audio.after.true_peak,
            "mp3": str(mp3), "size": audio_file.size,
            "overrun": cue.check_slot(audio.duration, episode.max_duration),
            "renditions": {k: (v.integrated, v.true_peak) for k, v in audio.renditions.items()},
            "limiting_warning": audio.limiting.warning if audio.limiting else None}


def _mastering(audio: Any) -> dict[str, Any]:
    """The audio stage's report for the manifest: each rendition's loudness, the limiting."""
    from dataclasses import asdict
    return {"renditions": {k: asdict(s) for k, s in audio.renditions.items()},
            "limiting": audio.limiting.as_dict() if audio.limiting else None}


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
    return notes.PageData(
        episode=episode, audio=audio.url, duration=audio.duration or 0.0,
        audio_size=audio.size, chapters=tuple(chs), notes_html=notes_html,
        transcript_html=transcript_html,
        transcripts=tuple(notes.Link(labels.get(t.mime, t.mime), t.url, t.mime) for t in transcripts),
        cover=cover, chapters_file=chapters_file.url if chapters_file else None,
        downloads=tuple(notes.Link("AAC (.m4a)", m.url, m.mime) for m in extra))


def cue_sheet(show: Show, episode: Episode, built: manifest.Manifest) -> cue.CueSheet:
    """The radio cue sheet of a built episode, from its manifest and transcript."""
    texts = [transcript.load(src, duration=None) for src in episode.transcripts[:1]]
    return cue.make_sheet(episode, show_title=show.title, duration=built.audio.duration or 0.0,
                          parts=cue.parts_from(episode.parts, [s for _, s in built.parts]),
                          transcript_text=transcript.plain_text(texts[0]) if texts else None,
                          loudness=built.loudness_after, limiting=built.limiting)


def write_cues(root: Path, slugs: tuple[str, ...] = (), feed_id: str | None = None) -> list[Path]:
    """Write cue.txt/cue.csv per built episode and one cue.csv per feed; return the paths."""
    cat, episodes = select(root, slugs, feed_id)
    layout = Layout(root)
    written: list[Path] = []
    by_feed: dict[str, list[cue.CueSheet]] = {}
    for ep in sorted(episodes, key=lambda e: (e.feed, e.date, e.slug)):
        sheet = cue_sheet(cat.shows[ep.feed], ep, manifest.load(layout, ep.feed, ep.slug))
        cue.write_sheet(layout.reports(ep.feed, ep.slug), sheet)
        written.append(layout.reports(ep.feed, ep.slug) / "cue.txt")
        by_feed.setdefault(ep.feed, []).append(sheet)
    for feed, sheets in by_feed.items():
        path = layout.build / "reports" / feed / "cue.csv"
        write_text(path, cue.render_csv(sheets))
        written.append(path)
    return written


def build(root: Path, slugs: tuple[str, ...] = (), feed_id: str | None = None, *, jobs: int = 1,
          settings: BuildSettings = BuildSettings(),
          progress: runner.Progress | None = None) -> list[runner.JobResult]:
    """Build the selected episodes (all by default), `jobs` at a time; failures are listed."""
    cat, episodes = select(root, slugs, feed_id)
    layout = Layout(root)
    for show in {cat.shows[e.feed].id: cat.shows[e.feed] for e in episodes}.values():
        show_cover(show, layout)  # once, before workers race to write it
    results = runner.run_jobs(build_episode, [(e.slug, (root, e.slug, settings)) for e in episodes],
                              workers=jobs, progress=progress)
    # Episodes that failed to load are failures of this build too (listed, never skipped).
    if not slugs and feed_id is None:
        loaded = {e.slug for e in cat.episodes}
        for problem in cat.errors:
            slug = problem.path.split("/")[1] if problem.path.startswith("episodes/") else None
            if slug and slug not in loaded and all(r.key != slug for r in results):
                results.append(runner.JobResult(slug, error=str(problem)))
    return results
