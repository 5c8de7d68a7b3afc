"""Content-addressed copies: a file published under a name that holds its hash.

    path = copy_addressed(show.artwork, stage, show.id)   # stage/<id>-<hash12>.jpg

The name changes when the bytes do (store.layout.media_name), so a published URL never
serves two contents and caches can keep it forever. Here, low, because both the episode
build's steps and `podkit feed` (the show's cover) copy this way, and the feed must not
import the build machinery to do it.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from toolkit.fsutil import atomic_path, sha256_file
from toolkit.store.layout import media_name


def copy_addressed(src: Path, folder: Path, stem: str) -> Path:
    """Copy `src` into `folder` under a content-addressed name; reuse it if already there."""
    digest = sha256_file(src)
    target = folder / media_name(stem, digest, src.suffix.lower().lstrip(".").replace("jpeg", "jpg"))
    if not target.is_file() or sha256_file(target) != digest:
        with atomic_path(target) as tmp:
            shutil.copyfile(src, tmp)
    return target
