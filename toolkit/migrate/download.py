"""Downloads of media files (enclosures, transcripts, pictures) for `podkit import`.

    got = download.fetch(url, target, expected=12_345_678, progress=cb)

- Resumable: bytes arrive in `<target>.part` (beside the target, hidden); a later call
  asks the server for the rest with an HTTP Range request (and If-Range with the
  validator it was sent, so a file that changed meanwhile is fetched whole again).
- Checked: the body must be as long as the server said (Content-Length / Content-Range);
  a short body keeps the partial file for the next run and raises MediaError. The
  length the *feed* states is compared too, but hosts' feeds are often off (dynamic ad
  insertion, `length="0"`): a difference is reported, not fatal.
- Redirects are followed (tracking prefixes such as podtrac, chartable or op3 answer
  with 301/302), to http(s) only. Every read has a timeout; the size is capped.
- The target appears only when complete (rename of the .part file).
"""
from __future__ import annotations

import http.client
import json
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from toolkit.errors import MediaError

log = logging.getLogger(__name__)

USER_AGENT = "podkit-import/0.1"
#: Seconds a connect or a single read may wait.
READ_TIMEOUT = 30.0
#: A file bigger than this is refused (a 10-hour WAV is ~6 GB; an MP3 episode far less).
MAX_BYTES = 4 * 1024 ** 3
_CHUNK = 256 * 1024

Progress = Callable[[int, int | None], None]   # (bytes so far, total or None)


@dataclass(frozen=True)
class Downloaded:
    """A finished download."""

    path: Path
    size: int
    resumed_from: int = 0             # bytes already there from an earlier, cut-short run
    content_type: str | None = None
    length_mismatch: str | None = None   # the feed's stated length disagreed (a note, not an error)


def _part(target: Path) -> Path:
    return target.with_name(f".{target.name}.part")


def _meta(target: Path) -> Path:
    return target.with_name(f".{target.name}.part.json")


def _opener() -> urllib.request.OpenerDirector:
    """urllib's opener limited to http(s): a redirect to file: or ftp: is refused."""
    opener = urllib.request.OpenerDirector()
    for handler in (urllib.request.ProxyHandler(), urllib.request.UnknownHandler(),
                    urllib.request.HTTPHandler(), urllib.request.HTTPSHandler(),
                    urllib.request.HTTPDefaultErrorHandler(), urllib.request.HTTPRedirectHandler(),
                    urllib.request.HTTPErrorProcessor()):
        opener.add_handler(handler)
    return opener


def fetch(url: str, target: Path, *, expected: int = 0, progress: Progress | None = None,
          timeout: float = READ_TIMEOUT, max_bytes: int = MAX_BYTES) -> Downloaded:
    """Download `url` to `target`, resuming a partial earlier download; MediaError naming the URL.

    `expected` is the length the feed states (0: unknown); it is only compared.
    """
    if not url[:8].lower().startswith(("http://", "https://")):
        raise MediaError("only http and https URLs can be downloaded", path=url, field="url")
    part, meta = _part(target), _meta(target)
    have = part.stat().st_size if part.is_file() else 0
    validator = _read_meta(meta) if have else None
    headers = {"User-Agent": USER_AGENT, "Accept": "*/*"}
    if have:
        headers["Range"] = f"bytes={have}-"
        if validator:
            headers["If-Range"] = validator
    try:
        with _opener().open(urllib.request.Request(url, headers=headers), timeout=timeout) as resp:
            start, total = _span(resp, have)
            if total is not None and total > max_bytes:
                raise MediaError(f"{total} bytes is over the {max_bytes}-byte cap; not downloaded",
                                 path=url, field="url")
            _write_meta(meta, resp.headers.get("ETag") or resp.headers.get("Last-Modified"))
            size = _receive(resp, part, start, total, progress, url, max_bytes)
            content_type = resp.headers.get("Content-Type")
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:    # nothing after what we have: the part is complete
            size, content_type, start = have, None, have
        else:
            raise MediaError(f"HTTP {exc.code} {exc.reason}", path=url, field="url") from exc
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        if isinstance(exc, MediaError):
            raise
        reason = getattr(exc, "reason", None) or exc or type(exc).__name__
        raise MediaError(f"download cut short ({reason}); run again to resume", path=url,
                         field="url") from exc
    os.replace(part, target)
    meta.unlink(missing_ok=True)
    mismatch = (f"the feed says {expected} bytes, the server sent {size}"
                if expected and expected != size else None)
    log.info("%s: %d bytes%s", url, size, f" (resumed at {start})" if start else "")
    return Downloaded(target, size, start, content_type, mismatch)


def _span(resp: http.client.HTTPResponse, have: int) -> tuple[int, int | None]:
    """(where this body starts in the file, the whole file's size or None)."""
    length = resp.headers.get("Content-Length", "")
    if resp.status == 206:
        crange = resp.headers.get("Content-Range", "")      # bytes 100-999/1000
        try:
            first, whole = crange.split(" ", 1)[1].split("-", 1)[0], crange.rsplit("/", 1)[1]
            start = int(first)
        except (IndexError, ValueError):
            raise MediaError(f"a partial answer without a usable Content-Range ({crange!r})",
                             path=resp.url, field="url") from None
        if start != have:
            raise MediaError(f"asked for byte {have} onwards, got byte {start} onwards",
                             path=resp.url, field="url")
        return start, int(whole) if whole.isdigit() else None
    # 200: the whole file (the server ignored the Range, or the file changed: If-Range).
    return 0, int(length) if length.isdigit() else None


def _receive(resp: http.client.HTTPResponse, part: Path, start: int, total: int | None,
             progress: Progress | None, url: str, max_bytes: int) -> int:
    done = start
    with open(part, "r+b" if start else "wb") as out:
        out.seek(start)
        out.truncate()
        while True:
            chunk = resp.read1(_CHUNK)
            if not chunk:
                break
            out.write(chunk)
            done += len(chunk)
            if done > max_bytes:
                raise MediaError(f"over the {max_bytes}-byte cap; not downloaded", path=url,
                                 field="url")
            if progress:
                progress(done, total)
    if total is not None and done != total:
        # The partial file stays: the next run asks for the rest.
        raise MediaError(f"download cut short: {done} of {total} bytes; run again to resume",
                         path=url, field="url")
    return done


def _read_meta(meta: Path) -> str | None:
    try:
        return json.loads(meta.read_text("utf-8")).get("validator")
    except (OSError, ValueError, AttributeError):
        return None


def _write_meta(meta: Path, validator: str | None) -> None:
    meta.parent.mkdir(parents=True, exist_ok=True)
    meta.write_text(json.dumps({"validator": validator}), "utf-8")


def discard(target: Path) -> None:
    """Forget a partial download of `target` (its .part and validator files)."""
    _part(target).unlink(missing_ok=True)
    _meta(target).unlink(missing_ok=True)
