"""Telling the apps (toolkit.publish.notify): WebSub and podping against a real HTTP server on
127.0.0.1 that records every request and answers what the test asks; `podkit publish`
end to end in a child process."""
from __future__ import annotations

import base64
import http.server
import json
import os
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import parse_qs, quote, quote_plus, urlsplit

import feed_fixtures as F
import pytest
import zygote
from lxml import etree

from toolkit import model
from toolkit.publish import notify

TOKEN = "pp-Tok3n!secret"
FAST = notify.NotifySettings(attempts=3, backoff=0.0, timeout=5.0)
ATOM = "http://www.w3.org/2005/Atom"


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class Hub:
    """A recording server: `answers` is consumed one status per request (the last repeats)."""

    url: str
    answers: list[int] = field(default_factory=lambda: [204])
    seen: list[Seen] = field(default_factory=list)
    echo_headers: bool = False      # put the request headers in the body (a careless server)
    reply: bytes = b""              # the body of every answer (when not echoing headers)


@pytest.fixture()
def hub():
    state = Hub("")

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _answer(self) -> None:
            size = int(self.headers.get("Content-Length") or 0)
            parts = urlsplit(self.path)
            state.seen.append(Seen(self.command, parts.path, parse_qs(parts.query),
                                   {k.lower(): v for k, v in self.headers.items()},
                                   self.rfile.read(size)))
            status = state.answers.pop(0) if len(state.answers) > 1 else state.answers[0]
            body = str(dict(self.headers)).encode() if state.echo_headers else state.reply
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/"
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


def _show(tmp_path: Path, **publish: str) -> model.Show:
    return F.make_show(tmp_path, publish=model.PublishTarget(**publish))  # type: ignore[arg-type]


def test_websub_posts_the_publish_form_to_the_hub(tmp_path, hub):
    show = _show(tmp_path, websub_hub=hub.url + "hub")
    (n,) = notify.announce(show, settings=FAST, token="")
    assert n.ok and n.service == "WebSub", n.message
    (req,) = hub.seen
    assert (req.method, req.path) == ("POST", "/hub")
    assert req.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(req.body.decode()) == {"hub.mode": ["publish"], "hub.url": [F.FEED_URL]}
    assert "authorization" not in req.headers          # the podping token is podping's alone


def test_podping_sends_the_feed_with_token_and_user_agent(tmp_path, hub):
    hub.answers = [200]
    show = _show(tmp_path, podping_url=hub.url)
    (n,) = notify.announce(show, settings=FAST, token=TOKEN)
    assert n.ok, n.message
    (req,) = hub.seen
    assert req.method == "GET" and req.path == "/"
    assert req.query == {"url": [F.FEED_URL], "reason": ["update"], "medium": ["podcast"]}
    assert req.headers["authorization"] == TOKEN       # podping.cloud: the bare token
    assert req.headers["user-agent"].startswith("podkit/")  # podping.cloud refuses requests without


def test_retries_are_bounded_then_a_warning(tmp_path, hub):
    hub.answers = [503]
    show = _show(tmp_path, websub_hub=hub.url)
    (n,) = notify.announce(show, settings=FAST, token="")
    assert len(hub.seen) == FAST.attempts               # tried again, but only so often
    assert not n.ok and "HTTP 503" in n.message and "after 3 attempts" in n.message
    assert n.line().startswith(f"{show.path}: publish.websub_hub: warning: ")


def test_a_retry_that_succeeds_is_success(tmp_path, hub):
    hub.answers = [502, 429, 204]
    (n,) = notify.announce(_show(tmp_path, websub_hub=hub.url), settings=FAST, token="")
    assert n.ok and len(hub.seen) == 3


def test_client_errors_are_not_retried_and_the_token_never_shows(tmp_path, hub, caplog):
    hub.answers, hub.echo_headers = [401], True
    show = _show(tmp_path, podping_url=hub.url)
    with caplog.at_level("DEBUG"):
        (n,) = notify.announce(show, settings=FAST, token=TOKEN)
    assert len(hub.seen) == 1 and not n.ok and "HTTP 401" in n.message
    assert "***" in n.message                          # the server echoed it: redacted
    assert TOKEN not in n.line() and TOKEN not in caplog.text


#: A token with characters JSON, URLs and forms escape (podping tokens are opaque strings).
ODD_TOKEN = 'pp-"Tok3n/se cret\\'


def _echoes(token: str) -> dict[str, bytes]:
    """How a careless server may echo the token back, each in a longer answer."""
    raw = token.encode()
    return {"json": json.dumps({"error": "bad token", "got": token}).encode(),
            "percent": b"denied: url?auth=" + re.sub(r"%[0-9A-F]{2}", lambda m: m[0].lower(),
                                                     quote(token, safe="")).encode(),
            "form": b"auth=" + quote_plus(token).encode() + b"&x=1",
            "base64": b"header was " + base64.b64encode(b"Authorization: " + raw),
            "cut at 200": b"x" * 190 + raw}


