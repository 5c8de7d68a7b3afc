"""Transactional episode builds: build into a private folder, promote it whole, or not at all.

    work = promote.begin(final)        # final's leftovers cleared; an empty work folder
    ... every step writes into `work` ...
    promote.commit(work, final)        # the old folder out, the new one in, old removed

A build that fails or is killed leaves `final` byte for byte as it was (the next build
removes the abandoned work folder). The swap is two renames inside one folder; a crash
between them leaves the old build under `.old-<name>`, which `recover` puts back.
"""
from __future__ import annotations

import glob
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
    """Put back a build whose promotion was cut short; remove abandoned work folders
    (a cluster build's attempt folders and claims too: no attempt of an earlier build may
    still promote once a new build of the episode starts)."""
    recover(final)
    leftovers = [work_folder(final), old_folder(final)]
    if final.parent.is_dir():
        leftovers += final.parent.glob(f".work-{glob.escape(final.name)}.*")
        leftovers += final.parent.glob(f".claim-{glob.escape(final.name)}.*")
    for leftover in leftovers:
        if leftover.exists():
            shutil.rmtree(leftover)


def begin(final: Path, attempt: str | None = None) -> Path:
    """Clear what earlier attempts left beside `final` and return an empty work folder.

    With `attempt` (a cluster build: toolkit.cluster), the folder is the attempt's own and
    nothing else is cleared: another attempt at the same episode may be running beside it.
    """
    if attempt is None:
        tidy(final)
        work = work_folder(final)
    else:
        recover(final)
        work = final.parent / f".work-{final.name}.{attempt}"
    work.mkdir(parents=True)
    return work


def claim(final: Path, build_id: str) -> bool:
    """Take build `build_id`'s one right to promote `final`; False if another attempt has it.

    An atomic mkdir (atomic on NFS too, unlike O_EXCL on old clients): of two attempts at
    one episode in one cluster build, exactly one promotes. The claim stays until the
    episode's next build starts (`tidy`), so a late attempt cannot promote after the first.
    """
    try:
        (final.parent / f".claim-{final.name}.{build_id}").mkdir(parents=True)
    except FileExistsError:
        return False
    return True


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
