"""`podkit deliver` end to end: a built show whose record lists an air cut (a real WAV), sent to a
watch folder and a real SFTP server; the record, `podkit status`, errors in one line."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from s3server import fake_credentials, moto_endpoint, s3  # noqa: F401  (fixtures)
from corpus_support import podkit_inprocess
from sftpserver import SftpServer

from toolkit.config.catalog import load as load_catalog
from toolkit.fsutil import sha256_file
from toolkit import pipeline
from toolkit.store import record
from toolkit.store.layout import Layout

DELIVERY = """
[[delivery]]
name = "watch"
cut = "air"
kind = "folder"
directory = "build/station-in"
sidecar = "json"

[[delivery]]
name = "station"
cut = "air"
kind = "sftp"
host = "127.0.0.1"
port = {port}
user = "podkit"
path = "/incoming"
identity = "{identity}"
known_hosts = "{known_hosts}"
agent = false
timeout = 10
"""


def podkit(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The command through the CLI in this process (no agent: the key file alone); a child
    process costs a second of imports for each of these many commands, and test_sftp and
    the showlife tests already run podkit as its own process."""
    run = podkit_inprocess(root, *args, env=env, unset=("SSH_AUTH_SOCK",))
    return subprocess.CompletedProcess(run.args, run.rc, run.stdout, run.stderr)


AIR_CUT = """
[cuts.air]
preset = "ebu-r128"
format = "wav"
name = "{cart}"
cart = "KA0312"
"""


def build_air_cut(root: Path, *, preset: str | None = None) -> Path:
    """Declare an air cut on the feed and build it (the real build: -23 LUFS BWF WAV), or
    with `preset` the episode's own [cuts.air] table overriding it; the built WAV's path."""
    feed = root / "feeds" / "test-radio.toml"
    if "[cuts.air]" not in feed.read_text():
        feed.write_text(feed.read_text() + AIR_CUT)
    if preset is not None:
        toml = root / "episodes" / "first-episode" / "episode.toml"
        toml.write_text(toml.read_text() + f'\n[cuts.air]\npreset = "{preset}"\n')
    results = pipeline.build(root)
    assert all(r.ok for r in results), [r.error for r in results]
    rec = record.load(Layout(root).episode_stage("test-radio", "first-episode"), root=root,
                      slug="first-episode")
    [cut] = rec.cuts
    return Layout(root).build / cut.path


@pytest.fixture(scope="module")
def air_show(built_show, tmp_path_factory):
    """The fixture show with an air cut built, once per module (copied by each test)."""
    root = tmp_path_factory.mktemp("air") / "show"
    shutil.copytree(built_show, root, symlinks=True)
    build_air_cut(root)
    return root


def add_air_cut(root: Path, **kw: str) -> Path:
    """The built air cut of `root` (built again when `preset` changes it)."""
    return build_air_cut(root, **kw) if kw else Layout(root).build / record.load(
        Layout(root).episode_stage("test-radio", "first-episode"), root=root,
        slug="first-episode").cuts[0].path


@pytest.fixture
def station(tmp_path):
    with SftpServer(tmp_path / "sftp") as s:
        (s.root / "incoming").mkdir()
        yield s


@pytest.fixture
def show(air_show, tmp_path, station):
    root = tmp_path / "show"
    shutil.copytree(air_show, root, symlinks=True)
    feed = root / "feeds" / "test-radio.toml"
    feed.write_text(feed.read_text() + DELIVERY.format(
        port=station.port, identity=station.identity, known_hosts=station.known_hosts))
    return root


def test_deliver_sends_each_cut_once_logs_it_and_status_shows_it(show, station):
    wav = add_air_cut(show)
    first = podkit(show, "deliver")
    assert first.returncode == 0, first.stderr
    assert "sent KA0312.wav (first-episode, air) to station: verified by sha256 read back" \
        in first.stdout
    assert "sent KA0312.wav.json" in first.stdout
    watch = show / "build" / "station-in"
    assert (watch / "KA0312.wav").read_bytes() == wav.read_bytes()
    assert (station.root / "incoming" / "KA0312.wav").read_bytes() == wav.read_bytes()
    assert not [p for p in watch.iterdir() if p.name.endswith(".part")]
    side = json.loads((watch / "KA0312.wav.json").read_text())
    assert side["cart"] == "KA0312" and side["title"] == "First episode"
    assert side["start_date"] == "2024-05-01" and side["sha256"] == sha256_file(wav)
    assert side["artist"] == "Example Radio" and abs(side["loudness_lufs"] + 23.0) <= 0.5
    # The delivery record under build/.
    log = json.loads((show / "build" / "deliver" / "test-radio.json").read_text())
    assert log["targets"]["station"]["KA0312.wav"]["sha256"] == sha256_file(wav)
    assert log["targets"]["watch"]["KA0312.wav"]["verified"] == "sha256 read back"
    # Second run: nothing sent to either target.
    sent = station.bytes_written
    again = podkit(show, "deliver")
    assert again.returncode == 0, again.stderr
    assert "sent" not in again.stdout.replace(" 0 sent", "")
    assert "station (sftp://podkit@127.0.0.1" in again.stdout and "0 sent, 1 unchanged" in again.stdout
    assert station.bytes_written == sent
    # Status: delivered to both, the episode not stale (a station added to the feed
    # changes no built file).
    status = podkit(show, "status", "--json", "--now", "2030-01-01T00:00:00Z")
    row = json.loads(status.stdout)["episodes"][0]
    assert row["state"] != "stale", row
    assert "watch: delivered" in row["delivery"] and "station: delivered" in row["delivery"]


