"""The S3 side of publishing: the only module that imports boto3.

An `S3Target` lists, hashes-by-metadata, uploads (s3transfer, multipart with concurrency),
HEADs and deletes objects under one bucket and prefix. `toolkit.publish.sync` drives it in the
right order; this module only turns each S3 operation into either a result or a one-line
`PublishError` naming the object.

Credentials come only from boto3's standard chain (environment, `~/.aws`, instance roles,
`AWS_ENDPOINT_URL_S3` for the endpoint). While a target is open, every log record (and
every error message this module builds) is scrubbed of the secret key and session token,
whatever their length, because botocore's DEBUG logs print request headers (the session
token travels in one).

Every PutObject and UploadPart carries `Content-MD5` (the MD5 podkit computed when it
hashed the site), so the service refuses a body that differs from the file (400
BadDigest) instead of storing it. `requests` counts the HTTP requests sent, by operation
(retries included), for benchmarks and tests.
"""
from __future__ import annotations

import datetime as dt
import email.utils
import functools
import logging
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.loaders
import botocore.session
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, ProfileNotFound
from s3transfer.manager import TransferManager
from s3transfer.subscribers import BaseSubscriber

from toolkit import environ
from toolkit.errors import PublishError
from toolkit.model import PublishTarget
from toolkit.publish import hashes, manifest
from toolkit.publish.plan import LocalFile, RemoteHead, RemoteObject, TransferSettings
from toolkit.redact import LogRedactor, url_secrets
from toolkit.standards import contenttypes
from toolkit.standards.objectkeys import prefix_problem

log = logging.getLogger(__name__)

#: Object metadata podkit writes: the content's SHA-256, and which feed published the object
#: (informative only: `--delete` trusts the feed's manifest, toolkit.publish.manifest).
META_SHA256 = "sha256"
META_MARKER = "podkit"
#: Keys per listing page: S3's largest, so a publish with nothing to do sends one LIST per
#: 1,000 objects and nothing else (the tests use a smaller page to see pages followed).
LIST_PAGE = 1000


@functools.cache
def _data_loader() -> botocore.loaders.Loader:
    """One loader per process: parsing botocore's S3 model and endpoint JSON takes ~0.3 s."""
    return botocore.loaders.create_loader()


def _session() -> boto3.session.Session:
    """A fresh session (credentials resolved anew) sharing the parsed service models."""
    core = botocore.session.get_session()
    core.register_component("data_loader", _data_loader())
    return boto3.session.Session(botocore_session=core)


def normalize_prefix(prefix: str) -> str:
    """'' or 'a/b/': no leading slash, one trailing slash."""
    prefix = prefix.strip("/")
    return prefix + "/" if prefix else ""


def is_aws(endpoint_url: str) -> bool:
    """True when the endpoint is Amazon's own S3 (which accepts boto3's default checksums)."""
    host = (urlsplit(endpoint_url).hostname or "").lower()
    return host.endswith(".amazonaws.com") or host.endswith(".amazonaws.com.cn")


def describe_error(exc: BaseException) -> str:
    """One line for a boto3/botocore failure (never the request headers)."""
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = err.get("Code") or "error"
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code == "NoSuchBucket" or (code == "404" and status == 404 and not err.get("Message")):
            return "the bucket does not exist (NoSuchBucket)"
        if code in ("AccessDenied", "403", "Forbidden") or status == 403:
            return (f"access denied ({code}, HTTP 403): check the credentials and the bucket "
                    "policy")
        if code in ("BadDigest", "InvalidDigest"):
            return (f"the service refused the body: it does not match the file's MD5 ({code}); "
                    "it was damaged on the way or the file changed while publishing: publish again")
        if code == "AccessControlListNotSupported":
            return "the bucket does not allow ACLs: set public_read = false and use a bucket policy"
        return f"{code}: {err.get('Message') or 'no message'} (HTTP {status})"
    if isinstance(exc, NoCredentialsError):
        return ("no credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or "
                "AWS_PROFILE (boto3's standard chain)")
    return " ".join(str(exc).split()) or type(exc).__name__


