"""`podkit publish` from the command line against a real S3 server (moto over HTTP).

The bucket comes from the environment (PODKIT_S3_*), credentials from boto3's chain;
at -v nothing prints the secret key or the session token.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import feedparser
import zygote
from s3server import SECRET_KEY, SESSION_TOKEN, moto_endpoint, s3  # noqa: F401


def podkit(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return zygote.run(["--root", str(root), *args], timeout=300, env=env)


def test_publish_to_bucket_from_environment_never_prints_secrets(s3, built_show: Path,
                                                                 tmp_path: Path) -> None:
    root = tmp_path / "show"
    shutil.copytree(built_show, root, symlinks=True)
    env = {**os.environ, "PODKIT_S3_BUCKET": s3.bucket, "PODKIT_S3_PREFIX": "radio",
           "PODKIT_S3_ENDPOINT_URL": s3.proxy.url, "PODKIT_S3_ADDRESSING_STYLE": "path",
           "AWS_SESSION_TOKEN": SESSION_TOKEN}
    dry = podkit(root, env, "publish", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "upload  feed.xml" in dry.stdout and "new" in dry.stdout
    assert not s3.client().list_objects_v2(Bucket=s3.bucket).get("Contents")  # dry run: nothing

    first = podkit(root, env, "-v", "publish")
    assert first.returncode == 0, first.stderr
    for text in (first.stdout, first.stderr, dry.stdout, dry.stderr):
        assert SECRET_KEY not in text and SESSION_TOKEN not in text
    assert "DEBUG toolkit." in first.stderr  # -v really logged
    assert f"s3://{s3.bucket}/radio/" in first.stdout

    # The feed in the bucket parses and each enclosure is an object of the stated length.
    status, headers, body = s3.get("radio/feed.xml")
    assert status == 200 and headers["content-type"].startswith("application/rss+xml")
    parsed = feedparser.parse(body)
    assert not parsed.bozo and len(parsed.entries) == 1
    for entry in parsed.entries:
        enclosure = entry.enclosures[0]
        key = "radio/" + enclosure.href.split("/test-radio/", 1)[1]
        head = s3.client().head_object(Bucket=s3.bucket, Key=key)
        assert head["ContentLength"] == int(enclosure.length)
        assert head["ContentType"] == "audio/mpeg"
        assert "immutable" in head["CacheControl"]

    again = podkit(root, env, "publish")
    assert again.returncode == 0 and "0 uploaded" in again.stdout and "(unchanged)" in again.stdout


def test_publish_failure_is_one_line_and_leaves_the_feed(s3, built_show: Path, tmp_path: Path) -> None:
    root = tmp_path / "show"
    shutil.copytree(built_show, root, symlinks=True)
    env = {**os.environ, "PODKIT_S3_BUCKET": s3.bucket + "-missing",
           "PODKIT_S3_ENDPOINT_URL": s3.proxy.url, "PODKIT_S3_ADDRESSING_STYLE": "path"}
    proc = podkit(root, env, "publish")
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("podkit: ") and "Traceback" not in proc.stderr
    assert "bucket" in lines[0].lower()


def test_short_secrets_redacted_and_botocore_debug_only_at_vv(s3, built_show: Path,
                                                              tmp_path: Path) -> None:
    root = tmp_path / "show"
    shutil.copytree(built_show, root, symlinks=True)
    # Secrets shorter than 8 characters (the old threshold) are secrets too.
    secret, token = "Zq7#", "Tk5w!"
    env = {**os.environ, "PODKIT_S3_BUCKET": s3.bucket, "PODKIT_S3_PREFIX": "radio",
           "PODKIT_S3_ENDPOINT_URL": s3.proxy.url, "PODKIT_S3_ADDRESSING_STYLE": "path",
           "AWS_SECRET_ACCESS_KEY": secret, "AWS_SESSION_TOKEN": token}
    v = podkit(root, env, "-v", "publish")
    assert v.returncode == 0, v.stderr
    assert "DEBUG toolkit." in v.stderr          # podkit's own debug lines...
    chatty = re.compile(r"^(DEBUG|INFO) (botocore|boto3|s3transfer|urllib3)[.:]", re.M)
    assert not chatty.search(v.stderr)            # ...and none of boto3's
    assert s3.proxy.requests("PUT")[0].headers["x-amz-security-token"] == token  # it did travel

    (root / "build/site/test-radio/index.html").write_text("<p>changed</p>")
    vv = podkit(root, env, "-vv", "publish")
    assert vv.returncode == 0, vv.stderr
    assert "DEBUG botocore." in vv.stderr and "x-amz-security-token" in vv.stderr.lower()
    for text in (v.stdout, v.stderr, vv.stdout, vv.stderr):
        assert secret not in text and token not in text
    assert "***" in vv.stderr


def test_a_password_in_the_endpoint_url_is_never_printed(s3, built_show: Path, tmp_path: Path) -> None:
    # Issue 22 item 6: printed in the one-line error and at -vv (botocore's debug lines).
    from s3server import free_port
    root = tmp_path / "show"
    shutil.copytree(built_show, root, symlinks=True)
    password = "EndpointPW-s3cr3t"
    port = s3.proxy.url.rsplit(":", 1)[1]
    env = {**os.environ, "PODKIT_S3_BUCKET": s3.bucket, "PODKIT_S3_ADDRESSING_STYLE": "path",
           "PODKIT_S3_ENDPOINT_URL": f"http://podkituser:{password}@127.0.0.1:{port}"}
    vv = podkit(root, env, "-vv", "publish")
    assert "DEBUG botocore." in vv.stderr
    assert password not in vv.stdout + vv.stderr

    env["PODKIT_S3_ENDPOINT_URL"] = f"http://podkituser:{password}@127.0.0.1:{free_port()}"
    down = podkit(root, env, "publish")
    assert down.returncode == 1 and "Traceback" not in down.stderr
    lines = down.stderr.strip().splitlines()
    assert len(lines) == 1 and "127.0.0.1" in lines[0], lines
    assert password not in down.stdout + down.stderr
