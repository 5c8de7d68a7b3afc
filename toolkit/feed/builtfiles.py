"""Our own feed against the files we built: sizes, durations, artwork, chapters, transcripts.

Another producer's feed can only be checked as text (`feed/rules.py`, `feed/itemrules.py`); for the
feed `podkit feed` wrote we also hold every published file, so the numbers in the
feed are compared with the bytes they describe. Audio durations come from
`toolkit.ffmpeg.probe` (the one ffmpeg chokepoint); artwork is read with Pillow.
"""
from __future__ import annotations

import errno
import json
import logging
import os
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from toolkit import model
from toolkit.errors import MediaError
from toolkit.fsutil import public_files
from toolkit.feed.findings import Report
from toolkit.feed.rules import ITUNES, TAG_RE, Item, ParsedFeed, text
from toolkit.standards import artwork, prefix
from toolkit.store.layout import url_for

log = logging.getLogger(__name__)

#: How far itunes:duration may be from the audio (it is rounded to whole seconds).
DURATION_TOLERANCE_S = 1.0
#: Transcripts and chapters bigger than this are not read (a sign of a wrong file).
MAX_SIDECAR_BYTES = 16 * 1024 * 1024


class SiteFiles(Mapping[str, Path]):
    """A built site's files by the URL each is published at (a read-only mapping to paths).

    The checks below ask `local(url)` for a path string: a 2,000-episode site has some
    18,000 files, and a pathlib object for each costs more than the stat it is made for.
    """

    def __init__(self, site: Path, keys: dict[str, str]) -> None:
        self._site, self._keys = str(site), keys       # URL -> site key

    def local(self, url: str) -> str | None:
        """The file published at `url`, as a path string (None: none is)."""
        key = self._keys.get(url)
        return None if key is None else f"{self._site}/{key}"

    def __getitem__(self, url: str) -> Path:
        path = self.local(url)
        if path is None:
            raise KeyError(url)
        return Path(path)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


@dataclass(frozen=True)
class OwnFeedContext:
    """What we know about a feed we built ourselves, to check it against the built files."""

    feed_url: str                                            # canonical URL (atom:link rel=self)
    files: Mapping[str, Path] = field(default_factory=dict)  # published URL -> local file
    podcast_guid: str | None = None   # the show's pinned podcast:guid; None: UUIDv5 of feed_url
    probe_audio: bool = True          # compare itunes:duration with the audio (runs ffmpeg)
    durations: Mapping[str, float] = field(default_factory=dict)  # URL -> seconds the build measured
    enclosure_prefix: str | None = None   # the show's analytics prefix, stripped from enclosures

    @property
    def expected_guid(self) -> str:
        """The podcast:guid our feed must carry."""
        return self.podcast_guid or model.podcast_guid(self.feed_url)


def own_context(site: Path, base_url: str, feed_url: str, *, podcast_guid: str | None = None,
                probe_audio: bool = True, durations: Mapping[str, float] | None = None,
                enclosure_prefix: str | None = None) -> OwnFeedContext:
    """An OwnFeedContext for a built site folder: each file under the URL it is published at.

    With `durations` (the build records' measurements by URL) an enclosure's duration is
    checked against them and ffmpeg is not started for it. With `enclosure_prefix` (the
    show's analytics prefix) enclosures are matched to files through it.
    """
    # Dotfiles are half-written temp files (fsutil.atomic_path), never published.
    files = SiteFiles(site, {url_for(base_url, key): key for key in public_files(site)})
    return OwnFeedContext(feed_url=feed_url, files=files, podcast_guid=podcast_guid,
                          probe_audio=probe_audio, durations=dict(durations or {}),
                          enclosure_prefix=enclosure_prefix)