class _Progress(BaseSubscriber):
    """Forwards s3transfer's byte counts (negative when a retried part is re-sent) and successes."""

    def __init__(self, file: LocalFile, on_bytes: Callable[[str, int], None],
                 on_done: Callable[[LocalFile], None]) -> None:
        self.file, self.on_bytes, self.on_done_cb = file, on_bytes, on_done

    def on_progress(self, future: object, bytes_transferred: int, **kwargs: object) -> None:
        self.on_bytes(self.file.key, bytes_transferred)

    def on_done(self, future, **kwargs: object) -> None:
        try:
            future.result()  # already finished: returns at once, or raises its failure
        except Exception:  # the caller collects failures from the futures themselves
            return
        self.on_done_cb(self.file)


class S3Target:
    """One bucket and prefix, with a client configured for the service behind it."""

    def __init__(self, target: PublishTarget, feed_key: str, settings: TransferSettings) -> None:
        if not target.bucket:
            raise PublishError("no bucket given", field="publish.bucket")
        if why := prefix_problem(target.prefix):
            raise PublishError(why, field="publish.prefix")
        self.bucket = target.bucket
        self.prefix = normalize_prefix(target.prefix)
        self.public_read = target.public_read
        self.feed_key = feed_key
        self.marker = self.prefix + feed_key
        self.settings = settings
        try:
            session = _session()
            creds = session.get_credentials()
            if creds is None:
                raise NoCredentialsError()
            frozen = creds.get_frozen_credentials()  # may assume a role: can fail too
        except (ProfileNotFound, BotoCoreError, ClientError) as exc:
            raise PublishError(describe_error(exc), path=self.describe()) from None
        # The endpoint may name a user:password@ (PODKIT_S3_ENDPOINT_URL): botocore puts the
        # URL in its errors and debug lines.
        self.redactor = LogRedactor([frozen.secret_key, frozen.token,
                                     *url_secrets(target.endpoint_url), *environ.secrets()])
        self.redactor.install()
        try:
            # boto3 >= 1.36 adds CRC32 checksums and aws-chunked bodies to every upload;
            # MinIO, R2, B2 and others reject some. Send checksums only when S3 requires one.
            # Without an endpoint in the target, boto3's chain (AWS_ENDPOINT_URL_S3, profile)
            # may still name a non-AWS one: build the client, look, and rebuild if so.
            if target.endpoint_url:
                self.client = self._client(session, target, None if is_aws(target.endpoint_url)
                                           else "when_required")
            else:
                self.client = self._client(session, target, None)
                if not is_aws(self.client.meta.endpoint_url):
                    self.client = self._client(session, target, "when_required")
        except (BotoCoreError, ValueError) as exc:
            self.redactor.uninstall()
            raise PublishError(self.redactor.scrub(f"cannot configure the S3 client: "
                                                   f"{describe_error(exc)}"),
                               path=self.describe()) from None
        self.requests: Counter[str] = Counter()
        self._manifests: set[str] = set()            # feeds with a manifest (the last listing)
        self._count_lock = threading.Lock()
        self._uploading: dict[str, LocalFile] = {}   # full key -> file, for Content-MD5
        events = self.client.meta.events
        events.register("before-send.s3", self._count)
        events.register("before-parameter-build.s3.PutObject", self._content_md5)
        events.register("before-parameter-build.s3.UploadPart", self._content_md5)
        self.manager = TransferManager(self.client, TransferConfig(
            multipart_threshold=settings.multipart_threshold,
            multipart_chunksize=settings.part_size,
            max_concurrency=settings.concurrency))
        self.pool = ThreadPoolExecutor(max_workers=settings.concurrency, thread_name_prefix="podkit-s3")

    def _client(self, session: boto3.session.Session, target: PublishTarget, checksums: str | None):
        config = Config(
            retries={"total_max_attempts": self.settings.max_attempts, "mode": self.settings.retry_mode},
            connect_timeout=self.settings.connect_timeout,
            read_timeout=self.settings.read_timeout,
            max_pool_connections=max(10, self.settings.concurrency * 2),
            s3={"addressing_style": target.addressing_style or "auto"},
            user_agent_extra="podkit",
            **({"request_checksum_calculation": checksums,
                "response_checksum_validation": checksums} if checksums else {}))
        return session.client("s3", endpoint_url=target.endpoint_url or None,
                              region_name=target.region or None, config=config)

    def _count(self, event_name: str = "", **kwargs: Any) -> None:
        """Count one HTTP request (each retry too) by operation name."""
        with self._count_lock:
            self.requests[event_name.rsplit(".", 1)[-1]] += 1

    def _content_md5(self, params: dict[str, Any], **kwargs: Any) -> None:
        """Give each PutObject and UploadPart the Content-MD5 of its body.

        The MD5s come from hashing the site (the part size is the one s3transfer uses,
        `part_size_for`), so a body that differs from the hashed file for any reason, on
        the wire or on disk, is refused. A body podkit did not hash is hashed here.
        """
        f = self._uploading.get(params.get("Key", ""))
        md5 = f.content_md5(params.get("PartNumber", 1)) if f else None
        params["ContentMD5"] = md5 or hashes.body_md5(params.get("Body"))

    def describe(self, key: str = "") -> str:
        """The s3:// address of a key (or of the prefix), for messages."""
        return f"s3://{self.bucket}/{self.prefix}{key}"

    def close(self, cancel: bool = False) -> None:
        """Stop the transfer threads (cancelling transfers in flight) and the log scrubbing."""
        try:
            self.manager.shutdown(cancel=cancel)
            self.pool.shutdown(wait=True, cancel_futures=True)
        finally:
            self.redactor.uninstall()

    def _fail(self, key: str, doing: str, exc: BaseException) -> PublishError:
        return PublishError(self.redactor.scrub(f"{doing} failed: {describe_error(exc)}"),
                            path=self.describe(key))

    def list(self) -> dict[str, RemoteObject]:
        """Every object under the prefix (paginated list_objects_v2), keyed relative to it,
        except podkit's bookkeeping (the manifests, remembered for `manifests`)."""
        found = {}
        self._manifests = set()
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix, PaginationConfig={"PageSize": LIST_PAGE})
            for page in pages:
                for obj in page.get("Contents", ()):
                    key = obj["Key"][len(self.prefix):]
                    if manifest.is_bookkeeping(key):
                        if feed := manifest.feed_of(key):
                            self._manifests.add(feed)
                        continue
                    found[key] = RemoteObject(key, obj["Size"], obj.get("ETag", "").strip('"') or None)
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("", "listing the bucket", exc) from None
        return found

    def manifests(self) -> set[str]:
        """The feeds with a publish manifest under the prefix, as the last listing saw them."""
        return set(self._manifests)

    def read(self, key: str, limit: int) -> bytes | None:
        """The bytes of one object (None when missing); PublishError over `limit` bytes."""
        try:
            r = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)
            with r["Body"] as body:
                data = body.read(limit + 1)
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                return None
            raise self._fail(key, "reading", exc) from None
        except BotoCoreError as exc:
            raise self._fail(key, "reading", exc) from None
        if len(data) > limit:
            raise PublishError(f"larger than {limit} bytes: not a podkit manifest",
                               path=self.describe(key))
        return data

    def write(self, key: str, data: bytes) -> None:
        """Put one small object (podkit's bookkeeping: private, never cached)."""
        try:
            self.client.put_object(Bucket=self.bucket, Key=self.prefix + key, Body=data,
                                   ContentType="application/json", CacheControl="no-store")
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(key, "writing", exc) from None

    def _head(self, key: str) -> RemoteHead | None:
        try:
            r = self.client.head_object(Bucket=self.bucket, Key=self.prefix + key)
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                return None
            raise self._fail(key, "HEAD", exc) from None
        except BotoCoreError as exc:
            raise self._fail(key, "HEAD", exc) from None
        meta = r.get("Metadata", {})
        # SSE-KMS and SSE-C objects have ETags that are not the MD5 of their bytes.
        opaque = (str(r.get("ServerSideEncryption", "")).startswith("aws:kms")
                  or bool(r.get("SSECustomerAlgorithm")))
        return RemoteHead(r["ContentLength"], r.get("ETag", "").strip('"') or None,
                          meta.get(META_SHA256), meta.get(META_MARKER), opaque)

    def head(self, keys: list[str]) -> dict[str, RemoteHead | None]:
        """HEAD many objects concurrently; None for a missing one."""
        return dict(zip(keys, self.pool.map(self._head, keys)))

    def content_sha256(self, keys: list[str]) -> dict[str, str | None]:
        """None for every key: S3 computes no SHA-256, and x-amz-meta-sha256 is only what podkit
        wrote, so it cannot vouch for the bytes (only asked where a listing lacks ETags)."""
        return {k: None for k in keys}

    def abort_stale_uploads(self, ours: set[str]) -> int:
        """Abort the unfinished multipart uploads a killed publish left under the prefix.

        S3 cannot say who started an upload (no metadata in the listing), so every upload
        under the prefix counts as podkit's: those for a key in `ours` (this feed's keys)
        are aborted at once; any other only once it is `stale_upload_age` old by the server's
        clock, so another feed publishing into the same prefix right now is left alone.
        """
        wanted = {self.prefix + k for k in ours}
        max_age = dt.timedelta(seconds=self.settings.stale_upload_age)
        aborted = 0
        try:
            pages = self.client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket, Prefix=self.prefix, PaginationConfig={"PageSize": LIST_PAGE})
            for page in pages:
                now = _server_time(page)
                for up in page.get("Uploads", ()):
                    started = up["Initiated"]
                    if started.tzinfo is None:  # some servers (moto) send no zone: S3 means UTC
                        started = started.replace(tzinfo=dt.timezone.utc)
                    if up["Key"] not in wanted and now - started < max_age:
                        log.debug("left alone (may be another publish's): unfinished upload of %s "
                                  "started %s", up["Key"], up["Initiated"])
                        continue
                    self.client.abort_multipart_upload(Bucket=self.bucket, Key=up["Key"],
                                                       UploadId=up["UploadId"])
                    log.debug("aborted the unfinished upload of %s started %s", up["Key"],
                              up["Initiated"])
                    aborted += 1
        except (ClientError, BotoCoreError) as exc:
            # Not every service or policy allows this; a leftover upload costs money, not correctness.
            log.warning("%s: cannot clean up unfinished uploads: %s", self.describe(),
                        self.redactor.scrub(describe_error(exc)))
        return aborted

    def upload(self, files: list[LocalFile], on_bytes: Callable[[str, int], None],
               on_done: Callable[[LocalFile], None]) -> None:
        """Upload files concurrently (multipart above the threshold); raise on the first failure."""
        futures = []
        self._uploading.update({self.prefix + f.key: f for f in files})
        for f in files:
            extra = {
                "ContentType": contenttypes.content_type(f.key, self.feed_key),
                "CacheControl": contenttypes.cache_control(f.key, self.feed_key),
                "Metadata": {META_SHA256: f.sha256, META_MARKER: self.marker},
            }
            if self.public_read:
                extra["ACL"] = "public-read"
            log.debug("upload %s (%d bytes, %s)", self.describe(f.key), f.size, extra["ContentType"])
            futures.append((f, self.manager.upload(str(f.path), self.bucket, self.prefix + f.key,
                                                   extra_args=extra,
                                                   subscribers=[_Progress(f, on_bytes, on_done)])))
        failures = []
        for f, future in futures:
            try:
                future.result()
            except (ClientError, BotoCoreError, OSError) as exc:
                failures.append((f.key, exc))
        if failures:
            key, exc = failures[0]
            more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
            raise PublishError(self.redactor.scrub(f"upload failed: {describe_error(exc)}{more}"),
                               path=self.describe(key))

    def _delete(self, key: str) -> None:
        try:
            # One DeleteObject per key: DeleteObjects needs a body checksum that several
            # S3-compatible services refuse in the form boto3 >= 1.36 sends it.
            self.client.delete_object(Bucket=self.bucket, Key=self.prefix + key)
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(key, "delete", exc) from None

    def delete(self, keys: list[str], on_done: Callable[[str], None]) -> None:
        """Delete objects concurrently."""
        for key, _ in zip(keys, self.pool.map(self._delete, keys)):
            on_done(key)


def _server_time(page: dict[str, Any]) -> dt.datetime:
    """The server's clock when it answered (its Date header), else ours: ages of uploads
    are compared on one clock."""
    date = page.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    try:
        when = email.utils.parsedate_to_datetime(date)
    except (TypeError, ValueError):
        return dt.datetime.now(dt.timezone.utc)
    # 'GMT' parses with a zone, '-0000' without one: both mean UTC.
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)
