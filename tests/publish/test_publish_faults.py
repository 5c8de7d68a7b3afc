"""Publishing when things go wrong: the published feed stays whole, the next run finishes the job.

Faults are real: the proxy in front of moto answers 403/500/503, drops connections
mid-upload and throttles a large upload while a publish running in a subprocess is
killed with SIGKILL.
"""
from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import feedparser
import pytest
from publish_site import BASE_URL, MiB, audio, make_site
from s3server import fake_credentials, moto_endpoint, s3  # noqa: F401

from toolkit.errors import PodkitError
from toolkit.model import PublishTarget, TargetKind
from toolkit.publish import sync
from toolkit.publish.plan import TransferSettings, key_for_url

FAST = TransferSettings(part_size=5 * MiB, multipart_threshold=5 * MiB, concurrency=4,
                        max_attempts=3, connect_timeout=5, read_timeout=20)
ONE_RETRY = dataclasses.replace(FAST, max_attempts=2)


def run(site: Path, target: PublishTarget, settings: TransferSettings = FAST, **kw) -> sync.Report:
    return sync.publish(site, target, base_url=BASE_URL, settings=settings, **kw)


def assert_feed_whole(s3, expected: bytes, prefix: str = "show/") -> None:
    """The published feed is `expected`, and every enclosure in it resolves at its stated length."""
    status, _, body = s3.get(prefix + "feed.xml")
    assert status == 200 and body == expected
    parsed = feedparser.parse(body)
    assert not parsed.bozo and parsed.entries
    for entry in parsed.entries:
        for enc in entry.enclosures:
            status, headers, data = s3.get(prefix + key_for_url(enc.href, BASE_URL))
            assert status == 200 and len(data) == int(enc.length), enc.href


@pytest.fixture
def v1_published(s3, tmp_path):
    """A show with one episode, published; the site then gains a second, larger episode."""
    site = tmp_path / "site"
    make_site(site, {"ep-a": audio(1, 40_000)})
    run(site, s3.target())
    old_feed = (site / "feed.xml").read_bytes()
    keys = make_site(site, {"ep-a": audio(1, 40_000), "ep-b": audio(2, 11 * MiB)})
    s3.proxy.reset()
    return site, old_feed, keys


def one_line(err: BaseException) -> str:
    text = str(err)
    assert "\n" not in text and "Traceback" not in text
    return text


def test_access_denied_names_target_and_key_and_keeps_the_feed(s3, v1_published):
    site, old_feed, keys = v1_published
    s3.proxy.add("PUT", "episodes/ep-b/index.html", "status", status=403, code="AccessDenied",
                 times=None)
    with pytest.raises(sync.PublishError) as err:
        run(site, s3.target())
    text = one_line(err.value)
    assert f"s3://{s3.bucket}/show/episodes/ep-b/index.html" in text
    assert "access denied" in text and "the published feed was not changed" in text
    assert len(s3.proxy.requests("PUT", outcome="status 403")) == 1  # a 403 is not retried
    assert_feed_whole(s3, old_feed)
    s3.proxy.reset()
    report = run(site, s3.target())  # the next publish finishes the job
    assert keys["ep-b"] not in report.uploaded  # already up from the failed run
    assert_feed_whole(s3, (site / "feed.xml").read_bytes())


def test_missing_bucket(s3, tmp_path):
    site = tmp_path / "site"
    make_site(site, {"ep-a": audio(1, 1000)})
    target = PublishTarget(kind=TargetKind.S3, bucket="no-such-bucket-podkit", prefix="show/",
                           endpoint_url=s3.proxy.url, region="us-east-1", addressing_style="path")
    with pytest.raises(sync.PublishError) as err:
        run(site, target)
    text = one_line(err.value)
    assert text.startswith("s3://no-such-bucket-podkit/show/: ") and "NoSuchBucket" in text
    assert s3.proxy.requests("PUT", outcome=None) == []


def test_no_credentials(s3, tmp_path, monkeypatch):
    site = tmp_path / "site"
    make_site(site, {"ep-a": audio(1, 1000)})
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(sync.PublishError, match="no credentials found"):
        run(site, s3.target())
    assert s3.proxy.seen == []


def test_slowdown_503_is_retried(s3, v1_published):
    site, _, keys = v1_published
    rule = s3.proxy.add("PUT", "episodes/ep-b/transcript.vtt", "status", status=503,
                        code="SlowDown", times=1)
    run(site, s3.target())
    assert rule.hits == 1
    assert [s.outcome for s in s3.proxy.requests("PUT", outcome=None)
            if s.path.endswith("ep-b/transcript.vtt")] == ["status 503", "forwarded"]
    assert_feed_whole(s3, (site / "feed.xml").read_bytes())


def test_persistent_500_fails_after_retries_and_keeps_the_feed(s3, v1_published):
    site, old_feed, keys = v1_published
    rule = s3.proxy.add("PUT", "episodes/ep-b/chapters.json", "status", status=500, times=None)
    with pytest.raises(sync.PublishError) as err:
        run(site, s3.target(), ONE_RETRY)
    text = one_line(err.value)
    assert "episodes/ep-b/chapters.json" in text and "InternalError" in text
    assert rule.hits == ONE_RETRY.max_attempts == 2
    assert_feed_whole(s3, old_feed)


