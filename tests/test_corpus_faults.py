"""Corpus: faults outside the inputs. S3 refusing or failing through `podkit publish`, and the
disk filling up while `podkit feed` and the tagging and page stages write.

The module-level publish tests (test_publish_faults.py) prove the ordering and the retries;
here the same faults go through the CLI: exit status, one line, the published feed as it
was. The full disk is a real one: a tiny tmpfs mounted over build/ in a private mount
namespace (`unshare -m`, so nothing leaks if the test dies), else RLIMIT_FSIZE.
"""
from __future__ import annotations

import datetime as dt
import functools
import os
import random
import re
import resource
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from corpus_support import (  # noqa: F401
    EP,
    EP_TOML,
    REPO,
    Row,
    Run,
    copy_show,
    corpus_base,
    corpus_built,
    edit,
    leftovers,
    podkit,
    podkit_inprocess,
    prepend,
    sources_hash,
    tree_hash,
)
from PIL import Image
from s3server import moto_endpoint, s3  # noqa: F401

from toolkit import deliver, pipeline
from toolkit.publish import sync
from toolkit.publish.plan import TransferSettings

MiB = 1024 * 1024
FEW_RETRIES = TransferSettings(part_size=5 * MiB, multipart_threshold=5 * MiB, max_attempts=2,
                               connect_timeout=5, read_timeout=20)
SITE = "build/site/test-radio"
LONG_NOTES = ("A long paragraph of show notes. " * 20 + "\n\n") * 600  # ~400 KB in the feed

ROWS = [
    Row("s3-403", "S3 answers 403 AccessDenied to a page upload", "exit 1, one line naming the "
        "s3:// key; not retried", "published feed byte-identical to the previous one; one PUT"),
    Row("s3-no-bucket", "PODKIT_S3_BUCKET names a bucket that does not exist",
        "exit 1, one line: the bucket does not exist", "no PUT reached the server"),
    Row("s3-500-once", "S3 answers 500 once", "retried; exit 0",
        "the 500 and the retry seen by the proxy; the new feed published"),
    Row("s3-503-slowdown", "S3 answers 503 SlowDown once", "retried; exit 0",
        "the 503 and the retry seen by the proxy; the new feed published"),
    Row("s3-500-always", "S3 answers 500 to every try", "exit 1 after the retries, one line "
        "naming the key; feed unchanged", "published feed byte-identical", process=False),
    Row("s3-drop-multipart-once", "the connection drops mid-part of a 6.8 MB multipart upload, once",
        "retried; exit 0", "the object at the target equals the built file", process=False),
    Row("s3-drop-multipart-always", "the connection drops mid-part on every try",
        "exit 1, one line naming the key; feed unchanged; the unfinished upload aborted",
        "published feed byte-identical; no multipart upload left", process=False),
    Row("disk-full-feed", "the disk fills while `podkit feed` writes feed.xml",
        "exit 1, one line naming feed.xml and the OS error", "build/ byte-identical, no temp files"),
    Row("disk-full-tagging", "the disk fills while tagging the MP3",
        "the episode fails with one line; exit 1", "build/ byte-identical, no temp files"),
    Row("disk-full-encode", "the disk fills while ffmpeg encodes the MP3 (the audio changed)",
        "the episode fails with one line naming the MP3 being written: `encoding failed: no "
        "space left on device` (was `ffmpeg stopped mid-encode (exit 228)`); exit 1",
        "build/ byte-identical, no temp files"),
    Row("disk-full-pages", "the disk fills while writing notes and pages",
        "the episode fails with one line; exit 1", "build/ byte-identical, no temp files"),
    Row("file-size-limit-feed", "RLIMIT_FSIZE below feed.xml's size (the fallback where mount "
        "is not allowed)", "exit 1, one line (File too large)", "build/ byte-identical"),
    Row("published-modes", "files written by podkit (site, reports, local publish target)",
        "ordinary 0644 files (mkstemp's 0600 made a web server's copy unreadable)",
        "every file's mode is 0666 & ~umask"),
]


def one_error_line(run: Run) -> str:
    """The run's only stderr line (progress lines of `podkit build` aside)."""
    from corpus_support import PROGRESS_RE
    lines = [ln for ln in run.err_lines if not PROGRESS_RE.match(ln)]
    assert "Traceback" not in run.stderr and len(lines) == 1, run
    return lines[0]


