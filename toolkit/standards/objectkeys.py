"""Object key prefixes a publish target may use (S3 `prefix`): stdlib only, shared by
loading (`podkit check`) and publishing."""
from __future__ import annotations


def prefix_problem(prefix: str) -> str | None:
    """Why a key prefix cannot be published under, or None.

    '.' and '..' segments: S3 stores them as written, but URLs and web servers resolve
    them, so `a/../b/` would publish where another show lives; empty segments (`a//b`),
    backslashes and control characters have the same kind of double meaning.
    """
    inner = prefix.strip("/")
    if not inner:
        return None
    if any(ord(c) < 32 or ord(c) == 127 for c in inner) or "\\" in inner:
        return "must not contain control characters or backslashes"
    parts = inner.split("/")
    if any(p in (".", "..") for p in parts):
        return f"must not contain '.' or '..' segments (path traversal): {prefix!r}"
    if any(not p for p in parts):
        return f"must not contain empty segments ('//'): {prefix!r}"
    if any(p == ".podkit" for p in parts):
        return "must not name podkit's bookkeeping folder '.podkit'"
    return None
