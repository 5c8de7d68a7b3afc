"""Publishing to a real S3 HTTP server (moto, on 127.0.0.1) and to a local folder.

Every check reads the result back: objects over plain HTTP from the server, request
logs from the proxy in front of it, files from the target folder.
"""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import feedparser
import pytest
from defusedxml import ElementTree
from publish_site import BASE_URL, MiB, audio, make_site
from s3server import SECRET_KEY, SESSION_TOKEN, fake_credentials, moto_endpoint, s3  # noqa: F401

from toolkit.model import PublishTarget, TargetKind
from toolkit.publish import sync
from toolkit.publish.plan import (
    Action,
    Phase,
    TransferSettings,
    hash_file,
    key_for_url,
    part_size_for,
    phase_of,
)
from toolkit.standards import contenttypes

FAST = TransferSettings(part_size=5 * MiB, multipart_threshold=5 * MiB, concurrency=4,
                        max_attempts=3, connect_timeout=5, read_timeout=20)


def run(site: Path, target: PublishTarget, **kw) -> sync.Report:
    return sync.publish(site, target, base_url=BASE_URL, settings=FAST, **kw)


def writes(proxy, bookkeeping: bool = False) -> list[str]:
    """Object keys of the PUT and POST requests the server accepted, in order (the site's
    files; with `bookkeeping`, podkit's manifests under .podkit/ too)."""
    return [s.path.split("?")[0] for s in proxy.requests() if s.method in ("PUT", "POST")
            and (bookkeeping or "/.podkit/" not in s.path)]


def keys_written(proxy, bucket: str, prefix: str = "show/") -> set[str]:
    return {p.removeprefix(f"/{bucket}/{prefix}") for p in writes(proxy)}


# ---- pure parts -------------------------------------------------------------------------

def test_content_type_and_cache_tables():
    expected = {
        "episodes/a/a-0123456789ab.mp3": "audio/mpeg",
        "episodes/a/a-0123456789ab.m4a": "audio/x-m4a",
        "feed.xml": "application/rss+xml; charset=utf-8",
        "episodes/a/transcript.json": "application/json",
        "episodes/a/chapters.json": "application/json+chapters",
        "episodes/a/transcript.vtt": "text/vtt",
        "episodes/a/transcript.srt": "application/x-subrip",
        "episodes/a/transcript.txt": "text/plain; charset=utf-8",
        "index.html": "text/html; charset=utf-8",
        "cover-0123456789ab.jpg": "image/jpeg",
        "cover-0123456789ab.png": "image/png",
        "episodes/a/a-0123456789ab.wav": "audio/wav",
        "episodes/a/a-0123456789ab.MP3": "audio/mpeg",
        "other.xyz": "application/octet-stream",
    }
    for key, ctype in expected.items():
        assert contenttypes.content_type(key) == ctype, key
    assert contenttypes.cache_control("episodes/a/a-0123456789ab.mp3") == contenttypes.CACHE_IMMUTABLE
    assert contenttypes.cache_control("cover-0123456789ab.jpg") == contenttypes.CACHE_IMMUTABLE
    for short in ("feed.xml", "index.html", "episodes/a/chapters.json", "cover.jpg", "a-12345.mp3"):
        assert contenttypes.cache_control(short) == contenttypes.CACHE_SHORT, short


def test_phases_order_media_first_feed_last():
    assert phase_of("episodes/a/a-0123456789ab.mp3", "feed.xml") is Phase.MEDIA
    assert phase_of("episodes/a/transcript.vtt", "feed.xml") is Phase.TRANSCRIPTS
    assert phase_of("episodes/a/transcript.json", "feed.xml") is Phase.TRANSCRIPTS
    assert phase_of("episodes/a/chapters.json", "feed.xml") is Phase.CHAPTERS
    assert phase_of("cover-0123456789ab.png", "feed.xml") is Phase.ART
    assert phase_of("episodes/a/index.html", "feed.xml") is Phase.PAGES
    assert phase_of("feed.xml", "feed.xml") is Phase.FEED


def test_part_size_matches_s3transfer_for_huge_files():
    from s3transfer.utils import ChunksizeAdjuster
    adjuster = ChunksizeAdjuster()
    for size in (11 * MiB, 80 * 1024 * MiB, 200 * 1024 * MiB, 4 * 1024 ** 4):
        for part in (1 * MiB, 5 * MiB, 8 * MiB):
            settings = TransferSettings(part_size=part)
            assert part_size_for(size, settings) == adjuster.adjust_chunksize(part, size)