# ---- S3 through `podkit publish` ------------------------------------------------------------

@pytest.fixture
def s3_show(s3, corpus_built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A built show published once to the bucket (v1), then retitled and fed again (v2: a new
    feed.xml and index.html to upload).

    The environment points the feed at the bucket (PODKIT_S3_*), as `make publish` would.
    Returns (root, the v1 feed bytes).
    """
    root = copy_show(corpus_built, tmp_path / "show")
    env = {"PODKIT_S3_BUCKET": s3.bucket, "PODKIT_S3_ENDPOINT_URL": s3.proxy.url,
           "PODKIT_S3_PREFIX": "show/", "PODKIT_S3_REGION": "us-east-1",
           "PODKIT_S3_ADDRESSING_STYLE": "path"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    deliver.publish_show(root)
    v1 = s3.get("show/feed.xml")[2]
    assert v1 == (root / SITE / "feed.xml").read_bytes()
    edit(root / EP_TOML, 'title = "First episode"', 'title = "First episode, revised"')
    assert all(r.ok for r in pipeline.build(root))
    deliver.write_feed(root, now=dt.datetime.now(dt.timezone.utc))
    assert (root / SITE / "feed.xml").read_bytes() != v1
    s3.proxy.reset()
    return root, v1


def test_s3_403_is_one_line_and_the_feed_stays(s3, s3_show):
    root, v1 = s3_show
    s3.proxy.add("PUT", "/show/index.html", "status", status=403, code="AccessDenied", times=None)
    sources = sources_hash(root)
    run = podkit(root, "publish")
    line = one_error_line(run)
    assert run.rc == 1 and line.startswith(
        f"podkit: s3://{s3.bucket}/show/index.html: upload failed: access denied (AccessDenied, "
        "HTTP 403)"), run
    assert line.endswith("the published feed was not changed")
    assert len(s3.proxy.requests("PUT", outcome="status 403")) == 1  # a 403 is not retried
    assert s3.get("show/feed.xml")[2] == v1 and sources_hash(root) == sources


def test_s3_missing_bucket(s3, s3_show, monkeypatch):
    root, _ = s3_show
    monkeypatch.setenv("PODKIT_S3_BUCKET", "no-such-bucket-podkit")
    run = podkit(root, "publish")
    line = one_error_line(run)
    assert run.rc == 1 and line.startswith("podkit: s3://no-such-bucket-podkit/show/: ")
    assert "the bucket does not exist (NoSuchBucket)" in line, run
    assert s3.proxy.requests("PUT", outcome=None) == []


@pytest.mark.parametrize("status, code", [(500, "InternalError"), (503, "SlowDown")])
def test_s3_transient_errors_are_retried(s3, s3_show, status, code):
    root, _ = s3_show
    rule = s3.proxy.add("PUT", "/show/index.html", "status", status=status, code=code, times=1)
    run = podkit(root, "publish")
    assert run.rc == 0 and "Traceback" not in run.stderr, run
    assert rule.hits == 1
    assert [s.outcome for s in s3.proxy.requests("PUT", outcome=None)
            if s.path.endswith("/show/index.html")] == [f"status {status}", "forwarded"]
    assert s3.get("show/feed.xml")[2] == (root / SITE / "feed.xml").read_bytes()


def test_s3_500_every_time_fails_cleanly(s3, s3_show, monkeypatch):
    root, v1 = s3_show
    monkeypatch.setattr(sync, "TransferSettings", lambda: FEW_RETRIES)  # 2 tries, not 6
    rule = s3.proxy.add("PUT", "/show/index.html", "status", status=500, times=None)
    run = podkit_inprocess(root, "publish")
    line = one_error_line(run)
    assert run.rc == 1 and line.startswith(
        f"podkit: s3://{s3.bucket}/show/index.html: upload failed: InternalError"), run
    assert rule.hits == 2 and s3.get("show/feed.xml")[2] == v1


@pytest.fixture
def big_art_show(s3_show):
    """v2 of the show gains 6.8 MB episode art (random pixels, stored PNG): a multipart upload."""
    root, v1 = s3_show
    pixels = random.Random(7).randbytes(1500 * 1500 * 3)
    Image.frombytes("RGB", (1500, 1500), pixels).save(root / EP / "art.png", compress_level=0)
    prepend(root / EP_TOML, 'art = "art.png"\n')
    for step in ("build", "feed"):
        run = podkit_inprocess(root, step)
        assert run.rc == 0, run
    (art,) = (root / SITE / "episodes/first-episode").glob("art-*.png")
    assert art.stat().st_size > 5 * MiB
    return root, v1, f"show/{art.relative_to(root / SITE).as_posix()}"


@pytest.mark.parametrize("always", [False, True], ids=["once", "always"])
def test_s3_dropped_connection_mid_multipart(s3, big_art_show, monkeypatch, always):
    root, v1, key = big_art_show
    monkeypatch.setattr(sync, "TransferSettings", lambda: FEW_RETRIES)
    rule = s3.proxy.add("PUT", "partNumber=1", "drop", after_bytes=1 * MiB,
                        times=None if always else 1)
    run = podkit_inprocess(root, "publish")
    assert rule.hits >= 1 and s3.proxy.requests("PUT", outcome="dropped")
    if not always:
        assert run.rc == 0, run
        assert s3.get(key)[2] == (root / SITE / key.removeprefix("show/")).read_bytes()
        assert s3.get("show/feed.xml")[2] == (root / SITE / "feed.xml").read_bytes()
        return
    line = one_error_line(run)
    assert run.rc == 1 and key in line and "the published feed was not changed" in line, run
    assert s3.get("show/feed.xml")[2] == v1 and s3.get(key)[0] == 404
    assert s3.client().list_multipart_uploads(Bucket=s3.bucket).get("Uploads", []) == []


# ---- a full disk -------------------------------------------------------------------------------

TMPFS_SCRIPT = r"""
set -e
mount -t tmpfs -o size=1g podkit-test "$FS"
cp -a "$ROOT/build/." "$FS/"
used=$(df --output=used -B1 "$FS" | tail -1)
mount -o remount,size=$((used + FREE)) "$FS"
mount --bind "$FS" "$ROOT/build"
set +e
"$PY" -m toolkit --root "$ROOT" "$@" >"$OUT/stdout" 2>"$OUT/stderr"
echo $? >"$OUT/rc"
cp -a "$ROOT/build/." "$OUT/build/"
"""


@functools.lru_cache(maxsize=1)
def tmpfs_works() -> bool:
    """Whether this process may mount a tmpfs in a private mount namespace (root, or CAP_SYS_ADMIN)."""
    probe = "d=$(mktemp -d) && mount -t tmpfs -o size=64k t \"$d\" && umount \"$d\"; rc=$?; rmdir \"$d\"; exit $rc"
    try:
        return subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", probe],
                              capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def on_small_disk(root: Path, free: int, *args: str, tmp: Path, mode: str) -> tuple[Run, Path]:
    """Run podkit with build/ on a filesystem that has `free` bytes left (or, with
    mode='rlimit', where no file may grow past `free` bytes). Returns the run and the
    build/ folder as the run left it."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1"}
    argv = ("--root", str(root), *args)
    if mode == "tmpfs":
        out = tmp / "after"
        (out / "build").mkdir(parents=True)
        (tmp / "fs").mkdir()
        env.update(FS=str(tmp / "fs"), ROOT=str(root), OUT=str(out), FREE=str(free),
                   PY=sys.executable)
        proc = subprocess.run(["unshare", "-m", "--propagation", "private", "bash", "-c",
                               TMPFS_SCRIPT, "bash", *args], env=env, capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr  # the mount dance itself worked
        run = Run(argv, int((out / "rc").read_text()), (out / "stdout").read_text(),
                  (out / "stderr").read_text())
        return run, out / "build"

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (free, free))
    proc = subprocess.run([sys.executable, "-m", "toolkit", *argv], env=env, text=True,
                          capture_output=True, preexec_fn=limit, timeout=120)
    return Run(argv, proc.returncode, proc.stdout, proc.stderr), root / "build"


