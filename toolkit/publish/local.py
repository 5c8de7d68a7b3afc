"""The local-folder side of publishing: the same plan, order and checks as S3, on a directory.

Each file is copied to a temp file in podkit's own temp folder, flushed to disk and
renamed into place, so a reader (a web server, `podkit preview`) never sees half a file.
The temp folder sits beside the target (`.<name>.podkit-tmp/` in its parent), outside
the public folder; where that is another file system (the target is a mount point) or
not writable, it is `.podkit/tmp/` inside the target. Either is emptied at the start of
every publish, so a publish killed mid-copy leaves nothing the next one does not remove
(and the hidden `.<name>.<random>.<ext>.part` files older versions left are removed too).

Which files podkit put there for each feed is recorded in `.podkit/<feed-id>.json`
(toolkit.publish.manifest), so `--delete` never removes a file someone else, or another
feed, put in the folder. Files of the same size as the site's are compared by SHA-256,
remembered in `build/cache/publish/<feed>.target.json` (by size, mtime_ns and inode):
podkit's bookkeeping stays out of the web root, and a publish with nothing to do writes
nothing there.

The folder must not overlap the show's sources or the built site (`Layout.overlaps_sources`):
`podkit check` refuses such a `publish.directory`, and this module refuses it again.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from toolkit import fsutil
from toolkit.errors import PodkitError, PublishError
from toolkit.model import PublishTarget
from toolkit.publish import manifest
from toolkit.publish.hashes import HashCache
from toolkit.publish.plan import LocalFile, RemoteHead, RemoteObject, TransferSettings, walk
from toolkit.store.layout import Layout, site_key

log = logging.getLogger(__name__)

#: What older versions kept in the public folder itself; removed on the next publish.
LEGACY = (".podkit-manifest.json", ".podkit-hashes.json")
#: The temp files older versions left beside their targets (`fsutil.atomic_path` names:
#: '.' + name + '.' + mkstemp's 8 characters + suffix + '.part').
LEGACY_PART = re.compile(r"^\..+\.[a-z0-9_]{8}(\.[^./]*)?\.part$")
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
        # The target's hashes live with the build (Layout), never in the web root.
        self.hash_cache = (layout.publish_hashes(site.name).parent / f"{site.name}.target.json"
                           if layout else None)
        self._tmp: Path | None = None

    def describe(self, key: str = "") -> str:
        """The path of a key (or of the folder), for messages."""
        return str(self.root / key) if key else f"{self.root}/"

    def manifests(self) -> set[str]:
        """The feeds with a publish manifest in the folder."""
        folder = self.root / manifest.DIR
        found = (manifest.feed_of(f"{manifest.DIR}/{p.name}") for p in folder.glob("*.json")) \
            if folder.is_dir() else ()
        return {f for f in found if f}

    def read(self, key: str, limit: int) -> bytes | None:
        """The bytes of one file (None when missing)."""
        try:
            return fsutil.read_source(self.root / key, limit)
        except fsutil.SourceError as exc:
            if not (self.root / key).exists():
                return None
            raise PublishError(exc.message, path=self.root / key) from None

    def write(self, key: str, data: bytes) -> None:
        """Write one of podkit's files atomically."""
        try:
            fsutil.write_bytes(self.root / key, data)
        except PodkitError as exc:
            raise PublishError(exc.message, path=exc.path) from None

    def list(self) -> dict[str, RemoteObject]:
        """Every regular file in the folder except hidden ones (podkit's bookkeeping)."""
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
        cache = HashCache(self.hash_cache)
        found = {k: cache.hashes(k, self.root / k, -1).sha256 for k in keys}
        cache.save()
        return found

    def abort_stale_uploads(self, ours: set[str]) -> int:
        """Remove what killed copies left: podkit's temp folder(s) and the hidden `.part`
        files of older versions. Returns how many files went."""
        removed = 0
        for tmp in self._tmp_candidates():
            if tmp.is_dir():
                removed += sum(1 for p in tmp.rglob("*") if p.is_file())
                shutil.rmtree(tmp, ignore_errors=True)
        for path in self.root.rglob(".*.part") if self.root.is_dir() else ():
            if LEGACY_PART.match(path.name) and path.is_file() and not path.is_symlink():
                path.unlink(missing_ok=True)
                removed += 1
        for name in LEGACY:
            if (self.root / name).is_file():
                (self.root / name).unlink()
        return removed

    def _tmp_candidates(self) -> tuple[Path, Path]:
        return (self.root.parent / f".{self.root.name}.podkit-tmp",
                self.root / manifest.DIR / "tmp")

    def _temp_folder(self) -> Path:
        """Beside the target when on the same file system and writable, else inside it."""
        if self._tmp is None:
            self.root.mkdir(parents=True, exist_ok=True)
            outside, inside = self._tmp_candidates()
            try:
                outside.mkdir(exist_ok=True)
                same = outside.stat().st_dev == self.root.stat().st_dev
            except OSError:
                same = False
            if not same:
                shutil.rmtree(outside, ignore_errors=True)
                inside.mkdir(parents=True, exist_ok=True)
            self._tmp = outside if same else inside
        return self._tmp

    def close(self, cancel: bool = False) -> None:
        """Remove the temp folder (empty unless a copy failed)."""
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def upload(self, files: list[LocalFile], on_bytes: Callable[[str, int], None],
               on_done: Callable[[LocalFile], None]) -> None:
        """Copy files in order, each through a temp file and a rename."""
        tmp_dir = self._temp_folder()
        for i, f in enumerate(files):
            target = self.root / f.key
            tmp = tmp_dir / f"{i}{Path(f.key).suffix}"
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                with open(f.path, "rb") as src, open(tmp, "wb") as dst:
                    while block := src.read(CHUNK):
                        dst.write(block)
                        on_bytes(f.key, len(block))
                    dst.flush()
                    os.fsync(dst.fileno())  # the rename must not land before the data
                os.replace(tmp, target)
            except OSError as exc:
                tmp.unlink(missing_ok=True)
                raise PublishError(f"copy failed: {exc.strerror or exc}", path=target) from None
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