def test_etag_single_and_multipart(tmp_path):
    data = audio(7, 11 * MiB + 5)
    path = tmp_path / "x.bin"
    path.write_bytes(data)
    sha, etag = hash_file(path, len(data), TransferSettings(multipart_threshold=64 * MiB))
    assert sha == hashlib.sha256(data).hexdigest()
    assert etag == hashlib.md5(data).hexdigest()
    _, etag = hash_file(path, len(data), FAST)
    parts = [hashlib.md5(data[i:i + 5 * MiB]).digest() for i in range(0, len(data), 5 * MiB)]
    assert etag == hashlib.md5(b"".join(parts)).hexdigest() + "-3"


def test_key_for_url():
    assert key_for_url(BASE_URL + "episodes/a/a%20b.mp3", BASE_URL) == "episodes/a/a b.mp3"
    assert key_for_url(BASE_URL.rstrip("/") + "/feed.xml", BASE_URL.rstrip("/")) == "feed.xml"
    assert key_for_url("https://elsewhere.example.com/a.mp3", BASE_URL) is None


# ---- S3 -----------------------------------------------------------------------------------

def test_publish_site_to_s3_in_order_with_metadata(s3, tmp_path):
    site = tmp_path / "site"
    keys = make_site(site, {"ep-a": audio(1, 150_000), "ep-b": audio(2, 11 * MiB)})
    seen: list[str] = []
    report = run(site, s3.target(), progress=lambda p: seen.append(p.key) if p.files_done else None)
    local = sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file())
    assert sorted(report.uploaded) == local
    assert report.bytes_uploaded == sum((site / k).stat().st_size for k in local)

    # Order on the wire: every media write before any other, the feed the very last write.
    written = writes(s3.proxy)
    prefix = f"/{s3.bucket}/show/"
    phases = [phase_of(p.removeprefix(prefix), "feed.xml") for p in written]
    assert phases == sorted(phases), written
    assert written[-1] == prefix + "feed.xml"
    # The manifest of what was published is written after the feed, and lists all of it.
    assert writes(s3.proxy, bookkeeping=True)[-1] == prefix + ".podkit/site.json"
    manifest = json.loads(s3.get("show/.podkit/site.json")[2])
    assert manifest["feed"] == "site" and manifest["keys"] == local
    # ...and every media object was checked (HEAD) after its upload and before the feed.
    requests = s3.proxy.requests()
    feed_at = max(i for i, r in enumerate(requests) if r.method == "PUT" and r.path.endswith("feed.xml"))
    heads = {r.path for r in requests[:feed_at] if r.method == "HEAD"}
    assert {prefix + k for k in keys.values()} <= heads

    # The 11 MiB file went up in three 5 MiB parts.
    assert sum(1 for r in requests if "partNumber=" in r.path) == 3
    for key in local:
        status, headers, body = s3.get("show/" + key)
        assert status == 200 and body == (site / key).read_bytes(), key
        assert headers["content-type"] == contenttypes.content_type(key), key
        assert headers["cache-control"] == contenttypes.cache_control(key), key
        assert headers["x-amz-meta-sha256"] == hashlib.sha256(body).hexdigest()
    assert s3.get("show/feed.xml")[1]["cache-control"] == "public, max-age=300"
    assert s3.get("show/" + keys["ep-b"])[1]["etag"].strip('"').endswith("-3")
    assert s3.get("show/" + keys["ep-b"])[1]["cache-control"] == "public, max-age=31536000, immutable"

    # The progress callback saw the feed finish last.
    assert seen[-1] == "feed.xml"
    assert "11 uploaded" in report.summary_lines()[0]
    assert report.summary_lines()[1] == f"feed: {BASE_URL}feed.xml"


