"""The catalogue memo: episodes as last loaded, reused while nothing they were read from changed.

Parsing and checking 2,000 episode.toml files costs most of a second on every command;
a daily show changes one or two of them a day. An episode is read from its folder only
(the loader refuses paths that leave it), so the memo keeps, per episode folder, the
stat of every entry in it (name, size, mtime_ns, inode, ctime_ns), the digest of the
feed it belongs to and the version of the loader's code, beside the loaded Episode and
the warnings its loading gave. Any difference and the folder is read again. Errors are
never memoized: a folder with a problem is read every time, so its message is fresh.
Stored as JSON through the one codec (no pickle: build/ may be shared); an episode is
decoded only when its folder is unchanged.
"""
from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
from pathlib import Path

import msgspec

from toolkit import __version__, codec
from toolkit.errors import Problem
from toolkit.fsutil import write_bytes
from toolkit.model import Episode

log = logging.getLogger(__name__)

VERSION = 2
#: The modules whose code decides what an episode folder loads to.
_LOADER = ("toolkit.config.episode", "toolkit.config.tomlread", "toolkit.config.show",
           "toolkit.model", "toolkit.standards.stdcheck", "toolkit.standards.wavheader",
           "toolkit.fsutil", "toolkit.config.catmemo")


def loader_stamp() -> str:
    """podkit's version and the loader modules' stat: a changed loader reads everything again."""
    parts = [__version__, str(VERSION)]
    for name in _LOADER:
        try:
            # find_spec locates a module's file without importing it
            spec = importlib.util.find_spec(name)
            st = os.stat(spec.origin if spec and spec.origin else name)
            parts.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
        except OSError:
            parts.append(f"{name}:-")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def folder_stamp(folder: Path) -> list:
    """Every entry under an episode folder with its stat, sorted (subfolders included)."""
    out = []
    stack = [(str(folder), "")]
    while stack:
        current, prefix = stack.pop()
        with os.scandir(current) as entries:
            for entry in entries:
                st = entry.stat(follow_symlinks=False)
                out.append([prefix + entry.name, st.st_size, st.st_mtime_ns, st.st_ino,
                            st.st_ctime_ns, st.st_mode])
                if entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, f"{prefix}{entry.name}/"))
    out.sort()
    return out


class _Entry(msgspec.Struct):
    """One folder's memo; the episode and its warnings stay JSON text until a hit."""

    feed: str
    stamp: list
    episode: msgspec.Raw
    problems: msgspec.Raw
    digest: str


class _File(msgspec.Struct):
    version: int = 0
    loader: str = ""
    episodes: dict[str, _Entry] = {}


class Memo:
    """Loaded episodes by folder name, valid while their stamps match (see the module doc)."""

    def __init__(self, path: Path | None, root: Path) -> None:
        self.path, self.root = path, root
        self.loader = loader_stamp()
        self._old: dict[str, _Entry] = {}
        self._new: dict[str, _Entry] = {}
        self._dirty = False
        if path is None:
            return
        try:
            data = codec.decode(_File, path.read_bytes())
            if data.version == VERSION and data.loader == self.loader:
                self._old = data.episodes
        except (OSError, ValueError):
            pass        # none yet, or damaged (CodecError is a ValueError): every folder is read

    def get(self, folder: Path, feed_digest: str) -> tuple[Episode, list[Problem], str] | None:
        """The memoized episode of `folder`, its warnings and its digest, if still valid."""
        entry = self._old.get(folder.name)
        if entry is None or entry.feed != feed_digest:
            return None
        try:
            if entry.stamp != folder_stamp(folder):
                return None
            ep = codec.decode(Episode, entry.episode, base=self.root)
            # Most episodes load without a warning: no decode for an empty list.
            problems = [] if bytes(entry.problems) == b"[]" else \
                codec.decode(list[Problem], entry.problems)
        except (OSError, ValueError):
            return None
        self._new[folder.name] = entry
        return ep, problems, entry.digest

    def put(self, folder: Path, feed_digest: str, ep: Episode, problems: list[Problem],
            digest: str) -> None:
        """Remember a folder that loaded without error (its warnings and digest with it)."""
        try:
            stamp = folder_stamp(folder)
        except OSError:
            return
        self._new[folder.name] = _Entry(
            feed_digest, stamp, msgspec.Raw(msgspec.json.encode(codec.dump(ep, base=self.root))),
            msgspec.Raw(msgspec.json.encode([codec.dump(p) for p in problems])), digest)
        self._dirty = True

    def save(self) -> None:
        """Write the memo when anything was read anew or dropped (folders that went away)."""
        if self.path is None or not (self._dirty or set(self._old) - set(self._new)):
            return
        try:
            write_bytes(self.path, msgspec.json.encode(_File(VERSION, self.loader, self._new))
                        + b"\n")
        except Exception as exc:  # noqa: BLE001 - a memo that cannot be saved only costs time
            log.warning("catalogue memo not saved: %s", exc)