@pytest.mark.parametrize("form", list(_echoes(TOKEN)))
def test_a_token_echoed_in_another_form_is_never_printed(tmp_path, hub, caplog, form):
    # Issue 22 item 6: a JSON-escaped or percent-encoded echo was printed in the warning.
    hub.answers, hub.reply = [403], _echoes(ODD_TOKEN)[form]
    with caplog.at_level("DEBUG"):
        (n,) = notify.announce(_show(tmp_path, podping_url=hub.url), settings=FAST,
                               token=ODD_TOKEN)
    assert not n.ok and "HTTP 403" in n.line()
    text = n.line() + caplog.text
    # No six characters of the token in a row, in any of its forms.
    for shown in {ODD_TOKEN, quote(ODD_TOKEN, safe=""), quote_plus(ODD_TOKEN),
                  json.dumps(ODD_TOKEN)[1:-1]}:
        assert not any(shown[i:i + 6] in text for i in range(len(shown) - 5)), (form, text)
    assert base64.b64encode(b"Authorization: " + ODD_TOKEN.encode()).decode()[20:] not in text


def test_a_token_with_a_line_break_is_refused_without_a_request(tmp_path, hub):
    (n,) = notify.announce(_show(tmp_path, podping_url=hub.url), settings=FAST,
                           token="abc\r\nX-Injected: 1")
    assert hub.seen == [] and not n.ok and "line break" in n.message
    assert "X-Injected" not in n.line() and "abc" not in n.line()


def test_no_token_no_podping(tmp_path, hub, monkeypatch):
    monkeypatch.delenv(notify.TOKEN_ENV, raising=False)
    (n,) = notify.announce(_show(tmp_path, podping_url=hub.url), settings=FAST)
    assert hub.seen == [] and not n.ok and notify.TOKEN_ENV in n.message


def test_a_hub_that_is_down_is_a_warning(tmp_path, hub):
    down = hub.url.replace(hub.url.rsplit(":", 1)[1], "1/")   # port 1: nothing listens
    (n,) = notify.announce(_show(tmp_path, websub_hub=down), settings=FAST, token="")
    assert not n.ok and "no answer after 3 attempt(s)" in n.message


def test_nothing_configured_nothing_sent(tmp_path, hub):
    assert notify.announce(_show(tmp_path), settings=FAST, token=TOKEN) == []


# ---- `podkit publish` end to end ---------------------------------------------------------------

def _podkit(root: Path, *args: str, token: str = TOKEN) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, notify.TOKEN_ENV: token}
    return zygote.run(["--root", str(root), *args], timeout=300, env=env)


def _show_with(built_show: Path, tmp_path: Path, hub: Hub) -> Path:
    root = tmp_path / "show"
    shutil.copytree(built_show, root, symlinks=True)
    toml = root / "feeds" / "test-radio.toml"
    toml.write_text(toml.read_text() + f'\n[publish]\nwebsub_hub = "{hub.url}hub"\n'
                    f'podping_url = "{hub.url}ping"\n')
    feed = _podkit(root, "feed", "--now", "2030-01-01T00:00:00+00:00")
    assert feed.returncode == 0, feed.stderr
    return root


def test_publish_tells_the_apps_once_the_new_feed_is_up(built_show, tmp_path, hub):
    hub.answers = [200]
    root = _show_with(built_show, tmp_path, hub)
    published = root / "build" / "public" / "test-radio" / "feed.xml"

    dry = _podkit(root, "publish", "--dry-run")
    assert dry.returncode == 0 and hub.seen == []      # a dry run tells nobody

    first = _podkit(root, "-vv", "publish")
    assert first.returncode == 0, first.stderr
    assert sorted((s.method, s.path) for s in hub.seen) == [("GET", "/ping"), ("POST", "/hub")]
    assert "told WebSub" in first.stdout and "told podping" in first.stdout
    assert TOKEN not in first.stdout + first.stderr   # -vv: urllib3's debug log included
    # The published feed names the hub, beside its self link, for WebSub discovery.
    channel = etree.parse(str(published)).getroot()[0]
    links = [(e.get("rel"), e.get("href")) for e in channel.iter(f"{{{ATOM}}}link")]
    assert links == [("self", "https://media.example.org/test-radio/feed.xml"), ("hub", hub.url + "hub")]

    again = _podkit(root, "publish")                   # the feed did not change: no news
    assert again.returncode == 0 and "(unchanged)" in again.stdout and len(hub.seen) == 2


def test_failing_services_are_warnings_and_exit_0(built_show, tmp_path, hub):
    hub.answers, hub.echo_headers = [401], True
    root = _show_with(built_show, tmp_path, hub)
    run = _podkit(root, "publish")
    assert run.returncode == 0, run.stderr
    assert (root / "build" / "public" / "test-radio" / "feed.xml").is_file()   # the feed is up
    warnings = [line for line in run.stderr.splitlines() if ": warning: " in line]
    assert len(warnings) == 2 and all(w.startswith("feeds/test-radio.toml: publish.") for w in warnings)
    assert TOKEN not in run.stdout + run.stderr


def test_publish_refuses_a_token_with_a_line_break_before_uploading(built_show, tmp_path, hub):
    # Issue 22 item 6: the token went into a traceback after the feed was already public.
    root = _show_with(built_show, tmp_path, hub)
    secret = "Tok-secret-9f3"
    run = _podkit(root, "publish", token=f"{secret}\r\nX-Injected: yes")
    assert run.returncode == 1 and "Traceback" not in run.stderr
    verbose = _podkit(root, "-vv", "publish", token=f"{secret}\r\nX-Injected: yes")
    assert verbose.returncode == 1 and secret not in verbose.stdout + verbose.stderr
    lines = run.stderr.strip().splitlines()
    assert lines[-1].startswith(f"podkit: {notify.TOKEN_ENV}: ") and "line break" in lines[-1]
    assert secret not in run.stdout + run.stderr and "X-Injected" not in run.stdout + run.stderr
    assert not (root / "build" / "public" / "test-radio").exists() and hub.seen == []
