"""The local-folder side of publishing: the same plan, order and checks as S3, on a directory.

Each file is copied to a hidden temp file beside its target, flushed to disk and renamed
into place, so a reader (a web server, `podkit preview`) never sees half a file. Which
files podkit put there is recorded in a manifest (`.podkit-manifest.json`), written before
the copies start, so `--delete` never removes a file someone else put in the folder.
Files of the same size as the site's are compared by SHA-256, remembered in
`.podkit-hashes.json` (by size, mtime_ns and inode) so an unchanged folder is not re-read.

The folder must not overlap the show's sources or the built site (`Layout.overlaps_sources`):
`podkit check` refuses such a `publish.directory`, and this module refuses it again.
"""
from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from toolkit import fsutil
from toolkit.errors import PodkitError, PublishError
from toolkit.model import PublishTarget
from toolkit.publish.hashes import HashCache
from toolkit.publish.plan import LocalFile, RemoteHead, RemoteObject, TransferSettings, walk
from toolkit.store.layout import Layout, site_key

log = logging.getLogger(__name__)

MANIFEST = ".podkit-manifest.json"
HASHES = ".podkit-hashes.json"
CHUNK = 1 << 20


class LocalTarget:
    """A directory that receives the site."""

    def __init__(self, target: PublishTarget, feed_key: str, settings: TransferSettings,
                 site: Path) -> None:
        if target.directory is None:
            raise PublishError("no directory given", field="publish.directory")
        self.root = Path(target.directory).resolve()
        site = Path(site).resolve()
        if self.root == site:
            raise PublishError("the publish directory is the build's site folder itself",
                               path=self.root, field="publish.directory")
        layout = Layout.of_site(site)
        why = layout.overlaps_sources(self.root) if layout else None
        if why is None and (site in self.root.parents or self.root in site.parents):
            why = f"{self.root} overlaps the built site {site}: publish to another folder"
        if why:
            # Checked at load time too (`podkit check`); here again, whoever calls publish.
            raise PublishError(why, path=self.root, field="publish.directory")
        self.feed_key = feed_key
        self.requests: Counter[str] = Counter()   # no network requests: always empty

    def describe(self, key: str = "") -> str:
        """The path of a key (or of the folder), for messages."""
        return str(self.root / key) if key else f"{self.root}/"

    def close(self, cancel: bool = False) -> None:
        """Nothing to release."""

    # The manifest: which keys podkit published here, for this feed.
    def _read_manifest(self) -> set[str]:
        path = self.root / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return set()
        except (OSError, ValueError) as exc:
            raise PublishError(f"unreadable manifest ({exc})", path=path) from None
        return set(data.get("keys", [])) if data.get("feed") == self.feed_key else set()

    def _write_manifest(self, keys: set[str]) -> None:
        data = {"feed": self.feed_key, "keys": sorted(keys)}
        try:
            fsutil.write_text(self.root / MANIFEST, json.dumps(data, indent=1) + "\n")
        except PodkitError as exc:
            raise PublishError(exc.message, path=exc.path) from None

    def list(self) -> dict[str, RemoteObject]:
        """Every regular file in the folder except hidden ones (the manifest, temp files)."""
        found = {}
        for path in walk(self.root) if self.root.is_dir() else ():
            key = site_key(self.root, path)
            found[key] = RemoteObject(key, path.stat().st_size, None)
        return found

    def head(self, keys: list[str]) -> dict[str, RemoteHead | None]:
        """Size of each file (None when missing); a folder has no ETag, and needs none."""
        out: dict[str, RemoteHead | None] = {}
        for key in keys:
            path = self.root / key
            out[key] = RemoteHead(path.stat().st_size, None, None, None) if path.is_file() else None
        return out

    def content_sha256(self, keys: list[str]) -> dict[str, str | None]:
        """SHA-256 of each file: remembered while unchanged, else read now."""
        cache = HashCache(self.root / HASHES)
        found = {k: cache.hashes(k, self.root / k, -1).sha256 for k in keys}
        cache.save()
        return found

    def published_by_podkit(self, keys: list[str]) -> set[str]:
        """The keys the manifest lists."""
        return set(keys) & self._read_manifest()

    def abort_stale_uploads(self, ours: set[str]) -> int:
        """Nothing to do: a killed copy leaves only a hidden temp file, replaced on the next run."""
        return 0

    def upload(self, files: list[LocalFile], on_bytes: Callable[[str, int], None],
               on_done: Callable[[LocalFile], None]) -> None:
        """Copy files in order, each through a temp file and a rename."""
        # Record the keys first: a copy interrupted after its rename is still podkit's file.
        self._write_manifest(self._read_manifest() | {f.key for f in files})
        for f in files:
            target = self.root / f.key
            try:
                with fsutil.atomic_path(target) as tmp, open(f.path, "rb") as src, open(tmp, "wb") as dst:
                    while block := src.read(CHUNK):
                        dst.write(block)
                        on_bytes(f.key, len(block))
                    dst.flush()
                    os.fsync(dst.fileno())  # the rename must not land before the data
            except (OSError, PodkitError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) else exc.message
                raise PublishError(f"copy failed: {reason}", path=target) from None
            on_done(f)

    def delete(self, keys: list[str], on_done: Callable[[str], None]) -> None:
        """Remove files, then the folders they leave empty, then drop them from the manifest."""
        for key in keys:
            path = self.root / key
            try:
                path.unlink(missing_ok=True)
                parent = path.parent
                while parent != self.root and not any(parent.iterdir()):
                    parent.rmdir()
                    parent = parent.parent
            except OSError as exc:
                raise PublishError(f"delete failed: {exc.strerror}", path=path) from None
            on_done(key)
        self._write_manifest(self._read_manifest() - set(keys))