def test_feed_fetched_back_resolves_every_enclosure(s3, tmp_path):
    site = tmp_path / "site"
    make_site(site, {"ep-a": audio(1, 90_000), "ep-b": audio(2, 60_000)})
    run(site, s3.target())
    status, headers, body = s3.get("show/feed.xml")
    assert status == 200 and headers["content-type"] == "application/rss+xml; charset=utf-8"
    parsed = feedparser.parse(body)
    assert not parsed.bozo
    enclosures = [e for entry in parsed.entries for e in entry.enclosures]
    assert len(enclosures) == 2
    for enc in enclosures:
        key = key_for_url(enc.href, BASE_URL)
        status, headers, data = s3.get("show/" + key)
        assert status == 200
        assert int(headers["content-length"]) == int(enc.length) == len(data)
        assert headers["content-type"] == "audio/mpeg"
    ElementTree.fromstring(body)  # and a strict parser agrees


def test_second_publish_uploads_nothing(s3, tmp_path):
    site = tmp_path / "site"
    make_site(site, {"ep-a": audio(1, 50_000), "ep-b": audio(2, 11 * MiB)})
    run(site, s3.target())
    s3.proxy.reset()
    report = run(site, s3.target())
    assert report.uploaded == () and report.bytes_uploaded == 0
    assert writes(s3.proxy) == []
    assert all(e.reason == "same size and ETag" for e in report.plan.of(Action.SKIP))
    assert report.summary_lines()[1].endswith("(unchanged)")


def test_changed_episode_uploads_only_its_files_and_the_feed(s3, tmp_path):
    site = tmp_path / "site"
    make_site(site, {"ep-a": audio(1, 50_000), "ep-b": audio(2, 70_000)})
    run(site, s3.target())
    s3.proxy.reset()
    keys = make_site(site, {"ep-a": audio(1, 50_000), "ep-b": audio(3, 70_000)})
    report = run(site, s3.target())
    expected = {keys["ep-b"], "episodes/ep-b/index.html", "feed.xml"}
    assert set(report.uploaded) == expected
    assert keys_written(s3.proxy, s3.bucket) == expected
    assert report.plan.of(Action.DELETE) == []  # the old media stays: no --delete


def test_same_size_change_is_detected(s3, tmp_path):
    site = tmp_path / "site"
    make_site(site, {"ep-a": audio(1, 50_000)})
    run(site, s3.target())
    vtt = site / "episodes/ep-a/transcript.vtt"
    before = vtt.read_bytes()
    vtt.write_bytes(before.replace(b"Host", b"Hors"))  # same size, other bytes
    assert len(vtt.read_bytes()) == len(before)
    s3.proxy.reset()
    report = run(site, s3.target())
    assert report.uploaded == ("episodes/ep-a/transcript.vtt",)
    entry = next(e for e in report.plan.entries if e.key == "episodes/ep-a/transcript.vtt")
    assert entry.reason.startswith("content changed (same size, ETag differs")
    assert s3.get("show/episodes/ep-a/transcript.vtt")[2] == vtt.read_bytes()


def test_other_part_size_uploads_again_and_then_skips(s3, tmp_path):
    site = tmp_path / "site"
    make_site(site, {"ep-a": audio(1, 11 * MiB)})
    run(site, s3.target())
    # Another part size predicts another ETag: the server's ETag cannot vouch for the file,
    # and the x-amz-meta-sha256 podkit wrote is not trusted in its place.
    other = TransferSettings(part_size=6 * MiB, multipart_threshold=5 * MiB)
    plan = sync.make_plan(site, s3.target(), base_url=BASE_URL, settings=other)
    mp3 = next(e for e in plan.entries if e.key.endswith(".mp3"))
    assert mp3.action is Action.UPLOAD and "ETag differs" in mp3.reason
    sync.publish(site, s3.target(), base_url=BASE_URL, settings=other)
    plan = sync.make_plan(site, s3.target(), base_url=BASE_URL, settings=other)
    assert [e.action for e in plan.entries if e.key.endswith(".mp3")] == [Action.SKIP]


def test_dry_run_changes_nothing(s3, tmp_path):
    site = tmp_path / "site"
    make_site(site, {"ep-a": audio(1, 50_000)})
    report = run(site, s3.target(), dry_run=True)
    assert report.dry_run and report.uploaded == ()
    assert {e.action for e in report.plan.entries} == {Action.UPLOAD}
    assert all(e.reason == "new" for e in report.plan.entries)
    assert writes(s3.proxy) == []
    assert s3.client().list_objects_v2(Bucket=s3.bucket).get("KeyCount") == 0
    lines = report.summary_lines()
    assert lines[0].startswith("upload  episodes/ep-a/ep-a-") and lines[0].endswith(": new")
    assert lines[-1].startswith(f"plan for s3://{s3.bucket}/show/: 7 to upload")


