"""Content types and cache lifetimes of published files: one explicit table, no guessing.

Python's `mimetypes` depends on the machine's /etc/mime.types and misses `.m4a`, `.rss`,
`.ogg` and `.flac` on some systems, so publish and preview both read this table.
Pure functions, no I/O.
"""
from __future__ import annotations

import re
from pathlib import PurePosixPath

FEED_TYPE = "application/rss+xml; charset=utf-8"
CHAPTERS_TYPE = "application/json+chapters"

#: The XML namespaces of a podcast feed (one place: the feed writer, the rules and the
#: publisher's feed reader all use these).
ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST_NS = "https://podcastindex.org/namespace/1.0"
ATOM_NS = "http://www.w3.org/2005/Atom"
CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
#: The URL early Podcasting 2.0 feeds declared instead of PODCAST_NS (readers accept both).
PODCAST_NS_OLD = "https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md"
DEFAULT_TYPE = "application/octet-stream"
#: Characters XML 1.0 cannot carry (its Char production), plus the C1 controls it
#: discourages (section 2.2), which feedparser and others reinterpret as Windows-1252
#: ('\x91' becomes a quote). The TOML reader refuses them, the feed writer drops them.
NOT_XML_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")

#: By file extension (lower case, with the dot).
BY_EXTENSION: dict[str, str] = {
    ".mp3": "audio/mpeg",
    ".m4a": "audio/x-m4a",
    ".aac": "audio/aac",
    ".wav": "audio/wav",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/opus",
    ".flac": "audio/flac",
    ".mp4": "video/mp4",
    ".m4v": "video/x-m4v",
    ".mov": "video/quicktime",
    ".rss": FEED_TYPE,
    ".xml": "application/xml; charset=utf-8",
    ".json": "application/json",
    ".vtt": "text/vtt",
    ".srt": "application/x-subrip",
    ".txt": "text/plain; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".pdf": "application/pdf",
}

#: Audio extensions: the files a feed's enclosures point at (published first).
MEDIA_EXTENSIONS = frozenset({".mp3", ".m4a", ".aac", ".wav", ".ogg", ".oga", ".opus", ".flac",
                              ".mp4", ".m4v", ".mov"})
#: Image extensions: cover and episode art.
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".svg", ".ico"})
#: Transcript extensions (a `.json` or `.html` transcript is recognised by its `transcript` name).
TRANSCRIPT_EXTENSIONS = frozenset({".vtt", ".srt", ".txt"})

#: `layout.media_name` names: `<stem>-<12 hex digits of SHA-256>.<ext>`. The URL changes
#: whenever the bytes do, so caches may keep such a file forever.
CONTENT_ADDRESSED_RE = re.compile(r"-[0-9a-f]{12}\.[A-Za-z0-9]+$")

#: A year, immutable: browsers and CDNs never revalidate a content-addressed file.
CACHE_IMMUTABLE = "public, max-age=31536000, immutable"
#: Five minutes: a new episode reaches listeners quickly, and a CDN still absorbs bursts.
CACHE_SHORT = "public, max-age=300"


def is_chapters(key: str) -> bool:
    """True for a Podcast Index chapters file (`chapters.json`, `<name>.chapters.json`)."""
    name = PurePosixPath(key).name.lower()
    return name == "chapters.json" or name.endswith(".chapters.json")


def is_transcript(key: str) -> bool:
    """True for a transcript file: `.vtt`, `.srt`, `.txt`, or any file named `transcript*`."""
    path = PurePosixPath(key)
    return path.suffix.lower() in TRANSCRIPT_EXTENSIONS or path.name.lower().startswith("transcript")


def content_type(key: str, feed_key: str = "feed.xml") -> str:
    """The Content-Type a published file is served with."""
    if key == feed_key:
        return FEED_TYPE
    if is_chapters(key):
        return CHAPTERS_TYPE
    return BY_EXTENSION.get(PurePosixPath(key).suffix.lower(), DEFAULT_TYPE)


def is_content_addressed(key: str) -> bool:
    """True when the file name carries its content hash (see `layout.media_name`)."""
    return bool(CONTENT_ADDRESSED_RE.search(PurePosixPath(key).name))


def cache_control(key: str, feed_key: str = "feed.xml") -> str:
    """Cache-Control: immutable for content-addressed names, minutes for everything else."""
    if key != feed_key and is_content_addressed(key):
        return CACHE_IMMUTABLE
    return CACHE_SHORT
