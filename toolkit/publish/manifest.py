"""Which keys podkit published at a target, per feed: the only list `--delete` trusts.

Each feed keeps one manifest at its target, `<prefix>.podkit/<feed-id>.json` (a folder
target: `<directory>/.podkit/<feed-id>.json`): the keys podkit published there for that
feed, sorted, as JSON. A key that is not in this feed's manifest is never deleted, nor a
key that another feed's manifest at the same target lists, so a second feed publishing
into the same bucket and prefix can never remove the first one's files. Before anything
is uploaded, the keys of the site about to go up are compared with the other feeds'
manifests there: a collision (two feeds writing the same `feed.xml`) stops the publish.

The manifest is written after the feed (and after the deletes), and only when its bytes
change: a publish with nothing to do neither reads nor writes it. A publish that fails
midway records what it did upload, so a later `--delete` can still remove it.

A target published by a podkit without manifests (objects marked only with metadata,
or a folder's `.podkit-manifest.json` shared by every feed) is read as "nothing is
known to be this feed's": the first publish with this version deletes nothing and
starts the manifest with the keys of the site it publishes; older leftovers are listed
as kept and can be removed by hand.
"""
from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from typing import Protocol

from toolkit.errors import PublishError

log = logging.getLogger(__name__)

#: The folder (under the prefix) that holds podkit's bookkeeping at a target.
DIR = ".podkit"
FORMAT = 1
#: A manifest lists the keys of one site: 2,000 episodes take about 1 MB.
MAX_BYTES = 32 << 20
#: Feed ids are file stems of feeds/*.toml (lowercase letters, digits, '-', '_', '.').
_FEED_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")


def key_of(feed_id: str) -> str:
    """The manifest's key relative to the target's prefix (or folder)."""
    if not _FEED_ID.match(feed_id) or ".." in feed_id:
        raise PublishError(f"feed id {feed_id!r} cannot name a publish manifest (lowercase "
                           "letters, digits, '-', '_' and '.' only)", field="feed")
    return f"{DIR}/{feed_id}.json"


def id_for(name: str) -> str:
    """A manifest id for a site folder's name (the feed id for `build/site/<feed>`; any
    other folder name is lower-cased, with runs of other characters made '-')."""
    if _FEED_ID.match(name) and ".." not in name:
        return name
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:100] or "site"


def feed_of(key: str) -> str | None:
    """The feed id of a manifest key at this prefix ('.podkit/<id>.json'), else None."""
    head, _, name = key.partition("/")
    if head != DIR or "/" in name or not name.endswith(".json"):
        return None
    feed = name.removesuffix(".json")
    return feed if _FEED_ID.match(feed) else None


def is_bookkeeping(key: str) -> bool:
    """True for podkit's own files at a target (the manifests, here or under a nested
    prefix): never planned, uploaded or deleted as site files."""
    return DIR in key.split("/")


def encode(feed_id: str, keys: Iterable[str]) -> bytes:
    """The manifest's bytes: a pure function of the feed and its keys (same keys, same bytes)."""
    data = {"podkit_manifest": FORMAT, "feed": feed_id, "keys": sorted(set(keys))}
    return (json.dumps(data, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def decode(data: bytes, where: str) -> frozenset[str]:
    """The keys a manifest lists; PublishError naming it when it is not one."""
    try:
        value = json.loads(data.decode("utf-8"))
        keys = value["keys"] if isinstance(value, dict) else None
    except (UnicodeDecodeError, ValueError, KeyError):
        keys = None
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise PublishError("not a podkit publish manifest (expected JSON with a list of keys): "
                           "move it away, or restore it, and publish again", path=where)
    return frozenset(keys)


class Store(Protocol):
    """What the ledger needs from a target (`sync.Target`)."""

    def describe(self, key: str = "") -> str: ...
    def manifests(self) -> set[str]: ...
    def read(self, key: str, limit: int) -> bytes | None: ...
    def write(self, key: str, data: bytes) -> None: ...


class Ledger:
    """This feed's manifest and the other feeds' at one target, each read once, when needed."""

    def __init__(self, dest: Store, feed_id: str) -> None:
        self.dest, self.feed_id, self.key = dest, feed_id, key_of(feed_id)
        self.listed = dest.manifests()          # feed ids with a manifest here (the listing)
        self._ours: frozenset[str] | None = None
        self._raw: bytes | None = None
        self._others: dict[str, frozenset[str]] | None = None

    @property
    def exists(self) -> bool:
        """True when this feed has a manifest at the target."""
        return self.feed_id in self.listed

    def ours(self) -> frozenset[str]:
        """The keys this feed's manifest lists (none without one)."""
        if self._ours is None:
            self._ours = frozenset()
            if self.exists:
                self._raw = self.dest.read(self.key, MAX_BYTES)
                if self._raw is not None:
                    self._ours = decode(self._raw, self.dest.describe(self.key))
        return self._ours

    def others(self) -> dict[str, frozenset[str]]:
        """The keys every other feed's manifest at this target lists, by feed id."""
        if self._others is None:
            self._others = {}
            for feed in sorted(self.listed - {self.feed_id}):
                key = key_of(feed)
                raw = self.dest.read(key, MAX_BYTES)
                if raw is not None:
                    self._others[feed] = decode(raw, self.dest.describe(key))
        return self._others

    def deletable(self, keys: Iterable[str]) -> set[str]:
        """Of `keys`, those this feed published and no other feed's manifest claims."""
        theirs = frozenset().union(*self.others().values()) if self.listed - {self.feed_id} else ()
        return (set(keys) & self.ours()) - set(theirs)

    def check_collisions(self, keys: Iterable[str]) -> None:
        """Refuse to publish keys another feed's manifest at this target lists."""
        wanted = set(keys)
        for feed, theirs in self.others().items():
            shared = sorted(wanted & theirs)
            if shared:
                more = f" and {len(shared) - 1} more" if len(shared) > 1 else ""
                raise PublishError(
                    f"{shared[0]}{more} would overwrite files of feed {feed!r} (its manifest "
                    f"{self.dest.describe(key_of(feed))}): two feeds may not share a publish "
                    "target unless their keys cannot collide; give each feed its own prefix "
                    "(if that feed is gone, delete its manifest)", path=self.dest.describe(),
                    field="publish.prefix")

    def save(self, published: Iterable[str], deleted: Iterable[str] = ()) -> bool:
        """Record `published` (minus `deleted`) in this feed's manifest; write only when the
        bytes change. Returns True when written."""
        keys = (self.ours() | set(published)) - set(deleted)
        data = encode(self.feed_id, keys)
        if data == self._raw:
            return False
        self.dest.write(self.key, data)
        self._raw, self._ours = data, frozenset(keys)
        self.listed.add(self.feed_id)
        log.info("recorded %d key(s) in %s", len(keys), self.dest.describe(self.key))
        return True
