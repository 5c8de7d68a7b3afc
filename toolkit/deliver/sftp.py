"""An SFTP target (asyncssh; the only module that imports it).

Trust: the server's host key must be in a known_hosts file (the target's `known_hosts`,
else ~/.ssh/known_hosts); a missing file, an unknown host or a changed key is refused
with one line, never skipped. Authentication by key only: the target's `identity` file
(its passphrase from the environment variable `passphrase_env` names) and, unless
`agent = false`, the keys of a running ssh-agent. ~/.ssh/config is not read: everything
that decides where a file goes is in the feed file.

Transfer: the file is written as `.<name>.part` in the target folder (in blocks, each
bounded by the target's timeout, so a dead link fails instead of hanging), fsynced where
the server offers fsync@openssh.com, its size checked with a stat and, with `verify =
"hash"` (the default), read back and hashed (SFTP has no standard checksum request and
asyncssh's server offers none), then renamed over the final name with the
posix-rename@openssh.com extension (atomic replace); a server without it gets remove +
rename, which never shows a partial file under the final name either.

Incremental: `.podkit-delivery.json` in the target folder (a dot file importers ignore)
records the size and SHA-256 of each file podkit put there; a file whose size matches
its manifest entry is not sent again.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import warnings
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

from toolkit.deliver import Item
from toolkit.delivermodel import DeliveryTarget
from toolkit.errors import DeliveryError
from toolkit.redact import LogRedactor

with warnings.catch_warnings():
    # cryptography warns about DSA while asyncssh imports its key types; podkit uses none.
    warnings.simplefilter("ignore")
    import asyncssh

log = logging.getLogger(__name__)

T = TypeVar("T")
MANIFEST = ".podkit-delivery.json"
#: Bytes per SFTP write or read call (asyncssh pipelines each into parallel requests).
BLOCK = 4 << 20
MAX_MANIFEST = 1 << 20


def temp_name(name: str) -> str:
    """The name a file is uploaded under before it is renamed into place."""
    return f".{name}.part"


class SftpEndpoint:
    """One SFTP folder on one server, connected for the life of the object."""

    def __init__(self, target: DeliveryTarget) -> None:
        self.target = target
        self.folder = (target.path or ".").rstrip("/") or "/"
        self.passphrase = os.environ.get(target.passphrase_env) if target.passphrase_env else None
        self.redactor = LogRedactor([self.passphrase])
        self.redactor.install()
        self.loop = asyncio.new_event_loop()
        self.conn: Any = None
        self.sftp: Any = None
        self.manifest: dict[str, dict[str, Any]] = {}
        try:
            self._run(self._connect(), "connecting", timeout=target.timeout * 2)
            self.manifest = self._run(self._read_manifest(), "reading the manifest")
        except BaseException:
            self.close()
            raise

    # -- plumbing -----------------------------------------------------------------------
    def describe(self, name: str = "") -> str:
        """sftp://user@host:port/folder[/name] (no secret: none is in the target)."""
        t = self.target
        who = f"{t.user}@" if t.user else ""
        path = f"{self.folder}/{name}" if name else self.folder
        return f"sftp://{who}{t.host}:{t.port}/{path.lstrip('/')}"

    def _path(self, name: str) -> str:
        return f"{self.folder}/{name}"

    def _error(self, name: str, doing: str, why: str) -> DeliveryError:
        return DeliveryError(self.redactor.scrub(f"{doing} failed: {why}"),
                             path=self.describe(name), field=f"delivery {self.target.name}")

    def _run(self, coro: Awaitable[T], doing: str, name: str = "",
             timeout: float | None = None) -> T:
        """Run one step on this endpoint's loop, bounded in time; failures become one line."""
        try:
            return self.loop.run_until_complete(
                asyncio.wait_for(coro, timeout or self.target.timeout))
        except DeliveryError:
            raise
        except asyncssh.HostKeyNotVerifiable:
            raise self._error("", "connecting", (
                f"the server's host key is not the one known_hosts ({self._known_hosts()}) has "
                "for it: refused. If the station changed its key, check the new fingerprint "
                "with them and update known_hosts")) from None
        except asyncssh.PermissionDenied:
            raise self._error("", "logging in", "no key was accepted (check `identity`, "
                              "`user` and the station's authorized_keys)") from None
        except (asyncssh.KeyImportError, asyncssh.KeyEncryptionError) as exc:
            raise DeliveryError(self.redactor.scrub(f"cannot load the key: {exc}"),
                                path=self.target.identity, field=f"delivery {self.target.name}") from None
        except (asyncio.TimeoutError, TimeoutError):
            raise self._error(name, doing, f"no answer within {self.target.timeout:g} s") from None
        except asyncssh.SFTPError as exc:
            raise self._error(name, doing, f"{exc.reason} (SFTP code {exc.code})") from None
        except (asyncssh.Error, OSError) as exc:
            why = getattr(exc, "reason", "") or getattr(exc, "strerror", "") or str(exc) \
                or type(exc).__name__
            if isinstance(exc, (asyncssh.DisconnectError, asyncssh.SFTPConnectionLost,
                                ConnectionError)):
                why = f"the connection was lost ({why})"
            raise self._error(name, doing, why) from None

    def _known_hosts(self) -> Path:
        return self.target.known_hosts or Path("~/.ssh/known_hosts").expanduser()

    async def _connect(self) -> None:
        t = self.target
        known = self._known_hosts()
        if not known.is_file():
            raise DeliveryError(f"no known_hosts file at {known}: podkit connects only to a "
                                "server whose host key is listed there (add it after checking "
                                "its fingerprint with the station)", path=self.describe(),
                                field=f"delivery {t.name}")
        if t.passphrase_env and self.passphrase is None:
            raise DeliveryError(f"the environment variable {t.passphrase_env} (the key's "
                                "passphrase) is not set", path=self.describe(),
                                field=f"delivery {t.name}")
        options: dict[str, Any] = {
            "known_hosts": str(known), "config": [], "preferred_auth": "publickey",
            "connect_timeout": t.timeout, "login_timeout": t.timeout,
        }
        if t.user:
            options["username"] = t.user
        if t.identity:
            options["client_keys"] = [str(t.identity)]
            if self.passphrase is not None:
                options["passphrase"] = self.passphrase
        if not t.agent:
            options["agent_path"] = None
        self.conn = await asyncssh.connect(t.host, t.port, **options)
        self.sftp = await self.conn.start_sftp_client()
        if not await self.sftp.isdir(self.folder):
            # Created by the station, never by podkit: a missing folder is a wrong `path`.
            raise DeliveryError("the remote folder does not exist (check `path`)",
                                path=self.describe(), field=f"delivery {t.name}")

    async def _read_manifest(self) -> dict[str, dict[str, Any]]:
        path = self._path(MANIFEST)
        try:
            async with self.sftp.open(path, "rb") as f:
                data = await f.read(MAX_MANIFEST + 1)
        except asyncssh.SFTPNoSuchFile:
            return {}
        try:
            found = json.loads(data) if len(data) <= MAX_MANIFEST else None
        except ValueError:
            found = None
        if not isinstance(found, dict):
            log.warning("%s: unreadable; every file is checked anew", self.describe(MANIFEST))
            return {}
        return {k: v for k, v in found.items() if isinstance(v, dict)}

    # -- the Endpoint protocol ------------------------------------------------------------
    def size(self, name: str) -> int | None:
        """The size of `name` at the server; None when absent."""
        async def stat() -> int | None:
            try:
                return (await self.sftp.stat(self._path(name))).size
            except asyncssh.SFTPNoSuchFile:
                return None
        return self._run(stat(), "stat", name)

    def sha256(self, name: str) -> str | None:
        """The SHA-256 the manifest holds for `name` (podkit wrote and verified it)."""
        entry = self.manifest.get(name) or {}
        return entry.get("sha256") if isinstance(entry.get("sha256"), str) else None

    def put(self, item: Item) -> str:
        """Upload to `.<name>.part`, check, rename over `name`; how it was checked."""
        tmp = self._path(temp_name(item.name))
        self._run(self._upload(item, tmp), "uploading", item.name, timeout=self._budget(item.size))
        size = self._run(self.sftp.stat(tmp), "stat after upload", item.name).size
        if size != item.size:
            raise self._error(item.name, "checking the upload",
                              f"the server holds {size} bytes of {item.size}")
        how = "size"
        if self.target.verify == "hash":
            got = self._run(self._hash(tmp), "reading the upload back", item.name,
                            timeout=self._budget(item.size))
            if got != item.sha256:
                raise self._error(item.name, "checking the upload",
                                  "the bytes read back differ from the built file")
            how = "sha256 read back"
        self._run(self._rename(tmp, self._path(item.name)), "renaming into place", item.name)
        self.manifest[item.name] = {"sha256": item.sha256, "size": item.size}
        self._run(self._write_manifest(), "writing the manifest", MANIFEST)
        return how

    def _budget(self, size: int) -> float:
        # Each block has the target's timeout (checked in _upload); this bounds the whole
        # transfer at a crawl of 64 KiB/s, so a stalled server cannot hold a run forever.
        return self.target.timeout + size / 65536

    async def _upload(self, item: Item, tmp: str) -> None:
        async with self.sftp.open(tmp, "wb") as out:
            offset = 0
            with open(item.path, "rb") as src:
                while block := src.read(BLOCK):
                    await asyncio.wait_for(out.write(block, offset), self.target.timeout)
                    offset += len(block)
            try:
                await asyncio.wait_for(out.fsync(), self.target.timeout)
            except asyncssh.SFTPOpUnsupported:
                pass  # the server does not offer fsync@openssh.com: the size and hash still tell

    async def _hash(self, path: str) -> str:
        digest = hashlib.sha256()
        async with self.sftp.open(path, "rb") as f:
            offset = 0
            while block := await asyncio.wait_for(f.read(BLOCK, offset), self.target.timeout):
                digest.update(block)
                offset += len(block)
        return digest.hexdigest()

    async def _rename(self, tmp: str, final: str) -> None:
        try:
            await self.sftp.posix_rename(tmp, final)
        except asyncssh.SFTPOpUnsupported:
            # Plain SFTPv3 rename refuses an existing target: remove it first. The final
            # name is briefly absent, never partial.
            if await self.sftp.exists(final):
                await self.sftp.remove(final)
            await self.sftp.rename(tmp, final)

    async def _write_manifest(self) -> None:
        data = json.dumps(self.manifest, indent=1, sort_keys=True).encode() + b"\n"
        tmp = self._path(temp_name(MANIFEST))
        async with self.sftp.open(tmp, "wb") as f:
            await f.write(data)
        await self._rename(tmp, self._path(MANIFEST))

    def close(self) -> None:
        """Close the SFTP session and the connection, then the loop and the log scrubbing."""
        try:
            if self.conn is not None:
                self.conn.close()
                try:
                    self.loop.run_until_complete(asyncio.wait_for(self.conn.wait_closed(), 5))
                except (asyncio.TimeoutError, asyncssh.Error, OSError):
                    pass
                self.conn = None
            if not self.loop.is_closed():
                self.loop.close()
        finally:
            self.redactor.uninstall()
