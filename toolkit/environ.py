"""Settings from the environment: the only module that reads os.environ.

Feed definitions (`feeds/*.toml`) are read by `toolkit.config.show`.
"""
from __future__ import annotations

import os

from toolkit.redact import url_secrets


def single_threaded_blas() -> None:
    """Ask OpenBLAS for one thread unless the producer chose a number.

    podkit's matrix products are small (true-peak windows, loudness blocks) and its
    parallelism is one process per core. OpenBLAS's own threads then only spin, waiting
    for work, on the cores the encoder and the other workers need: measured, a third of
    the CPU of the loudness and cut tests. Called before numpy is imported; where an
    embedding program imported it first, the audio code's threadpool_limits still apply.
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")    # read once, when numpy loads


def ffmpeg_override() -> str | None:
    """The ffmpeg binary named by PODKIT_FFMPEG, if any."""
    return os.environ.get("PODKIT_FFMPEG") or None


#: Environment variables that point a feed's publishing at a bucket (never credentials:
#: boto3's own chain reads AWS_ACCESS_KEY_ID, AWS_PROFILE, AWS_ENDPOINT_URL_S3...).
PUBLISH_ENV = {
    "PODKIT_S3_BUCKET": "bucket",
    "PODKIT_S3_PREFIX": "prefix",
    "PODKIT_S3_ENDPOINT_URL": "endpoint_url",
    "PODKIT_S3_REGION": "region",
    "PODKIT_S3_ADDRESSING_STYLE": "addressing_style",
}


def publish_overrides() -> dict[str, str]:
    """Publish-target fields set in the environment (PODKIT_S3_*), by field name."""
    return {field: os.environ[var] for var, field in PUBLISH_ENV.items() if os.environ.get(var)}


def now_override() -> str | None:
    """PODKIT_NOW: an ISO date-time to use as 'now' when scheduling episodes (tests, previews)."""
    return os.environ.get("PODKIT_NOW") or None


#: Variables whose values are secrets, and URLs that may carry a password (user:password@).
SECRET_ENV = ("PODKIT_PODPING_TOKEN", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
              "AWS_SECURITY_TOKEN")
URL_ENV = ("PODKIT_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3")


def secrets() -> list[str]:
    """The secrets the environment holds (for toolkit.redact.register): tokens and keys,
    and the passwords of endpoint URLs."""
    found = [os.environ.get(v, "") for v in SECRET_ENV]
    found += [s for v in URL_ENV for s in url_secrets(os.environ.get(v))]
    return [s for s in found if s]


def dask_scheduler() -> str | None:
    """PODKIT_DASK_SCHEDULER: build on this Dask scheduler (CI, cron) unless options say so."""
    return os.environ.get("PODKIT_DASK_SCHEDULER") or None


def dask_worker_root() -> str | None:
    """PODKIT_DASK_WORKER_ROOT: where the workers see the show folder, if not at its path."""
    return os.environ.get("PODKIT_DASK_WORKER_ROOT") or None