def check_own(feed: ParsedFeed, own: OwnFeedContext, report: Report) -> None:
    """Compare the feed with the files it was built from (see the module docstring)."""
    guid = text(feed.channel.find(feed.p20 + "guid"))
    if guid and guid != own.expected_guid:
        report.error("p20.guid", "channel", "podcast:guid",
                     f"{guid} is not this show's guid {own.expected_guid} "
                     f"(UUIDv5 of {own.feed_url} unless pinned in the feed's TOML)")
    image = feed.channel.find(ITUNES + "image")
    if image is not None and image.get("href"):
        found = _local(own, report, "channel", "itunes:image@href", image.get("href", ""))
        if found is not None:
            check_artwork(Path(found[0]), report, "channel", "itunes:image")
    for it in feed.items:
        enc = it.el.find("enclosure")
        if enc is not None and enc.get("url"):
            # The analytics service redirects to the file: the file is what must match.
            url = prefix.strip(own.enclosure_prefix, enc.get("url", ""))
            found = _local(own, report, it.id, "enclosure@url", url)
            if found is not None:
                _check_enclosure(found, url, enc.get("length", ""),
                                 enc.get("type", ""), it.duration, own, report, it.id)
        _check_alternates(feed, own, report, it)
        art = it.el.find(ITUNES + "image")
        if art is not None and art.get("href"):
            found = _local(own, report, it.id, "itunes:image@href", art.get("href", ""))
            if found is not None:
                check_artwork(Path(found[0]), report, it.id, "itunes:image")
        for t in it.el.findall(feed.p20 + "transcript"):
            found = _local(own, report, it.id, "podcast:transcript@url", t.get("url", ""))
            if found is not None:
                check_transcript(found[0], t.get("type", ""), report, it.id,
                                 size=found[1].st_size)
        for ch in it.el.findall(feed.p20 + "chapters"):
            found = _local(own, report, it.id, "podcast:chapters@url", ch.get("url", ""))
            if found is not None:
                check_chapters(found[0], report, it.id, it.duration, size=found[1].st_size)


def _check_alternates(feed: ParsedFeed, own: OwnFeedContext, report: Report, it: Item) -> None:
    """Each alternate enclosure's source is a file we built (under the show's base URL,
    through the analytics prefix like the enclosure) and its length is that file's size.
    Only the size is read: no audio is opened."""
    for n, alt in enumerate(it.el.findall(feed.p20 + "alternateEnclosure")):
        field = f"podcast:alternateEnclosure[{n}]"
        for src in alt.findall(feed.p20 + "source"):
            uri = prefix.strip(own.enclosure_prefix, (src.get("uri") or "").strip())
            if not uri:
                continue        # itemrules reports the missing uri
            found = _local(own, report, it.id, f"{field}/podcast:source@uri", uri)
            length = (alt.get("length") or "").strip()
            if found is not None and length.isdigit() and int(length) != found[1].st_size:
                report.error("p20.alternateEnclosure.length", it.id, f"{field}@length",
                             f"{length} bytes, but {os.path.basename(found[0])} has "
                             f"{found[1].st_size}")


#: A file the feed names, found: its path (a string: see SiteFiles) and its stat.
_Found = tuple[str, os.stat_result]


def _stat(path: str) -> os.stat_result | None:
    """The file's stat; None where Path.is_file() says False (missing, a loop...)."""
    try:
        return os.stat(path)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP):
            return None
        raise
    except ValueError:          # an embedded NUL
        return None


def _local(own: OwnFeedContext, report: Report, item: str, field: str, url: str) -> _Found | None:
    files = own.files
    if isinstance(files, SiteFiles):
        path = files.local(url)
    else:
        given = files.get(url)
        path = None if given is None else os.fspath(given)
    st = None if path is None else _stat(path)
    if path is None or st is None or not stat.S_ISREG(st.st_mode):
        report.error("own.file", item, field, f"{url} is not a file this build published")
        return None
    return path, st


def _check_enclosure(found: _Found, url: str, length: str, mime: str, duration: float | None,
                     own: OwnFeedContext, report: Report, item: str) -> None:
    path, size = found[0], found[1].st_size
    name = os.path.basename(path)
    if length.isdigit() and int(length) != size:
        report.error("rss.item.enclosure.length", item, "enclosure@length",
                     f"{length} bytes, but {name} has {size}")
    if duration is not None and url in own.durations:
        built = own.durations[url]
        if abs(built - duration) > DURATION_TOLERANCE_S:
            report.error("apple.duration", item, "itunes:duration",
                         f"{duration:g} s, but the build measured {built:.2f} s for {name}")
        return
    if not (own.probe_audio and mime.startswith("audio/") and duration is not None):
        return
    from toolkit import ffmpeg  # only our own feed's check needs ffmpeg
    try:
        actual = ffmpeg.probe(Path(path)).duration
    except MediaError as exc:
        report.error("apple.duration", item, "enclosure", f"cannot read {name}: {exc.message}")
        return
    if actual is not None and abs(actual - duration) > DURATION_TOLERANCE_S:
        report.error("apple.duration", item, "itunes:duration",
                     f"{duration:g} s, but {name} plays {actual:.2f} s")


