"""What an episode's page and the index show, from an episode being built or from its record."""
from __future__ import annotations

from toolkit.model import Episode, MediaFile, Show
from toolkit.site import markup, notes
from toolkit.standards import renditions
from toolkit.store import record
from toolkit.store.parts import ClipFile, ClipsPart


def page_notes(episode: Episode, page_url: str) -> str:
    """The notes as the episode page shows them: without the chapter list the page has anyway."""
    return markup.render_notes(episode.notes, base_url=page_url).content if episode.notes else ""


def page_data(show: Show, episode: Episode, audio: MediaFile, chs: tuple, transcripts: tuple,
              chapters_file: MediaFile | None, extra: list[MediaFile] | tuple, notes_html: str,
              transcript_html: str, cover: str | None,
              clips: tuple[ClipFile, ...] = ()) -> notes.PageData:
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
        downloads=tuple(notes.Link(_label(m), m.url, m.mime) for m in extra),
        clips=tuple(notes.ClipLink(c.title or f"Clip {c.index}", c.video.url, c.poster.url,
                                   c.width, c.height, c.video.size) for c in clips))


def _label(m: MediaFile) -> str:
    """A rendition's download label: the registry's ("AAC (.m4a)", "Opus"), else its type."""
    fmt = renditions.by_ext(m.url) or renditions.by_ext(str(m.path))
    return fmt.label if fmt else m.mime


def record_page(show: Show, rec: record.EpisodeRecord, transcript_html: str = "") -> notes.PageData:
    """The page data of a built episode, from its record alone."""
    return page_data(show, rec.episode, rec.audio, rec.chapters, rec.transcripts,
                     rec.chapters_file, rec.extra_audio, rec.page_notes_html, transcript_html,
                     rec.cover, rec.part("clips", ClipsPart()).clips)
