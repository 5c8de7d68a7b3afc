"""The delivery record: what `podkit deliver` sent to which target (build/deliver/<feed>.json).

One entry per target and file name: episode, cut, size, SHA-256, how the upload was
verified and when. Written after every file that lands (atomically), so a run that fails
half way keeps what it finished; `podkit status` reads it. A log of events, so it holds
times; the files it describes do not.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.deliver import Action, Outcome
from toolkit.fsutil import write_text

log = logging.getLogger(__name__)

VERSION = 1


@dataclass(frozen=True)
class Delivered:
    """One file at one target, as the record has it."""

    target: str
    name: str
    slug: str
    cut: str
    size: int
    sha256: str
    verified: str
    at: str                 # ISO time (UTC) of the delivery


class DeliveryLog:
    """The record of one feed, loaded and updated in place."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.entries: dict[str, dict[str, dict[str, Any]]] = {}
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("%s: unreadable (%s); starting a new delivery record", self.path, exc)
            return
        if isinstance(data, dict) and data.get("version") == VERSION \
                and isinstance(data.get("targets"), dict):
            self.entries = {t: v for t, v in data["targets"].items() if isinstance(v, dict)}

    def sent(self, target: str) -> dict[str, str]:
        """File name -> SHA-256 of what this target received."""
        return {name: str(e.get("sha256")) for name, e in self.entries.get(target, {}).items()}

    def note(self, target: str, outcome: Outcome, when: dt.datetime | None = None) -> None:
        """Record a file that landed (or was found in place) and save the record."""
        if outcome.action not in (Action.SENT, Action.UNCHANGED):
            return
        item = outcome.item
        old = self.entries.get(target, {}).get(item.name)
        if outcome.action is Action.UNCHANGED and old and old.get("sha256") == item.sha256:
            return   # nothing new to say: keep the original delivery time
        when = when or dt.datetime.now(dt.timezone.utc)
        self.entries.setdefault(target, {})[item.name] = {
            "slug": item.slug, "cut": item.cut, "size": item.size, "sha256": item.sha256,
            "verified": outcome.verified or "found in place",
            "at": when.replace(microsecond=0).isoformat()}
        self.save()

    def save(self) -> None:
        """Write the record (atomically, sorted keys)."""
        write_text(self.path, json.dumps({"version": VERSION, "targets": self.entries},
                                         indent=1, sort_keys=True) + "\n")

    def of_episode(self, slug: str) -> list[Delivered]:
        """Every delivery of one episode's files, by target and name."""
        out = []
        for target, files in sorted(self.entries.items()):
            for name, e in sorted(files.items()):
                if e.get("slug") == slug:
                    out.append(Delivered(target, name, slug, str(e.get("cut", "")),
                                         int(e.get("size", 0)), str(e.get("sha256", "")),
                                         str(e.get("verified", "")), str(e.get("at", ""))))
        return out
