"""The feed's [[delivery]] tables as `podkit check` reads them (toolkit/config/delivery.py)."""
from __future__ import annotations

from pathlib import Path

from toolkit.config.catalog import load
from toolkit.delivermodel import DeliveryKind, Sidecar


def with_delivery(root: Path, text: str) -> list[str]:
    feed = root / "feeds" / "test-radio.toml"
    feed.write_text(feed.read_text() + text)
    return [str(p) for p in load(root).errors]


def test_three_kinds_read_into_targets(show_root):
    errors = with_delivery(show_root, """
[[delivery]]
kind = "folder"
directory = "build/station-in"
sidecar = "xml"

[[delivery]]
name = "station"
kind = "sftp"
host = "playout.example.net"
user = "podkit"
path = "/incoming"
identity = "keys/podkit"
passphrase_env = "STATION_KEY_PASS"
known_hosts = "keys/known_hosts"
agent = false
verify = "size"
timeout = 12

[[delivery]]
name = "network"
cut = "mp2"
kind = "s3"
bucket = "ingest"
prefix = "/air"
endpoint_url = "https://s3.example.net"
""")
    assert errors == []
    show = load(show_root).shows["test-radio"]
    folder, sftp, s3 = show.delivery
    assert folder.name == "folder" and folder.kind is DeliveryKind.FOLDER
    assert folder.directory == show_root / "build" / "station-in" and folder.sidecar is Sidecar.XML
    assert sftp.identity == show_root / "keys" / "podkit" and sftp.port == 22
    assert sftp.known_hosts == show_root / "keys" / "known_hosts" and not sftp.agent
    assert (sftp.verify, sftp.timeout, sftp.cut) == ("size", 12.0, "air")
    assert (s3.bucket, s3.prefix, s3.cut) == ("ingest", "air/", "mp2")


def test_mistakes_are_named_by_field(show_root):
    errors = with_delivery(show_root, """
[[delivery]]
name = "x"
kind = "ftp"

[[delivery]]
name = "y"
kind = "sftp"
host = "h.example.net"
bucket = "nope"
passphrase_env = "not a var"
verify = "maybe"

[[delivery]]
name = "y"
kind = "folder"
directory = "episodes"

[[delivery]]
kind = "s3"
bucket = "b"
endpoint_url = "https://key:secret@s3.example.net"
""")
    text = "\n".join(errors)
    assert "delivery[0].kind: must be one of 'folder', 'sftp', 's3'" in text
    assert "delivery[1].bucket: is not a key of a sftp target" in text
    assert "delivery[1].passphrase_env: must name an environment variable" in text
    assert "delivery[1].verify" in text
    assert "delivery[2].directory" in text and "sources" in text
    assert "delivery[3].endpoint_url" in text and "secret" not in text


def test_duplicate_names_are_an_error(show_root):
    errors = with_delivery(show_root, """
[[delivery]]
kind = "folder"
directory = "build/a"
[[delivery]]
kind = "folder"
directory = "build/b"
""")
    assert any("delivery[1].name" in e and "second target" in e for e in errors), errors
