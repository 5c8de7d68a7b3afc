"""Values computed from files, remembered between commands while the files are unchanged.

A back catalogue of 2,000 one-hour episodes holds about 120 GB of audio: hashing it on
every `podkit build`, `feed`, `status` or `publish` would take minutes. Like git's
index, a `StatMemo` keeps what was computed from a file beside the (size, mtime_ns,
inode, ctime_ns) the file had then; a file whose stat still matches is not read again,
any other is. Decisions are still made on content hashes (the memo only saves reading),
and a damaged or missing memo file only costs a re-read.

Two memos use it: `HashCache` (the sources' SHA-256, `build/cache/hashes.json`, for
input hashes) and `toolkit.publish.hashes.HashCache` (the site's SHA-256, ETags and part
MD5s, per feed, for publishing).
"""
from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from toolkit.fsutil import sha256_file, write_text

log = logging.getLogger(__name__)


class StatMemo:
    """Values (JSON objects) by key, each trusted while its file's stat and `tag` match.

    Thread-safe (the site is hashed by several threads). `keep_unused`: entries not used
    in this run are written back too, as long as their file exists (keys are paths);
    otherwise only the entries used in this run are (keys are site keys: the memo never
    grows past the site).
    """

    def __init__(self, path: Path | None, version: int, *, keep_unused: bool) -> None:
        self.path, self.version, self.keep_unused = path, version, keep_unused
        self._lock = threading.Lock()
        self._old: dict[str, dict[str, Any]] = {}
        self._new: dict[str, dict[str, Any]] = {}
        self.hits = self.misses = 0
        self.bytes_read = 0
        if path is None:
            return
        try:
            data = json.loads(Path(path).read_text("utf-8"))
            if data.get("version") == version and isinstance(data.get("files"), dict):
                self._old = data["files"]
        except FileNotFoundError:
            pass
        except (OSError, ValueError, AttributeError) as exc:
            log.warning("%s: ignoring a damaged memo (%s): files are read again", path, exc)

    def get(self, key: str, path: Path, compute: Callable[[int], dict[str, Any]],
            tag: object = None) -> dict[str, Any]:
        """The value remembered for `key` while `path`'s stat and `tag` are unchanged, else
        `compute(size)` (which reads the file), remembered for next time."""
        st = os.stat(path)
        stamp = [st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns, tag]
        with self._lock:
            entry = self._new.get(key) or self._old.get(key)
        if isinstance(entry, dict) and entry.get("stamp") == stamp \
                and isinstance(entry.get("value"), dict):
            with self._lock:
                self.hits += 1
                self._new[key] = entry
            return entry["value"]
        value = compute(st.st_size)
        with self._lock:
            self.misses += 1
            self.bytes_read += st.st_size
            self._new[key] = {"stamp": stamp, "value": value}
        return value

    def save(self) -> None:
        """Write the memo (atomically) when it changed; a failure only costs a re-read."""
        if self.path is None:
            return
        with self._lock:
            files = dict(self._new)
            if self.keep_unused:
                # Only the entries not used in this run need their file looked for.
                files = {**{k: v for k, v in self._old.items()
                            if k not in files and os.path.exists(k)}, **files}
        if files == self._old:
            return
        try:
            write_text(self.path, json.dumps({"version": self.version, "files": files},
                                             separators=(",", ":"), sort_keys=True) + "\n")
        except Exception as exc:  # noqa: BLE001 - a memo that cannot be saved is only slower
            log.warning("%s: memo not saved (%s)", self.path, exc)


class HashCache:
    """SHA-256 of source files by path, valid while their stat is unchanged; `save()` persists."""

    VERSION = 2

    def __init__(self, path: Path | None) -> None:
        self.memo = StatMemo(path, self.VERSION, keep_unused=True)

    def sha256(self, path: Path) -> str:
        """The file's SHA-256, read from disk only when its stat changed since last time."""
        return str(self.memo.get(str(path), path, lambda size: {"sha256": sha256_file(path)})
                   ["sha256"])

    def save(self) -> None:
        """Write the memo if anything was hashed; entries of vanished files go."""
        self.memo.save()
