"""Analytics prefixes of enclosure URLs (OP3, Podtrac, Chartable and the like).

A prefix service counts a download, then redirects the app to the real file. The feed's
`<enclosure url>` becomes the prefix followed by the file's URL without its `https://`
(the form OP3, Podtrac and Chartable document; an `http://` URL keeps its scheme, which is
how they tell it apart):

    https://media.example.org/show/ep.mp3
    -> https://op3.dev/e/media.example.org/show/ep.mp3

Only the feed's enclosures carry it. Everything that maps a feed URL back to a built file
(`podkit validate` of our own feed, publishing, preview) strips it first with `strip`.
Pure functions, no I/O.
"""
from __future__ import annotations

from urllib.parse import urlsplit

HTTPS = "https://"
HTTP = "http://"


def problem(prefix: str) -> str | None:
    """Why `prefix` cannot be an enclosure prefix, or None when it can.

    It must be an https URL (an app would otherwise fetch the audio in clear text), end
    with '/' (the file's URL is appended as a path) and carry no query or fragment
    (they would swallow the appended URL).
    """
    if not prefix.startswith(HTTPS):
        return f"must be an https:// URL, not {prefix!r}"
    parts = urlsplit(prefix)
    if parts.query or parts.fragment or "?" in prefix or "#" in prefix:
        return f"must not hold a query or fragment ('?', '#'): {prefix!r}"
    if not prefix.endswith("/"):
        return f"must end with '/' (the file's URL is appended to it): {prefix!r}"
    return None


def apply(prefix: str | None, url: str) -> str:
    """`url` behind the analytics prefix (unchanged without one)."""
    if not prefix:
        return url
    return prefix + (url[len(HTTPS):] if url.startswith(HTTPS) else url)


def strip(prefix: str | None, url: str) -> str:
    """The file's own URL of an enclosure URL written by `apply` (other URLs unchanged)."""
    if not prefix or not url.startswith(prefix):
        return url
    rest = url[len(prefix):]
    return rest if rest.startswith((HTTPS, HTTP)) else HTTPS + rest
