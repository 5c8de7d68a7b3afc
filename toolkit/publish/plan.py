"""Publishing, the pure part: what the site holds, what the target holds, what to do.

No network and no boto3 here. `scan_site` hashes the built site (SHA-256 and the ETag
S3 will report for the part size in use), `feed_references` reads the feed about to go
up, and `decide` compares both sides into a `Plan` whose entries say upload, skip,
delete or keep, each with its reason. The order of the plan is the publishing order:
media, transcripts, chapters, art, pages, and the feed last.
"""
from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum, IntEnum
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from toolkit.errors import FeedError, NotBuiltError, PublishError
from toolkit.publish import hashes
from toolkit.publish.hashes import MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE, HashCache, MiB  # noqa: F401
from toolkit.standards import contenttypes, prefix
from toolkit.standards.contenttypes import ITUNES_NS, PODCAST_NS
from toolkit.store.layout import site_key


@dataclass(frozen=True)
class TransferSettings:
    """How files travel: multipart sizes, concurrency, retries. The ETags we predict depend on it."""

    part_size: int = 8 * MiB            # multipart chunk size (s3transfer default)
    multipart_threshold: int = 8 * MiB  # files this size or larger go up in parts
    concurrency: int = 4                # requests in flight (parts and files together)
    max_attempts: int = 6               # per request, first try included (botocore retries)
    retry_mode: str = "standard"        # botocore: standard or adaptive (client-side rate limit)
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    #: An unfinished multipart upload under the prefix for a key this publish does not write
    #: is aborted only when at least this old (seconds, by the server's clock): a younger one
    #: may belong to another feed publishing into the same prefix right now.
    stale_upload_age: float = 3600.0


class Phase(IntEnum):
    """Publishing order: what a feed points at goes up before the feed."""

    MEDIA = 0
    TRANSCRIPTS = 1
    CHAPTERS = 2
    ART = 3
    PAGES = 4
    FEED = 5


class Action(str, Enum):
    """What the plan does with one key."""

    UPLOAD = "upload"
    SKIP = "skip"
    DELETE = "delete"
    KEEP = "keep"       # at the target, not in the build, and not deleted


@dataclass(frozen=True)
class LocalFile:
    """One file of the built site, hashed."""

    key: str            # relative to the site folder, POSIX ('episodes/x/x-abc.mp3')
    path: Path
    size: int
    sha256: str
    etag: str           # what S3 reports after our upload: MD5, or MD5-of-part-MD5s-N ('' for folders)
    phase: Phase
    part_md5s: tuple[str, ...] = ()   # hex MD5 of each upload part (one for a single PUT)

    def content_md5(self, part_number: int = 1) -> str | None:
        """The Content-MD5 header (base64) of one upload part, 1-based (None if unknown)."""
        if not 1 <= part_number <= len(self.part_md5s):
            return None
        return base64.b64encode(bytes.fromhex(self.part_md5s[part_number - 1])).decode("ascii")


@dataclass(frozen=True)
class RemoteObject:
    """One object at the target, as a listing shows it (key relative to the prefix)."""

    key: str
    size: int
    etag: str | None = None   # without quotes; None where the target has no ETags (local folder)


@dataclass(frozen=True)
class RemoteHead:
    """What a HEAD request tells about one object."""

    size: int
    etag: str | None
    sha256: str | None      # x-amz-meta-sha256, when podkit uploaded it (S3 only)
    marker: str | None      # x-amz-meta-podkit
    opaque_etag: bool = False   # the ETag is not an MD5 of the bytes (SSE-KMS, SSE-C)


@dataclass(frozen=True)
class PlanEntry:
    """One line of the plan."""

    action: Action
    key: str
    reason: str
    size: int = 0
    local: LocalFile | None = None

    @property
    def phase(self) -> Phase | None:
        return self.local.phase if self.local else None


@dataclass(frozen=True)
class Plan:
    """Everything publish would do, in order; `publish(dry_run=True)` returns it untouched."""

    target: str                     # 's3://bucket/prefix/' or a folder
    feed_key: str
    entries: tuple[PlanEntry, ...]

    def of(self, action: Action) -> list[PlanEntry]:
        """The entries with one action, in plan order."""
        return [e for e in self.entries if e.action is action]

    @property
    def upload_bytes(self) -> int:
        return sum(e.size for e in self.of(Action.UPLOAD))

    def lines(self) -> list[str]:
        """The plan as text, one entry per line, then a total (for `podkit publish --dry-run`)."""
        out = [f"{e.action.value:<7} {e.key}  ({human_bytes(e.size)}): {e.reason}" for e in self.entries]
        counts = {a: len(self.of(a)) for a in Action}
        out.append(f"plan for {self.target}: {counts[Action.UPLOAD]} to upload "
                   f"({human_bytes(self.upload_bytes)}), {counts[Action.SKIP]} unchanged, "
                   f"{counts[Action.DELETE]} to delete, {counts[Action.KEEP]} kept")
        return out


