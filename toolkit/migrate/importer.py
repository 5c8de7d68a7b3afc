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
from dataclasses import dataclass, field, replace
from pathlib import Path

import tomli_w

from toolkit.config.episode import EPISODE_FILE, episode_folders
from toolkit import http
from toolkit.errors import FeedError, PodkitError
from toolkit.feed import foreign
from toolkit.fsutil import write_bytes, write_text
from toolkit.migrate import importextras, importfeed, importmap, sidecar
from toolkit.model import is_slug, slugify
from toolkit.showlife import showinit
from toolkit.standards import stdcheck

log = logging.getLogger(__name__)

STATE_FILE = ".podkit-import.json"
NOTES_FILE = "notes.html"
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
    left: list[str] = field(default_factory=list)         # items not imported (exit 1)
    support_files: list[str] = field(default_factory=list)   # Makefile, .gitignore written


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


def _known_guids(root: Path, feed_id: str) -> dict[str, str]:
    """guid -> slug for this feed's episode folders: from import state, else episode.toml.

    Only this feed's: another show imported into the same folder may use the same guids.
    """
    out: dict[str, str] = {}
    for folder in episode_folders(root):
        state = _load_state(folder / STATE_FILE)
        guid, feed = state.get("guid"), state.get("feed")
        if not guid or not feed:
            try:
                toml = tomllib.loads((folder / EPISODE_FILE).read_text("utf-8"))
            except (OSError, ValueError):
                toml = {}
            guid, feed = guid or toml.get("guid"), feed or toml.get("feed")
        if isinstance(guid, str) and guid and feed == feed_id:
            out.setdefault(guid, folder.name)
    return out


def _same_show(state: dict, identity: str, source: str) -> bool:
    """Whether an import state is this show's (a state written before identities were
    recorded is matched by the address it was imported from)."""
    if state.get("identity") is not None:
        return state["identity"] == identity
    old = state.get("source")
    return isinstance(old, str) and http.display_url(old) == http.display_url(source)


def _feed_id(root: Path, channel: importfeed.Channel, identity: str, requested: str | None,
             source: str) -> str:
    """The feed id: `requested`, else one from the title that no other show holds.

    A feeds/<id>.toml that holds another show (another identity, or not written by import)
    is never rewritten: a title two shows share gets -2; an explicit --feed is refused.
    """
    base = requested or slugify(channel.title, "show")
    if not is_slug(base):
        raise PodkitError(f"{base!r} is not a valid feed id (lowercase letters, digits, "
                          "single hyphens)", field="--feed")
    candidate, n = base, 2
    while True:
        toml = root / "feeds" / f"{candidate}.toml"
        state = _load_state(root / "feeds" / f".{candidate}.podkit-import.json")
        if not toml.exists() or _same_show(state, identity, source):
            return candidate
        if requested:
            raise PodkitError(f"feeds/{candidate}.toml holds another show; choose another "
                              "--feed (nothing was imported)", field="--feed")
        candidate, n = f"{base[:56]}-{n}", n + 1


def import_feed(root: Path, source: str, *, base_url: str, feed_id: str | None = None,
                feed_url: str | None = None, media: bool = True,
                progress: Progress | None = None,
                allow_private_hosts: bool = False) -> ImportReport:
    """Import the feed at `source` (an http(s) URL or a file) into the show folder `root`.

    `base_url` is where the show will be served from now on (required: every new URL
    derives from it); `feed_url` defaults to `base_url` + feed.xml; both must pass the
    rules `podkit check` applies. With `media=False` only the metadata (and the small
    transcript and chapter files) is imported; a later run without it downloads what is
    missing. `allow_private_hosts` lets the feed and its links be on loopback or a
    private network (see toolkit.migrate.sidecar for what a feed may name). FeedError for
    a source that cannot be read as RSS; download failures are listed in the report, the
    other items go on. The source URL is never stored or reported with its query or
    userinfo (a private feed's token): pass it again on the next run.
    """
    for option, value, rule in (("--base-url", base_url, stdcheck.folder_url_problem),
                                ("--feed-url", feed_url, stdcheck.https_url_problem)):
        problem = rule(value) if value is not None else None
        if problem:
            raise PodkitError(problem, field=option)
    origin = sidecar.Origin.of(source, allow_private=allow_private_hosts)
    read = foreign.read_feed(source, policy=origin.policy)
    if not read.is_xml:
        raise FeedError("not an XML feed", path=origin.shown, field="xml")
    channel = importfeed.parse(read.text, source=origin.shown)
    identity = channel.guid or http.display_url(channel.self_url or source)
    feed_id = _feed_id(root, channel, identity, feed_id, source)
    base_url = base_url.rstrip("/") + "/"
    report = ImportReport(feed_id, root / "feeds" / f"{feed_id}.toml")
    report.notes += list(channel.notes)
    report.notes += importextras.unmapped_lines(
        [("channel", channel.extras.unmapped if channel.extras else ())]
        + [(it.guid, it.extras.unmapped if it.extras else ()) for it in channel.items])
    # The show folder `podkit init` would have made: its Makefile and .gitignore.
    report.support_files = [p.name for p in showinit.write_support_files(root)]
    _import_show(root, origin, channel, feed_id, base_url, feed_url or base_url + "feed.xml",
                 report, progress, identity)
    known = _known_guids(root, feed_id)
    used = {f.name for f in episode_folders(root)}
    seen: dict[str, str] = {}                   # guid -> title of the item that has it
    for item in reversed(channel.items):        # oldest first: a repeated title gets -2 later
        item = _apart(item, seen, report.notes)
        slug = known.get(item.guid)
        if slug is None:
            base = slugify(item.title, f"episode-{item.date:%Y-%m-%d}" if item.date else "episode")
            slug, n = base, 2
            while slug in used:
                slug, n = f"{base[:56]}-{n}", n + 1
            used.add(slug)
            known[item.guid] = slug
        try:
            _import_item(root, origin, channel, item, feed_id, slug, media, report, progress)
        except PodkitError as exc:
            report.failures.append(f"episodes/{slug}: {exc}")
    return report


