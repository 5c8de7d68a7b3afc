"""Publishing into a folder or bucket another feed uses, killed copies and podkit's
bookkeeping in the web root (issue 22, items 2, 13 and 14), on a local folder target;
the S3 twins are in test_publish.py. `podkit check` and `podkit publish` refuse two
feeds of one show folder that share a target.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import zygote
from publish_site import BASE_URL, audio, make_site

from toolkit.model import PublishTarget, TargetKind
from toolkit.publish import sync

REPO = Path(__file__).resolve().parents[2]


def folder(path: Path) -> PublishTarget:
    return PublishTarget(kind=TargetKind.LOCAL, directory=path)


def publish(site: Path, out: Path, **kw) -> sync.Report:
    # The feed id defaults to the site folder's name (`build/site/<feed>`).
    return sync.publish(site, folder(out), base_url=BASE_URL, **kw)


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under root, hidden ones included: bytes and mtime_ns."""
    return {p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_second_feed_in_the_same_folder_is_refused_and_deletes_nothing(tmp_path):
    out = tmp_path / "public"
    one, two = tmp_path / "one", tmp_path / "two"
    keys = make_site(one, {"ep-a": audio(1, 20_000)})
    make_site(two, {"ep-z": audio(9, 20_000)})
    publish(one, out)
    before = snapshot(out)
    with pytest.raises(sync.PublishError) as err:
        publish(two, out, delete=True)
    assert "publish.prefix" in str(err.value) and "feed 'one'" in str(err.value)
    assert snapshot(out) == before
    assert (out / keys["ep-a"]).read_bytes() == (one / keys["ep-a"]).read_bytes()
    # A subfolder outside the first feed's episodes/ is a target of its own.
    publish(two, out / "two", delete=True)
    one_again = publish(one, out, delete=True)
    assert one_again.deleted == () and (out / "two/feed.xml").is_file()


def test_delete_removes_only_keys_in_this_feeds_manifest(tmp_path):
    out, site = tmp_path / "public", tmp_path / "show"
    old = make_site(site, {"ep-a": audio(1, 20_000), "ep-b": audio(2, 20_000)})
    publish(site, out)
    (out / "episodes/ep-b/by-hand.txt").write_text("mine")
    manifest = json.loads((out / ".podkit/show.json").read_text())
    assert manifest["feed"] == "show" and old["ep-b"] in manifest["keys"]
    make_site(site, {"ep-a": audio(1, 20_000)})
    report = publish(site, out, delete=True)
    assert old["ep-b"] in report.deleted and not (out / old["ep-b"]).exists()
    assert (out / "episodes/ep-b/by-hand.txt").read_text() == "mine"
    assert old["ep-b"] not in json.loads((out / ".podkit/show.json").read_text())["keys"]


def test_folder_published_by_an_older_podkit_deletes_nothing_and_loses_its_bookkeeping(tmp_path):
    out, site = tmp_path / "public", tmp_path / "show"
    old = make_site(site, {"ep-a": audio(1, 20_000), "ep-b": audio(2, 20_000)})
    publish(site, out)
    shutil.rmtree(out / ".podkit")
    # What older versions left in the web root: one manifest for every feed, the hashes.
    (out / ".podkit-manifest.json").write_text(json.dumps({"feed": "feed.xml", "keys": [old["ep-b"]]}))
    (out / ".podkit-hashes.json").write_text("{}")
    make_site(site, {"ep-a": audio(1, 20_000), "ep-c": audio(3, 20_000)})
    report = publish(site, out, delete=True)
    assert report.deleted == () and (out / old["ep-b"]).is_file()
    assert not (out / ".podkit-manifest.json").exists() and not (out / ".podkit-hashes.json").exists()
    assert old["ep-b"] not in json.loads((out / ".podkit/show.json").read_text())["keys"]


def test_a_publish_with_nothing_to_do_writes_nothing_in_the_web_root(tmp_path):
    # Issue 22 item 14: a no-op publish wrote .podkit-hashes.json into the public folder.
    root = tmp_path / "proj"
    site = root / "build/site/radio"        # a show's site: the hashes go to build/cache
    make_site(site, {"ep-a": audio(1, 20_000), "ep-b": audio(2, 30_000)})
    out = tmp_path / "public"
    publish(site, out)
    before = snapshot(out)
    again = publish(site, out)
    assert again.uploaded == () and len(again.skipped) == len(again.plan.entries)
    assert snapshot(out) == before           # same bytes, same mtimes, nothing new
    assert sorted(k for k in before if k.startswith(".")) == [".podkit/radio.json"]
    assert (root / "build/cache/publish/radio.target.json").is_file()
    assert not (tmp_path / ".public.podkit-tmp").exists()


KILLER = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from toolkit.model import PublishTarget, TargetKind
    from toolkit.publish import sync
    site, out, key = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]

    def progress(p):
        if p.key == key and p.bytes_done:
            os.kill(os.getpid(), signal.SIGKILL)   # mid-copy, after the first block
    sync.publish(site, PublishTarget(kind=TargetKind.LOCAL, directory=out),
                 base_url=sys.argv[4], progress=progress)
