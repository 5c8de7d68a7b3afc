"""The bytes of a feed podkit did not write: a file or an http(s) URL, every read capped.

    fetched = fetch.read_bytes("https://example.org/feed.xml", deadline=30)
    fetched.data, fetched.content_type           # bytes, and the HTTP Content-Type (or None)

`toolkit.feed.foreign` decodes them; `podkit validate` and `podkit import` call it.
Limits, each a FeedError naming the source (never a hang, never a traceback):
- at most `MAX_FEED_BYTES` (64 MiB) are read from any source;
- a file must be a regular file: a FIFO would block, /dev/zero would never end;
- a URL gets one overall deadline (`FETCH_DEADLINE`, 30 s) for connecting, the headers and
  the body, besides the per-read timeout: a server sending a byte every 2 s is cut off.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.errors import FeedError

if TYPE_CHECKING:   # the HTTP stack is imported by `fetch` only: a file needs none of it
    from toolkit import http

#: A feed bigger than this is refused (the 2,000-episode benchmark feed is ~6 MB).
MAX_FEED_BYTES = 64 * 1024 * 1024
#: Seconds for a whole fetch, connect to last byte (DNS lookup not included).
FETCH_DEADLINE = 30.0
#: Seconds any single connect or read may wait.
READ_TIMEOUT = 20.0
_CHUNK = 64 * 1024
_KINDS = [(stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket")]


@dataclass(frozen=True)
class Fetched:
    """What a source gave: its bytes and, for a URL, the Content-Type it was sent with."""

    data: bytes
    content_type: str | None = None


def read_bytes(source: str, *, deadline: float = FETCH_DEADLINE, timeout: float = READ_TIMEOUT,
               max_bytes: int = MAX_FEED_BYTES, policy: http.Policy | None = None) -> Fetched:
    """The bytes of an http(s) URL or a file path; FeedError naming the source otherwise."""
    if source[:8].lower().startswith(("http://", "https://")):
        return fetch(source, deadline=deadline, timeout=timeout, max_bytes=max_bytes,
                     policy=policy)
    if "://" in source:
        raise FeedError("only http and https URLs (or file paths) can be read",
                        path=source, field="source")
    return Fetched(read_file(Path(source), max_bytes=max_bytes))


def read_file(path: Path, *, max_bytes: int = MAX_FEED_BYTES) -> bytes:
    """A regular file's bytes, at most `max_bytes`; FIFOs, devices and folders are refused."""
    try:
        # O_NONBLOCK: opening a FIFO nobody writes to would otherwise wait forever.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise FeedError(f"cannot read: {exc.strerror}", path=path, field="file") from exc
    except ValueError as exc:                  # a NUL in the name
        raise FeedError(f"not a usable file name ({exc})", path=path, field="file") from exc
    try:
        st = os.fstat(fd)                  # of what was opened: no race with a swapped path
        kind = next((name for test, name in _KINDS if test(st.st_mode)), None)
        if kind is not None or not stat.S_ISREG(st.st_mode):
            raise FeedError(f"{kind or 'not a regular file'}, not a feed file; not read",
                            path=path, field="file")
        if st.st_size > max_bytes:
            raise FeedError(f"larger than {max_bytes} bytes; not read", path=path, field="file")
        chunks, size = [], 0
        while size <= max_bytes:          # capped even if the file grows while read
            chunk = os.read(fd, min(_CHUNK * 16, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise FeedError(f"cannot read: {exc.strerror}", path=path, field="file") from exc
    finally:
        os.close(fd)
    if size > max_bytes:
        raise FeedError(f"larger than {max_bytes} bytes; not read", path=path, field="file")
    return b"".join(chunks)


def fetch(url: str, *, deadline: float = FETCH_DEADLINE, timeout: float = READ_TIMEOUT,
          max_bytes: int = MAX_FEED_BYTES, policy: http.Policy | None = None) -> Fetched:
    """GET an http(s) URL within `deadline` seconds overall; FeedError naming it otherwise.

    Through the one HTTP client (toolkit.http): its address and redirect rules apply;
    `policy` defaults to allowing private hosts, as `podkit validate URL` reads the one
    URL the producer typed (import passes its own, stricter policy).
    """
    from toolkit import http
    policy = replace(policy or http.Policy(allow_private=True), deadline=deadline,
                     read_timeout=timeout)
    try:
        with http.open_url(url, kind="feed", policy=policy, headers={
                "Accept": "application/rss+xml, application/xml;q=0.9, */*;q=0.5"}) as resp:
            if max_bytes < resp.max_bytes:
                resp.max_bytes = max_bytes
            if resp.length is not None and resp.length > max_bytes:
                raise FeedError(f"larger than {max_bytes} bytes; not read",
                                path=http.display_url(url), field="fetch")
            return Fetched(resp.read(), resp.content_type)
    except http.FetchError as exc:
        message = exc.message
        if "-byte cap" in message:       # the feed's own wording for its cap
            message = f"larger than {max_bytes} bytes; not read"
        elif not message.startswith(("HTTP ", "no complete answer", "cannot fetch")):
            message = f"cannot fetch: {message}"
        raise FeedError(message, path=http.display_url(url), field="fetch") from exc

