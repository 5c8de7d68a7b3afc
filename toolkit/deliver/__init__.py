"""Delivery to the station: each cut sent to its targets, incrementally, verified, atomically.

    outcomes = deliver.send(items, endpoint, delivered=log.sent(target.name), force=False)

An `Endpoint` is one destination: a watch folder (`folder.FolderEndpoint`), an SFTP server
(`sftp.SftpEndpoint`, the only module that imports asyncssh) or an S3 bucket (the publish
stage's client, wired in by toolkit.delivery). Every endpoint keeps one promise: a file
appears under its final name only whole and verified (written under a temporary name the
playout systems ignore, flushed, checked, renamed; S3 has no partial objects), so a
watch folder's importer never picks up half a file, and a failed run leaves at most a
temporary that the next run overwrites.

Incremental: a file whose final name at the target already holds the same size and
SHA-256 is not sent again. A file that is gone from the target but that the delivery
record says was delivered there with the same hash is taken to have been imported (watch
folders usually move what they ingest) and is not sent again either; `force` sends it.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Protocol

from toolkit.errors import DeliveryError

__all__ = ["Action", "DeliveryError", "Endpoint", "Item", "Outcome", "send"]

log = logging.getLogger(__name__)


class Action(str, Enum):
    """What happened to one file at one target."""

    SENT = "sent"
    UNCHANGED = "unchanged"         # the target holds the same bytes
    IMPORTED = "imported"           # delivered earlier, since taken away by the station
    WOULD_SEND = "would send"       # dry run


@dataclass(frozen=True)
class Item:
    """One file to deliver: a cut, or the sidecar describing it."""

    slug: str
    cut: str
    name: str                       # the file name at the target
    path: Path                      # the local file
    size: int
    sha256: str
    sidecar: bool = False


@dataclass(frozen=True)
class Outcome:
    """One item at one target, after the run."""

    item: Item
    action: Action
    verified: str = ""              # how the upload was checked ("sha256 read back", "size"...)


class Endpoint(Protocol):
    """One destination, as `send` drives it. Every method raises DeliveryError on failure."""

    def describe(self, name: str = "") -> str:
        """Where `name` goes (or the target itself), for messages; never a secret."""

    def size(self, name: str) -> int | None:
        """The size of the file under its final name at the target; None when absent."""

    def sha256(self, name: str) -> str | None:
        """The SHA-256 of the file under its final name, as far as the target can tell
        (hashing it, its metadata, a manifest); None when unknown."""

    def put(self, item: Item) -> str:
        """Send `item` to a temporary name, verify it, rename it into place; how it was verified."""

    def close(self) -> None:
        """Finish (write a manifest, close the connection); also after a failure."""


def send(items: list[Item], endpoint: Endpoint, *, delivered: dict[str, str],
         force: bool = False, dry_run: bool = False,
         on_outcome: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Deliver `items` to `endpoint` in order; stop at the first failure (DeliveryError).

    `delivered` maps names to the SHA-256 the delivery record says this target received.
    `on_outcome` is called after each file, so the record can be written as files land
    (a run that fails half way keeps what it finished).
    """
    outcomes = []
    for item in items:
        action = _decide(item, endpoint, delivered, force)
        verified = ""
        if action is Action.SENT:
            if dry_run:
                action = Action.WOULD_SEND
            else:
                log.info("sending %s (%d bytes) to %s", item.name, item.size, endpoint.describe())
                verified = endpoint.put(item)
        outcome = Outcome(item, action, verified)
        outcomes.append(outcome)
        if on_outcome is not None and not dry_run:
            on_outcome(outcome)
    return outcomes


def _decide(item: Item, endpoint: Endpoint, delivered: dict[str, str], force: bool) -> Action:
    if force:
        return Action.SENT
    size = endpoint.size(item.name)
    if size is None:
        # Gone from the target: imported by the station if the record says we delivered it.
        return Action.IMPORTED if delivered.get(item.name) == item.sha256 else Action.SENT
    if size == item.size and endpoint.sha256(item.name) == item.sha256:
        return Action.UNCHANGED
    return Action.SENT
