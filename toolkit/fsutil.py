"""Small file helpers every stage shares: atomic writes and content hashes.

Each stage writes its output to a temp file in the same folder and renames it into
place, so a crash never leaves a file that looks finished and a failed step leaves
the previous good output where it was.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from toolkit.errors import PodkitError

#: The process umask, read once at import (reading it means setting it: not thread-safe).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


@contextmanager
def atomic_path(target: Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temp path beside `target`; rename it onto `target` only if the block succeeds.

    The temp name keeps the target's extension (ffmpeg picks formats by extension)
    and starts with '.' so a half-written file never looks like an output.
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix or target.suffix + ".part",
                                   dir=target.parent)
    except OSError as exc:
        raise PodkitError(f"cannot write here: {exc.strerror}", path=target.parent) from exc
    # mkstemp makes the file private (0600); an output is an ordinary file (0644 under the
    # usual umask), or a web server serving the published folder could not read it.
    os.fchmod(fd, 0o666 & ~_UMASK)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    except OSError as exc:
        tmp_path.unlink(missing_ok=True)
        raise PodkitError(f"cannot write file: {exc.strerror}", path=target) from exc
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_bytes(target: Path, data: bytes) -> bool:
    """Atomically write `data` to `target`; return False (touching nothing) if it already holds it."""
    target = Path(target)
    if target.is_file() and target.stat().st_size == len(data) and target.read_bytes() == data:
        return False
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return True


def write_text(target: Path, text: str) -> bool:
    """Atomically write UTF-8 text (LF line ends); False if unchanged."""
    return write_bytes(target, text.encode("utf-8"))


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks (flat memory)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def mirror(src_root: Path, dst_root: Path, keys: set[str], *, keep: set[str] = frozenset()) -> int:
    """Make `dst_root` hold exactly `keys` (POSIX paths under `src_root`) plus `keep`.

    Files are hard-linked when possible (same filesystem: no copy, no extra space), else
    copied; a file already identical (same inode, or same size and hash) is left alone.
    Everything else in `dst_root` is removed, so it is derived output only. Returns the
    number of files added or replaced.
    """
    changed = 0
    dst_root.mkdir(parents=True, exist_ok=True)
    for key in sorted(keys):
        src, dst = src_root / key, dst_root / key
        if dst.is_file():
            s, d = src.stat(), dst.stat()
            if (s.st_ino, s.st_dev) == (d.st_ino, d.st_dev) or (
                    s.st_size == d.st_size and sha256_file(src) == sha256_file(dst)):
                continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(dst) as tmp:
            tmp.unlink()
            try:
                os.link(src, tmp)
            except OSError:
                import shutil
                shutil.copyfile(src, tmp)
        changed += 1
    wanted = set(keys) | set(keep)
    for path in sorted(dst_root.rglob("*"), reverse=True):  # children before their folders
        rel = path.relative_to(dst_root).as_posix()
        if path.is_dir():
            if not any(path.iterdir()):
                path.rmdir()
        elif rel not in wanted:
            path.unlink()
    return changed
