"""Publish a built site to S3-compatible storage or a local folder: incremental, verified, feed last.

    report = publish.publish(layout.site(show.id), show.publish, base_url=show.base_url,
                             feed_url=show.feed_url, delete=False, dry_run=False,
                             progress=callback)
    for line in report.summary_lines(): print(line)      # or report.plan.lines() for --dry-run

The steps, in order:
1. hash the site (SHA-256, the ETag S3 will report and the part MD5s; files unchanged since
   the last publish come from the hash cache) and read the feed about to go up; stop before
   any network call if the feed points at a file the site lacks or misstates;
2. list the target and decide per file: upload (new, changed) or skip (same size and the
   ETag the server computed); with `delete`, keys this feed's manifest lists (and no other
   feed's does) that it no longer builds are deleted (the plan; `dry_run` stops here);
   a site key that another feed's manifest at the target lists stops the publish
   (toolkit.publish.manifest);
3. abort unfinished multipart uploads a killed publish left, then upload media, then
   transcripts, chapters, art and pages, each phase finished before the next starts; every
   body carries Content-MD5, so the service refuses one damaged on the way;
4. HEAD every object this run uploaded: present, its size, and the ETag the server computed
   equal to the one predicted from the file;
5. upload the feed, then delete what the plan deletes (the old feed may still point at it
   until the new one is up), then record the keys in this feed's manifest.
Any failure before step 5 leaves the published feed as it was: it never references a
missing, wrong-size or damaged object, and the next publish finishes the job. A publish
with nothing to do sends only the listing requests (one per 1,000 objects).
"""
from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from toolkit.errors import PublishError
from toolkit.model import PublishTarget, TargetKind
from toolkit.publish.hashes import HashCache
from toolkit.publish.manifest import Ledger, id_for
from toolkit.publish.notify import Notice
from toolkit.publish.plan import (
    Action,
    FeedReference,
    LocalFile,
    Phase,
    Plan,
    RemoteHead,
    RemoteObject,
    TransferSettings,
    check_references,
    decide,
    feed_references,
    human_bytes,
    scan_site,
)
from toolkit.store.layout import FEED_FILE, Layout, url_for