def test_delete_removes_only_what_podkit_published(s3, tmp_path):
    site = tmp_path / "site"
    old = make_site(site, {"ep-a": audio(1, 50_000), "ep-b": audio(2, 60_000)})
    run(site, s3.target())
    s3.client().put_object(Bucket=s3.bucket, Key="show/notes/by-hand.txt", Body=b"keep me")
    make_site(site, {"ep-a": audio(1, 50_000)})

    kept = run(site, s3.target(), dry_run=True)  # without --delete nothing would go
    assert kept.plan.of(Action.DELETE) == []
    assert {e.key for e in kept.plan.of(Action.KEEP)} >= {old["ep-b"], "notes/by-hand.txt"}
    assert all(e.reason == "not in the build (--delete not given)" for e in kept.plan.of(Action.KEEP))

    report = run(site, s3.target(), delete=True)
    gone = {old["ep-b"], "episodes/ep-b/transcript.vtt", "episodes/ep-b/chapters.json",
            "episodes/ep-b/index.html"}
    assert set(report.deleted) == gone
    for key in gone:
        assert s3.get("show/" + key)[0] == 404, key
    assert s3.get("show/notes/by-hand.txt")[2] == b"keep me"
    keep = next(e for e in report.plan.entries if e.key == "notes/by-hand.txt")
    assert (keep.action, keep.reason) == (Action.KEEP, "not in this feed's publish manifest")
    # Deletes come after the new feed is up: the old feed pointed at those objects.
    reqs = s3.proxy.requests()
    feed_put = max(i for i, r in enumerate(reqs) if r.method == "PUT" and r.path.endswith("feed.xml"))
    assert all(i > feed_put for i, r in enumerate(reqs) if r.method == "DELETE")


def _publish_as(site: Path, target: PublishTarget, feed_id: str, **kw) -> sync.Report:
    return sync.publish(site, target, base_url=BASE_URL, settings=FAST, feed_id=feed_id, **kw)


def _two_feeds(tmp_path: Path) -> tuple[Path, Path, dict[str, str], dict[str, str]]:
    one, two = tmp_path / "one", tmp_path / "two"
    return one, two, make_site(one, {"ep-a": audio(1, 40_000)}), make_site(two, {"ep-z": audio(9, 40_000)})


def test_a_second_feed_in_the_same_prefix_is_refused_before_any_write(s3, tmp_path):
    # Issue 22 item 2: the second feed's --delete removed the first's MP3s and cover and
    # its feed.xml replaced the first's. Now its publish stops before writing anything.
    one, two, keys_one, _ = _two_feeds(tmp_path)
    _publish_as(one, s3.target(), "one")
    s3.proxy.reset()
    with pytest.raises(sync.PublishError) as err:
        _publish_as(two, s3.target(), "two", delete=True)
    line = str(err.value)
    assert "publish.prefix" in line and "feed 'one'" in line and ".podkit/one.json" in line
    assert writes(s3.proxy, bookkeeping=True) == [] and not s3.proxy.requests("DELETE")
    for key in (keys_one["ep-a"], "feed.xml", "episodes/ep-a/transcript.vtt"):
        assert s3.get("show/" + key)[2] == (one / key).read_bytes(), key
    # In its own prefix the second feed publishes, and deletes nothing of the first.
    _publish_as(two, s3.target(prefix="two/"), "two", delete=True)
    assert s3.get("show/feed.xml")[2] == (one / "feed.xml").read_bytes()


def test_delete_never_removes_a_key_another_feeds_manifest_lists(s3, tmp_path):
    # Nested prefixes that cannot collide: the outer feed's listing sees the inner feed's
    # objects, and --delete leaves them alone (they are not in its manifest).
    one, two, _, keys_two = _two_feeds(tmp_path)
    _publish_as(two, s3.target(prefix="show/extra/"), "two")
    _publish_as(one, s3.target(), "one")
    make_site(one, {"ep-b": audio(2, 30_000)})
    report = _publish_as(one, s3.target(), "one", delete=True)
    assert "episodes/ep-a/transcript.vtt" in report.deleted
    assert not any(k.startswith("extra/") for k in report.deleted)
    assert s3.get("show/extra/" + keys_two["ep-z"])[2] == (two / keys_two["ep-z"]).read_bytes()
    kept = {e.key: e.reason for e in report.plan.of(Action.KEEP)}
    assert kept["extra/feed.xml"] == "not in this feed's publish manifest"
    assert not any(".podkit" in k for k in kept)  # bookkeeping is never planned


