"""Small file helpers every stage shares: atomic writes, content hashes, safe source reads.

Each stage writes its output to a temp file in the same folder and renames it into
place, so a crash never leaves a file that looks finished and a failed step leaves
the previous good output where it was.

Sources are read through `read_source`: a FIFO or a device named like a source file
would block a read forever (or never end), so only regular files are opened, and every
text source has a size cap.
"""
from __future__ import annotations

import errno
import hashlib
import os
import secrets
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from toolkit.errors import PodkitError

#: The process umask, read once at import (reading it means setting it: not thread-safe).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


#: Size caps of the text sources (bytes): far above any real file, low enough that a log
#: pasted by mistake or a sparse file is refused before it is read into memory.
MAX_TOML_BYTES = 1 << 20          # feeds/*.toml and episode.toml: 1 MiB
MAX_NOTES_BYTES = 1 << 20         # notes_file: 1 MiB
MAX_TRANSCRIPT_BYTES = 32 << 20   # a transcript: 32 MiB (a day of word-level JSON is ~20 MB)

_KINDS = ((stat.S_ISDIR, "is a folder"), (stat.S_ISFIFO, "is not a regular file (a FIFO)"),
          (stat.S_ISSOCK, "is not a regular file (a socket)"),
          (stat.S_ISCHR, "is not a regular file (a character device)"),
          (stat.S_ISBLK, "is not a regular file (a block device)"))


def kind_problem(mode: int) -> str | None:
    """Why a file of this `st_mode` is no source ('is a folder', 'is not a regular file
    (a FIFO)'...), or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    for test, words in _KINDS:
        if test(mode):
            return words
    return "is not a regular file"


def os_problem(exc: OSError) -> str:
    """A reason for an OSError on a source path, in a producer's words."""
    if exc.errno == errno.ELOOP:
        return "is a symlink loop (a link that points back to itself)"
    if exc.errno == errno.ENAMETOOLONG:
        return "cannot be opened: file name too long for the file system"
    if exc.errno == errno.ENOENT:
        return "not found"
    return f"cannot be read: {exc.strerror or exc}"


