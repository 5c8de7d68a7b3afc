"""Delivery to a station as data: where a cut goes, and what is sent (stdlib only, no I/O).

A feed declares its targets (`[[delivery]]` tables, read by toolkit.config.delivery); the
build record says which cut files exist; `podkit deliver` (toolkit.deliver) sends one to
the other. Nothing here holds a secret: a key passphrase is named by the environment
variable that carries it, never stored.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path


class DeliveryKind(str, Enum):
    """How a cut reaches the station."""

    FOLDER = "folder"       # a watch folder the playout system imports from (local or mounted)
    SFTP = "sftp"           # an SFTP server (asyncssh), usually the station's watch folder
    S3 = "s3"               # an S3-compatible bucket (the publish code's client)


class Sidecar(str, Enum):
    """A metadata file sent beside each cut, for systems that read one."""

    NONE = "none"
    JSON = "json"
    XML = "xml"


@dataclass(frozen=True)
class DeliveryTarget:
    """One `[[delivery]]` table of a feed: a cut's destination."""

    name: str                           # the target's id in records and messages ("station")
    cut: str                            # which named cut goes there ("air")
    kind: DeliveryKind
    sidecar: Sidecar = Sidecar.NONE
    timeout: float = 30.0               # seconds for connecting and for each network step
    # FOLDER
    directory: Path | None = None
    # SFTP
    host: str | None = None
    port: int = 22
    user: str | None = None
    path: str = "."                     # the remote folder
    identity: Path | None = None        # a private key file (else the agent's keys)
    passphrase_env: str | None = None   # the environment variable holding the key's passphrase
    known_hosts: Path | None = None     # None: ~/.ssh/known_hosts (never skipped)
    agent: bool = True                  # also offer keys of a running ssh-agent
    verify: str = "hash"                # "hash": read the upload back; "size": size only
    # S3
    bucket: str | None = None
    prefix: str = ""
    endpoint_url: str | None = None
    region: str | None = None
    addressing_style: str = "auto"

    def describe(self) -> str:
        """Where the target points, for messages (never a secret: none is held here)."""
        if self.kind is DeliveryKind.FOLDER:
            return f"{self.name} (folder {self.directory})"
        if self.kind is DeliveryKind.SFTP:
            who = f"{self.user}@" if self.user else ""
            return f"{self.name} (sftp://{who}{self.host}:{self.port}/{self.path.lstrip('/')})"
        return f"{self.name} (s3://{self.bucket}/{self.prefix})"


@dataclass(frozen=True)
class CutFile:
    """One built cut of one episode, as delivery needs it (read from the build record)."""

    slug: str
    cut: str                            # the cut's name ("air")
    path: Path                          # the built file (absolute)
    size: int
    sha256: str
    format: str = ""                    # "wav", "mp2", "flac"
    duration: float | None = None       # seconds
    integrated: float | None = None     # LUFS, measured on this file
    true_peak: float | None = None      # dBTP
    cart: str = ""                      # the cart / cut id
    title: str = ""
    artist: str = ""
    date: str = ""                      # ISO date of first air
    end_date: str = ""                  # ISO date-time of the kill date ("" = open-ended)
    out_cue: str = ""

    @property
    def name(self) -> str:
        """The file's name at the station (the built file's own name)."""
        return self.path.name
