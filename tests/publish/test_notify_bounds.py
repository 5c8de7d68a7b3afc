"""Notify (WebSub, podping) bounded like every other response (issue 22, item 8): a hub that
trickles its answer cannot hold `publish` past the deadline, and an endless answer is never
read into memory. A real HTTP server on 127.0.0.1 answers."""
from __future__ import annotations

import time
import tracemalloc
from dataclasses import replace
from pathlib import Path

import feed_fixtures as F
from http_routes import Routes, routes  # noqa: F401 - a fixture

from toolkit.publish import notify

FAST = notify.NotifySettings(attempts=2, backoff=0.0, timeout=1.0)


def _show(tmp_path: Path, hub: str):  # noqa: ANN202 - a model.Show
    show = F.make_show(tmp_path)
    return replace(show, publish=replace(show.publish, websub_hub=hub))


def test_a_hub_trickling_its_answer_cannot_hold_publish(routes: Routes, tmp_path: Path) -> None:
    hub = routes.trickle("/hub", every=0.1, status=503, ctype="text/plain")
    began = time.monotonic()
    (n,) = notify.announce(_show(tmp_path, hub), settings=FAST, token="")
    took = time.monotonic() - began
    assert took < 2 * FAST.timeout + 2, took           # two attempts, each within its deadline
    assert not n.ok and "HTTP 503" in n.message and "deadline" in n.message, n.message


def test_a_trickle_after_a_success_status_is_still_success(routes: Routes, tmp_path: Path) -> None:
    hub = routes.trickle("/hub", every=0.1, status=202, ctype="text/plain")
    began = time.monotonic()
    (n,) = notify.announce(_show(tmp_path, hub), settings=FAST, token="")
    assert n.ok and time.monotonic() - began < FAST.timeout + 1, n


def test_an_endless_answer_is_never_read_into_memory(routes: Routes, tmp_path: Path) -> None:
    hub = routes.endless("/hub", status=500)
    tracemalloc.start()
    began = time.monotonic()
    try:
        (n,) = notify.announce(_show(tmp_path, hub), settings=FAST, token="")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert not n.ok and "HTTP 500" in n.message and len(n.message) < 600, n.message
    assert peak < 8 * 1024 * 1024, peak
    assert time.monotonic() - began < 2 * FAST.timeout + 2