def long_notes(root: Path) -> None:
    edit(root / EP_TOML, 'notes = "Some *notes* with [a link](https://www.example.org/)."',
         f'notes = """{LONG_NOTES}"""')


def long_notes_built(root: Path) -> None:
    """Long notes, built: `podkit feed` then has a much longer feed to write."""
    long_notes(root)
    assert podkit_inprocess(root, "build").rc == 0


DISK_CASES = {
    # id: (plant, command, free bytes, the file named, prefix)
    "disk-full-feed": (long_notes_built, "feed", 64 * 1024, f"{SITE}/feed.xml", "podkit: "),
    "disk-full-tagging": (lambda r: edit(r / EP_TOML, 'title = "First episode"',
                                         'title = "First episode, retitled"'),
                          "build", 32 * 1024,
                          "build/stage/test-radio/episodes/first-episode/.tagging.mp3",
                          "failed first-episode: "),
    "disk-full-pages": (long_notes, "build", 256 * 1024,
                        "build/reports/test-radio/first-episode/notes.md", "failed first-episode: "),
}


@pytest.mark.parametrize("case", sorted(DISK_CASES) + ["file-size-limit-feed"])
def test_disk_full(case: str, corpus_built: Path, tmp_path: Path) -> None:
    mode = "rlimit" if case.startswith("file-size") else "tmpfs"
    if mode == "tmpfs" and not tmpfs_works():
        pytest.skip("mounting a tmpfs is not allowed here (rlimit variant still runs)")
    plant, command, free, named, prefix = DISK_CASES[case.replace("file-size-limit", "disk-full")]
    root = copy_show(corpus_built, tmp_path / "show")
    plant(root)
    sources, before = sources_hash(root), tree_hash(root / "build")
    run, after = on_small_disk(root, free, command, tmp=tmp_path, mode=mode)
    line = one_error_line(run) if command == "feed" else [
        ln for ln in run.err_lines if ln.startswith(prefix)][0]
    reason = "No space left on device" if mode == "tmpfs" else "File too large"
    assert run.rc == 1 and line == f"{prefix}{root / named}: cannot write file: {reason}", run
    if command == "build":
        assert run.err_lines[-1] == "podkit: 1 of 1 episode(s) failed", run
    assert tree_hash(after) == before  # the last good outputs, byte for byte
    assert leftovers(after.parent) == [] and sources_hash(root) == sources