__all__ = ["Action", "Phase", "Plan", "Progress", "PublishError", "PublishFailed", "Report",
           "TransferSettings", "make_plan", "publish"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Progress:
    """A snapshot for a progress bar. Called from transfer threads, one call at a time."""

    bytes_done: int
    bytes_total: int
    files_done: int
    files_total: int
    key: str                # the file that just advanced
    elapsed: float          # seconds since uploading started (rate = bytes_done / elapsed)


ProgressCallback = Callable[[Progress], None]


class PublishFailed(PublishError):
    """A publish failed after files reached the target: `uploaded` names them, and
    `feed_published` says whether the new feed is among them (callers must not claim
    that nothing was published)."""

    def __init__(self, exc: PublishError, message: str, uploaded: list[str],
                 feed_published: bool) -> None:
        super().__init__(message, path=exc.path, field=exc.field)
        self.uploaded = tuple(uploaded)
        self.feed_published = feed_published


@dataclass(frozen=True)
class Report:
    """What a publish did (or, with dry_run, would do)."""

    plan: Plan
    feed_url: str
    dry_run: bool = False
    uploaded: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    bytes_uploaded: int = 0
    seconds: float = 0.0
    requests: tuple[tuple[str, int], ...] = ()  # HTTP requests sent, by S3 operation (retries too)
    bytes_hashed: int = 0                       # site bytes read to hash (the cache spares the rest)
    notices: tuple[Notice, ...] = ()            # what WebSub and podping answered (toolkit.publish.notify)

    @property
    def skipped(self) -> tuple[str, ...]:
        return tuple(e.key for e in self.plan.of(Action.SKIP))

    @property
    def feed_uploaded(self) -> bool:
        return self.plan.feed_key in self.uploaded

    def summary_lines(self) -> list[str]:
        """The end-of-run summary (a dry run lists its plan instead)."""
        if self.dry_run:
            return self.plan.lines()
        return [f"published to {self.plan.target}: {len(self.uploaded)} uploaded "
                f"({human_bytes(self.bytes_uploaded)}), {len(self.skipped)} unchanged, "
                f"{len(self.deleted)} deleted in {self.seconds:.1f} s",
                f"feed: {self.feed_url}" + ("" if self.feed_uploaded else " (unchanged)")]


class Target(Protocol):
    """What publish needs from a destination (`publish.s3.S3Target`, `publish.local.LocalTarget`)."""

    requests: Counter[str]
    def describe(self, key: str = "") -> str: ...
    def list(self) -> dict[str, RemoteObject]: ...
    def head(self, keys: list[str]) -> dict[str, RemoteHead | None]: ...
    def content_sha256(self, keys: list[str]) -> dict[str, str | None]: ...
    def manifests(self) -> set[str]: ...
    def read(self, key: str, limit: int) -> bytes | None: ...
    def write(self, key: str, data: bytes) -> None: ...
    def abort_stale_uploads(self, ours: set[str]) -> int: ...
    def upload(self, files: list[LocalFile], on_bytes: Callable[[str, int], None],
               on_done: Callable[[LocalFile], None]) -> None: ...
    def delete(self, keys: list[str], on_done: Callable[[str], None]) -> None: ...
    def close(self, cancel: bool = False) -> None: ...


def open_target(target: PublishTarget, feed_key: str, settings: TransferSettings, site: Path) -> Target:
    """The destination for a publish target (boto3 is imported only for S3)."""
    if target.kind is TargetKind.S3:
        from toolkit.publish.s3 import S3Target
        return S3Target(target, feed_key, settings)
    from toolkit.publish.local import LocalTarget
    return LocalTarget(target, feed_key, settings, site)


def _plan(dest: Target, files: list[LocalFile], feed_key: str, feed_id: str,
          delete: bool) -> tuple[Plan, Ledger]:
    remote = dest.list()
    ledger = Ledger(dest, feed_id)      # after the listing, which found the manifests
    entries = decide(files, remote, feed_key=feed_key, content_sha256=dest.content_sha256,
                     published_by_podkit=ledger.deletable, delete=delete)
    plan = Plan(dest.describe(), feed_key, tuple(entries))
    if plan.of(Action.UPLOAD) or plan.of(Action.DELETE) or not ledger.exists:
        # Before anything is written (the first manifest included): another feed's files
        # here are never overwritten or claimed.
        ledger.check_collisions(f.key for f in files)
    return plan, ledger


def default_hash_cache(site: Path) -> Path | None:
    """Where a site's hashes are kept between publishes: `build/cache/publish/<feed>.json`
    when the site is a show's `build/site/<feed>/`, else nowhere (hash every time)."""
    layout = Layout.of_site(Path(site))
    return layout.publish_hashes(Path(site).name) if layout else None


def _prepare(site: Path, target: PublishTarget, base_url: str, feed_key: str,
             settings: TransferSettings, hash_cache: Path | None,
             enclosure_prefix: str | None = None
             ) -> tuple[list[LocalFile], list[FeedReference], int]:
    """Hash the site and check the feed against it: fails before any network call."""
    cache = HashCache(hash_cache)
    # A folder has no ETags: skip the MD5s there.
    files = scan_site(site, feed_key, settings, etags=target.kind is TargetKind.S3, cache=cache)
    cache.save()  # valid whatever happens next
    log.info("hashed %d of %d files (%d bytes read); the rest unchanged since the last publish",
             cache.misses, len(files), cache.bytes_read)
    refs = feed_references(site / feed_key, base_url, enclosure_prefix)
    check_references(site / feed_key, refs, {f.key: f for f in files})
    return files, refs, cache.bytes_read


def make_plan(site: Path, target: PublishTarget, *, base_url: str, feed_key: str = FEED_FILE,
              delete: bool = False, settings: TransferSettings | None = None,
              hash_cache: Path | None | bool = True, enclosure_prefix: str | None = None,
              feed_id: str | None = None) -> Plan:
    """What `publish` would upload, skip and delete, and why; changes nothing.

    `hash_cache`, `enclosure_prefix`, `feed_id`: as for `publish`.
    """
    settings = settings or TransferSettings()
    cache = default_hash_cache(site) if hash_cache is True else hash_cache or None
    files, _, _ = _prepare(Path(site), target, base_url, feed_key, settings, cache,
                           enclosure_prefix)
    dest = open_target(target, feed_key, settings, Path(site))
    try:
        return _plan(dest, files, feed_key, feed_id or id_for(Path(site).name), delete)[0]
    finally:
        dest.close()


class _Tracker:
    """Adds up progress from transfer threads and hands snapshots to the caller."""

    def __init__(self, plan: Plan, callback: ProgressCallback | None) -> None:
        uploads = plan.of(Action.UPLOAD)
        self.total, self.files_total = sum(e.size for e in uploads), len(uploads)
        self.done = self.files_done = 0
        self.uploaded: list[LocalFile] = []
        self.callback, self.lock, self.start = callback, threading.Lock(), time.monotonic()

    @property
    def keys(self) -> list[str]:
        """The keys uploaded so far, in the order they finished."""
        return [f.key for f in self.uploaded]

    @property
    def feed_uploaded(self) -> bool:
        """Whether the new feed is among them."""
        return any(f.phase is Phase.FEED for f in self.uploaded)

    def on_bytes(self, key: str, n: int) -> None:
        with self.lock:
            self.done += n  # negative when a retried request rewinds its body
            self._emit(key)

    def on_done(self, f: LocalFile) -> None:
        with self.lock:
            self.files_done += 1
            self.uploaded.append(f)
            self._emit(f.key)

    def _emit(self, key: str) -> None:
        if self.callback:
            self.callback(Progress(max(self.done, 0), self.total, self.files_done, self.files_total,
                                   key, time.monotonic() - self.start))


def _verify(dest: Target, uploaded: list[LocalFile]) -> None:
    """HEAD what this run uploaded: present, its size, and the server's ETag the predicted one.

    Content-MD5 made the service check each body; this checks the whole object as stored
    (a multipart ETag covers every part), with the server's own digest rather than metadata.
    What was skipped needs no HEAD: the listing this run made showed its size and ETag.
    """
    heads = dest.head([f.key for f in uploaded])
    opaque = 0
    for f in uploaded:
        h = heads[f.key]
        if h is None:
            raise PublishError("missing at the target after upload", path=dest.describe(f.key))
        if h.size != f.size:
            raise PublishError(f"the target holds {h.size} bytes but the built file has {f.size}",
                               path=dest.describe(f.key))
        if h.opaque_etag:
            opaque += 1  # SSE-KMS / SSE-C: the ETag is no MD5; Content-MD5 checked the bytes
        elif h.etag is not None and f.etag and h.etag != f.etag:
            raise PublishError(f"the target's ETag {h.etag} is not the built file's {f.etag}: "
                               "the object differs from the file", path=dest.describe(f.key))
    if opaque:
        log.warning("%d object(s) are encrypted with SSE-KMS or SSE-C: their ETags are not MD5s, "
                    "so later publishes cannot recognise them as unchanged", opaque)
    log.info("verified %d uploaded objects", len(uploaded))


def _record_partial(ledger: Ledger, published: list[str], deleted: list[str] | None = None) -> None:
    """After a failure: record what did reach the target, so a later --delete can remove
    it; a failure to record is logged, the first error is the one worth reporting."""
    if not published and not deleted:
        return
    try:
        ledger.save(published, deleted or ())
    except PublishError as exc:
        log.warning("%s", exc)


def _uploaded_note(uploaded: list[LocalFile]) -> str:
    """What reached the target before a failure (the release summary says so too)."""
    if not uploaded:
        return " (nothing was uploaded)"
    return (f" ({len(uploaded)} file(s), {human_bytes(sum(f.size for f in uploaded))}, "
            "were uploaded but are not in the feed yet: the next publish skips them)")


def publish(site: Path, target: PublishTarget, *, base_url: str, feed_url: str | None = None,
            feed_key: str = FEED_FILE, delete: bool = False, dry_run: bool = False,
            settings: TransferSettings | None = None,
            progress: ProgressCallback | None = None,
            hash_cache: Path | None | bool = True, enclosure_prefix: str | None = None,
            feed_id: str | None = None) -> Report:
    """Publish the site folder to the target; see the module docstring for the order and checks.

    `base_url` is the public URL the site is served under (the show's `base_url`): it maps
    the feed's enclosure URLs to keys. Raises PublishError (one line naming the target and
    key) on failure; the published feed is then unchanged unless the message says otherwise.
    `hash_cache`: the file that keeps the site's hashes between publishes (True: the
    default place, `default_hash_cache`; None or False: hash every file).
    `enclosure_prefix`: the show's analytics prefix, stripped from enclosure URLs to find
    their files (toolkit.standards.prefix).
    `feed_id`: whose manifest at the target records what this publish put there (default:
    the site folder's name, which is the feed id for `build/site/<feed>`).
    """
    settings = settings or TransferSettings()
    site = Path(site)
    feed_url = feed_url or url_for(base_url, feed_key)
    cache = default_hash_cache(site) if hash_cache is True else hash_cache or None
    files, _, bytes_hashed = _prepare(site, target, base_url, feed_key, settings, cache,
                                      enclosure_prefix)
    dest = open_target(target, feed_key, settings, site)
    cancel = True  # until the end is reached: a Ctrl-C or crash cancels transfers in flight
    try:
        plan, ledger = _plan(dest, files, feed_key, feed_id or id_for(site.name), delete)
        if dry_run:
            cancel = False
            return Report(plan, feed_url, dry_run=True, requests=tuple(sorted(dest.requests.items())),
                          bytes_hashed=bytes_hashed)
        tracker = _Tracker(plan, progress)
        uploads = [e.local for e in plan.of(Action.UPLOAD) if e.local]
        _upload(dest, files, uploads, tracker, ledger)
        deleted = _delete(dest, plan, files, tracker, ledger)
        if uploads or deleted or not ledger.exists:
            _record(ledger, files, deleted, tracker)
        report = Report(plan, feed_url, uploaded=tuple(tracker.keys), deleted=tuple(deleted),
                        bytes_uploaded=sum(f.size for f in tracker.uploaded),
                        seconds=time.monotonic() - tracker.start,
                        requests=tuple(sorted(dest.requests.items())), bytes_hashed=bytes_hashed)
        for line in report.summary_lines():
            log.info("%s", line)
        cancel = False
        return report
    finally:
        dest.close(cancel=cancel)


def _upload(dest: Target, files: list[LocalFile], uploads: list[LocalFile], tracker: _Tracker,
            ledger: Ledger) -> None:
    """Steps 3 and 4: leftovers aborted, then the uploads phase by phase, what the new feed
    points at verified before it goes up. A failure records what did go up and raises
    PublishFailed saying the published feed was not changed."""
    try:
        # Only when something goes up: a publish with nothing to do lists and stops.
        if uploads and (n := dest.abort_stale_uploads({f.key for f in files})):
            log.info("cleaned up %d leftover(s) of an interrupted publish (unfinished "
                     "uploads, temp files)", n)
        for phase in Phase:
            batch = [f for f in uploads if f.phase is phase]
            if phase is Phase.FEED:
                # Everything the new feed points at must be in place before it goes up.
                _verify(dest, [f for f in tracker.uploaded if f.phase is not Phase.FEED])
            if batch:
                log.info("uploading %s: %d file(s)", phase.name.lower(), len(batch))
                dest.upload(batch, tracker.on_bytes, tracker.on_done)
    except PublishError as exc:
        done = tracker.keys
        _record_partial(ledger, done)
        raise PublishFailed(exc, f"{exc.message}; the published feed was not changed"
                            + _uploaded_note(tracker.uploaded), done, False) from None


def _delete(dest: Target, plan: Plan, files: list[LocalFile], tracker: _Tracker,
            ledger: Ledger) -> list[str]:
    """Step 5's deletions (after the new feed is up); the keys deleted."""
    deleted: list[str] = []
    try:
        dest.delete([e.key for e in plan.of(Action.DELETE)], deleted.append)
    except PublishError as exc:
        _record_partial(ledger, [f.key for f in files], deleted)
        raise PublishFailed(exc, f"{exc.message}; the new feed is published, run publish "
                            "--delete again to finish deleting", tracker.keys,
                            tracker.feed_uploaded) from None
    return deleted


def _record(ledger: Ledger, files: list[LocalFile], deleted: list[str],
            tracker: _Tracker) -> None:
    """Step 5's last act: the keys this publish put there, in this feed's manifest."""
    try:
        ledger.save([f.key for f in files], deleted)
    except PublishError as exc:
        raise PublishFailed(exc, f"{exc.message}; the new feed is published, but what "
                            "it published is not recorded: publish again", tracker.keys,
                            tracker.feed_uploaded) from None
