"""Downloads of media files (enclosures, transcripts, pictures) for `podkit import`.

    got = download.fetch(url, target, expected=12_345_678, progress=cb)

- Resumable: bytes arrive in `<target>.part` (beside the target, hidden); a later call
  asks the server for the rest with an HTTP Range request (and If-Range with the
  validator it was sent, so a file that changed meanwhile is fetched whole again).
- Checked: the body must be as long as the server said (Content-Length / Content-Range);
  a short body keeps the partial file for the next run and raises MediaError. The
  length the *feed* states is compared too, but hosts' feeds are often off (dynamic ad
  insertion, `length="0"`): a difference is reported, not fatal.
- Resumed only with a validator (ETag or Last-Modified, sent back as If-Range): without
  one the part is discarded and the file fetched from byte 0.
- Through the one HTTP client (toolkit.http): redirects (tracking prefixes such as
  podtrac, chartable or op3 answer with 301/302) bounded and re-checked against the
  address rules, an overall deadline and low-speed cut, a size cap per kind of file.
- An HTML page where audio should be (a login or error page) is not saved.
- The target appears only when complete (rename of the .part file).
"""
from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from toolkit import http
from toolkit.errors import MediaError

log = logging.getLogger(__name__)

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


def fetch(url: str, target: Path, *, expected: int = 0, progress: Progress | None = None,
          kind: str = "audio", policy: http.Policy | None = None) -> Downloaded:
    """Download `url` to `target`, resuming a partial earlier download; MediaError naming the URL.

    `expected` is the length the feed states (0: unknown); it is only compared. `kind`
    picks the size cap and deadline (toolkit.http.KINDS); `policy` the address rules.
    """
    shown = http.display_url(url)
    part, meta = _part(target), _meta(target)
    have = part.stat().st_size if part.is_file() else 0
    validator = _read_meta(meta) if have else None
    if have and not validator:
        # Without an ETag or Last-Modified nothing proves the file is the one the part came
        # from: a Range request could splice an old start onto a changed file.
        log.info("%s: no validator for the partial download; starting again", shown)
        discard(target)
        have = 0
    headers = {"Accept": "*/*"}
    if have and validator:
        headers["Range"] = f"bytes={have}-"
        headers["If-Range"] = validator
    try:
        with http.open_url(url, kind=kind, policy=policy, headers=headers) as resp:
            start, total = _span(resp, have, shown)
            _write_meta(meta, resp.headers.get("ETag") or resp.headers.get("Last-Modified"))
            content_type = resp.content_type
            size = _receive(resp, part, start, total, progress, shown)
    except http.FetchError as exc:
        if exc.status == 416 and have:    # nothing after what we have: the part is complete
            size, content_type, start = have, None, have
        else:
            if "cap" in exc.message:      # never worth resuming: the rest is over the cap too
                discard(target)
            resumable = exc.message.startswith(("cut short", "no complete", "slower", "cannot"))
            raise MediaError(exc.message + ("; run again to resume" if resumable else ""),
                             path=shown, field="url") from exc
    if kind == "audio" and _is_html(content_type, part):
        discard(target)
        raise MediaError(f"the server sent a web page ({content_type or 'HTML'}), not audio; "
                         "not saved", path=shown, field="url")
    os.replace(part, target)
    meta.unlink(missing_ok=True)
    mismatch = (f"the feed says {expected} bytes, the server sent {size}"
                if expected and expected != size else None)
    log.info("%s: %d bytes%s", shown, size, f" (resumed at {start})" if start else "")
    return Downloaded(target, size, start, content_type, mismatch)


def _is_html(content_type: str | None, part: Path) -> bool:
    """A login or error page served where the file should be (by its type or its first bytes)."""
    if content_type and content_type.split(";")[0].strip().lower() in ("text/html",
                                                                     "application/xhtml+xml"):
        return True
    with open(part, "rb") as f:
        head = f.read(512).lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


def _span(resp: http.Response, have: int, shown: str) -> tuple[int, int | None]:
    """(where this body starts in the file, the whole file's size or None)."""
    if resp.status == 206:
        crange = resp.headers.get("Content-Range", "")      # bytes 100-999/1000
        match = re.fullmatch(r"bytes ([0-9]{1,16})-[0-9]{1,16}/([0-9]{1,16}|\*)", crange.strip())
        if match is None:
            raise MediaError(f"a partial answer without a usable Content-Range ({crange!r})",
                             path=shown, field="url")
        start = int(match.group(1))
        if start != have:
            raise MediaError(f"asked for byte {have} onwards, got byte {start} onwards",
                             path=shown, field="url")
        return start, http.parse_length(match.group(2))
    # 200: the whole file (the server ignored the Range, or the file changed: If-Range).
    return 0, resp.length


def _receive(resp: http.Response, part: Path, start: int, total: int | None,
             progress: Progress | None, shown: str) -> int:
    done = start
    with open(part, "r+b" if start else "wb") as out:
        out.seek(start)
        out.truncate()
        # The client enforces the cap, the deadline and the Content-Length; a FetchError
        # leaves the part file for the next run to resume.
        for chunk in resp.chunks():
            out.write(chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
    if total is not None and done != total:
        raise MediaError(f"download cut short: {done} of {total} bytes; run again to resume",
                         path=shown, field="url")
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
