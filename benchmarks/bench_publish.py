"""Publish benchmark: podkit's publish against plain boto3 on the same files, same run.

    .venv/bin/python benchmarks/bench_publish.py [--episodes 4] [--mb 25]

Starts moto's S3 server on 127.0.0.1 (a free port), builds a site of N episodes of M MB
in a temp folder, and reports ratios against baselines measured in this run:
  hash      scan_site (SHA-256 + ETag in one read)  vs  fsutil.sha256_file over the same files
  upload    first publish (plan, order, verify)      vs  s3transfer uploads of the same files
  no-op     second publish (hash, list, HEADs)       vs  the hash baseline
  local     publish to a folder, then again          vs  shutil.copyfile of the same files
  memory    peak Python allocations hashing the largest file (tracemalloc)
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from publish_site import BASE_URL, MiB, audio, make_site  # noqa: E402
from s3server import start_moto  # noqa: E402

from toolkit import fsutil
from toolkit.model import PublishTarget, TargetKind  # noqa: E402
from toolkit.publish import sync  # noqa: E402
from toolkit.publish.plan import TransferSettings, hash_file, scan_site  # noqa: E402


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=4)
    ap.add_argument("--mb", type=int, default=25, help="size of each episode's audio in MB")
    args = ap.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench-secret-key",
                      AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")
    settings = TransferSettings()
    proc, url = start_moto()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            site = Path(tmp) / "site"
            make_site(site, {f"ep-{i}": audio(i, args.mb * 1000 * 1000) for i in range(args.episodes)})
            files = [p for p in sorted(site.rglob("*")) if p.is_file()]
            total = sum(p.stat().st_size for p in files)
            print(f"site: {len(files)} files, {total / MiB:.1f} MiB; moto at {url}")

            base_hash = timed(lambda: [fsutil.sha256_file(p) for p in files])
            t_hash = timed(lambda: scan_site(site, "feed.xml", settings))
            print(f"hash     podkit {t_hash:.2f} s  baseline sha256 {base_hash:.2f} s  "
                  f"ratio {t_hash / base_hash:.2f}")

            import boto3
            from boto3.s3.transfer import TransferConfig
            from botocore.config import Config
            client = boto3.client("s3", endpoint_url=url, config=Config(
                request_checksum_calculation="when_required", s3={"addressing_style": "path"}))
            client.create_bucket(Bucket="baseline")
            client.create_bucket(Bucket="podkit")
            config = TransferConfig(multipart_threshold=settings.multipart_threshold,
                                    multipart_chunksize=settings.part_size,
                                    max_concurrency=settings.concurrency)
            base_up = timed(lambda: [client.upload_file(str(p), "baseline", p.relative_to(site).as_posix(),
                                                        Config=config) for p in files])
            target = PublishTarget(kind=TargetKind.S3, bucket="podkit", prefix="show/",
                                   endpoint_url=url, region="us-east-1", addressing_style="path")
            t_up = timed(lambda: sync.publish(site, target, base_url=BASE_URL, settings=settings))
            print(f"upload   podkit {t_up:.2f} s  baseline boto3 {base_up:.2f} s  "
                  f"ratio {t_up / base_up:.2f}")
            report: list[sync.Report] = []
            t_noop = timed(lambda: report.append(sync.publish(site, target, base_url=BASE_URL,
                                                                 settings=settings)))
            assert report[0].bytes_uploaded == 0
            print(f"no-op    podkit {t_noop:.2f} s  (uploads 0 B)  vs hash baseline "
                  f"ratio {t_noop / base_hash:.2f}")

            out, copy = Path(tmp) / "public", Path(tmp) / "copy"
            def plain_copy() -> None:
                for p in files:
                    dest = copy / p.relative_to(site)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(p, dest)
            base_copy = timed(plain_copy)
            local = PublishTarget(kind=TargetKind.LOCAL, directory=out)
            t_local = timed(lambda: sync.publish(site, local, base_url=BASE_URL))
            t_local2 = timed(lambda: sync.publish(site, local, base_url=BASE_URL))
            print(f"local    podkit {t_local:.2f} s, again {t_local2:.2f} s  baseline copy "
                  f"{base_copy:.2f} s  ratios {t_local / base_copy:.2f}, {t_local2 / base_copy:.2f}")

            biggest = max(files, key=lambda p: p.stat().st_size)
            tracemalloc.start()
            hash_file(biggest, biggest.stat().st_size, settings)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            print(f"memory   hashing a {biggest.stat().st_size / MiB:.0f} MiB file: peak "
                  f"{peak / MiB:.2f} MiB of Python allocations")
    finally:
        proc.kill()
        proc.wait()


if __name__ == "__main__":
    main()
