"""The S3 side of publishing: the only module that imports boto3.

An `S3Target` lists, hashes-by-metadata, uploads (s3transfer, multipart with concurrency),
HEADs and deletes objects under one bucket and prefix. `toolkit.publish` drives it in the
right order; this module only turns each S3 operation into either a result or a one-line
`PublishError` naming the object.

Credentials come only from boto3's standard chain (environment, `~/.aws`, instance roles,
`AWS_ENDPOINT_URL_S3` for the endpoint). While a target is open, every log record is
scrubbed of the secret key and session token, because botocore's DEBUG logs print
request headers (the session token travels in one).
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import boto3
import botocore.loaders
import botocore.session
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, ProfileNotFound
from s3transfer.manager import TransferManager
from s3transfer.subscribers import BaseSubscriber

from toolkit import contenttypes
from toolkit.errors import PublishError
from toolkit.model import PublishTarget
from toolkit.publish_plan import LocalFile, RemoteHead, RemoteObject, TransferSettings

log = logging.getLogger(__name__)

#: Object metadata podkit writes: the content's SHA-256, and which feed published the object
#: (`--delete` removes only objects carrying this feed's marker).
META_SHA256 = "sha256"
META_MARKER = "podkit"


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


class LogRedactor:
    """While installed, replace secrets with '***' in every log record, whoever logs it.

    A record factory rather than a handler filter: it sees records of every logger
    (botocore.endpoint, urllib3...) before any handler, including handlers added later.
    """

    def __init__(self, secrets: Iterable[str | None]) -> None:
        self.secrets = [s for s in secrets if s and len(s) >= 8]
        self.previous: Callable[..., logging.LogRecord] | None = None

    def _factory(self, *args: object, **kwargs: object) -> logging.LogRecord:
        assert self.previous is not None
        record = self.previous(*args, **kwargs)
        try:
            text = record.getMessage()
        except Exception:  # args that do not format: logging itself reports that later
            return record
        if any(s in text for s in self.secrets):
            for s in self.secrets:
                text = text.replace(s, "***")
            record.msg, record.args = text, None
        return record

    def install(self) -> None:
        if self.secrets and self.previous is None:
            self.previous = logging.getLogRecordFactory()
            logging.setLogRecordFactory(self._factory)

    def uninstall(self) -> None:
        if self.previous is not None:
            logging.setLogRecordFactory(self.previous)
            self.previous = None


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
        self.redactor = LogRedactor([frozen.secret_key, frozen.token])
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
            raise PublishError(f"cannot configure the S3 client: {describe_error(exc)}",
                               path=self.describe()) from None
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
        return PublishError(f"{doing} failed: {describe_error(exc)}", path=self.describe(key))

    def list(self) -> dict[str, RemoteObject]:
        """Every object under the prefix (paginated list_objects_v2), keyed relative to it."""
        found = {}
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix)
            for page in pages:
                for obj in page.get("Contents", ()):
                    key = obj["Key"][len(self.prefix):]
                    found[key] = RemoteObject(key, obj["Size"], obj.get("ETag", "").strip('"') or None)
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("", "listing the bucket", exc) from None
        return found

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
        return RemoteHead(r["ContentLength"], r.get("ETag", "").strip('"') or None,
                          meta.get(META_SHA256), meta.get(META_MARKER))

    def head(self, keys: list[str]) -> dict[str, RemoteHead | None]:
        """HEAD many objects concurrently; None for a missing one."""
        return dict(zip(keys, self.pool.map(self._head, keys)))

    def stored_sha256(self, keys: list[str]) -> dict[str, str | None]:
        """The SHA-256 podkit stored with each object (x-amz-meta-sha256), None when absent."""
        return {k: h.sha256 if h else None for k, h in self.head(keys).items()}

    def published_by_podkit(self, keys: list[str]) -> set[str]:
        """The keys this feed's earlier publishes uploaded (their x-amz-meta-podkit marker)."""
        return {k for k, h in self.head(keys).items() if h and h.marker == self.marker}

    def abort_stale_uploads(self, keys: Iterable[str]) -> int:
        """Abort multipart uploads a killed publish left behind for these keys (they cost storage)."""
        wanted = {self.prefix + k for k in keys}
        aborted = 0
        try:
            pages = self.client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket, Prefix=self.prefix)
            for page in pages:
                for up in page.get("Uploads", ()):
                    if up["Key"] in wanted:
                        self.client.abort_multipart_upload(Bucket=self.bucket, Key=up["Key"],
                                                           UploadId=up["UploadId"])
                        aborted += 1
        except (ClientError, BotoCoreError) as exc:
            # Not every service or policy allows this; a leftover upload costs money, not correctness.
            log.warning("%s: cannot clean up unfinished uploads: %s", self.describe(), describe_error(exc))
        return aborted

    def upload(self, files: list[LocalFile], on_bytes: Callable[[str, int], None],
               on_done: Callable[[LocalFile], None]) -> None:
        """Upload files concurrently (multipart above the threshold); raise on the first failure."""
        futures = []
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
            raise PublishError(f"upload failed: {describe_error(exc)}{more}", path=self.describe(key))

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
