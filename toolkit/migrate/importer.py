"""`podkit import FEED_URL|FILE`: move an existing podcast into feeds/ and episodes/.

    read (feed/foreign.py: any encoding, capped, one deadline) -> parse (importfeed, defusedxml)
      -> feeds/<id>.toml + artwork -> per item: episodes/<slug>/episode.toml, notes.html,
         the enclosure (download: resumable, length-checked), transcripts, chapters, art

Identity is what must survive a move: every item keeps its guid exactly (apps would
show a changed one as a new episode), the channel keeps its `podcast:guid` (pinned in
the feed's `[podcast] guid`, never derived again) and `podcast:locked`. MP3 enclosures
are imported with `passthrough = true` and `keep_tags = true`: published byte for byte,
so enclosure lengths stay what the old feed said and nothing is encoded twice.

Idempotent: items are matched by guid (`.podkit-import.json` in each episode folder, or
a `guid` already in an episode.toml), so a re-run updates and never duplicates. A file
podkit wrote is rewritten only while it still holds what podkit wrote; one the producer
has edited since is kept and listed. Media already downloaded is not fetched again.
"""
from __future__ import annotations

import hashlib
import json
import logging
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from toolkit.config.episode import EPISODE_FILE, episode_folders
from toolkit.errors import FeedError, PodkitError
from toolkit.feed import fetch, foreign
from toolkit.fsutil import write_bytes, write_text
from toolkit.migrate import download, importfeed, importmap
from toolkit.model import is_slug, slugify

log = logging.getLogger(__name__)

STATE_FILE = ".podkit-import.json"
NOTES_FILE = "notes.html"
#: Chapters JSON and transcripts are small text: read with the feed reader's caps.
MAX_SIDECAR_BYTES = 16 * 1024 * 1024

Progress = Callable[[str, int, "int | None"], None]   # (what, bytes so far, total)


@dataclass
class ImportReport:
    """What an import did, for the CLI to print (nothing here is printed by the library)."""

    feed_id: str
    feed_file: Path
    created: list[str] = field(default_factory=list)      # episode slugs
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    downloaded: list[str] = field(default_factory=list)   # "slug: audio.mp3 (1.2 MB)"
    waiting: list[str] = field(default_factory=list)      # slugs whose media is not here yet
    notes: list[str] = field(default_factory=list)        # what could not be mapped
    failures: list[str] = field(default_factory=list)     # downloads that failed


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_owned(path: Path, text: str, owned: dict[str, str], key: str,
                 notes: list[str], shown: str) -> str:
    """Write `text` unless the producer edited the file since podkit wrote it.

    Returns 'created', 'updated', 'unchanged' or 'kept'; `owned` maps names to the hash
    of what podkit last wrote and is updated.
    """
    data = text.encode("utf-8")
    if path.is_file():
        current = _sha(path.read_bytes())
        if current == _sha(data):
            owned[key] = current
            return "unchanged"
        if owned.get(key) != current:
            notes.append(f"{shown}: edited since it was imported (or not written by import): "
                         "kept as it is, not updated")
            return "kept"
        write_text(path, text)
        owned[key] = _sha(data)
        return "updated"
    write_text(path, text)
    owned[key] = _sha(data)
    return "created"


