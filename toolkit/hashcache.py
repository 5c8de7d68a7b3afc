"""Content hashes of source files, remembered between commands so unchanged files are not reread.

A back catalogue of 2,000 one-hour episodes holds about 120 GB of audio: hashing it on
every `podkit build`, `feed` or `status` would take minutes. Like git's index, the cache
keeps each file's SHA-256 beside the (size, mtime_ns, inode, ctime_ns) it had when it was
read; a file whose stat still matches is not read again, any other is. Decisions are
still made on the content hash (the cache only saves reading), and a damaged or missing
cache file only costs a rehash.
"""
from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

from toolkit.fsutil import sha256_file, write_text

log = logging.getLogger(__name__)

VERSION = 1


class HashCache:
    """SHA-256 of files by path, valid while their stat is unchanged; `save()` persists it."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._entries: dict[str, list] = {}
        self._dirty = False
        self._lock = threading.Lock()
        if path is not None:
            try:
                data = json.loads(path.read_text("utf-8"))
                if data.get("version") == VERSION and isinstance(data.get("files"), dict):
                    self._entries = data["files"]
            except (OSError, ValueError, AttributeError):
                pass  # no cache yet, or a damaged one: everything is hashed again

    @staticmethod
    def _stamp(st: os.stat_result) -> list:
        return [st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns]

    def sha256(self, path: Path) -> str:
        """The file's SHA-256, read from disk only when its stat changed since last time."""
        key = str(path)
        st = os.stat(path)
        stamp = self._stamp(st)
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None and hit[:4] == stamp:
            return str(hit[4])
        digest = sha256_file(path)
        with self._lock:
            self._entries[key] = [*stamp, digest]
            self._dirty = True
        return digest

    def save(self) -> None:
        """Write the cache (atomically) if anything was hashed; entries of vanished files go."""
        if self.path is None or not self._dirty:
            return
        with self._lock:
            files = {k: v for k, v in self._entries.items() if os.path.exists(k)}
        try:
            write_text(self.path, json.dumps({"version": VERSION, "files": files},
                                             separators=(",", ":"), sort_keys=True) + "\n")
        except Exception as exc:  # noqa: BLE001 - a cache that cannot be saved is only slower
            log.warning("hash cache not saved: %s", exc)
        self._dirty = False
