"""`podkit release` when the publish step fails midway (issue 22, item 13): it says what
reached the target instead of "nothing was published"; the feed there is unchanged."""
from __future__ import annotations

import shutil
from pathlib import Path

import zygote

REPO = Path(__file__).resolve().parents[2]


def test_a_publish_failing_after_the_media_says_what_was_uploaded(built_show: Path, tmp_path: Path):
    root = tmp_path / "show"
    shutil.copytree(built_show, root, symlinks=True)
    public = root / "build/public/test-radio"
    (public / "feed.xml").mkdir(parents=True)   # the feed cannot be renamed into place
    run = zygote.run(["--root", str(root), "release", "--now", "2030-01-01T00:00:00+00:00"],
                     timeout=300, cwd=REPO)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("podkit: release: publish failed; feed 'test-radio': "), last
    assert "nothing was published" not in run.stderr
    assert "its feed was not changed" in last
    mp3s = sorted(public.glob("episodes/first-episode/*.mp3"))
    assert mp3s and mp3s[0].name in last        # the line names what went up
    assert (public / "feed.xml").is_dir()       # no feed went out
    # The step's own line says it too.
    assert "were uploaded but are not in the feed yet" in run.stderr