def check_artwork(path: Path, report: Report, item: str, field: str) -> None:
    """Apple's artwork rules on a local file (toolkit.standards.artwork), as validate findings."""
    for problem in artwork.check(path):
        add = report.warning if problem.warning else report.error
        add(f"apple.image.{problem.kind}", item, field, problem.message)


def _read_text(path: Path | str, report: Report, rule: str, item: str, field: str,
               size: int | None = None) -> str | None:
    name = os.path.basename(path)
    if (os.stat(path).st_size if size is None else size) > MAX_SIDECAR_BYTES:
        report.error(rule, item, field, f"{name} is larger than {MAX_SIDECAR_BYTES} bytes")
        return None
    try:
        return _read_all(path, size).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        report.error(rule, item, field, f"{name} is not UTF-8 ({exc.reason} at byte {exc.start})")
        return None


def _read_all(path: Path | str, size: int | None) -> bytes:
    # os.read on a descriptor: the sidecars are small, and a 2,000-episode feed names
    # 12,000 of them; a buffered file object costs more than the read. A file of the
    # size its stat gave is read whole by one read of one byte more (a regular file
    # reads short only at its end).
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        chunks = []
        while chunk := os.read(fd, (size + 1) if size is not None else 1 << 16):
            chunks.append(chunk)
            if len(chunk) == size and len(chunks) == 1:
                break
            size = None
        return b"".join(chunks)
    finally:
        os.close(fd)


def check_transcript(path: Path | str, mime: str, report: Report, item: str, *,
                     size: int | None = None) -> None:
    """The transcript file's content is what its declared MIME type says (`size`: its
    size, when already known)."""
    body = _read_text(path, report, "p20.transcript", item, "podcast:transcript", size)
    if body is None:
        return
    ok = True
    if mime == "text/vtt":
        ok = body.lstrip().startswith("WEBVTT")
    elif mime == "application/x-subrip":
        ok = "-->" in body and not body.lstrip().startswith("WEBVTT")
    elif mime == "application/json":
        try:
            data = json.loads(body)
            ok = isinstance(data, dict) and isinstance(data.get("segments"), list)
        except ValueError:
            ok = False
    elif mime == "text/html":
        ok = bool(TAG_RE.search(body))
    elif mime == "text/plain":
        ok = not body.lstrip().startswith(("WEBVTT", "{", "<"))
    if not ok:
        report.error("p20.transcript", item, "podcast:transcript@type",
                     f"{os.path.basename(path)} does not hold {mime} content")


def check_chapters(path: Path | str, report: Report, item: str, duration: float | None, *,
                   size: int | None = None) -> None:
    """Podcast Index chapters JSON: version, chapters[] with ascending numeric startTime
    (`size`: the file's size, when already known)."""
    body = _read_text(path, report, "p20.chapters", item, "podcast:chapters", size)
    if body is None:
        return
    where = os.path.basename(path)
    try:
        data = json.loads(body)
    except ValueError as exc:
        report.error("p20.chapters", item, where, f"not JSON: {exc}")
        return
    if not isinstance(data, dict) or not isinstance(data.get("version"), str):
        report.error("p20.chapters", item, f"{where}: version", 'needs "version" as a string ("1.2.0")')
    chapters = data.get("chapters") if isinstance(data, dict) else None
    if not isinstance(chapters, list) or not chapters:
        report.error("p20.chapters", item, f"{where}: chapters", "needs a non-empty chapters list")
        return
    previous = -1.0
    for n, ch in enumerate(chapters):
        start = ch.get("startTime") if isinstance(ch, dict) else None
        field = f"{where}: chapters[{n}].startTime"
        if isinstance(start, bool) or not isinstance(start, (int, float)) or start < 0:
            report.error("p20.chapters", item, field, f"{start!r} is not a number of seconds")
            continue
        if start <= previous:
            report.error("p20.chapters", item, field,
                         f"{start:g} s does not come after the previous chapter ({previous:g} s)")
        if duration is not None and start >= duration + DURATION_TOLERANCE_S:
            report.error("p20.chapters", item, field,
                         f"{start:g} s is after the end of the episode ({duration:g} s)")
        if "title" in ch and not isinstance(ch["title"], str):
            report.error("p20.chapters", item, f"{where}: chapters[{n}].title", "must be a string")
        for key in ("img", "url"):
            if isinstance(ch.get(key), str) and not ch[key].startswith("https://"):
                report.error("p20.url.https", item, f"{where}: chapters[{n}].{key}",
                             f"not an https URL: {ch[key]}")
        previous = max(previous, start)