def test_a_rebuilt_cut_shows_outdated_then_goes_again(show, station):
    add_air_cut(show)
    assert podkit(show, "deliver").returncode == 0
    wav = add_air_cut(show, preset="atsc-a85")
    status = podkit(show, "status", "--json", "--now", "2030-01-01T00:00:00Z")
    assert "outdated" in json.loads(status.stdout)["episodes"][0]["delivery"]
    again = podkit(show, "deliver")
    assert again.returncode == 0 and "sent KA0312.wav " in again.stdout
    assert (station.root / "incoming" / "KA0312.wav").read_bytes() == wav.read_bytes()


def test_wrong_host_key_fails_in_one_line_naming_the_target(show, station):
    import asyncssh
    add_air_cut(show)
    feed = show / "feeds" / "test-radio.toml"   # a target after the failing one still gets its file
    feed.write_text(feed.read_text() + '\n[[delivery]]\nname = "backup"\nkind = "folder"\n'
                                       'directory = "build/backup-in"\n')
    station.known_hosts.write_text(station.known_hosts_line(asyncssh.generate_private_key("ssh-ed25519")))
    result = podkit(show, "deliver")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert "delivery station" in lines[0] and "host key" in lines[0]
    assert not (station.root / "incoming" / "KA0312.wav").exists()
    assert (show / "build" / "backup-in" / "KA0312.wav").is_file()


def test_dry_run_sends_nothing_and_names_what_would_go(show, station):
    add_air_cut(show)
    result = podkit(show, "deliver", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "would send KA0312.wav (first-episode, air) to station" in result.stdout
    assert not (show / "build" / "station-in" / "KA0312.wav").exists()
    assert station.bytes_written == 0
    assert not (show / "build" / "deliver" / "test-radio.json").exists()


def test_a_missing_remote_folder_is_one_line(show, station):
    add_air_cut(show)
    (station.root / "incoming").rmdir()
    result = podkit(show, "deliver")
    assert result.returncode == 1
    assert "remote folder does not exist" in result.stderr and len(result.stderr.splitlines()) == 1


def test_a_stale_build_is_not_delivered(show, station):
    add_air_cut(show)
    toml = show / "episodes" / "first-episode" / "episode.toml"
    toml.write_text(toml.read_text().replace("First episode", "First episode, re-edited"))
    result = podkit(show, "deliver")
    assert result.returncode == 1 and "stale" in result.stderr
    assert not (show / "build" / "station-in" / "KA0312.wav").exists()


def test_delivery_targets_are_checked(show):
    feed = show / "feeds" / "test-radio.toml"
    feed.write_text(feed.read_text() + """
[[delivery]]
name = "bad"
kind = "sftp"
host = "user:hunter2@example.net"
password = "hunter2"
""")
    cat = load_catalog(show)
    found = [str(p) for p in cat.errors]
    assert any("delivery[2].host" in p and "no password" in p for p in found), found
    assert any("delivery[2].password" in p for p in found), found
    assert not any("hunter2" in p for p in found)


def test_release_delivers_after_publishing(show, station):
    add_air_cut(show)
    result = podkit(show, "release", "--now", "2030-01-01T00:00:00Z")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.index("publish:") < out.index("deliver: sent KA0312.wav")
    assert (station.root / "incoming" / "KA0312.wav").exists()


def test_release_fails_on_delivery_after_publishing_and_says_so(show, station):
    import asyncssh
    add_air_cut(show)
    station.known_hosts.write_text(station.known_hosts_line(asyncssh.generate_private_key("ssh-ed25519")))
    result = podkit(show, "release", "--now", "2030-01-01T00:00:00Z")
    assert result.returncode == 1
    assert "publish: published to" in result.stdout
    assert "deliver failed; the show was published" in result.stderr
    assert "host key" in result.stderr and "Traceback" not in result.stderr


def test_deliver_to_a_bucket_never_prints_the_secret(air_show, tmp_path, s3):
    from s3server import SECRET_KEY
    root = tmp_path / "show3"
    shutil.copytree(air_show, root, symlinks=True)
    feed = root / "feeds" / "test-radio.toml"
    feed.write_text(feed.read_text() + f"""
[[delivery]]
name = "network"
kind = "s3"
bucket = "{s3.bucket}"
prefix = "air"
endpoint_url = "{s3.proxy.url}"
region = "us-east-1"
addressing_style = "path"
""")
    wav = add_air_cut(root)
    first = podkit(root, "-vv", "deliver")
    assert first.returncode == 0, first.stderr
    assert "sent KA0312.wav (first-episode, air) to network: verified by size, sha256 " \
           "metadata and MD5 ETag" in first.stdout
    assert s3.get("air/KA0312.wav")[2] == wav.read_bytes()
    assert SECRET_KEY not in first.stdout + first.stderr
    again = podkit(root, "deliver")
    assert "0 sent, 1 unchanged" in again.stdout
