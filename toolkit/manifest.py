"""The build manifest: what `podkit build` produced for an episode, saved as JSON.

`podkit feed`, `validate`, `cue` and `check` read it instead of touching audio again,
so a feed rebuild never decodes or measures anything.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from toolkit.errors import NotBuiltError
from toolkit.fsutil import write_text
from toolkit.layout import Layout
from toolkit.model import Chapter, LoudnessStats, MediaFile

MANIFEST = "build.json"
VERSION = 1


def _media(d: dict[str, Any] | None, site: Path) -> MediaFile | None:
    if not d:
        return None
    return MediaFile(**{**d, "path": site / d["path"]})


def _media_dict(m: MediaFile | None, site: Path) -> dict[str, Any] | None:
    if m is None:
        return None
    d = asdict(m)
    d["path"] = Path(m.path).relative_to(site).as_posix()  # portable: the build folder may move
    return d


def save(layout: Layout, feed: str, slug: str, *, audio: MediaFile,
         transcripts: tuple[MediaFile, ...], chapters_file: MediaFile | None,
         chapters: tuple[Chapter, ...], extra_audio: tuple[MediaFile, ...],
         loudness_before: LoudnessStats | None, loudness_after: LoudnessStats | None,
         parts: list[tuple[str, float]], image_url: str | None, page_url: str | None,
         extra: dict[str, Any] | None = None, mastering: dict[str, Any] | None = None) -> Path:
    """Write the manifest of one built episode (atomically, deterministic JSON).

    `mastering` is the audio stage's report: {"renditions": {kind: LoudnessStats as a
    dict}, "limiting": normalize.Limiting.as_dict()}.
    """
    site = layout.stage(feed)
    data = {
        "version": VERSION,
        "slug": slug,
        "duration": audio.duration,
        "audio": _media_dict(audio, site),
        "extra_audio": [_media_dict(m, site) for m in extra_audio],
        "transcripts": [_media_dict(m, site) for m in transcripts],
        "chapters_file": _media_dict(chapters_file, site),
        "chapters": [asdict(c) for c in chapters],
        "loudness_before": asdict(loudness_before) if loudness_before else None,
        "loudness_after": asdict(loudness_after) if loudness_after else None,
        "parts": [[title, round(seconds, 3)] for title, seconds in parts],
        "image_url": image_url,
        "page_url": page_url,
        "mastering": mastering,
        **(extra or {}),
    }
    path = layout.reports(feed, slug) / MANIFEST
    write_text(path, json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    return path


class Manifest:
    """A loaded manifest, with typed accessors."""

    def __init__(self, data: dict[str, Any], site: Path, path: Path) -> None:
        self.data = data
        self.site = site
        self.path = path

    @property
    def audio(self) -> MediaFile:
        """The published MP3."""
        media = _media(self.data["audio"], self.site)
        assert media is not None
        return media

    @property
    def extra_audio(self) -> tuple[MediaFile, ...]:
        """Other published renditions (.m4a)."""
        return tuple(m for m in (_media(d, self.site) for d in self.data.get("extra_audio", [])) if m)

    @property
    def transcripts(self) -> tuple[MediaFile, ...]:
        """Published transcript files."""
        return tuple(m for m in (_media(d, self.site) for d in self.data["transcripts"]) if m)

    @property
    def chapters_file(self) -> MediaFile | None:
        """The Podcast Index chapters JSON, if any."""
        return _media(self.data.get("chapters_file"), self.site)

    @property
    def chapters(self) -> tuple[Chapter, ...]:
        """The chapters as built."""
        return tuple(Chapter(**c) for c in self.data["chapters"])

    @property
    def loudness_after(self) -> LoudnessStats | None:
        """Loudness measured on the published MP3."""
        d = self.data.get("loudness_after")
        return LoudnessStats(**d) if d else None

    @property
    def loudness_before(self) -> LoudnessStats | None:
        """Loudness of the assembled programme before normalization."""
        d = self.data.get("loudness_before")
        return LoudnessStats(**d) if d else None

    @property
    def renditions(self) -> dict[str, LoudnessStats]:
        """Loudness of each published rendition ("mp3", "m4a", "wav"), measured on its file."""
        found = (self.data.get("mastering") or {}).get("renditions") or {}
        return {k: LoudnessStats(**v) for k, v in found.items()}

    @property
    def limiting(self) -> dict[str, Any] | None:
        """How hard the limiter worked (seconds, share, max_db, warning), if recorded."""
        return (self.data.get("mastering") or {}).get("limiting")

    @property
    def parts(self) -> list[tuple[str, float]]:
        """(title, seconds) of each assembled part, for cue sheets."""
        return [(str(t), float(s)) for t, s in self.data.get("parts", [])]


def load(layout: Layout, feed: str, slug: str) -> Manifest:
    """The manifest of a built episode; NotBuiltError if it was never built or is damaged."""
    path = layout.reports(feed, slug) / MANIFEST
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise NotBuiltError(f"episode {slug!r} is not built yet: run `podkit build {slug}`",
                            path=f"episodes/{slug}") from None
    except (OSError, ValueError) as exc:
        raise NotBuiltError(f"build manifest unreadable ({exc}); run `podkit build {slug}`",
                            path=path) from exc
    if data.get("version") != VERSION:
        raise NotBuiltError(f"built by another podkit version; run `podkit build {slug}`", path=path)
    manifest = Manifest(data, layout.stage(feed), path)
    if not manifest.audio.path.is_file():
        raise NotBuiltError(f"built audio {manifest.audio.path.name} is missing; run "
                            f"`podkit build {slug}`", path=f"episodes/{slug}")
    return manifest