""")


def test_sigkill_mid_copy_leaves_nothing_in_the_public_folder_and_the_next_run_cleans_up(tmp_path):
    site, out = tmp_path / "show", tmp_path / "public"
    keys = make_site(site, {"ep-a": audio(1, 3 << 20)})
    proc = subprocess.run([sys.executable, "-c", KILLER, str(site), str(out), keys["ep-a"], BASE_URL],
                          cwd=REPO, capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file() and ".part" in p.name
                 or "podkit-tmp" in str(p)]
    assert leftovers and all(out not in p.parents for p in leftovers), leftovers
    assert not (out / keys["ep-a"]).exists()
    # An older version's leftover in the public folder goes too.
    stale = out / "episodes/ep-a" / f".{Path(keys['ep-a']).name}.k3x9q2ab.mp3.part"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(b"half")
    report = publish(site, out)
    assert keys["ep-a"] in report.uploaded
    assert (out / keys["ep-a"]).read_bytes() == (site / keys["ep-a"]).read_bytes()
    assert not [p for p in tmp_path.rglob("*") if ".part" in p.name or "podkit-tmp" in p.name]
    hidden = sorted(k for k in snapshot(out) if any(part.startswith(".") for part in k.split("/")))
    assert hidden == [".podkit/show.json"]


# ---- two feeds of one show folder -----------------------------------------------------

OTHER_TOML = """\
title = "Other Hour"
description = "A second programme."
link = "https://www.example.org/other/"
language = "en"
author = "Example Radio"
explicit = false
categories = ["News"]
artwork = "test-radio.jpg"
base_url = "https://media.example.org/other/"
feed_url = "https://media.example.org/other/feed.xml"
preset = "podcast"

[owner]
name = "Example Radio"
email = "podcasts@example.org"
"""


def podkit(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return zygote.run(["--root", str(root), *args], timeout=300, cwd=REPO,
                      env={**os.environ, **(env or {})})


@pytest.mark.parametrize("publish_table, field", [
    ('[publish]\ndirectory = "build/public/test-radio"\n', "publish.directory"),
    ('[publish]\ntarget = "s3"\nbucket = "b"\nprefix = "radio/"\n', "publish.prefix"),
])
def test_two_feeds_sharing_a_target_fail_check_and_publish_naming_both(built_show, tmp_path,
                                                                     publish_table, field):
    root = tmp_path / "show"
    shutil.copytree(built_show, root, symlinks=True)
    feed = root / "feeds/test-radio.toml"
    if "s3" in publish_table:
        feed.write_text(feed.read_text() + "\n" + publish_table)
    (root / "feeds/other.toml").write_text(OTHER_TOML + "\n" + publish_table)
    check = podkit(root, "check", "--no-media")
    assert check.returncode == 1
    lines = [line for line in check.stderr.splitlines() if "same publish target" in line]
    assert len(lines) == 1 and "Traceback" not in check.stderr, check.stderr
    assert lines[0].startswith(f"feeds/test-radio.toml: {field}: ")
    assert "feeds/other.toml" in lines[0]
    published = podkit(root, "publish", "--feed", "test-radio")
    assert published.returncode == 1 and "Traceback" not in published.stderr
    assert "same publish target" in published.stderr and "feeds/other.toml" in published.stderr
    assert not (root / "build/public/test-radio").exists()


def test_a_prefix_with_dot_dot_fails_check(built_show, tmp_path):
    root = tmp_path / "show"
    shutil.copytree(built_show, root, symlinks=True)
    feed = root / "feeds/test-radio.toml"
    feed.write_text(feed.read_text() + '\n[publish]\ntarget = "s3"\nbucket = "b"\n'
                    'prefix = "shows/../other/"\n')
    check = podkit(root, "check", "--no-media")
    assert check.returncode == 1 and "Traceback" not in check.stderr
    assert "feeds/test-radio.toml: publish.prefix: must not contain '.' or '..' segments" \
        in check.stderr


def test_which_targets_collide():
    from toolkit import model
    from toolkit.publish import shared

    def show(feed: str, **target) -> model.Show:
        class _Show:   # what shared.problems reads of a Show: id, path, publish
            id, path, publish = feed, Path(f"/show/feeds/{feed}.toml"), PublishTarget(**target)
        return _Show()  # type: ignore[return-value]
    s3 = dict(kind=TargetKind.S3, bucket="b")
    shows = [show("a", **s3, prefix="x/"), show("b", **s3, prefix="x/"),
             show("c", **s3, prefix="x/episodes/z/"), show("d", **s3, prefix="x/extra/"),
             show("e", **s3, prefix="x/", endpoint_url="https://elsewhere.example"),
             show("f", kind=TargetKind.LOCAL, directory=Path("/pub")),
             show("g", kind=TargetKind.LOCAL, directory=Path("/pub/two"))]
    found = {(p.path, p.message.split(" (")[0]) for p in shared.problems(shows, Path("/show"))}
    assert found == {("feeds/b.toml", "the same publish target as feeds/a.toml"),
                     ("feeds/c.toml", "a publish target overlapping that of feeds/a.toml"),
                     ("feeds/c.toml", "a publish target overlapping that of feeds/b.toml")}
    assert shared.problems(shows, Path("/show"), {"d", "e", "f", "g"}) == []