def _apart(item: importfeed.Item, seen: dict[str, str], notes: list[str]) -> importfeed.Item:
    """`item`, or (its guid taken by an earlier item) a copy with a guid of its own.

    Two items with one guid are two episodes: merging them would lose one. The oldest
    keeps the guid; each later one gets `<guid>#2`, `#3`... and is listed.
    """
    guid, n = item.guid, 2
    while guid in seen:
        guid, n = f"{item.guid}#{n}", n + 1
    if guid != item.guid:
        notes.append(f"item {item.guid}: guid: also the guid of {seen[item.guid]!r}; "
                     f"{item.title!r} imported apart with guid {guid!r} (apps may show it "
                     "as a new episode)")
        item = replace(item, guid=guid)
    seen[guid] = item.title
    return item


def _import_show(root: Path, origin: sidecar.Origin, channel: importfeed.Channel, feed_id: str,
                 base_url: str, feed_url: str, report: ImportReport,
                 progress: Progress | None, identity: str) -> None:
    feeds = root / "feeds"
    state_path = feeds / f".{feed_id}.podkit-import.json"
    state = _load_state(state_path)
    owned = state.get("written", {})
    artwork = state.get("artwork")
    image = channel.image
    if image:
        try:
            sidecar.locate(image, origin)
        except PodkitError as exc:            # a path or another scheme: refused, not fetched
            report.notes.append(f"channel: itunes:image: {exc}: left out")
            image = None
    if image and (artwork is None or not (feeds / artwork).is_file()
                  or state.get("artwork_url") != http.display_url(image)):
        try:
            artwork = sidecar.fetch_picture(
                image, origin, feeds, feed_id, owned, report.notes, "feeds",
                (lambda d, t: progress(f"{feed_id}: picture", d, t)) if progress else None)
            state["artwork_url"] = http.display_url(image)
        except PodkitError as exc:
            report.failures.append(f"feeds/{feed_id}.toml: artwork: {exc}")
    elif not channel.image:
        report.notes.append("channel: itunes:image: none in the feed; add artwork = \"x.jpg\"")
    table = importmap.show_table(channel, origin.source, base_url=base_url, feed_url=feed_url,
                                 artwork=artwork, notes=report.notes)
    table.update(channel.extras.table if channel.extras else {})
    text = "# Imported by `podkit import` from " + origin.shown + "\n" + tomli_w.dumps(
        table, multiline_strings=True)
    _write_owned(feeds / f"{feed_id}.toml", text, owned, "toml", report.notes,
                 f"feeds/{feed_id}.toml")
    state.update({"source": origin.shown, "written": owned, "artwork": artwork,
                  "identity": identity})
    write_text(state_path, json.dumps(state, indent=2, sort_keys=True) + "\n")