def test_dropped_connection_mid_multipart_is_retried(s3, v1_published):
    site, _, keys = v1_published
    rule = s3.proxy.add("PUT", "partNumber=2", "drop", after_bytes=1 * MiB)
    run(site, s3.target())
    assert rule.hits == 1 and s3.proxy.requests("PUT", outcome="dropped")
    assert s3.get("show/" + keys["ep-b"])[2] == (site / keys["ep-b"]).read_bytes()
    assert_feed_whole(s3, (site / "feed.xml").read_bytes())


def test_connection_dropping_every_time_fails_cleanly(s3, v1_published):
    site, old_feed, keys = v1_published
    s3.proxy.add("PUT", "partNumber=2", "drop", after_bytes=1 * MiB, times=None)
    with pytest.raises(sync.PublishError) as err:
        run(site, s3.target(), ONE_RETRY)
    text = one_line(err.value)
    assert keys["ep-b"] in text and "the published feed was not changed" in text
    assert_feed_whole(s3, old_feed)
    assert s3.client().list_multipart_uploads(Bucket=s3.bucket).get("Uploads", []) == []
    s3.proxy.reset()
    run(site, s3.target())
    assert_feed_whole(s3, (site / "feed.xml").read_bytes())


CHILD = """
import json, sys
from pathlib import Path
from toolkit.publish import sync
from toolkit.model import PublishTarget, TargetKind
from toolkit.publish.plan import TransferSettings
a = json.loads(sys.argv[1])
sync.publish(Path(a["site"]), PublishTarget(kind=TargetKind.S3, **a["target"]),
                base_url=a["base_url"], settings=TransferSettings(**a["settings"]))
"""


@pytest.mark.slow
def test_killed_publish_leaves_the_old_feed_and_the_next_run_finishes(s3, v1_published, tmp_path):
    site, old_feed, keys = v1_published
    # Parts of the large episode trickle in at 2 MiB/s: the child is killed mid-part.
    s3.proxy.add("PUT", keys["ep-b"], "slow", rate=2 * MiB, times=None)
    args = {"site": str(site), "base_url": BASE_URL,
            "settings": {"part_size": 5 * MiB, "multipart_threshold": 5 * MiB, "max_attempts": 2},
            "target": {"bucket": s3.bucket, "prefix": "show/", "endpoint_url": s3.proxy.url,
                       "region": "us-east-1", "addressing_style": "path"}}
    child = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(args)], cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while s3.proxy.most_body_bytes() < 1 * MiB:
            assert child.poll() is None, child.stdout.read().decode()
            assert time.monotonic() < deadline, "the upload never started"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    # Killed mid-multipart: an unfinished upload exists, the old feed is whole.
    assert s3.client().list_multipart_uploads(Bucket=s3.bucket).get("Uploads")
    assert_feed_whole(s3, old_feed)
    assert s3.get("show/" + keys["ep-b"])[0] == 404

    s3.proxy.reset()
    report = run(site, s3.target())
    assert keys["ep-b"] in report.uploaded and report.feed_uploaded
    assert_feed_whole(s3, (site / "feed.xml").read_bytes())
    # ...and the killed run's unfinished multipart upload was cleaned up.
    assert s3.client().list_multipart_uploads(Bucket=s3.bucket).get("Uploads", []) == []


def test_local_copy_failure_keeps_the_feed(tmp_path):
    site, out = tmp_path / "site", tmp_path / "public"
    target = PublishTarget(kind=TargetKind.LOCAL, directory=out)
    make_site(site, {"ep-a": audio(1, 4000)})
    sync.publish(site, target, base_url=BASE_URL)
    old_feed = (out / "feed.xml").read_bytes()
    make_site(site, {"ep-a": audio(1, 4000), "ep-b": audio(2, 5000)})
    (out / "episodes/ep-b").write_text("a file where a folder must go")
    with pytest.raises(sync.PublishError) as err:
        sync.publish(site, target, base_url=BASE_URL)
    assert str(out / "episodes/ep-b") in one_line(err.value)
    assert (out / "feed.xml").read_bytes() == old_feed
    assert isinstance(err.value, PodkitError)
    (out / "episodes/ep-b").unlink()
    sync.publish(site, target, base_url=BASE_URL)
    assert (out / "feed.xml").read_bytes() == (site / "feed.xml").read_bytes()


def test_unreachable_endpoint(s3, tmp_path):
    from s3server import free_port
    site = tmp_path / "site"
    make_site(site, {"ep-a": audio(1, 1000)})
    target = PublishTarget(kind=TargetKind.S3, bucket=s3.bucket, prefix="show/",
                           endpoint_url=f"http://127.0.0.1:{free_port()}", region="us-east-1",
                           addressing_style="path")
    with pytest.raises(sync.PublishError) as err:
        run(site, target, TransferSettings(max_attempts=1, connect_timeout=2))
    text = one_line(err.value)
    assert text.startswith(f"s3://{s3.bucket}/show/: listing the bucket failed: ")
    assert "Could not connect" in text