def read_source(path: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes.

    Raises SourceError (a PodkitError; the caller adds path and field) when `path` is
    missing, unreadable, not a regular file or over `limit`. The file is opened
    non-blocking and checked with fstat before any read, so a FIFO is never read from
    (opening one non-blocking for reading returns at once).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise SourceError(os_problem(exc)) from exc
    try:
        st = os.fstat(fd)
        words = kind_problem(st.st_mode)
        if words:
            raise SourceError(words)
        if st.st_size > limit:
            raise SourceError(f"is larger than {_size(limit)} ({_size(st.st_size)}), the limit "
                              "for this kind of file")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(limit + 1)  # +1: a file that grew after fstat is still caught
    except OSError as exc:
        raise SourceError(os_problem(exc)) from exc
    finally:
        os.close(fd)
    if len(data) > limit:
        raise SourceError(f"is larger than {_size(limit)}, the limit for this kind of file")
    return data


def _size(n: int) -> str:
    return f"{n / (1 << 20):.0f} MiB" if n >= 1 << 20 else f"{n} bytes"


class SourceError(PodkitError):
    """A source file cannot be read as one: missing, not a regular file, too large."""


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


def public_files(folder: str | Path, prefix: str = "", *,
                 inodes: dict[str, int] | None = None) -> list[str]:
    """The files under `folder` that go public, as sorted `prefix`-ed POSIX keys: dot files
    and dot folders are podkit's own (records, fragments, half-written temp files).
    `inodes`, when given, receives the inode of each that is a regular file (for `mirror`).

    Path strings and os.scandir, not pathlib or os.walk: `podkit feed`, `validate` and
    `status` run this over every file of a 2,000-episode catalogue. As os.walk, a link to
    a folder is not followed (nor listed), an unreadable folder is skipped.
    """
    out = []
    stack = [(str(folder), prefix)]
    while stack:
        current, sub = stack.pop()
        try:
            with os.scandir(current) as entries:
                for entry in entries:
                    name = entry.name
                    if name.startswith("."):
                        continue
                    try:
                        is_dir = entry.is_dir()
                    except OSError:
                        is_dir = False
                    if not is_dir:
                        out.append(sub + name)
                        if inodes is not None and entry.is_file(follow_symlinks=False):
                            inodes[sub + name] = entry.inode()
                    elif not entry.is_symlink():
                        stack.append((entry.path, f"{sub}{name}/"))
        except OSError:
            continue
    return sorted(out)


def mirror(src_root: Path, dst_root: Path, keys: set[str], *, keep: set[str] = frozenset(),
           src_inodes: dict[str, int] | None = None) -> int:
    """Make `dst_root` hold exactly `keys` (POSIX paths under `src_root`) plus `keep`.
    `src_inodes`: the inodes of `src_root`'s files by key, when the caller has just listed
    them (`public_files(..., inodes=)`); the folders are not listed again.

    Files are hard-linked when possible (same filesystem: no copy, no extra space), else
    copied; a file already in place (the same inode, or on another filesystem the same
    size and hash) is left alone.
    Everything else in `dst_root` is removed, so it is derived output only. Returns the
    number of files added or replaced. Works on path strings and one listing of each
    folder: a 2,000-episode site has some 18,000 files, and a stat of each costs more
    than the listings, which give each entry's inode and type without one.
    """
    changed = 0
    dst_root.mkdir(parents=True, exist_ok=True)
    src_base, dst_base = str(src_root), str(dst_root)
    tree = _listing(dst_base)
    # An inode names one file on one device only; across two (copies), every file is
    # stat-ed and compared below.
    if os.stat(src_base).st_dev == os.stat(dst_base).st_dev:
        src_ino = src_inodes if src_inodes is not None else \
            _inodes(src_base, {k.rpartition("/")[0] for k in keys})
        dst_ino = {f"{prefix}{name}": ino for prefix, files, _ in tree
                   for name, ino in files if ino is not None}
    else:
        src_ino, dst_ino = {}, {}
    # Files linked by an earlier run, the usual case, need no stat at all.
    todo = [k for k in keys if (ino := dst_ino.get(k)) is None or ino != src_ino.get(k)]
    made = {dst_base}       # folders known to exist (one mkdir per folder, not per file)
    for key in sorted(todo):
        src, dst = f"{src_base}/{key}", f"{dst_base}/{key}"
        try:
            d = os.stat(dst)
        except FileNotFoundError:
            d = None
        if d is not None and stat.S_ISREG(d.st_mode):
            s = os.stat(src)
            if (s.st_ino, s.st_dev) == (d.st_ino, d.st_dev):
                continue
            # Another filesystem (copies): compare the bytes. The same one: link again, which
            # costs less than hashing both, and the next run finds the same inode.
            if s.st_dev != d.st_dev and s.st_size == d.st_size \
                    and sha256_file(Path(src)) == sha256_file(Path(dst)):
                continue
        folder = os.path.dirname(dst)
        if folder not in made:
            os.makedirs(folder, exist_ok=True)
            made.add(folder)
        _link_into_place(src, dst)
        changed += 1
    _prune(dst_base, tree, set(keys) | set(keep))
    return changed


def _link_into_place(src: str, dst: str) -> None:
    """Put a hard link of `src` at `dst` by one rename (readers see the old file or the new
    one); a copy, written through atomic_path, where no link can be made (another
    filesystem). The link is made under atomic_path's kind of temp name directly: making
    an empty temp file first, as atomic_path does, cost the first `podkit feed` of a
    2,000-episode show an open, a chmod, a close and an unlink for each of 18,000 files."""
    folder, name = os.path.split(dst)
    suffix = os.path.splitext(name)[1]
    for _ in range(100):
        tmp = f"{folder}/.{name}.{secrets.token_hex(4)}{suffix}.part"
        try:
            os.link(src, tmp)
            break
        except FileExistsError:
            continue            # a name taken: another
        except OSError:
            import shutil
            with atomic_path(Path(dst)) as copy:
                shutil.copyfile(src, copy)
            return
    else:
        raise PodkitError("cannot write here: no free temporary name", path=folder)
    try:
        os.replace(tmp, dst)
    except OSError as exc:
        os.unlink(tmp)
        raise PodkitError(f"cannot write file: {exc.strerror}", path=Path(dst)) from exc


#: One folder of a listing: its key prefix ('' or 'episodes/x/'), its non-folder entries
#: as (name, inode of a regular file or None), and its subfolders' names.
_Folder = tuple[str, list[tuple[str, "int | None"]], list[str]]


def _listing(base: str) -> list[_Folder]:
    """Every folder under `base` (itself first, parents before children), as os.walk sees
    them: a link to a folder is listed as a folder and not followed."""
    out: list[_Folder] = []
    stack = [""]
    while stack:
        prefix = stack.pop()
        files: list[tuple[str, int | None]] = []
        dirs: list[str] = []
        try:
            with os.scandir(f"{base}/{prefix}" if prefix else base) as entries:
                for entry in entries:
                    try:
                        is_dir = entry.is_dir()
                    except OSError:
                        is_dir = False
                    if is_dir:
                        dirs.append(entry.name)
                        if not entry.is_symlink():
                            stack.append(f"{prefix}{entry.name}/")
                    else:
                        files.append((entry.name, entry.inode()
                                      if entry.is_file(follow_symlinks=False) else None))
        except OSError:
            continue        # as os.walk: a folder that cannot be listed is passed over
        out.append((prefix, files, dirs))
    return out


def _inodes(base: str, folders: set[str]) -> dict[str, int]:
    """The inode of every regular file (not a link to one) directly in each of `folders`
    ('' is `base` itself), by key."""
    out = {}
    for folder in folders:
        prefix = f"{folder}/" if folder else ""
        try:
            with os.scandir(f"{base}/{folder}" if folder else base) as entries:
                for entry in entries:
                    if entry.is_file(follow_symlinks=False):
                        out[prefix + entry.name] = entry.inode()
        except (FileNotFoundError, NotADirectoryError):
            continue
    return out


def _prune(base: str, tree: list[_Folder], wanted: set[str]) -> None:
    """Remove what `tree` (listed before the new files were linked in) holds beyond
    `wanted`, then the folders left empty, children before parents."""
    emptied: set[str] = set()
    for prefix, files, dirs in reversed(tree):
        left = False
        for name, _ in files:
            if prefix + name in wanted:
                left = True
            else:
                os.unlink(f"{base}/{prefix}{name}")
        left = left or any(f"{prefix}{d}/" not in emptied for d in dirs)
        # Files linked in since the listing are not in it: the folder itself has the last word.
        if prefix and not left and not os.listdir(f"{base}/{prefix}"):
            os.rmdir(f"{base}/{prefix}")
            emptied.add(prefix)