def _load_state(path: Path) -> dict:
    try:
        data = json.loads(path.read_text("utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _known_guids(root: Path) -> dict[str, str]:
    """guid -> slug for every episode folder: from import state, else the episode.toml guid."""
    out: dict[str, str] = {}
    for folder in episode_folders(root):
        state = _load_state(folder / STATE_FILE)
        guid = state.get("guid")
        if not guid:
            try:
                guid = tomllib.loads((folder / EPISODE_FILE).read_text("utf-8")).get("guid")
            except (OSError, ValueError):
                guid = None
        if isinstance(guid, str) and guid:
            out.setdefault(guid, folder.name)
    return out


def import_feed(root: Path, source: str, *, base_url: str, feed_id: str | None = None,
                feed_url: str | None = None, media: bool = True,
                progress: Progress | None = None) -> ImportReport:
    """Import the feed at `source` (an http(s) URL or a file) into the show folder `root`.

    `base_url` is where the show will be served from now on (required: every new URL
    derives from it); `feed_url` defaults to `base_url` + feed.xml. With `media=False`
    only the metadata (and the small transcript and chapter files) is imported; a later
    run without it downloads what is missing. FeedError for a source that cannot be read
    as RSS; download failures are listed in the report, the other items go on.
    """
    if not base_url.startswith("https://") or len(base_url) <= len("https://"):
        raise PodkitError(f"must be an https:// folder URL, not {base_url!r}", field="--base-url")
    read = foreign.read_feed(source)
    if not read.is_xml:
        raise FeedError("not an XML feed", path=source, field="xml")
    channel = importfeed.parse(read.text, source=source)
    feed_id = feed_id or slugify(channel.title, "show")
    if not is_slug(feed_id):
        raise PodkitError(f"{feed_id!r} is not a valid feed id (lowercase letters, digits, "
                          "single hyphens)", field="--feed")
    base_url = base_url.rstrip("/") + "/"
    report = ImportReport(feed_id, root / "feeds" / f"{feed_id}.toml")
    report.notes += list(channel.notes)
    _import_show(root, source, channel, feed_id, base_url, feed_url or base_url + "feed.xml",
                 report, progress)
    known = _known_guids(root)
    used = {f.name for f in episode_folders(root)}
    for item in reversed(channel.items):        # oldest first: a repeated title gets -2 later
        slug = known.get(item.guid)
        if slug is None:
            base = slugify(item.title, f"episode-{item.date:%Y-%m-%d}" if item.date else "episode")
            slug, n = base, 2
            while slug in used:
                slug, n = f"{base[:56]}-{n}", n + 1
            used.add(slug)
            known[item.guid] = slug
        try:
            _import_item(root, source, channel, item, feed_id, slug, media, report, progress)
        except PodkitError as exc:
            report.failures.append(f"episodes/{slug}: {exc}")
    return report


def _import_show(root: Path, source: str, channel: importfeed.Channel, feed_id: str,
                 base_url: str, feed_url: str, report: ImportReport,
                 progress: Progress | None) -> None:
    feeds = root / "feeds"
    state_path = feeds / f".{feed_id}.podkit-import.json"
    state = _load_state(state_path)
    owned = state.get("written", {})
    artwork = state.get("artwork")
    if channel.image and (artwork is None or not (feeds / artwork).is_file()
                          or state.get("artwork_url") != channel.image):
        try:
            artwork = importmap.fetch_picture(channel.image, feeds, feed_id, progress)
            state["artwork_url"] = channel.image
        except PodkitError as exc:
            report.failures.append(f"feeds/{feed_id}.toml: artwork: {exc}")
    elif not channel.image:
        report.notes.append("channel: itunes:image: none in the feed; add artwork = \"x.jpg\"")
    table = importmap.show_table(channel, source, base_url=base_url, feed_url=feed_url,
                                 artwork=artwork, notes=report.notes)
    text = "# Imported by `podkit import` from " + source + "\n" + tomli_w.dumps(
        table, multiline_strings=True)
    _write_owned(feeds / f"{feed_id}.toml", text, owned, "toml", report.notes,
                 f"feeds/{feed_id}.toml")
    state.update({"source": source, "written": owned, "artwork": artwork})
    write_text(state_path, json.dumps(state, indent=2, sort_keys=True) + "\n")


def _import_item(root: Path, source: str, channel: importfeed.Channel, item: importfeed.Item,
                 feed_id: str, slug: str, media: bool, report: ImportReport,
                 progress: Progress | None) -> None:
    folder = root / "episodes" / slug
    shown = f"episodes/{slug}"
    state = _load_state(folder / STATE_FILE)
    owned = state.get("written", {})
    notes = report.notes
    if item.enclosure is None:
        notes.append(f"item {item.guid}: enclosure: none (nothing to publish): skipped")
        return
    audio_name = importmap.audio_name(item.enclosure)
    if audio_name is None:
        notes.append(f"item {item.guid}: enclosure: {item.enclosure.type or 'unknown type'} "
                     f"is not audio podkit publishes: skipped")
        return
    folder.mkdir(parents=True, exist_ok=True)
    files = _sidecars(folder, item, channel, notes, state)
    chapters = importmap.chapters_table(_chapters_json(item, notes), item.guid, notes)
    table = importmap.episode_table(item, feed_id, audio_name=audio_name,
                                    notes_file=NOTES_FILE if item.notes_html.strip() else None,
                                    transcripts=files["transcripts"], chapters=chapters,
                                    art=files["art"], notes=notes)
    if table["title"] != item.title:
        notes.append(f"item {item.guid}: title: empty in the feed; {table['title']!r} used")
    if item.notes_html.strip():
        _write_owned(folder / NOTES_FILE, importmap.notes_html(item.notes_html), owned, "notes",
                     notes, f"{shown}/{NOTES_FILE}")
    status = _write_owned(folder / EPISODE_FILE, tomli_w.dumps(table, multiline_strings=True),
                          owned, "toml", notes, f"{shown}/{EPISODE_FILE}")
    {"created": report.created, "updated": report.updated}.get(status, report.unchanged).append(slug)
    if not audio_name.endswith(".mp3"):
        notes.append(f"item {item.guid}: enclosure: {audio_name} is not MP3: podkit will "
                     "encode it (published as a new MP3)")
    state.update({"guid": item.guid, "feed": feed_id, "source": source, "written": owned,
                  "enclosure": {"url": item.enclosure.url, "length": item.enclosure.length,
                                "type": item.enclosure.type}})
    write_text(folder / STATE_FILE, json.dumps(state, indent=2, sort_keys=True) + "\n")
    target = folder / audio_name
    if target.is_file():
        return
    if not media:
        report.waiting.append(slug)
        return
    got = download.fetch(item.enclosure.url, target, expected=item.enclosure.length,
                         progress=(lambda d, t: progress(f"{slug}: {audio_name}", d, t))
                         if progress else None)
    report.downloaded.append(f"{slug}: {audio_name} ({got.size / 1e6:.1f} MB"
                             + (f", resumed at {got.resumed_from} bytes" if got.resumed_from else "")
                             + ")")
    if got.length_mismatch:
        notes.append(f"item {item.guid}: enclosure length: {got.length_mismatch} (the file "
                     "as downloaded is published; the new feed states its real size)")


def _sidecars(folder: Path, item: importfeed.Item, channel: importfeed.Channel,
              notes: list[str], state: dict) -> dict:
    """Download the item's transcripts and art (small, fetched even with --no-media)."""
    transcripts = []
    for i, link in enumerate(item.transcripts):
        ext = importmap.TRANSCRIPT_TYPES.get(link.type.split(";")[0].strip())
        if ext is None:
            notes.append(f"item {item.guid}: podcast:transcript: type {link.type!r} is not one "
                         "podkit reads (SRT, WebVTT, JSON, plain text): left out")
            continue
        name = f"transcript{'' if i == 0 else f'-{i + 1}'}.{ext}"
        try:
            if not (folder / name).is_file():
                data = fetch.read_bytes(link.url, max_bytes=MAX_SIDECAR_BYTES).data
                write_bytes(folder / name, data)
        except PodkitError as exc:
            notes.append(f"item {item.guid}: podcast:transcript: {exc}: left out")
            continue
        transcripts.append({"file": name, **({"language": link.language or channel.language}
                                             if link.language or channel.language else {})})
    art = None
    if item.image and item.image != channel.image:
        if state.get("art_url") == item.image and state.get("art") and \
                (folder / state["art"]).is_file():
            art = state["art"]
        else:
            try:
                art = importmap.fetch_picture(item.image, folder, "art", None)
                state.update({"art": art, "art_url": item.image})
            except PodkitError as exc:
                notes.append(f"item {item.guid}: itunes:image: {exc}: left out")
    return {"transcripts": transcripts, "art": art}


def _chapters_json(item: importfeed.Item, notes: list[str]) -> object:
    if item.chapters is None:
        return None
    try:
        data = fetch.read_bytes(item.chapters.url, max_bytes=MAX_SIDECAR_BYTES).data
        return json.loads(data.decode("utf-8-sig"))
    except (PodkitError, ValueError) as exc:
        notes.append(f"item {item.guid}: podcast:chapters: {exc}: left out")
        return None


__all__ = ["import_feed", "ImportReport", "slugify"]
