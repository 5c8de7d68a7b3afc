"""What an imported feed's links may name, and fetching it (for `podkit import`).

    origin = sidecar.Origin.of(source, allow_private=False)
    data = sidecar.read_small(link.url, origin, "transcript")
    name = sidecar.fetch_picture(url, origin, folder, "art", written, notes, "episodes/x")

The policy (docs/security.md, "What import fetches"):
- a feed fetched over http(s) (a *remote* feed) may only name http(s) URLs: a path
  (`/etc/passwd`, `.env`), `file:` or any other scheme is refused, never read;
- a feed read from a *file* may also name files, but only inside that file's own folder
  (after symlinks are resolved): the folder of an exported feed and its media;
- every URL goes through the one HTTP client (toolkit.http) with the import's address
  policy: loopback, private and link-local addresses are refused, also after a redirect,
  unless the producer passes `--allow-private-hosts` (link-local never).
Files podkit writes here are written only while they hold what podkit wrote (`written`
maps a file name to the SHA-256 of what import last wrote); a file the producer replaced
or added is never overwritten or deleted.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from toolkit import http
from toolkit.errors import MediaError, PodkitError
from toolkit.feed import fetch
from toolkit.migrate import download

Progress = Callable[[int, int | None], None]


@dataclass(frozen=True)
class Origin:
    """Where the feed came from, which decides what its links may name."""

    source: str                 # as given: may hold a token, never printed or stored
    folder: Path | None         # a local feed file's folder; None for a remote feed
    policy: http.Policy

    @classmethod
    def of(cls, source: str, *, allow_private: bool = False) -> Origin:
        """The origin of `source` (an http(s) URL or a file path)."""
        policy = http.Policy(allow_private=allow_private)
        if _is_http(source):
            return cls(source, None, policy)
        return cls(source, Path(source).resolve().parent, policy)

    @property
    def shown(self) -> str:
        """The source as it may be printed and stored (no token)."""
        return http.display_url(self.source) if self.folder is None else self.source


def _is_http(ref: str) -> bool:
    return ref[:8].lower().startswith(("http://", "https://"))


def locate(ref: str, origin: Origin) -> str | Path:
    """The http(s) URL `ref` names, or (a local feed's) file inside its folder; MediaError else."""
    if _is_http(ref):
        return ref
    shown = http.display_url(ref) if "://" in ref else ref
    if origin.folder is None:
        raise MediaError("not an http(s) URL: a feed fetched over the network may only link "
                         "to http(s) files; not read", path=shown, field="url")
    if ref.lower().startswith("file:"):
        path = Path(unquote(urlsplit(ref).path))
    elif re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", ref):
        raise MediaError("only http(s) URLs and files beside the feed are read", path=shown,
                         field="url")
    else:
        path = Path(unquote(ref))
    try:
        real = (origin.folder / path).resolve()
    except (OSError, ValueError) as exc:
        raise MediaError(f"not a usable path ({exc})", path=shown, field="url") from exc
    if not real.is_relative_to(origin.folder):
        raise MediaError(f"outside the feed file's folder ({origin.folder}): a local feed may "
                         "only link to files beside it; not read", path=shown, field="url")
    return real


def read_small(ref: str, origin: Origin, kind: str) -> bytes:
    """The bytes of a transcript or chapters file (capped per `kind`); PodkitError otherwise."""
    where = locate(ref, origin)
    cap = http.KINDS[kind].max_bytes
    if isinstance(where, Path):
        return fetch.read_file(where, max_bytes=cap)
    return http.get_bytes(where, kind=kind, policy=origin.policy).data


def download_to(ref: str, origin: Origin, target: Path, *, kind: str, expected: int = 0,
                progress: Progress | None = None) -> download.Downloaded:
    """Fetch `ref` into `target` (resumable over http(s); copied from a local feed's folder)."""
    where = locate(ref, origin)
    if isinstance(where, str):
        return download.fetch(where, target, expected=expected, progress=progress, kind=kind,
                              policy=origin.policy)
    data_len = where.stat().st_size if where.is_file() else -1
    if data_len < 0:
        raise MediaError("not a regular file beside the feed; not read", path=ref, field="url")
    if data_len > http.KINDS[kind].max_bytes:
        raise MediaError(f"larger than the {http.KINDS[kind].max_bytes}-byte cap; not read",
                         path=ref, field="url")
    tmp = target.with_name(f".{target.name}.copy")
    shutil.copyfile(where, tmp)
    os.replace(tmp, target)
    mismatch = (f"the feed says {expected} bytes, the file has {data_len}"
                if expected and expected != data_len else None)
    return download.Downloaded(target, data_len, 0, None, mismatch)


def sha(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_picture(ref: str, origin: Origin, folder: Path, stem: str, written: dict[str, str],
                  notes: list[str], shown: str,
                  progress: Progress | None = None) -> str:
    """Download a JPEG or PNG as `folder/stem.jpg|png` and return its name; MediaError else.

    A picture the producer replaced (its hash is not what import wrote), or a sibling with
    the other extension that import did not write, is kept as it is and noted.
    """
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{stem}.download"
    try:
        download_to(ref, origin, tmp, kind="image", progress=progress)
    except PodkitError:
        download.discard(tmp)
        raise
    with open(tmp, "rb") as f:
        head = f.read(8)
    ext = ".jpg" if head[:3] == b"\xff\xd8\xff" else ".png" if head == b"\x89PNG\r\n\x1a\n" else None
    if ext is None:
        tmp.unlink()
        raise MediaError("is not a JPEG or PNG picture", path=http.display_url(ref), field="url")
    name, new = f"{stem}{ext}", sha(tmp)
    dest = folder / name
    if dest.is_file() and (current := sha(dest)) != new and written.get(name) != current:
        tmp.unlink()
        notes.append(f"{shown}/{name}: changed since it was imported (or not written by "
                     "import): kept as it is, not replaced by the feed's picture")
        return name
    for other in (".jpg", ".png"):
        sibling = folder / f"{stem}{other}"
        # Only a picture import wrote, unchanged since, gives way to the new one.
        if other != ext and sibling.is_file() and written.get(sibling.name) == sha(sibling):
            sibling.unlink()
            written.pop(sibling.name, None)
    os.replace(tmp, dest)
    written[name] = new
    return name


__all__ = ["Origin", "download_to", "fetch_picture", "locate", "read_small", "sha"]
