"""Where podkit reads and writes: one place for every path and URL (pure, no I/O).

    <root>/feeds/<feed>.toml                 feed definitions
    <root>/episodes/<slug>/episode.toml      episode bundles
    <root>/templates/                        jinja2 templates (the show's overrides)
    <root>/build/stage/<feed>/               what `podkit build` made, drafts and future episodes too
        <feed>-<hash>.<ext>                  the show's cover, content-addressed
        episodes/<slug>/<slug>-<hash>.mp3, index.html, transcript.*, chapters.json
    <root>/build/site/<feed>/                the published tree, exactly as uploaded: what
        feed.xml, index.html, the cover,     `podkit feed` selected from the stage (hard links),
        episodes/<slug>/...                  so drafts and scheduled episodes never leak
    <root>/build/reports/<feed>/<slug>/      QC picture and report, cue sheets, notes.md
    <root>/build/cache/<feed>/<slug>/        build cache (untagged master, input hashes)
    <root>/build/cache/publish/<feed>.json   the site's hashes kept between publishes
    <root>/build/public/<feed>/              the default local publish target
    <root>/build/deliver/<feed>.json         the delivery record: what went to which station
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote

FEED_FILE = "feed.xml"


@dataclass(frozen=True)
class Layout:
    """Paths of one show folder."""

    root: Path

    @property
    def feeds_dir(self) -> Path:
        """Feed definitions (`feeds/<id>.toml`)."""
        return self.root / "feeds"

    @property
    def episodes_dir(self) -> Path:
        """Episode bundles (`episodes/<slug>/`)."""
        return self.root / "episodes"

    @property
    def templates_dir(self) -> Path:
        """The show's template overrides."""
        return self.root / "templates"

    @property
    def build(self) -> Path:
        """Everything podkit writes (git-ignored)."""
        return self.root / "build"

    def stage(self, feed: str) -> Path:
        """Everything built for one feed, laid out like the site (keys are the same)."""
        return self.build / "stage" / feed

    def episode_stage(self, feed: str, slug: str) -> Path:
        """The built files of one episode."""
        return self.stage(feed) / "episodes" / slug

    def site(self, feed: str) -> Path:
        """The folder that is published as-is for one feed."""
        return self.build / "site" / feed

    def feed_file(self, feed: str) -> Path:
        """The published feed of one show."""
        return self.site(feed) / FEED_FILE

    def reports(self, feed: str, slug: str) -> Path:
        """QC picture/report, cue sheets: for the producer, not published."""
        return self.build / "reports" / feed / slug

    def cache(self, feed: str, slug: str) -> Path:
        """Build cache of one episode (intermediate audio, input hashes)."""
        return self.build / "cache" / feed / slug

    def public(self, feed: str) -> Path:
        """Default local publish target."""
        return self.build / "public" / feed

    def publish_hashes(self, feed: str) -> Path:
        """The site's hashes kept between publishes (so unchanged files are not read again)."""
        return self.build / "cache" / "publish" / f"{feed}.json"

    def delivery_record(self, feed: str) -> Path:
        """What `podkit deliver` sent where, per target (toolkit.deliver)."""
        return self.build / "deliver" / f"{feed}.json"

    def sidecars(self, feed: str, target: str) -> Path:
        """The sidecar files `podkit deliver` writes before sending them to one target."""
        return self.build / "deliver" / feed / target

    @classmethod
    def of_site(cls, site: Path) -> Layout | None:
        """The layout a `build/site/<feed>` folder belongs to, or None for any other folder."""
        site = Path(site).absolute()
        if site.parent.name == "site" and site.parent.parent.name == "build":
            return cls(site.parents[2])
        return None

    def overlaps_sources(self, directory: Path) -> str | None:
        """Why publishing into `directory` would write into the show's sources, or None.

        Refused: the show folder itself or any folder above it, anything inside episodes/,
        feeds/ or templates/, and the built site (or a folder inside or above it).
        """
        d, root = Path(directory).resolve(), self.root.resolve()
        if d == root or d in root.parents:
            return f"{d} is the show folder or holds it: publishing would write into the sources"
        for name in ("episodes", "feeds", "templates"):
            src = root / name
            if d == src or src in d.parents:
                return f"{d} is inside the show's {name}/ folder: publishing would write into the sources"
        site = (root / "build" / "site").resolve()
        if d == site or site in d.parents or d in site.parents:
            return f"{d} overlaps the built site (build/site/): publish to another folder"
        return None


#: Hex digits of the SHA-256 in a content-addressed name (48 bits: no collision in a show).
MEDIA_HASH_CHARS = 12


def media_name(slug: str, sha256: str, ext: str) -> str:
    """A content-addressed file name: the URL changes when the bytes do, so caches can be immutable."""
    return f"{slug}-{sha256[:MEDIA_HASH_CHARS]}.{ext.lstrip('.')}"


def is_media_name(name: str, stem: str) -> bool:
    """True when `name` is one `media_name(stem, ...)` gave (any hash, any extension)."""
    base, _, ext = name.rpartition(".")
    digest = base.removeprefix(f"{stem}-")
    return bool(ext) and base != digest and len(digest) == MEDIA_HASH_CHARS \
        and all(c in "0123456789abcdef" for c in digest)


def site_key(site: Path, path: Path) -> str:
    """The POSIX key of a file inside a site folder ('episodes/x/x-abc.mp3')."""
    return PurePosixPath(*Path(path).relative_to(site).parts).as_posix()


#: What quote(key, safe="/-._~") returns unchanged: ASCII letters, digits and those marks.
UNRESERVED = re.compile(r"[A-Za-z0-9/\-._~]*")


def url_for(base_url: str, key: str) -> str:
    """The public URL of a site key under the show's base URL (percent-encoded, ASCII only)."""
    # Keys are nearly always of the characters quote() leaves alone: one match says so
    # faster than quote() finds it out (`validate` makes a URL of every file of a site).
    return base_url.rstrip("/") + "/" + (key if UNRESERVED.fullmatch(key)
                                         else quote(key, safe="/-._~"))