def test_target_published_before_manifests_existed_deletes_nothing_then_starts_one(s3, tmp_path):
    # Objects an older podkit published (marker metadata, no manifest): unknown provenance.
    site = tmp_path / "site"
    old = make_site(site, {"ep-a": audio(1, 30_000), "ep-b": audio(2, 30_000)})
    run(site, s3.target())
    s3.client().delete_object(Bucket=s3.bucket, Key="show/.podkit/site.json")
    make_site(site, {"ep-a": audio(1, 30_000)})
    first = run(site, s3.target(), delete=True)
    assert first.deleted == () and s3.get("show/" + old["ep-b"])[0] == 200
    assert json.loads(s3.get("show/.podkit/site.json")[2])["keys"] == sorted(
        p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file())
    # From now on the manifest knows ep-a: when it goes, --delete removes it.
    make_site(site, {"ep-c": audio(3, 30_000)})
    later = run(site, s3.target(), delete=True)
    assert old["ep-a"] in later.deleted and old["ep-b"] not in later.deleted
    assert old["ep-a"] not in json.loads(s3.get("show/.podkit/site.json")[2])["keys"]


def test_manifest_is_neither_read_nor_written_by_a_publish_with_nothing_to_do(s3, tmp_path):
    site = tmp_path / "site"
    make_site(site, {"ep-a": audio(1, 30_000)})
    run(site, s3.target())
    before = s3.get("show/.podkit/site.json")[2]
    s3.proxy.reset()
    run(site, s3.target())
    assert s3.proxy.counts() == {"LIST": 1}
    assert s3.get("show/.podkit/site.json")[2] == before


@pytest.mark.parametrize("prefix", ["a/../b/", "../", "a/./b/", "a//b/", ".podkit/"])
def test_a_prefix_with_traversal_segments_is_refused_before_any_request(s3, tmp_path, prefix):
    site = tmp_path / "site"
    make_site(site, {"ep-a": audio(1, 1000)})
    with pytest.raises(sync.PublishError, match="publish.prefix"):
        run(site, s3.target(prefix=prefix))
    assert s3.proxy.requests(outcome=None) == []


def test_injected_500_is_retried(s3, tmp_path):
    site = tmp_path / "site"
    keys = make_site(site, {"ep-a": audio(1, 50_000)})
    rule = s3.proxy.add("PUT", keys["ep-a"], "status", status=500, code="InternalError")
    report = run(site, s3.target())
    assert rule.hits == 1
    puts = [s for s in s3.proxy.requests("PUT", outcome=None) if keys["ep-a"] in s.path]
    assert [p.outcome for p in puts] == ["status 500", "forwarded"]
    assert keys["ep-a"] in report.uploaded
    assert s3.get("show/" + keys["ep-a"])[2] == (site / keys["ep-a"]).read_bytes()


def test_public_read_only_when_asked(s3, tmp_path):
    site = tmp_path / "site"
    make_site(site, {"ep-a": audio(1, 20_000)})
    run(site, s3.target(prefix="private/"))
    run(site, s3.target(prefix="public/", public_read=True))
    all_users = "http://acs.amazonaws.com/groups/global/AllUsers"

    def public(key: str) -> bool:
        grants = s3.client().get_object_acl(Bucket=s3.bucket, Key=key)["Grants"]
        return any(g["Grantee"].get("URI") == all_users and g["Permission"] == "READ" for g in grants)
    assert public("public/feed.xml") and not public("private/feed.xml")
    assert all("x-amz-acl" not in s.headers for s in s3.proxy.requests("PUT")
               if "/private/" in s.path)


