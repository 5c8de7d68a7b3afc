"""fsutil.mirror: the site folder made to hold exactly the given files of the stage,
hard-linked, with what was already linked left alone and everything else removed."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from toolkit.fsutil import mirror


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()}


def _stage(root: Path, files: dict[str, bytes]) -> Path:
    for key, data in files.items():
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(data)
    return root


def test_links_every_key_and_leaves_linked_files_alone(tmp_path: Path) -> None:
    stage = _stage(tmp_path / "stage", {"cover.jpg": b"c", "episodes/a/a.mp3": b"a",
                                        "episodes/b/b.mp3": b"b", "episodes/b/draft.mp3": b"d"})
    site = tmp_path / "site"
    keys = {"cover.jpg", "episodes/a/a.mp3", "episodes/b/b.mp3"}
    assert mirror(stage, site, keys) == 3
    assert _tree(site) == {k: (stage / k).read_bytes() for k in keys}
    assert all(os.path.samefile(site / k, stage / k) for k in keys)
    inodes = {k: (site / k).stat().st_ino for k in keys}
    assert mirror(stage, site, keys) == 0                 # nothing to do the second time
    assert {k: (site / k).stat().st_ino for k in keys} == inodes


def test_a_file_that_is_not_the_stage_file_is_replaced(tmp_path: Path) -> None:
    stage = _stage(tmp_path / "stage", {"episodes/a/a.mp3": b"new", "episodes/a/a.srt": b"s"})
    site = _stage(tmp_path / "site", {"episodes/a/a.mp3": b"old", "episodes/a/a.srt": b"s"})
    keys = {"episodes/a/a.mp3", "episodes/a/a.srt"}
    # Same bytes under another inode are linked again too (the next run compares inodes).
    assert mirror(stage, site, keys) == 2
    assert (site / "episodes/a/a.mp3").read_bytes() == b"new"
    assert all(os.path.samefile(site / k, stage / k) for k in keys)


def test_a_symlink_in_the_site_becomes_a_hard_link(tmp_path: Path) -> None:
    stage = _stage(tmp_path / "stage", {"a.mp3": b"a"})
    site = tmp_path / "site"
    site.mkdir()
    (site / "a.mp3").symlink_to(stage / "a.mp3")
    # A link to the very file counts as in place (as a stat of it says)...
    assert mirror(stage, site, {"a.mp3"}) == 0
    (site / "a.mp3").unlink()
    (site / "a.mp3").symlink_to(tmp_path / "elsewhere")
    # ... a dangling one does not.
    assert mirror(stage, site, {"a.mp3"}) == 1
    assert not (site / "a.mp3").is_symlink() and os.path.samefile(site / "a.mp3", stage / "a.mp3")


def test_everything_else_goes_folders_included_but_keep_stays(tmp_path: Path) -> None:
    stage = _stage(tmp_path / "stage", {"episodes/a/a.mp3": b"a"})
    site = _stage(tmp_path / "site", {"feed.xml": b"f", ".feed.xml.tmp": b"t",
                                      "episodes/gone/gone.mp3": b"g",
                                      "episodes/gone/deeper/x.txt": b"x",
                                      "episodes/a/stale.srt": b"s"})
    (site / "episodes" / "empty").mkdir()
    mirror(stage, site, {"episodes/a/a.mp3"}, keep={"feed.xml", ".feed.xml.tmp"})
    assert _tree(site) == {".feed.xml.tmp": b"t", "episodes/a/a.mp3": b"a", "feed.xml": b"f"}
    assert sorted(p.name for p in (site / "episodes").iterdir()) == ["a"]


def test_a_folder_given_new_files_is_kept(tmp_path: Path) -> None:
    stage = _stage(tmp_path / "stage", {"episodes/a/new.mp3": b"n"})
    site = _stage(tmp_path / "site", {"episodes/a/old.mp3": b"o"})
    mirror(stage, site, {"episodes/a/new.mp3"})
    assert _tree(site) == {"episodes/a/new.mp3": b"n"}


def test_across_filesystems_the_bytes_are_compared(tmp_path: Path) -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("needs a second filesystem (/dev/shm)")
    stage = _stage(tmp_path / "stage", {"a.mp3": b"a", "b.mp3": b"b2"})
    with tempfile.TemporaryDirectory(dir=shm) as other:
        site = _stage(Path(other) / "site", {"a.mp3": b"a", "b.mp3": b"b1"})
        before = (site / "a.mp3").stat().st_ino
        assert mirror(stage, site, {"a.mp3", "b.mp3"}) == 1      # b copied, a left alone
        assert _tree(site) == {"a.mp3": b"a", "b.mp3": b"b2"}
        assert (site / "a.mp3").stat().st_ino == before


def test_the_inodes_of_a_listing_spare_a_second_one(tmp_path: Path) -> None:
    from toolkit.fsutil import public_files
    stage = _stage(tmp_path / "stage", {"cover.jpg": b"c", "episodes/a/a.mp3": b"a",
                                        "episodes/a/.podkit-build.json": b"{}"})
    site = _stage(tmp_path / "site", {"episodes/a/a.mp3": b"stale"})
    inodes: dict[str, int] = {}
    keys = set(public_files(stage / "episodes" / "a", "episodes/a/", inodes=inodes))
    assert keys == {"episodes/a/a.mp3"}        # dot files are never public
    assert inodes == {"episodes/a/a.mp3": (stage / "episodes/a/a.mp3").stat().st_ino}
    # The cover is not in the listing given: it is looked at the usual way.
    assert mirror(stage, site, keys | {"cover.jpg"}, src_inodes=inodes) == 2
    assert _tree(site) == {"cover.jpg": b"c", "episodes/a/a.mp3": b"a"}
    assert mirror(stage, site, keys | {"cover.jpg"}, src_inodes=inodes) == 0


def test_no_temporary_name_is_left_behind(tmp_path: Path) -> None:
    stage = _stage(tmp_path / "stage", {f"episodes/e{i}/f{j}.mp3": b"x" * i
                                        for i in range(5) for j in range(3)})
    site = tmp_path / "site"
    keys = {p.relative_to(stage).as_posix() for p in stage.rglob("*") if p.is_file()}
    assert mirror(stage, site, keys) == 15
    assert sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()) \
        == sorted(keys)                        # only the keys: no dot file beside them


def test_a_site_file_that_cannot_be_replaced_is_one_clear_error(tmp_path: Path) -> None:
    from toolkit.errors import PodkitError
    stage = _stage(tmp_path / "stage", {"episodes/a/a.mp3": b"a"})
    site = tmp_path / "site"
    (site / "episodes" / "a" / "a.mp3").mkdir(parents=True)   # a folder where the file goes
    with pytest.raises(PodkitError) as err:
        mirror(stage, site, {"episodes/a/a.mp3"})
    assert "a.mp3" in str(err.value)
    assert [p.name for p in (site / "episodes" / "a").iterdir()] == ["a.mp3"]   # no temp left
