"""Import downloads through the one HTTP client (issue 22, item 7): a trickle is cut off, an
endless body is never kept as audio.mp3, a cut-short body never looks complete. A real
server on 127.0.0.1."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from http_routes import Routes, routes  # noqa: F401 - a fixture

from toolkit import http
from toolkit.errors import MediaError
from toolkit.migrate import download

LOCAL = http.Policy(allow_private=True)


def test_a_trickling_enclosure_is_cut_off_and_not_kept(routes: Routes, tmp_path: Path) -> None:
    url = routes.trickle("/ep.mp3", every=0.3)
    target = tmp_path / "audio.mp3"
    began = time.monotonic()
    with pytest.raises(MediaError, match="slower than 1000 bytes in 1.5 s"):
        download.fetch(url, target, policy=http.Policy(allow_private=True, slow_seconds=1.5,
                                                       slow_bytes=1000))
    assert time.monotonic() - began < 4 and not target.exists()


def test_an_endless_enclosure_stops_at_the_audio_cap(routes: Routes, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # The real cap is 8 GiB; a smaller one shows the same rule in a second.
    monkeypatch.setitem(http.KINDS, "audio", http.Kind(3_000_000, 30.0))
    url = routes.endless("/ep.mp3")
    target = tmp_path / "audio.mp3"
    with pytest.raises(MediaError, match="larger than the 3000000-byte cap"):
        download.fetch(url, target, policy=LOCAL)
    assert list(tmp_path.iterdir()) == []           # neither audio.mp3 nor a part file kept


def test_a_short_body_keeps_its_part_and_resumes(routes: Routes, tmp_path: Path) -> None:
    data = b"ID3" + bytes(range(256)) * 40
    url = routes.file("/ep.mp3", data, "audio/mpeg", etag='"v1"', length=len(data) + 1000)
    target = tmp_path / "audio.mp3"
    with pytest.raises(MediaError, match="cut short: .* run again to resume"):
        download.fetch(url, target, policy=LOCAL)
    assert not target.exists()
    routes.file("/ep.mp3", data, "audio/mpeg", etag='"v1"')
    got = download.fetch(url, target, policy=LOCAL)
    assert target.read_bytes() == data and got.resumed_from == len(data)
