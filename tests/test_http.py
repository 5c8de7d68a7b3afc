"""The one HTTP client (toolkit.http) against a real server on 127.0.0.1: the address policy,
redirects re-checked hop by hop, the overall deadline, the low-speed cut, caps, short bodies,
one User-Agent for feed fetch, import download and notify."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from http_routes import Routes, routes  # noqa: F401 - a fixture

from toolkit import http
from toolkit.feed import fetch
from toolkit.migrate import download

LOCAL = http.Policy(allow_private=True)


def test_loopback_is_refused_by_default_and_allowed_on_request(routes: Routes) -> None:
    url = routes.file("/a.txt", b"hello", "text/plain")
    with pytest.raises(http.FetchError) as err:
        http.get_bytes(url, kind="transcript")
    assert "127.0.0.1, a loopback address: refused" in str(err.value)
    assert "--allow-private-hosts" in str(err.value)
    assert routes.log == []                       # refused before connecting
    assert http.get_bytes(url, kind="transcript", policy=LOCAL).data == b"hello"


@pytest.mark.parametrize("host", ["169.254.169.254", "[fe80::1]", "0.0.0.0", "[::ffff:169.254.169.254]"])
def test_link_local_and_unspecified_are_refused_even_when_private_hosts_are_allowed(host: str) -> None:
    with pytest.raises(http.FetchError, match="refused"):
        http.get_bytes(f"http://{host}/latest/meta-data/", kind="feed", policy=LOCAL)


@pytest.mark.parametrize("address, problem", [
    ("10.1.2.3", "a private address"), ("192.168.0.9", "a private address"),
    ("100.64.0.1", "a private address"), ("fd00::1", "a private address"),
    ("::1", "a loopback address"), ("8.8.8.8", None), ("2606:4700::1111", None)])
def test_address_rules(address: str, problem: str | None) -> None:
    assert http.address_problem(address) == problem


def test_every_redirect_hop_is_checked_again(routes: Routes) -> None:
    to_metadata = routes.redirect("/r1", "http://169.254.169.254/latest/meta-data/")
    with pytest.raises(http.FetchError, match="link-local"):
        http.get_bytes(to_metadata, kind="image", policy=LOCAL)
    to_file = routes.redirect("/r2", "file:///etc/passwd")
    with pytest.raises(http.FetchError, match="only http and https"):
        http.get_bytes(to_file, kind="image", policy=LOCAL)


def test_a_long_finite_chain_is_too_many_redirects_and_a_cycle_is_a_loop(routes: Routes) -> None:
    routes.file("/end", b"ok")
    for i in range(7):
        routes.redirect(f"/hop{i}", f"/hop{i + 1}" if i < 6 else "/end")
    with pytest.raises(http.FetchError) as err:
        http.get_bytes(routes.base + "/hop0", kind="feed", policy=LOCAL)
    assert "too many redirects (more than 5)" in str(err.value) and "loop" not in str(err.value)
    assert http.get_bytes(routes.base + "/hop3", kind="feed", policy=LOCAL).data == b"ok"
    routes.redirect("/a", "/b")
    routes.redirect("/b", "/a")
    with pytest.raises(http.FetchError, match="redirect loop"):
        http.get_bytes(routes.base + "/a", kind="feed", policy=LOCAL)


def test_a_trickle_is_cut_at_the_overall_deadline(routes: Routes) -> None:
    url = routes.trickle("/slow", every=0.1)
    began = time.monotonic()
    with pytest.raises(http.FetchError, match="within the 1 s deadline"):
        http.get_bytes(url, kind="audio", policy=http.Policy(allow_private=True, deadline=1))
    assert time.monotonic() - began < 3


def test_a_trickle_is_cut_by_the_low_speed_rule_whatever_the_deadline(routes: Routes) -> None:
    url = routes.trickle("/slow", every=0.2)
    policy = http.Policy(allow_private=True, slow_seconds=0.8, slow_bytes=1000)
    began = time.monotonic()
    with pytest.raises(http.FetchError, match="slower than 1000 bytes in 0.8 s"):
        http.get_bytes(url, kind="audio", policy=policy)   # audio's deadline is hours
    assert time.monotonic() - began < 4


def test_an_endless_body_stops_at_the_cap(routes: Routes) -> None:
    url = routes.endless("/forever")
    with pytest.raises(http.FetchError, match="larger than the 65536-byte cap for a notify"):
        http.get_bytes(url, kind="notify", policy=LOCAL)


def test_a_stated_length_over_the_cap_is_refused_before_reading(routes: Routes) -> None:
    url = routes.file("/big", b"x" * 10, length=http.KINDS["chapters"].max_bytes + 1)
    with pytest.raises(http.FetchError, match="over the .*-byte cap for a chapters"):
        http.get_bytes(url, kind="chapters", policy=LOCAL)


def test_a_body_shorter_than_its_content_length_is_an_error(routes: Routes) -> None:
    url = routes.file("/short.vtt", b"WEBVTT\n\n", "text/vtt", length=5000)
    with pytest.raises(http.FetchError, match="cut short: 8 of 5000 bytes"):
        http.get_bytes(url, kind="transcript", policy=LOCAL)


def test_one_user_agent_for_feed_fetch_download_and_notify(routes: Routes, tmp_path: Path) -> None:
    from dataclasses import replace

    import feed_fixtures as F

    from toolkit.publish import notify
    routes.file("/feed.xml", b"<rss/>", "application/rss+xml")
    routes.file("/a.mp3", b"ID3" + b"\0" * 100, "audio/mpeg", etag='"e"')
    routes.routes["/hub"] = lambda h: (h.send_response(204), h.send_header("Content-Length", "0"),
                                       h.end_headers())
    fetch.read_bytes(routes.base + "/feed.xml")
    download.fetch(routes.base + "/a.mp3", tmp_path / "a.mp3", policy=LOCAL)
    show = F.make_show(tmp_path)
    show = replace(show, publish=replace(show.publish, websub_hub=routes.base + "/hub"))
    assert notify.announce(show)[0].ok
    agents = {headers.get("User-Agent") for _, _, headers in routes.log}
    assert agents == {http.USER_AGENT}, agents
