"""A watch folder: the playout system imports whatever file appears in it.

A file is written as `.<name>.part` (a leading dot and a suffix: the names importers
ignore), flushed and fsynced, its size and SHA-256 read back from the disk and checked,
then renamed in the same folder (one atomic rename on a local or NFS file system) and the
folder fsynced, so the rename survives a crash. A run killed mid-copy leaves only the
`.part` file, which the next run overwrites.
"""
from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from toolkit.deliver import Item
from toolkit.errors import DeliveryError
from toolkit.fsutil import sha256_file

log = logging.getLogger(__name__)

#: Bytes copied per write: big enough for throughput, small enough for flat memory.
CHUNK = 1 << 20


def temp_name(name: str) -> str:
    """The name a file is written under before it is renamed into place."""
    return f".{name}.part"


class FolderEndpoint:
    """One watch folder (a local path or a mounted share)."""

    def __init__(self, name: str, directory: Path, *, create: bool = False) -> None:
        self.name = name
        self.directory = Path(directory)
        if create:
            # Only folders podkit owns (under build/) are created: a missing station
            # share means it is not mounted, and writing into the bare mount point is wrong.
            self.directory.mkdir(parents=True, exist_ok=True)
        if not self.directory.is_dir():
            raise DeliveryError("the watch folder does not exist (not mounted?)",
                                path=self.directory, field=f"delivery {name}")

    def describe(self, name: str = "") -> str:
        """The folder, or a file in it."""
        return str(self.directory / name) if name else str(self.directory)

    def _fail(self, name: str, doing: str, exc: OSError) -> DeliveryError:
        return DeliveryError(f"{doing} failed: {exc.strerror or exc}", path=self.describe(name),
                             field=f"delivery {self.name}")

    def size(self, name: str) -> int | None:
        """The size of `name` in the folder (None when absent)."""
        try:
            return (self.directory / name).stat().st_size
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._fail(name, "stat", exc) from None

    def sha256(self, name: str) -> str | None:
        """The SHA-256 of `name`, hashed from the folder (a local read is cheap)."""
        try:
            return sha256_file(self.directory / name)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._fail(name, "reading", exc) from None

    def put(self, item: Item) -> str:
        """Copy, fsync, read back and check, rename; 'sha256 read back'."""
        final = self.directory / item.name
        tmp = self.directory / temp_name(item.name)
        digest = hashlib.sha256()
        written = 0
        try:
            # A fresh file, never through whatever holds the name: in a shared watch folder a
            # symlink planted as `.<name>.part` would otherwise redirect the write elsewhere.
            tmp.unlink(missing_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
                         | getattr(os, "O_CLOEXEC", 0), 0o666)
            with open(item.path, "rb") as src, os.fdopen(fd, "wb") as out:
                while block := src.read(CHUNK):
                    out.write(block)
                    digest.update(block)
                    written += len(block)
                out.flush()
                os.fsync(out.fileno())
            if written != item.size or digest.hexdigest() != item.sha256:
                raise DeliveryError("the built file changed while it was copied: build again",
                                    path=item.path, field=f"delivery {self.name}")
            # Read back what the disk holds, not what we meant to write.
            if tmp.stat().st_size != item.size or sha256_file(tmp) != item.sha256:
                raise DeliveryError("the copy read back differs from the built file",
                                    path=self.describe(item.name), field=f"delivery {self.name}")
            os.replace(tmp, final)
            _fsync_dir(self.directory)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise self._fail(item.name, "writing", exc) from None
        except DeliveryError:
            tmp.unlink(missing_ok=True)
            raise
        return "sha256 read back"

    def close(self) -> None:
        """Nothing to close."""


def _fsync_dir(directory: Path) -> None:
    """Make a rename in `directory` durable (where the OS allows opening a folder)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some network file systems refuse fsync on a folder; the rename is done
    finally:
        os.close(fd)
