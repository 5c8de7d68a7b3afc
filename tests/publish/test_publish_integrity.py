"""Publishing can be trusted, and costs nothing when nothing changed.

- Damage on the wire: a proxy flips one byte of a PUT or a multipart part (same length).
  With the service checking Content-MD5 (S3's edge, played by the proxy: moto 5.2.6 does
  not check it) the body is refused; with nothing checking it (moto as it is) the ETag
  the server computed from what it stored gives the damage away. Either way publish
  fails, the feed is not published, and the next publish leaves a correct object.
- Damage at rest: an object replaced by other bytes of the same length, with podkit's
  x-amz-meta-sha256 kept, is uploaded again.
- A publish with nothing to do sends only listing requests, counted on the wire; unchanged
  files are not read again (the hash cache).
- Unfinished multipart uploads under the prefix are aborted (see `abort_stale_uploads`).
- A local target never overlaps the show's sources or the built site.
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import math
import os
from pathlib import Path

import pytest
from publish_site import BASE_URL, MiB, audio, make_site
from s3server import moto_endpoint, s3  # noqa: F401

from toolkit.model import PublishTarget
from toolkit.publish import s3 as s3mod
from toolkit.publish import sync
from toolkit.publish.plan import Action, TransferSettings

FAST = TransferSettings(part_size=5 * MiB, multipart_threshold=5 * MiB, concurrency=4,
                        max_attempts=3, connect_timeout=5, read_timeout=20)
SMALL, BIG = 300_000, 11 * MiB      # one PUT; three 5 MiB parts


def run(site: Path, target, settings: TransferSettings = FAST, **kw) -> sync.Report:
    return sync.publish(site, target, base_url=BASE_URL, settings=settings, **kw)


def b64md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def assert_published_correctly(s3, site: Path, prefix: str = "show/") -> None:
    """Every file of the site is at the target byte for byte (read back over HTTP)."""
    for path in sorted(p for p in site.rglob("*") if p.is_file() and not p.name.startswith(".")):
        key = path.relative_to(site).as_posix()
        status, _, body = s3.get(prefix + key)
        assert status == 200 and body == path.read_bytes(), key


@pytest.fixture
def show_site(tmp_path):
    site = tmp_path / "site"
    keys = make_site(site, {"ep-a": audio(1, SMALL), "ep-b": audio(2, BIG)})
    return site, keys


# ---- damage on the wire ---------------------------------------------------------------------

@pytest.mark.parametrize("which", ["single", "part"])
def test_byte_flipped_on_the_wire_is_refused_by_content_md5(s3, show_site, which):
    site, keys = show_site
    key = keys["ep-a"] if which == "single" else keys["ep-b"]
    match = key if which == "single" else "partNumber=2"
    rule = s3.proxy.add("PUT", match, "flip")
    with pytest.raises(sync.PublishError) as err:
        run(site, s3.target())
    assert rule.hits == 1
    assert "BadDigest" in str(err.value) and key in str(err.value)
    assert "the published feed was not changed" in str(err.value)
    assert s3.get("show/feed.xml")[0] == 404 and s3.get("show/" + key)[0] == 404
    # Every PUT (whole objects and parts) carried the MD5 of the bytes podkit meant to send.
    puts = s3.proxy.requests("PUT", outcome=None)
    assert puts and all("content-md5" in p.headers for p in puts)
    data = (site / key).read_bytes()
    sent = data if which == "single" else data[5 * MiB:10 * MiB]
    refused = [p for p in puts if p.outcome == "bad digest"]
    assert [p.headers["content-md5"] for p in refused] == [b64md5(sent)]

    s3.proxy.reset()
    report = run(site, s3.target())
    assert key in report.uploaded and report.feed_uploaded
    assert_published_correctly(s3, site)


@pytest.mark.parametrize("which", ["single", "part"])
def test_byte_flipped_where_nothing_checks_content_md5_is_caught_by_the_etag(s3, show_site, which):
    site, keys = show_site
    s3.proxy.check_md5 = False          # moto as it is: stores whatever arrives
    key = keys["ep-a"] if which == "single" else keys["ep-b"]
    s3.proxy.add("PUT", key if which == "single" else "partNumber=2", "flip")
    with pytest.raises(sync.PublishError) as err:
        run(site, s3.target())
    assert "ETag" in str(err.value) and key in str(err.value)
    assert "the published feed was not changed" in str(err.value)
    assert s3.get("show/feed.xml")[0] == 404
    stored = s3.get("show/" + key)[2]
    assert len(stored) == (site / key).stat().st_size and stored != (site / key).read_bytes()

    # The next publish sees the server's ETag disagree, and repairs the object.
    s3.proxy.reset()
    report = run(site, s3.target())
    entry = next(e for e in report.plan.entries if e.key == key)
    assert entry.action is Action.UPLOAD and "ETag differs" in entry.reason
    assert_published_correctly(s3, site)


# ---- damage at rest -------------------------------------------------------------------------

def test_object_damaged_at_the_server_is_uploaded_again_despite_its_metadata(s3, show_site):
    site, keys = show_site
    run(site, s3.target())
    for slug in ("ep-a", "ep-b"):
        full = "show/" + keys[slug]
        head = s3.client().head_object(Bucket=s3.bucket, Key=full)
        good = (site / keys[slug]).read_bytes()
        bad = bytearray(good)
        bad[len(bad) // 3] ^= 0xFF
        # Same length, other bytes, and podkit's own metadata (sha256 of the good file) kept.
        s3.client().put_object(Bucket=s3.bucket, Key=full, Body=bytes(bad),
                               Metadata=head["Metadata"], ContentType=head["ContentType"])
        assert s3.get(full)[1]["x-amz-meta-sha256"] == hashlib.sha256(good).hexdigest()
    s3.proxy.reset()
    report = run(site, s3.target())
    assert set(report.uploaded) == {keys["ep-a"], keys["ep-b"]}
    assert not report.feed_uploaded
    assert_published_correctly(s3, site)
    again = run(site, s3.target())
    assert again.uploaded == ()


# ---- the cost of a publish with nothing to do -----------------------------------------------

def test_noop_publish_sends_only_listings_one_per_page_of_objects(s3, tmp_path, monkeypatch):
    # Pages of 100 keys (S3's is 1,000, s3.LIST_PAGE): the same paging over 1,040 objects
    # made this the suite's slowest test, and moto's PUTs its cost.
    monkeypatch.setattr(s3mod, "LIST_PAGE", 100)
    site = tmp_path / "show" / "build" / "site" / "many"     # a show's layout: the default cache
    make_site(site, {f"ep-{i:03d}": audio(i, 64) for i in range(60)})
    objects = sum(1 for p in site.rglob("*") if p.is_file())
    assert 200 < objects < 300            # three pages, the last one part full
    wide = dataclasses.replace(FAST, concurrency=8)
    first = run(site, s3.target(), wide)
    assert len(first.uploaded) == objects
    assert (tmp_path / "show/build/cache/publish/many.json").is_file()

    s3.proxy.reset()
    report = run(site, s3.target(), wide)
    assert report.uploaded == () and not report.feed_uploaded
    counts = s3.proxy.counts()
    assert dict(counts) == {"LIST": math.ceil(objects / 100)}, counts   # no HEAD, no PUT
    assert dict(report.requests) == {"ListObjectsV2": math.ceil(objects / 100)}
    assert all("max-keys=100" in r.path for r in s3.proxy.requests("LIST")), counts
    assert report.bytes_hashed == 0          # every hash came from the cache


def test_verify_heads_only_what_was_uploaded(s3, show_site):
    site, keys = show_site
    run(site, s3.target())
    vtt = site / "episodes/ep-a/transcript.vtt"
    vtt.write_bytes(vtt.read_bytes().replace(b"Host", b"Hors"))
    s3.proxy.reset()
    report = run(site, s3.target())
    assert report.uploaded == ("episodes/ep-a/transcript.vtt",)
    heads = [r.path for r in s3.proxy.requests("HEAD")]
    assert heads == [f"/{s3.bucket}/show/episodes/ep-a/transcript.vtt"]


def test_hash_cache_reads_only_changed_files(s3, show_site, tmp_path):
    site, keys = show_site
    cache = tmp_path / "cache" / "hashes.json"
    total = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    first = run(site, s3.target(), hash_cache=cache)
    assert first.bytes_hashed == total
    assert json.loads(cache.read_text())["files"][keys["ep-b"]]["value"]["etag"].endswith("-3")
    assert run(site, s3.target(), hash_cache=cache).bytes_hashed == 0

    # Same bytes, same size and mtime, but a new inode (a rebuild renames a new file in):
    # read again. Other bytes of the same size written in place (new mtime): read again.
    mp3 = site / keys["ep-a"]
    st = mp3.stat()
    copy = mp3.with_name("copy.tmp")
    copy.write_bytes(mp3.read_bytes())
    os.utime(copy, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(copy, mp3)
    vtt = site / "episodes/ep-b/transcript.vtt"
    vtt.write_bytes(vtt.read_bytes().replace(b"Host", b"Hors"))
    report = run(site, s3.target(), hash_cache=cache)
    assert report.bytes_hashed == SMALL + vtt.stat().st_size
    assert report.uploaded == ("episodes/ep-b/transcript.vtt",)

    # A damaged cache costs a full read, never a wrong decision.
    cache.write_text("{not json")
    report = run(site, s3.target(), hash_cache=cache)
    assert report.bytes_hashed == total and report.uploaded == ()
    assert_published_correctly(s3, site)


# ---- unfinished multipart uploads -----------------------------------------------------------

def test_unfinished_uploads_under_the_prefix_are_aborted(s3, show_site):
    site, keys = show_site
    client = s3.client()

    def start(key: str) -> str:
        return client.create_multipart_upload(Bucket=s3.bucket, Key=key)["UploadId"]

    def unfinished() -> set[str]:
        return {u["Key"] for u in client.list_multipart_uploads(Bucket=s3.bucket).get("Uploads", [])}

    start("show/" + keys["ep-b"])                         # this feed's key: aborted at once
    start("show/episodes/old/old-0123456789ab.mp3")       # another key, started just now
    start("elsewhere/file.mp3")                           # outside the prefix: never touched
    s3.proxy.initiated_now = True    # (moto dates every upload 2010-11-10)
    run(site, s3.target())
    assert unfinished() == {"show/episodes/old/old-0123456789ab.mp3", "elsewhere/file.mp3"}

    # Once an hour old (moto's date), an upload for a key the build does not have goes too.
    s3.proxy.initiated_now = False
    (site / "episodes/ep-a/transcript.vtt").write_text("WEBVTT\n\n")
    run(site, s3.target())
    assert unfinished() == {"elsewhere/file.mp3"}

    # A publish with nothing to upload does not even look (listing objects only).
    start("show/" + keys["ep-b"])
    s3.proxy.reset()
    run(site, s3.target(), dataclasses.replace(FAST, stale_upload_age=0))
    assert set(s3.proxy.counts()) == {"LIST"} and s3.proxy.counts()["LIST"] == 1
    assert "show/" + keys["ep-b"] in unfinished()


# ---- a local target inside the sources -------------------------------------------------------

@pytest.mark.parametrize("directory", [".", "..", "episodes/ep-a", "feeds", "templates/x",
                                       "build/site", "build/site/radio/public"])
def test_local_target_overlapping_the_sources_is_refused(tmp_path, directory):
    # A show's layout, as `podkit feed` leaves it; publish is called directly, bypassing the
    # check at load time, so publish/local.py must refuse on its own.
    root = tmp_path / "show"
    for folder in ("episodes/ep-a", "feeds", "templates"):
        (root / folder).mkdir(parents=True)
    (root / "episodes/ep-a/episode.toml").write_text('title = "A"\n')
    site = root / "build/site/radio"
    make_site(site, {"ep-a": audio(1, 1000)})
    before = sorted(p for p in tmp_path.rglob("*"))
    with pytest.raises(sync.PublishError) as err:
        sync.publish(site, PublishTarget(directory=root / directory), base_url=BASE_URL)
    assert err.value.field == "publish.directory"
    assert sorted(p for p in tmp_path.rglob("*") if "cache" not in p.parts) == \
        [p for p in before if "cache" not in p.parts]


def test_local_target_inside_any_site_is_refused(tmp_path):
    site = tmp_path / "site"
    make_site(site, {"ep-a": audio(1, 1000)})
    with pytest.raises(sync.PublishError, match="overlaps the built site"):
        sync.publish(site, PublishTarget(directory=site / "public"), base_url=BASE_URL)
    assert not (site / "public").exists()