def test_disk_full_while_encoding(corpus_built: Path, tmp_path: Path) -> None:
    if not tmpfs_works():
        pytest.skip("mounting a tmpfs is not allowed here")
    root = copy_show(corpus_built, tmp_path / "show")
    # A changed part gain: the audio is rebuilt, into a cache with 16 kB left.
    edit(root / EP_TOML, 'title = "Talk"', 'title = "Talk"\ngain = -1.0')
    sources, before = sources_hash(root), tree_hash(root / "build")
    run, after = on_small_disk(root, 16 * 1024, "build", tmp=tmp_path, mode="tmpfs")
    lines = [ln for ln in run.err_lines if ln.startswith("failed first-episode: ")]
    assert run.rc == 1 and len(lines) == 1 and "Traceback" not in run.stderr, run
    cache = root / "build/cache/test-radio/first-episode"
    assert re.fullmatch(rf"failed first-episode: {re.escape(str(cache))}/first-episode-[0-9a-f]{{16}}"
                        r"\.mp3: encoding failed: no space left on device", lines[0]), run
    assert run.err_lines[-1] == "podkit: 1 of 1 episode(s) failed", run
    assert tree_hash(after) == before  # the last good outputs, byte for byte
    assert leftovers(after.parent) == [] and sources_hash(root) == sources


def test_written_files_are_ordinary_files(corpus_built: Path, tmp_path: Path) -> None:
    root = copy_show(corpus_built, tmp_path / "show")
    run = podkit_inprocess(root, "publish")
    assert run.rc == 0, run
    expected = 0o666 & ~_umask()
    modes = {p.relative_to(root).as_posix(): stat.S_IMODE(p.stat().st_mode)
             for p in (root / "build").rglob("*") if p.is_file() and "/cache/" not in str(p)}
    assert any(k.startswith("build/public/") for k in modes)
    assert {k: m for k, m in modes.items() if m != expected} == {}


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
