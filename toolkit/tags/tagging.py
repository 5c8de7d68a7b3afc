"""Tagging a rendition the way its format is tagged (toolkit.standards.renditions):
ID3 on .mp3 (tags/id3.py), iTunes atoms on .m4a (tags/mp4.py), Vorbis comments on .opus
(tags/opus.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from toolkit.errors import MediaError
from toolkit.model import Episode, Show
from toolkit.standards import renditions
from toolkit.tags.id3 import tag_mp3
from toolkit.tags.mp4 import tag_m4a
from toolkit.tags.opus import tag_opus


def tag_audio(path: Path, show: Show, episode: Episode, **kwargs: Any) -> Path:
    """Tag a rendition the way its format is tagged (toolkit.standards.renditions): .mp3 with ID3,
    .m4a/.mp4 with iTunes atoms (chapters via ffmpeg), .opus with Vorbis comments; see
    tag_mp3, tag_m4a and tag_opus."""
    suffix = Path(path).suffix.lower()
    fmt = renditions.by_ext(suffix)
    tagging = fmt.tagging if fmt else renditions.MP4_ATOMS if suffix in (".mp4", ".m4b") else None
    if tagging == renditions.ID3:
        return tag_mp3(path, show, episode, **kwargs)
    kwargs.pop("v2_version", None)
    if tagging == renditions.MP4_ATOMS:
        return tag_m4a(path, show, episode, **kwargs)
    if tagging == renditions.VORBIS:
        return tag_opus(path, show, episode, **kwargs)
    raise MediaError(f"cannot tag {suffix or 'extensionless'} files (mp3, m4a or opus)", path=path)
