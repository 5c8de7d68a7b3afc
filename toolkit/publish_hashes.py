"""Hashing the built site for publishing, and remembering the hashes between publishes.

Each file gets its SHA-256, the ETag S3 computes for the upload podkit will make (the
MD5 of the body, or for a multipart upload the MD5 of the part MD5s followed by
`-<parts>`) and the MD5 of every part (sent as `Content-MD5`, so the service refuses a
body damaged on the way).

Reading 2,000 one-hour episodes takes minutes, so `HashCache` keeps the hashes in a JSON
file (by default `build/cache/publish/<feed>.json`) keyed by site key, and trusts an
entry only while the file's size, mtime_ns and inode are the ones recorded and the part
size is the one in use. A build replaces a file by renaming a new one into place (a new
inode), so a rebuilt file is always hashed again.
"""
from __future__ import annotations

import base64
import hashlib
import json
import logging
import math
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from toolkit import fsutil
from toolkit.errors import PodkitError

log = logging.getLogger(__name__)

MiB = 1024 * 1024
#: S3's limits on multipart uploads (same as s3transfer's ChunksizeAdjuster).
MIN_PART_SIZE = 5 * MiB
MAX_PART_SIZE = 5 * 1024 * MiB
MAX_PARTS = 10_000
CACHE_VERSION = 1


@dataclass(frozen=True)
class Hashes:
    """What publishing needs to know about one file's bytes."""

    sha256: str
    etag: str                       # what S3 reports after our upload ('' when not asked for)
    part_size: int                  # 0: a single PUT; -1: no ETag computed (folder targets)
    part_md5s: tuple[str, ...] = ()  # hex MD5 of each part in order (one for a single PUT)

    def content_md5(self, part_number: int = 1) -> str | None:
        """The Content-MD5 header (base64) of a part (1-based), or of the single PUT body."""
        if not 1 <= part_number <= len(self.part_md5s):
            return None
        return base64.b64encode(bytes.fromhex(self.part_md5s[part_number - 1])).decode("ascii")


def part_size_for(size: int, part_size: int) -> int:
    """The part size s3transfer really uses for a file: doubled until it needs ≤ 10,000 parts."""
    part = part_size
    while math.ceil(size / part) > MAX_PARTS:
        part *= 2
    return min(max(part, MIN_PART_SIZE), MAX_PART_SIZE)


def plan_part_size(size: int, part_size: int, threshold: int, etag: bool) -> int:
    """The `Hashes.part_size` a file of this size gets (see `Hashes`)."""
    if not etag:
        return -1
    return part_size_for(size, part_size) if size >= threshold else 0


def hash_parts(path: Path, size: int, part_size: int) -> Hashes:
    """Hash a file in one read: SHA-256, and unless part_size is -1, the part MD5s and ETag.

    A single PUT (part_size 0) gets the MD5 of the body as its ETag; a multipart upload gets
    the MD5 of the concatenated part MD5s followed by '-<parts>', so the part size must be
    the one the upload will use (`part_size_for`).
    """
    etag, multipart = part_size >= 0, part_size > 0
    part = part_size if multipart else MiB
    sha, current, digests, in_part = hashlib.sha256(), hashlib.md5(), [], 0
    with open(path, "rb") as f:
        # Read at most 1 MiB at a time (flat memory), never across a part boundary.
        while block := f.read(min(MiB, part - in_part) if multipart else MiB):
            sha.update(block)
            if not etag:
                continue
            current.update(block)
            in_part += len(block)
            if multipart and in_part == part:
                digests.append(current.digest())
                current, in_part = hashlib.md5(), 0
    if not etag:
        return Hashes(sha.hexdigest(), "", -1)
    if not multipart:
        return Hashes(sha.hexdigest(), current.hexdigest(), 0, (current.hexdigest(),))
    if in_part:
        digests.append(current.digest())
    whole = f"{hashlib.md5(b''.join(digests)).hexdigest()}-{len(digests)}"
    return Hashes(sha.hexdigest(), whole, part_size, tuple(d.hex() for d in digests))


class HashCache:
    """Hashes of files from earlier publishes, trusted while size, mtime_ns and inode match.

    `path` None: nothing is remembered (every file is read). Thread-safe: the site is
    hashed by several threads. Only entries used in this run are written back, so the
    file never grows past the site's size.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = Path(path) if path is not None else None
        self.lock = threading.Lock()
        self.old: dict[str, Any] = self._load()
        self.new: dict[str, Any] = {}
        self.hits = self.misses = 0
        self.bytes_read = 0

    def _load(self) -> dict[str, Any]:
        if self.path is None:
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("version") == CACHE_VERSION and isinstance(data.get("files"), dict):
                return data["files"]
        except FileNotFoundError:
            pass
        except (OSError, ValueError, AttributeError) as exc:
            # A cache is only a shortcut: a damaged one costs a re-read, never a wrong skip.
            log.warning("%s: ignoring the publish hash cache (%s)", self.path, exc)
        return {}

    def hashes(self, key: str, path: Path, part_size: int) -> Hashes:
        """The hashes of `path` (site key `key`) at this part size: remembered or read now."""
        st = os.stat(path)
        stamp = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "ino": st.st_ino}
        with self.lock:
            entry = self.old.get(key)
        if (isinstance(entry, dict) and {k: entry.get(k) for k in stamp} == stamp
                and entry.get("part_size") == part_size):
            try:
                found = Hashes(entry["sha256"], entry["etag"], part_size, tuple(entry["part_md5s"]))
            except (KeyError, TypeError):
                found = None
            if found is not None:
                with self.lock:
                    self.hits += 1
                    self.new[key] = entry
                return found
        found = hash_parts(path, st.st_size, part_size)
        with self.lock:
            self.misses += 1
            self.bytes_read += st.st_size
            self.new[key] = {**stamp, **asdict(found), "part_md5s": list(found.part_md5s)}
        return found

    def save(self) -> None:
        """Write the entries used in this run (atomically); a failure only costs a re-read."""
        if self.path is None or self.new == self.old:
            return
        try:
            fsutil.write_text(self.path, json.dumps({"version": CACHE_VERSION, "files": self.new},
                                                    separators=(",", ":"), sort_keys=True))
        except PodkitError as exc:
            log.warning("%s: cannot save the publish hash cache (%s)", self.path, exc.message)
