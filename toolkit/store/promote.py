"""Transactional episode builds: build into a private folder, promote it whole, or not at all.

    work = promote.begin(final)        # final's leftovers cleared; an empty work folder
    ... every step writes into `work` ...
    promote.commit(work, final)        # the old folder out, the new one in, old removed

A build that fails or is killed leaves `final` byte for byte as it was (the next build
removes the abandoned work folder). The swap is two renames inside one folder; a crash
between them leaves the old build under `.old-<name>`, which `recover` puts back.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path


def work_folder(final: Path) -> Path:
    """The private folder a build of `final` writes into (a dot name: never published)."""
    return final.parent / f".work-{final.name}"


def old_folder(final: Path) -> Path:
    """Where the previous build waits while the new one is moved in."""
    return final.parent / f".old-{final.name}"


def recover(final: Path) -> None:
    """Undo a promotion cut short between its two renames (the old build comes back)."""
    old = old_folder(final)
    if old.is_dir() and not final.exists():
        os.rename(old, final)


def tidy(final: Path) -> None:
    """Put back a build whose promotion was cut short; remove abandoned work folders."""
    recover(final)
    for leftover in (work_folder(final), old_folder(final)):
        if leftover.exists():
            shutil.rmtree(leftover)


def begin(final: Path) -> Path:
    """Clear what earlier attempts left beside `final` and return an empty work folder."""
    tidy(final)
    work = work_folder(final)
    work.mkdir(parents=True)
    return work


def abandon(work: Path) -> None:
    """Remove a failed attempt's work folder (best effort: the next `begin` retries)."""
    shutil.rmtree(work, ignore_errors=True)


def commit(work: Path, final: Path) -> None:
    """Replace `final` with `work` (two renames), then delete the previous build."""
    old = old_folder(final)
    if final.exists():
        os.rename(final, old)
    os.rename(work, final)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)
