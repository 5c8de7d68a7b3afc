"""Watch-folder delivery: a file appears under its final name only whole (real files, a real kill)."""
from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

import pytest

from toolkit.deliver import Action, Item, send
from toolkit.deliver.folder import FolderEndpoint, temp_name
from toolkit.errors import DeliveryError

from test_sftp import make_item  # noqa: E402  (same folder)


def test_delivers_and_second_run_sends_nothing(tmp_path):
    item = make_item(tmp_path / "built")
    watch = tmp_path / "watch"
    watch.mkdir()
    [out] = send([item], FolderEndpoint("station", watch), delivered={})
    assert out.action is Action.SENT and out.verified == "sha256 read back"
    final = watch / item.name
    assert final.read_bytes() == item.path.read_bytes()
    assert sorted(p.name for p in watch.iterdir()) == [item.name]   # no temp left behind
    mtime = final.stat().st_mtime_ns
    [again] = send([item], FolderEndpoint("station", watch), delivered={})
    assert again.action is Action.UNCHANGED and final.stat().st_mtime_ns == mtime


def test_a_file_the_station_took_away_is_not_sent_again(tmp_path):
    item = make_item(tmp_path / "built")
    watch = tmp_path / "watch"
    watch.mkdir()
    send([item], FolderEndpoint("station", watch), delivered={})
    (watch / item.name).unlink()             # the playout system imported (moved) it
    [out] = send([item], FolderEndpoint("station", watch), delivered={item.name: item.sha256})
    assert out.action is Action.IMPORTED and not (watch / item.name).exists()
    [forced] = send([item], FolderEndpoint("station", watch), delivered={item.name: item.sha256},
                    force=True)
    assert forced.action is Action.SENT and (watch / item.name).exists()


def test_missing_watch_folder_is_one_line(tmp_path):
    with pytest.raises(DeliveryError) as err:
        FolderEndpoint("station", tmp_path / "not-mounted")
    assert "does not exist" in str(err.value) and "\n" not in str(err.value)


def _deliver_from_fifo(fifo: str, watch: str) -> None:
    # The child: deliver a file whose bytes arrive slowly through a FIFO, to be killed mid-copy.
    item = Item("ep", "air", "KA0312.wav", Path(fifo), 50_000_000, "0" * 64)
    send([item], FolderEndpoint("station", Path(watch)), delivered={}, force=True)


def test_killed_mid_write_leaves_no_final_file(tmp_path):
    watch = tmp_path / "watch"
    watch.mkdir()
    fifo = tmp_path / "slow.fifo"
    os.mkfifo(fifo)
    ctx = multiprocessing.get_context("fork")
    child = ctx.Process(target=_deliver_from_fifo, args=(str(fifo), str(watch)))
    child.start()
    part = watch / temp_name("KA0312.wav")
    try:
        with open(fifo, "wb") as feed:
            seen_partial = False
            for _ in range(200):
                feed.write(b"\x01" * (1 << 20))
                feed.flush()
                # While the copy runs: only the temporary name exists, never the final one.
                assert not (watch / "KA0312.wav").exists()
                if part.exists() and part.stat().st_size >= 2 << 20:
                    seen_partial = True
                    break
                time.sleep(0.01)
            assert seen_partial
            os.kill(child.pid, signal.SIGKILL)
            child.join(10)
    except BrokenPipeError:
        pass
    assert child.exitcode == -signal.SIGKILL
    assert not (watch / "KA0312.wav").exists()
    assert part.name.startswith(".") and part.name.endswith(".part")
    # The next run completes it and the leftover temporary is gone.
    item = make_item(tmp_path / "built")
    [out] = send([item], FolderEndpoint("station", watch), delivered={})
    assert out.action is Action.SENT
    assert (watch / "KA0312.wav").read_bytes() == item.path.read_bytes()
    assert not part.exists()


def test_a_built_file_changed_underway_is_not_renamed_into_place(tmp_path):
    item = make_item(tmp_path / "built")
    item.path.write_bytes(b"x" * item.size)  # same size, other bytes than the record says
    watch = tmp_path / "watch"
    watch.mkdir()
    with pytest.raises(DeliveryError, match="changed"):
        send([item], FolderEndpoint("station", watch), delivered={})
    assert list(watch.iterdir()) == []


def test_a_symlink_planted_as_the_temporary_name_is_not_followed(tmp_path):
    item = make_item(tmp_path / "built")
    watch = tmp_path / "watch"
    watch.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (watch / temp_name(item.name)).symlink_to(victim)
    [out] = send([item], FolderEndpoint("station", watch), delivered={})
    assert out.action is Action.SENT
    assert victim.read_text() == "keep me"
    assert (watch / item.name).read_bytes() == item.path.read_bytes()
    assert not (watch / item.name).is_symlink()