def _import_item(root: Path, origin: sidecar.Origin, channel: importfeed.Channel,
                 item: importfeed.Item, feed_id: str, slug: str, media: bool,
                 report: ImportReport, progress: Progress | None) -> None:
    folder = root / "episodes" / slug
    shown = f"episodes/{slug}"
    state = _load_state(folder / STATE_FILE)
    owned = state.get("written", {})
    notes = report.notes
    if item.enclosure is None:
        notes.append(f"item {item.guid}: enclosure: none (nothing to publish): skipped")
        return
    audio_name = importmap.audio_name(item.enclosure)
    delivered = audio_name is None
    if audio_name is None:
        # A video bonus is carried as delivered (its type and length kept); any other
        # type is named and fails the import rather than vanish for subscribers.
        audio_name = importextras.delivered_name(item.enclosure.url, item.enclosure.type)
    if audio_name is None:
        report.left.append(f"item {item.guid} ({item.title}): enclosure type "
                           f"{item.enclosure.type or 'unknown'!r} is neither audio nor video: "
                           "not imported")
        return
    try:
        sidecar.locate(item.enclosure.url, origin)
    except PodkitError as exc:
        notes.append(f"item {item.guid}: enclosure: {exc}: skipped")
        return
    folder.mkdir(parents=True, exist_ok=True)
    files = _sidecars(folder, origin, item, channel, notes, state, owned, shown)
    chapters = importmap.chapters_table(_chapters_json(item, origin, notes), item.guid, notes)
    table = importmap.episode_table(item, feed_id, audio_name=audio_name,
                                    notes_file=NOTES_FILE if item.notes_html.strip() else None,
                                    transcripts=files["transcripts"], chapters=chapters,
                                    art=files["art"], notes=notes)
    importextras.merge_item(table, item.extras)
    if delivered:           # published byte for byte, as its subscribers have it
        table["passthrough"] = table["keep_tags"] = True
    if table["title"] != item.title:
        notes.append(f"item {item.guid}: title: empty in the feed; {table['title']!r} used")
    if item.notes_html.strip():
        _write_owned(folder / NOTES_FILE, importmap.notes_html(item.notes_html), owned, "notes",
                     notes, f"{shown}/{NOTES_FILE}")
    status = _write_owned(folder / EPISODE_FILE, tomli_w.dumps(table, multiline_strings=True),
                          owned, "toml", notes, f"{shown}/{EPISODE_FILE}")
    {"created": report.created, "updated": report.updated}.get(status, report.unchanged).append(slug)
    if not audio_name.endswith(".mp3") and not delivered:
        notes.append(f"item {item.guid}: enclosure: {audio_name} is not MP3: podkit will "
                     "encode it (published as a new MP3)")
    # URLs are stored as display_url shows them: a private feed's token never lands on disk.
    state.update({"guid": item.guid, "feed": feed_id, "source": origin.shown, "written": owned,
                  "enclosure": {"url": http.display_url(item.enclosure.url),
                                "length": item.enclosure.length, "type": item.enclosure.type}})
    write_text(folder / STATE_FILE, json.dumps(state, indent=2, sort_keys=True) + "\n")
    target = folder / audio_name
    if target.is_file():
        return
    if not media:
        report.waiting.append(slug)
        return
    got = sidecar.download_to(item.enclosure.url, origin, target, kind="audio",
                              expected=item.enclosure.length,
                              progress=(lambda d, t: progress(f"{slug}: {audio_name}", d, t))
                              if progress else None)
    report.downloaded.append(f"{slug}: {audio_name} ({got.size / 1e6:.1f} MB"
                             + (f", resumed at {got.resumed_from} bytes" if got.resumed_from else "")
                             + ")")
    if got.length_mismatch:
        notes.append(f"item {item.guid}: enclosure length: {got.length_mismatch} (the file "
                     "as downloaded is published; the new feed states its real size)")


def _sidecars(folder: Path, origin: sidecar.Origin, item: importfeed.Item,
              channel: importfeed.Channel, notes: list[str], state: dict,
              owned: dict[str, str], shown: str) -> dict:
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
                write_bytes(folder / name, sidecar.read_small(link.url, origin, "transcript"))
        except PodkitError as exc:
            notes.append(f"item {item.guid}: podcast:transcript: {exc}: left out")
            continue
        transcripts.append({"file": name, **({"language": link.language or channel.language}
                                             if link.language or channel.language else {})})
    art = None
    if item.image and item.image != channel.image:
        if state.get("art_url") == http.display_url(item.image) and state.get("art") and \
                (folder / state["art"]).is_file():
            art = state["art"]
        else:
            try:
                art = sidecar.fetch_picture(item.image, origin, folder, "art", owned, notes, shown)
                state.update({"art": art, "art_url": http.display_url(item.image)})
            except PodkitError as exc:
                notes.append(f"item {item.guid}: itunes:image: {exc}: left out")
    return {"transcripts": transcripts, "art": art}


def _chapters_json(item: importfeed.Item, origin: sidecar.Origin, notes: list[str]) -> object:
    if item.chapters is None:
        return None
    try:
        data = sidecar.read_small(item.chapters.url, origin, "chapters")
        return json.loads(data.decode("utf-8-sig"))
    except (PodkitError, ValueError) as exc:
        notes.append(f"item {item.guid}: podcast:chapters: {exc}: left out")
        return None


__all__ = ["import_feed", "ImportReport", "slugify"]
