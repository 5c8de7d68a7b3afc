"""Delivering a cut to an S3 bucket (`podkit deliver`, kind = "s3"), on the publish client.

The client is `toolkit.publish.s3.S3Target`'s: the same credentials chain, endpoint and
checksum handling, retries, timeouts and secret scrubbing as publishing. An object appears
whole or not at all (S3 has no partial objects), so no temporary name is needed. Every
request carries Content-MD5 (the service refuses a damaged body); after the upload a
HEAD checks the size and the SHA-256 podkit stored in the object's metadata, and, for a
single-part upload, the ETag against the file's MD5 (the server's own hash).

Wired in by toolkit.delivery (the build layer): this module satisfies the delivery
stage's Endpoint protocol by shape, without importing that stage.
"""
from __future__ import annotations

import hashlib
import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from toolkit.delivermodel import DeliveryTarget
from toolkit.errors import DeliveryError, PublishError
from toolkit.model import PublishTarget, TargetKind
from toolkit.publish.plan import TransferSettings
from toolkit.publish.s3 import META_SHA256, S3Target, describe_error
from toolkit.standards import contenttypes

log = logging.getLogger(__name__)


class S3Endpoint:
    """One bucket and prefix as a delivery destination."""

    def __init__(self, target: DeliveryTarget) -> None:
        self.name = target.name
        publish = PublishTarget(kind=TargetKind.S3, bucket=target.bucket, prefix=target.prefix,
                                endpoint_url=target.endpoint_url, region=target.region,
                                addressing_style=target.addressing_style)
        settings = TransferSettings(connect_timeout=target.timeout, read_timeout=target.timeout)
        try:
            self.s3 = S3Target(publish, ".podkit-delivery", settings)
        except PublishError as exc:
            raise DeliveryError(exc.message, path=exc.path, field=f"delivery {self.name}") from None
        self._heads: dict[str, dict[str, Any] | None] = {}

    def describe(self, name: str = "") -> str:
        """s3://bucket/prefix[name]."""
        return self.s3.describe(name)

    def _fail(self, name: str, doing: str, exc: BaseException) -> DeliveryError:
        return DeliveryError(self.s3.redactor.scrub(f"{doing} failed: {describe_error(exc)}"),
                             path=self.describe(name), field=f"delivery {self.name}")

    def _head(self, name: str, *, fresh: bool = False) -> dict[str, Any] | None:
        if fresh or name not in self._heads:
            try:
                self._heads[name] = self.s3.client.head_object(Bucket=self.s3.bucket,
                                                               Key=self.s3.prefix + name)
            except ClientError as exc:
                if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") != 404:
                    raise self._fail(name, "HEAD", exc) from None
                self._heads[name] = None
            except BotoCoreError as exc:
                raise self._fail(name, "HEAD", exc) from None
        return self._heads[name]

    def size(self, name: str) -> int | None:
        """The object's size; None when absent."""
        head = self._head(name)
        return None if head is None else int(head["ContentLength"])

    def sha256(self, name: str) -> str | None:
        """The SHA-256 podkit stored in the object's metadata when it delivered it."""
        head = self._head(name)
        return None if head is None else head.get("Metadata", {}).get(META_SHA256)

    def put(self, item: Any) -> str:
        """Upload (Content-MD5 on every request), then HEAD: size, SHA-256 metadata, ETag."""
        md5 = hashlib.md5()
        with open(item.path, "rb") as f:
            while block := f.read(1 << 20):
                md5.update(block)
        extra = {"ContentType": contenttypes.content_type(item.name),
                 "Metadata": {META_SHA256: item.sha256}}
        try:
            self.s3.manager.upload(str(item.path), self.s3.bucket, self.s3.prefix + item.name,
                                   extra_args=extra).result()
        except (ClientError, BotoCoreError, OSError) as exc:
            raise self._fail(item.name, "upload", exc) from None
        head = self._head(item.name, fresh=True)
        if head is None or int(head["ContentLength"]) != item.size \
                or head.get("Metadata", {}).get(META_SHA256) != item.sha256:
            raise DeliveryError("the object after upload is not the file (size or sha256 differ)",
                                path=self.describe(item.name), field=f"delivery {self.name}")
        etag = str(head.get("ETag", "")).strip('"')
        if "-" not in etag and etag:
            if etag != md5.hexdigest():
                raise DeliveryError("the server's MD5 (ETag) of the object is not the file's",
                                    path=self.describe(item.name), field=f"delivery {self.name}")
            return "size, sha256 metadata and MD5 ETag"
        return "size and sha256 metadata (multipart: each part's Content-MD5 checked by the server)"

    def close(self) -> None:
        """Stop the transfer threads and the secret scrubbing."""
        self.s3.close()
