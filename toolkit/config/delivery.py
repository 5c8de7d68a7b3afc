"""Reads a feed's `[[delivery]]` tables: where each cut goes (docs/radio.md, "Delivery").

    [[delivery]]
    name = "station"            # the target's id (default: the kind)
    cut = "air"                 # which cut goes there
    kind = "sftp"               # folder | sftp | s3
    host = "playout.example.net"
    user = "podkit"
    path = "/incoming"
    identity = "~/.ssh/podkit_ed25519"
    known_hosts = "~/.ssh/known_hosts"
    sidecar = "json"

No secret is ever read from the file: a key's passphrase comes from the environment
variable `passphrase_env` names, S3 credentials from boto3's chain. A password or user
info written into a host or endpoint is refused (it would end up in logs and messages).
"""
from __future__ import annotations

import re
from pathlib import Path

from toolkit.config.tomlread import Table
from toolkit.delivermodel import DeliveryKind, DeliveryTarget, Sidecar
from toolkit.store.layout import Layout

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HOST_RE = re.compile(r"^[A-Za-z0-9.:\-\[\]]+$")

_KEYS = {
    DeliveryKind.FOLDER: {"directory"},
    DeliveryKind.SFTP: {"host", "port", "user", "path", "identity", "passphrase_env",
                        "known_hosts", "agent", "verify"},
    DeliveryKind.S3: {"bucket", "prefix", "endpoint_url", "region", "addressing_style"},
}


def _path(text: str, root: Path) -> Path:
    """A path from the feed file: `~` expanded, relative ones from the show folder."""
    p = Path(text).expanduser()
    return p if p.is_absolute() else root / p


def read_targets(t: Table, root: Path) -> tuple[DeliveryTarget, ...]:
    """Every `[[delivery]]` table of a feed, checked (problems go to the table's list)."""
    out: list[DeliveryTarget] = []
    seen: set[str] = set()
    for d in t.tables("delivery"):
        target = _read_one(d, root)
        if target is None:
            continue
        if target.name in seen:
            d.error("name", f"a second target named {target.name!r}: give each its own name")
            continue
        seen.add(target.name)
        out.append(target)
    return tuple(out)


def _read_one(d: Table, root: Path) -> DeliveryTarget | None:
    kind = d.choice("kind", DeliveryKind, DeliveryKind.FOLDER) if d.has("kind") else None
    if kind is None:
        d.error("kind", "missing (required): folder, sftp or s3")
    name = d.text("name", default=kind.value if kind else "") or ""
    if name and not _NAME_RE.match(name):
        d.error("name", f"{name!r} must be lowercase letters, digits, '-' or '_' (at most 40)")
    cut = d.text("cut", default="air") or "air"
    sidecar = d.choice("sidecar", Sidecar, Sidecar.NONE)
    timeout = d.number("timeout", default=30.0, minimum=1.0, maximum=3600.0) or 30.0
    fields: dict[str, object] = {}
    if kind is not None:  # a key of another kind is a mistake worth naming, not a typo
        for other, keys in _KEYS.items():
            for key in keys - _KEYS[kind] if other is not kind else ():
                if d.has(key):
                    d.error(key, f"is not a key of a {kind.value} target")
    if kind is DeliveryKind.FOLDER:
        directory = d.text("directory", required=True)
        if directory:
            fields["directory"] = _path(directory, root)
            why = Layout(root).overlaps_sources(fields["directory"])  # type: ignore[arg-type]
            if why:
                d.error("directory", why.replace("publishing", "delivering"))
    elif kind is DeliveryKind.SFTP:
        fields.update(_sftp(d, root))
    elif kind is DeliveryKind.S3:
        fields.update(_s3(d))
    d.finish()
    if kind is None or not name or any(p.field.startswith(d.prefix) and p.severity.value == "error"
                                       for p in d.problems):
        return None
    return DeliveryTarget(name=name, cut=cut, kind=kind, sidecar=sidecar, timeout=timeout,
                          **fields)  # type: ignore[arg-type]


def _sftp(d: Table, root: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    host = d.text("host", required=True)
    if host and ("@" in host or not _HOST_RE.match(host)):
        # user:password@host would be printed in every message about the target.
        d.error("host", "must be a host name or address only (user name in `user`, no password: "
                        "use a key)")
    out["host"] = host
    port = d.integer("port")
    if port is not None:
        if not 1 <= port <= 65535:
            d.error("port", f"must be 1..65535, not {port}")
        out["port"] = port
    out["user"] = d.text("user")
    out["path"] = d.text("path", default=".") or "."
    identity = d.text("identity")
    if identity:
        out["identity"] = _path(identity, root)
    env = d.text("passphrase_env")
    if env and not _ENV_RE.match(env):
        d.error("passphrase_env", "must name an environment variable (the passphrase itself "
                                  "never goes in the feed file)")
    out["passphrase_env"] = env
    known = d.text("known_hosts")
    if known:
        out["known_hosts"] = _path(known, root)
    out["agent"] = bool(d.flag("agent", default=True))
    verify = d.text("verify", default="hash") or "hash"
    if verify not in ("hash", "size"):
        d.error("verify", f"must be 'hash' (read the upload back) or 'size', not {verify!r}")
    out["verify"] = verify
    if "password" in d.data:
        d.error("password", "passwords are not supported: use a key (identity) or an ssh-agent")
        d.has("password")
    return out


def _s3(d: Table) -> dict[str, object]:
    out: dict[str, object] = {"bucket": d.text("bucket", required=True)}
    prefix = (d.text("prefix") or "").strip("/")
    out["prefix"] = prefix + "/" if prefix else ""
    endpoint = d.text("endpoint_url")
    if endpoint:
        if not re.match(r"^https?://", endpoint):
            d.error("endpoint_url", "must start with https:// (or http:// for a local test server)")
        elif "@" in endpoint.split("/")[2]:
            d.error("endpoint_url", "holds a user name or password: credentials come from the "
                                    "environment (boto3's chain), never the URL")
        out["endpoint_url"] = endpoint
    out["region"] = d.text("region")
    style = d.text("addressing_style", default="auto") or "auto"
    if style not in ("auto", "path", "virtual"):
        d.error("addressing_style", "must be auto, path or virtual")
    out["addressing_style"] = style
    return out