def test_no_extra_checksums_for_non_aws_endpoints(s3, tmp_path):
    site = tmp_path / "site"
    make_site(site, {"ep-a": audio(1, 11 * MiB)})
    run(site, s3.target())
    puts = s3.proxy.requests("PUT")
    assert puts
    for put in puts:
        assert not any(h.startswith("x-amz-checksum") or h == "x-amz-sdk-checksum-algorithm"
                       for h in put.headers), put.headers
        assert "aws-chunked" not in put.headers.get("content-encoding", "")


def test_secret_key_and_token_never_logged(s3, tmp_path, monkeypatch, caplog, capsys):
    fake_credentials(monkeypatch, tmp_path, token=True)
    caplog.set_level(logging.DEBUG)  # every logger, botocore's header dumps included
    factory = logging.getLogRecordFactory()
    site = tmp_path / "site"
    make_site(site, {"ep-a": audio(1, 20_000)})
    report = run(site, s3.target())
    for line in report.summary_lines():
        print(line)
    out = capsys.readouterr()
    text = caplog.text + out.out + out.err
    assert "botocore" in caplog.text and "x-amz-security-token" in caplog.text.lower()
    assert SECRET_KEY not in text and SESSION_TOKEN not in text
    # The token did travel (the proxy saw it) and was scrubbed from botocore's header dump.
    assert s3.proxy.requests("PUT")[0].headers["x-amz-security-token"] == SESSION_TOKEN
    assert "***" in caplog.text
    assert logging.getLogRecordFactory() is factory  # the scrubbing ends with the publish


# ---- local folder -------------------------------------------------------------------------

def local(tmp_path: Path) -> PublishTarget:
    return PublishTarget(kind=TargetKind.LOCAL, directory=tmp_path / "public")


def test_local_publish_same_logic(tmp_path):
    site = tmp_path / "site"
    old = make_site(site, {"ep-a": audio(1, 30_000), "ep-b": audio(2, 40_000)})
    seen: list[str] = []
    report = sync.publish(site, local(tmp_path), base_url=BASE_URL,
                             progress=lambda p: seen.append(p.key))
    out = tmp_path / "public"
    files = sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file())
    assert sorted(report.uploaded) == files
    for key in files:
        assert (out / key).read_bytes() == (site / key).read_bytes()
    assert seen[-1] == "feed.xml"
    assert not [p for p in out.rglob(".*.part")]  # no temp files left

    again = sync.publish(site, local(tmp_path), base_url=BASE_URL)
    assert again.uploaded == ()

    (out / "stray.txt").write_text("put here by hand")
    keys = make_site(site, {"ep-a": audio(1, 30_000), "ep-c": audio(3, 40_000)})
    vtt = site / "episodes/ep-a/transcript.vtt"
    vtt.write_bytes(vtt.read_bytes().replace(b"Host", b"Hors"))  # same size, other bytes
    report = sync.publish(site, local(tmp_path), base_url=BASE_URL, delete=True)
    assert "episodes/ep-a/transcript.vtt" in report.uploaded
    assert keys["ep-c"] in report.uploaded
    assert set(report.deleted) == {old["ep-b"], "episodes/ep-b/transcript.vtt",
                                   "episodes/ep-b/chapters.json", "episodes/ep-b/index.html"}
    assert not (out / "episodes/ep-b").exists()
    assert (out / "stray.txt").read_text() == "put here by hand"
    assert (out / "feed.xml").read_bytes() == (site / "feed.xml").read_bytes()


def test_local_target_cannot_be_the_site(tmp_path):
    site = tmp_path / "site"
    make_site(site, {"ep-a": audio(1, 1000)})
    with pytest.raises(sync.PublishError, match="site folder"):
        sync.publish(site, PublishTarget(directory=site), base_url=BASE_URL)


def test_feed_pointing_at_a_missing_or_wrong_size_file_stops_before_uploading(tmp_path):
    site = tmp_path / "site"
    keys = make_site(site, {"ep-a": audio(1, 1000)})
    (site / keys["ep-a"]).write_bytes(audio(1, 999))
    with pytest.raises(sync.PublishError) as err:
        sync.publish(site, local(tmp_path), base_url=BASE_URL)
    assert "enclosure length 1000" in str(err.value) and "feed.xml" in str(err.value)
    (site / keys["ep-a"]).unlink()
    with pytest.raises(sync.PublishError, match="site has no episodes/ep-a/"):
        sync.publish(site, local(tmp_path), base_url=BASE_URL)
    assert not (tmp_path / "public").exists()