@dataclass(frozen=True)
class FeedReference:
    """A URL in the feed that must resolve once the feed is public."""

    url: str
    key: str | None         # site key when the URL lies under the show's base URL
    length: int | None      # the enclosure length the feed states (enclosures only)
    what: str               # 'enclosure', 'transcript', 'chapters', 'image'


def human_bytes(n: int) -> str:
    """1536 -> '1.5 KiB'."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def part_size_for(size: int, settings: TransferSettings) -> int:
    """The part size s3transfer really uses for a file: doubled until it needs ≤ 10,000 parts."""
    return hashes.part_size_for(size, settings.part_size)


def hash_file(path: Path, size: int, settings: TransferSettings, etag: bool = True) -> tuple[str, str]:
    """SHA-256 and the S3 ETag of a file, in one read ('' for the ETag when not asked for)."""
    h = hashes.hash_parts(path, size, hashes.plan_part_size(
        size, settings.part_size, settings.multipart_threshold, etag))
    return h.sha256, h.etag


def phase_of(key: str, feed_key: str) -> Phase:
    """Which publishing phase a site key belongs to."""
    suffix = PurePosixPath(key).suffix.lower()
    if key == feed_key:
        return Phase.FEED
    if suffix in contenttypes.MEDIA_EXTENSIONS:
        return Phase.MEDIA
    if contenttypes.is_chapters(key):
        return Phase.CHAPTERS
    if contenttypes.is_transcript(key):
        return Phase.TRANSCRIPTS
    if suffix in contenttypes.IMAGE_EXTENSIONS:
        return Phase.ART
    return Phase.PAGES


def walk(root: Path) -> list[Path]:
    """The regular files under root, sorted; hidden names and symlinks skipped.

    Hidden names are the half-written temp files of an atomic write (`fsutil.atomic_path`)
    and podkit's own bookkeeping, never outputs.
    """
    found = []
    for path in Path(root).rglob("*"):
        rel = path.relative_to(root)
        if any(p.startswith(".") for p in rel.parts) or path.is_symlink() or not path.is_file():
            continue
        found.append(path)
    return sorted(found)


def scan_site(site: Path, feed_key: str, settings: TransferSettings, *,
              etags: bool = True, cache: HashCache | None = None) -> list[LocalFile]:
    """Every file of the built site, hashed, in publishing order (etags=False: SHA-256 only).

    With a `cache`, files unchanged since an earlier publish (size, mtime_ns, inode) are
    not read again.
    """
    site = Path(site)
    if not (site / feed_key).is_file():
        raise NotBuiltError("no feed to publish: run `podkit feed` first", path=site / feed_key)
    cache = cache or HashCache(None)

    def scan(path: Path) -> LocalFile:
        key, size = site_key(site, path), path.stat().st_size
        part = hashes.plan_part_size(size, settings.part_size,
                                             settings.multipart_threshold, etags)
        h = cache.hashes(key, path, part)
        return LocalFile(key, path, size, h.sha256, h.etag, phase_of(key, feed_key), h.part_md5s)

    # hashlib and file reads release the GIL: hash several files at once.
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        files = list(pool.map(scan, walk(site)))
    return sorted(files, key=lambda f: (f.phase, f.key))


def key_for_url(url: str, base_url: str) -> str | None:
    """The site key a public URL points at, or None when the URL lies outside the base URL."""
    base = base_url if base_url.endswith("/") else base_url + "/"
    if not url.startswith(base):
        return None
    return unquote(url[len(base):].split("#")[0].split("?")[0]) or None


def feed_references(feed: Path, base_url: str,
                    enclosure_prefix: str | None = None) -> list[FeedReference]:
    """The URLs the feed points at: enclosures (with their lengths), transcripts, chapters, images.

    With `enclosure_prefix` (the show's analytics prefix) an enclosure's key is that of the
    file the prefix service redirects to; without it such an enclosure would lie outside
    the base URL and go unchecked.
    """
    try:
        root = ElementTree.parse(feed).getroot()
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise FeedError(f"the feed is not well-formed XML ({exc})", path=feed) from exc
    found = [("enclosure", e.get("url"), e.get("length")) for e in root.iter("enclosure")]
    found += [("transcript", e.get("url"), None) for e in root.iter(f"{{{PODCAST_NS}}}transcript")]
    found += [("chapters", e.get("url"), None) for e in root.iter(f"{{{PODCAST_NS}}}chapters")]
    found += [("image", e.get("href"), None) for e in root.iter(f"{{{ITUNES_NS}}}image")]
    refs = []
    for what, url, length in found:
        if not url:
            raise FeedError(f"a {what} element has no URL", path=feed, field=what)
        try:
            size = int(length) if length is not None else None
        except ValueError:
            raise FeedError(f"enclosure length {length!r} is not a number", path=feed,
                            field=f"enclosure {url}") from None
        own_url = prefix.strip(enclosure_prefix, url) if what == "enclosure" else url
        refs.append(FeedReference(url, key_for_url(own_url, base_url), size, what))
    # One check per URL, in a stable order.
    return sorted({r.url: r for r in refs}.values(), key=lambda r: r.url)


def check_references(feed: Path, refs: Iterable[FeedReference], files: Mapping[str, LocalFile]) -> None:
    """Fail before uploading anything when the feed points at a file the site lacks or misstates."""
    for ref in refs:
        if ref.key is None:
            continue
        local = files.get(ref.key)
        if local is None:
            raise PublishError(f"the feed points at {ref.url} but the site has no {ref.key}",
                               path=feed, field=ref.what)
        if ref.length is not None and ref.length != local.size:
            raise PublishError(f"enclosure length {ref.length} but {ref.key} has {local.size} bytes: "
                               "rebuild the feed", path=feed, field=f"enclosure {ref.url}")


def decide(files: Iterable[LocalFile], remote: Mapping[str, RemoteObject], *, feed_key: str,
           content_sha256: Callable[[list[str]], Mapping[str, str | None]],
           published_by_podkit: Callable[[list[str]], set[str]], delete: bool) -> list[PlanEntry]:
    """Compare the site with the target's listing into plan entries (publishing order).

    Only what the target computed from the bytes it holds can skip a file: the size, then
    the ETag in the listing (S3 computes it; podkit predicts it for the same part size).
    A differing ETag means an upload, whatever metadata the object carries: metadata is
    what podkit wrote, not what the server received, so it cannot vouch for the bytes.
    Where the listing has no ETag (a folder), `content_sha256` (asked once for all such
    keys) must hash the target's bytes. With `delete`, a key the build no longer has is
    deleted only when `published_by_podkit` (this feed's manifest, minus what any other
    feed's manifest lists) vouches for it.
    """
    files = list(files)
    entries: dict[str, PlanEntry] = {}
    unsure = []
    for f in files:
        r = remote.get(f.key)
        if r is None:
            entries[f.key] = PlanEntry(Action.UPLOAD, f.key, "new", f.size, f)
        elif r.size != f.size:
            entries[f.key] = PlanEntry(Action.UPLOAD, f.key, f"size differs (target {r.size} B, "
                                       f"site {f.size} B)", f.size, f)
        elif r.etag is None:
            unsure.append(f)
        elif r.etag == f.etag:
            entries[f.key] = PlanEntry(Action.SKIP, f.key, "same size and ETag", f.size, f)
        else:
            entries[f.key] = PlanEntry(Action.UPLOAD, f.key, f"content changed (same size, ETag "
                                       f"differs: target {r.etag}, site {f.etag})", f.size, f)
    hashed = content_sha256([f.key for f in unsure]) if unsure else {}
    for f in unsure:
        sha = hashed.get(f.key)
        if sha == f.sha256:
            entries[f.key] = PlanEntry(Action.SKIP, f.key, "same size and SHA-256", f.size, f)
        elif sha is None:
            entries[f.key] = PlanEntry(Action.UPLOAD, f.key, "same size, no ETag to compare",
                                       f.size, f)
        else:
            entries[f.key] = PlanEntry(Action.UPLOAD, f.key, "content changed (same size, "
                                       "SHA-256 differs)", f.size, f)
    ordered = [entries[f.key] for f in files]
    gone = sorted(set(remote) - {f.key for f in files})
    ours = published_by_podkit(gone) if delete and gone else set()
    for key in gone:
        size = remote[key].size
        if not delete:
            ordered.append(PlanEntry(Action.KEEP, key, "not in the build (--delete not given)", size))
        elif key in ours:
            ordered.append(PlanEntry(Action.DELETE, key, "published by podkit, no longer built", size))
        else:
            ordered.append(PlanEntry(Action.KEEP, key, "not in this feed's publish manifest",
                                     size))
    return ordered
