"""Settings from the environment: the only module that reads os.environ.

Feed definitions (`feeds/*.toml`) are read by `toolkit.show`.
"""
from __future__ import annotations

import os


def ffmpeg_override() -> str | None:
    """The ffmpeg binary named by PODKIT_FFMPEG, if any."""
    return os.environ.get("PODKIT_FFMPEG") or None
