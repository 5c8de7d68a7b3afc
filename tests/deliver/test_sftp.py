"""SFTP delivery against a real SSH server (asyncssh's) on 127.0.0.1: transfer, faults, trust."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from sftpserver import SftpServer

from toolkit.deliver import Action, Item, send
from toolkit.deliver.sftp import MANIFEST, SftpEndpoint, temp_name
from toolkit.errors import DeliveryError


@pytest.fixture
def server(tmp_path, monkeypatch):
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    with SftpServer(tmp_path / "sftp") as s:
        yield s


def make_item(folder: Path, name: str = "KA0312.wav", size: int = 3_000_000, seed: int = 1) -> Item:
    data = hashlib.shake_256(f"{name}{seed}".encode()).digest(size)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return Item("ep-one", "air", name, path, size, hashlib.sha256(data).hexdigest())


def run(server: SftpServer, items: list[Item], delivered=None, **kw):
    endpoint = SftpEndpoint(server.target(**kw))
    try:
        return send(items, endpoint, delivered=delivered or {})
    finally:
        endpoint.close()


def test_delivers_the_file_whole_and_verified(server, tmp_path):
    item = make_item(tmp_path / "built")
    [out] = run(server, [item])
    assert out.action is Action.SENT and out.verified == "sha256 read back"
    landed = server.root / "incoming" / item.name
    assert landed.read_bytes() == item.path.read_bytes()
    assert not (server.root / "incoming" / temp_name(item.name)).exists()
    # The manifest the next run trusts is a dot file (ignored by importers).
    assert MANIFEST.startswith(".") and (server.root / "incoming" / MANIFEST).is_file()


def test_second_run_sends_nothing(server, tmp_path):
    item = make_item(tmp_path / "built")
    run(server, [item])
    sent = server.bytes_written
    [out] = run(server, [item])
    assert out.action is Action.UNCHANGED
    assert server.bytes_written == sent      # not one byte of file data went up again


def test_a_changed_file_is_sent_again(server, tmp_path):
    run(server, [make_item(tmp_path / "built", seed=1)])
    item = make_item(tmp_path / "built", seed=2)
    [out] = run(server, [item])
    assert out.action is Action.SENT
    assert (server.root / "incoming" / item.name).read_bytes() == item.path.read_bytes()


def test_connection_dropped_mid_file_never_shows_a_partial_file_and_next_run_completes(server, tmp_path):
    item = make_item(tmp_path / "built", size=6_000_000)
    final = server.root / "incoming" / item.name
    server.cut_after = 2_500_000
    with pytest.raises(DeliveryError) as err:
        run(server, [item])
    assert server.cuts == 1
    message = str(err.value)
    assert "\n" not in message and "delivery station" in message and "uploading" in message
    assert not final.exists()                # the final name never held a partial file
    part = server.root / "incoming" / temp_name(item.name)
    assert part.exists() and part.stat().st_size < item.size
    [out] = run(server, [item])
    assert out.action is Action.SENT
    assert final.read_bytes() == item.path.read_bytes()
    assert not part.exists()


def test_a_replaced_file_is_never_partial_under_its_final_name(server, tmp_path):
    old = make_item(tmp_path / "built", seed=1, size=4_000_000)
    run(server, [old])
    final = server.root / "incoming" / old.name
    before = final.read_bytes()
    new = make_item(tmp_path / "built", seed=2, size=4_000_000)
    server.cut_after = 1_000_000
    with pytest.raises(DeliveryError):
        run(server, [new])
    assert final.read_bytes() == before      # the old good file stays whole


def test_wrong_host_key_is_refused_in_one_line(server, tmp_path):
    import asyncssh
    other = asyncssh.generate_private_key("ssh-ed25519")
    server.known_hosts.write_text(server.known_hosts_line(other))
    item = make_item(tmp_path / "built")
    with pytest.raises(DeliveryError) as err:
        run(server, [item])
    message = str(err.value)
    assert "\n" not in message and "host key" in message and "refused" in message
    assert server.bytes_written == 0
    assert not (server.root / "incoming" / item.name).exists()


def test_unknown_host_and_missing_known_hosts_are_refused(server, tmp_path):
    item = make_item(tmp_path / "built")
    server.known_hosts.write_text("")        # nothing known: no trust on first use
    with pytest.raises(DeliveryError, match="host key"):
        run(server, [item])
    with pytest.raises(DeliveryError, match="no known_hosts file"):
        run(server, [item], known_hosts=tmp_path / "absent")
    assert server.bytes_written == 0


def test_a_key_the_server_does_not_accept_fails_in_one_line(server, tmp_path):
    import asyncssh
    stranger = tmp_path / "stranger"
    asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(stranger))
    with pytest.raises(DeliveryError, match="no key was accepted"):
        run(server, [make_item(tmp_path / "built")], identity=stranger)


def test_key_passphrase_from_the_environment_is_never_printed(server, tmp_path, monkeypatch, caplog):
    import logging

    import asyncssh
    secret = "podkit-TEST-passphrase-93b1"
    key_path = tmp_path / "locked_key"
    # 50 bcrypt rounds (the fewest bcrypt takes without a warning), not asyncssh's 128: the
    # same format and checks, 0.6 s less per read.
    server.client_key.write_private_key(str(key_path), passphrase=secret, rounds=50)
    monkeypatch.setenv("STATION_KEY_PASS", secret)
    caplog.set_level(logging.DEBUG)
    item = make_item(tmp_path / "built")
    [out] = run(server, [item], identity=key_path, passphrase_env="STATION_KEY_PASS")
    assert out.action is Action.SENT
    # A wrong passphrase: one line naming the key, without the passphrase.
    monkeypatch.setenv("STATION_KEY_PASS", secret + "-wrong")
    with pytest.raises(DeliveryError) as err:
        run(server, [make_item(tmp_path / "built", seed=3)], identity=key_path,
            passphrase_env="STATION_KEY_PASS")
    assert secret not in str(err.value) and "locked_key" in str(err.value)
    assert secret not in caplog.text
    monkeypatch.delenv("STATION_KEY_PASS")
    with pytest.raises(DeliveryError, match="STATION_KEY_PASS"):
        run(server, [item], identity=key_path, passphrase_env="STATION_KEY_PASS")
    assert asyncssh  # imported for the key type


def test_size_only_verification(server, tmp_path):
    item = make_item(tmp_path / "built")
    [out] = run(server, [item], verify="size")
    assert out.verified == "size"
    assert (server.root / "incoming" / item.name).read_bytes() == item.path.read_bytes()


def test_a_dead_server_fails_within_the_timeout(tmp_path, server):
    import socket
    import time
    # A listener that accepts and never speaks SSH: the connect must not hang.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(DeliveryError, match="no answer|connecting"):
            run(server, [make_item(tmp_path / "built")], port=port, timeout=1.0)
        assert time.monotonic() - started < 10
    assert os.environ.get("SSH_AUTH_SOCK") is None
