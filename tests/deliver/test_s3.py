"""S3 delivery through the publish stage's client, against moto's server behind the fault proxy."""
from __future__ import annotations

import pytest
from s3server import SECRET_KEY, fake_credentials, moto_endpoint, s3  # noqa: F401

from toolkit.deliver import Action, send
from toolkit.delivermodel import DeliveryKind, DeliveryTarget
from toolkit.errors import DeliveryError
from toolkit.publish.deliver_s3 import S3Endpoint

from test_sftp import make_item  # noqa: E402


def target(env) -> DeliveryTarget:
    return DeliveryTarget(name="bucket", cut="air", kind=DeliveryKind.S3, bucket=env.bucket,
                          prefix="air/", endpoint_url=env.proxy.url, region=env.region,
                          addressing_style="path", timeout=5.0)


def run(env, items, **kw):
    endpoint = S3Endpoint(target(env))
    try:
        return send(items, endpoint, delivered={}, **kw)
    finally:
        endpoint.close()


def test_delivers_verifies_and_second_run_sends_nothing(s3, tmp_path):
    item = make_item(tmp_path / "built", size=1_000_000)
    [out] = run(s3, [item])
    assert out.action is Action.SENT and "MD5 ETag" in out.verified
    status, _, body = s3.get("air/" + item.name)
    assert status == 200 and body == item.path.read_bytes()
    puts = len(s3.proxy.requests("PUT"))
    [again] = run(s3, [item])
    assert again.action is Action.UNCHANGED
    assert len(s3.proxy.requests("PUT")) == puts       # nothing uploaded again


def test_a_body_damaged_on_the_way_is_refused_and_leaves_no_object(s3, tmp_path, capsys):
    item = make_item(tmp_path / "built", size=500_000)
    s3.proxy.add("PUT", "/air/", "flip", times=None)
    with pytest.raises(DeliveryError) as err:
        run(s3, [item])
    message = str(err.value)
    assert "\n" not in message and "delivery bucket" in message and "BadDigest" in message
    assert SECRET_KEY not in message
    assert s3.get("air/" + item.name)[0] == 404


def test_a_dropped_upload_leaves_no_object_and_the_next_run_completes(s3, tmp_path):
    item = make_item(tmp_path / "built", size=500_000)
    s3.proxy.add("PUT", "/air/", "drop", after_bytes=100_000, times=None)
    with pytest.raises(DeliveryError):
        run(s3, [item])
    assert s3.get("air/" + item.name)[0] == 404
    s3.proxy.reset()
    [out] = run(s3, [item])
    assert out.action is Action.SENT
    assert s3.get("air/" + item.name)[2] == item.path.read_bytes()
