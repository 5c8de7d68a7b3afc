"""Hashing the built site for publishing, and remembering the hashes between publishes.

Each file gets its SHA-256, the ETag S3 computes for the upload podkit will make (the
MD5 of the body, or for a multipart upload the MD5 of the part MD5s followed by
`-<parts>`) and the MD5 of every part (sent as `Content-MD5`, so the service refuses a
body damaged on the way).

Reading 2,000 one-hour episodes takes minutes, so `HashCache` keeps the hashes in a JSON
file (by default `build/cache/publish/<feed>.json`) keyed by site key, and trusts an
entry only while the file's stat (size, mtime_ns, inode, ctime) is the one recorded and
the part size is the one in use (`toolkit.store.hashcache.StatMemo`, shared with the sources'
hash memo). A build replaces a file by renaming a new one into place (a new
inode), so a rebuilt file is always hashed again.
"""
from __future__ import annotations

import base64
import hashlib
import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from toolkit.store.hashcache import StatMemo

log = logging.getLogger(__name__)

MiB = 1024 * 1024
#: S3's limits on multipart uploads (same as s3transfer's ChunksizeAdjuster).
MIN_PART_SIZE = 5 * MiB
MAX_PART_SIZE = 5 * 1024 * MiB
MAX_PARTS = 10_000
CACHE_VERSION = 2           # 2: the shared StatMemo layout (ctime in the stamp)


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
    """Hashes of site files from earlier publishes, trusted while the file's stat and the
    part size are unchanged (a `hashcache.StatMemo` keyed by site key).

    `path` None: nothing is remembered (every file is read). Thread-safe: the site is
    hashed by several threads. Only entries used in this run are written back, so the
    file never grows past the site's size.
    """

    def __init__(self, path: Path | None) -> None:
        self.memo = StatMemo(Path(path) if path is not None else None, CACHE_VERSION,
                             keep_unused=False)

    @property
    def misses(self) -> int:
        """Files read in this run."""
        return self.memo.misses

    @property
    def bytes_read(self) -> int:
        """Bytes read in this run."""
        return self.memo.bytes_read

    def hashes(self, key: str, path: Path, part_size: int) -> Hashes:
        """The hashes of `path` (site key `key`) at this part size: remembered or read now."""
        def compute(size: int) -> dict[str, Any]:
            found = hash_parts(path, size, part_size)
            return {**asdict(found), "part_md5s": list(found.part_md5s)}
        value = self.memo.get(key, path, compute, tag=part_size)
        return Hashes(value["sha256"], value["etag"], part_size, tuple(value["part_md5s"]))

    def save(self) -> None:
        """Write the entries used in this run (atomically); a failure only costs a re-read."""
        self.memo.save()


def body_md5(body: object) -> str:
    """Content-MD5 (base64) of a request body: bytes, or a seekable file read and rewound."""
    md5 = hashlib.md5()
    if isinstance(body, (bytes, bytearray)) or body is None:
        md5.update(body or b"")
    else:
        start = body.tell()  # type: ignore[attr-defined]
        while chunk := body.read(1 << 20):  # type: ignore[attr-defined]
            md5.update(chunk)
        body.seek(start)  # type: ignore[attr-defined]
    return base64.b64encode(md5.digest()).decode("ascii")
