"""Tell the apps a new feed is up, so they need not wait for their next poll.

    notices = notify.announce(show)       # after publish uploaded a changed feed
    for n in notices: print(n.line())     # the CLI prints failures as warnings

Two services, each off until its URL is set in the feed's `[publish]` table:

- **WebSub** (W3C Recommendation, section 7 of which is implemented by hubs such as
  pubsubhubbub.appspot.com): `POST <websub_hub>` with the form body
  `hub.mode=publish&hub.url=<feed_url>`; any 2xx answer is success. The feed names the
  same hub as `<atom:link rel="hub">` (toolkit.feed.rss), so subscribers find it.
- **podping** (Podcast Index; the podping.cloud front end): `GET <podping_url>?url=<feed_url>
  &reason=update&medium=<medium>` with the publisher's token as the `Authorization`
  header (taken from the environment, `PODKIT_PODPING_TOKEN`, never from the TOML) and a
  `User-Agent`, which podping.cloud requires; 200 is success.

Requests go through the one HTTP client (toolkit.http): an overall deadline per attempt,
the answer's body glanced at (4 KiB at most), one User-Agent. Each request is retried with
exponential backoff on connection errors, timeouts, 429 and 5xx (at most `NotifySettings.attempts` tries; a server's Retry-After is not obeyed,
so the wait stays bounded). Nothing here raises: the feed is already public, so a
failure is a `Notice` with `ok=False` that the CLI shows as a warning. The token is
redacted (toolkit.redact) from every log record while requests run and from every
message, in every form a server could echo it back in (percent-encoded, JSON-escaped,
base64...), before the server's answer is cut to a short detail; it is never logged or
printed. A token with a line break or another control character cannot be a header:
`token_problem` says so, and `podkit publish` refuses it before uploading anything.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from toolkit import http
from toolkit.model import Show
from toolkit.redact import LogRedactor

log = logging.getLogger(__name__)

Scrub = Callable[[str], str]

TOKEN_ENV = "PODKIT_PODPING_TOKEN"
USER_AGENT = http.USER_AGENT
#: How much of a server's answer is read for the warning (scrubbed first, then cut
#: to DETAIL); the rest is never read.
SCAN = 4096
DETAIL = 200
#: Answers worth another try: throttling and server-side failures.
RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class NotifySettings:
    """How hard to try: `attempts` per service (first included), waits of
    backoff * 2**n seconds between them (none before the second try), per-request timeout."""

    attempts: int = 4
    backoff: float = 1.0
    timeout: float = 10.0


@dataclass(frozen=True)
class Notice:
    """What one service answered."""

    service: str        # 'WebSub' or 'podping'
    path: Path          # the feed's TOML, where the setting lives
    field: str          # 'publish.websub_hub' or 'publish.podping_url'
    endpoint: str       # the hub or podping URL (never carries the token)
    ok: bool
    message: str

    def line(self, root: Path | None = None) -> str:
        """One line for the terminal: the file (relative to `root`) and field, then what happened."""
        if self.ok:
            return f"told {self.service} ({self.endpoint}): {self.message}"
        path = self.path.relative_to(root) if root and self.path.is_relative_to(root) else self.path
        return f"{path}: {self.field}: warning: {self.message}"


def token_problem(token: str) -> str | None:
    """Why a podping token cannot be sent as a header (never quoting it), or None."""
    if any(ord(c) < 32 or ord(c) == 127 for c in token):
        return (f"{TOKEN_ENV} holds a line break or another control character: it cannot be "
                "sent as a header; set it to the token alone")
    if not token.isascii():
        return f"{TOKEN_ENV} holds non-ASCII characters: it cannot be sent as a header"
    return None


def environment_token() -> str:
    """The podping token from the environment, without surrounding spaces ('' if unset)."""
    return os.environ.get(TOKEN_ENV, "").strip()


def announce(show: Show, *, settings: NotifySettings | None = None,
             token: str | None = None) -> list[Notice]:
    """Tell the configured services that `show.feed_url` changed; never raises.

    `token` is the podping token (default: the environment's `PODKIT_PODPING_TOKEN`).
    Returns one Notice per configured service (none when neither is set).
    """
    settings = settings or NotifySettings()
    token = token if token is not None else environment_token()
    target = show.publish
    if not (target.websub_hub or target.podping_url):
        return []
    redactor = LogRedactor([token])
    redactor.install()  # debug logs, ours and the client's: the token never reaches a handler
    try:
        notices = []
        if target.websub_hub:
            notices.append(_websub(show, target.websub_hub, settings, redactor.scrub))
        if target.podping_url:
            notices.append(_podping(show, target.podping_url, token, settings,
                                    redactor.scrub))
    finally:
        redactor.uninstall()
    # Messages may quote a server's answer, which could echo the header back.
    return [Notice(n.service, n.path, n.field, n.endpoint, n.ok, redactor.scrub(n.message))
            for n in notices]


def _websub(show: Show, hub: str, settings: NotifySettings, scrub: Scrub) -> Notice:
    body = urlencode({"hub.mode": "publish", "hub.url": show.feed_url})
    status, detail = _send("POST", hub, settings, body=body,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    ok = status is not None and 200 <= status < 300
    return _notice("WebSub", show, "publish.websub_hub", hub, ok, status, _clip(scrub(detail)))


def _podping(show: Show, endpoint: str, token: str, settings: NotifySettings,
             scrub: Scrub) -> Notice:
    field = "publish.podping_url"
    if not token:
        return Notice("podping", show.path, field, endpoint, False,
                      f"{TOKEN_ENV} is not set: podping not sent (apps learn of the episode "
                      "when they next poll)")
    if why := token_problem(token):
        return Notice("podping", show.path, field, endpoint, False, f"{why}: podping not sent")
    query = urlencode({"url": show.feed_url, "reason": "update", "medium": show.medium})
    url = endpoint + ("&" if "?" in endpoint else "?") + query
    status, detail = _send("GET", url, settings, headers={"Authorization": token})
    return _notice("podping", show, field, endpoint, status == 200, status, _clip(scrub(detail)))


def _clip(text: str) -> str:
    """A server's answer cut for a warning line (after scrubbing: a cut secret is unmatchable)."""
    return text if len(text) <= DETAIL else text[:DETAIL] + "…"


def _notice(service: str, show: Show, field: str, endpoint: str, ok: bool, status: int | None,
            detail: str) -> Notice:
    if ok:
        log.info("%s: %s took %s (HTTP %s)", service, endpoint, show.feed_url, status)
        return Notice(service, show.path, field, endpoint, True, f"HTTP {status}")
    why = f"HTTP {status}" + (f": {detail}" if detail else "") if status is not None else detail
    message = (f"{service} at {endpoint} was not told of the new feed ({why}); the feed is "
               "published, apps learn of the episode when they next poll")
    log.info("%s", message)
    return Notice(service, show.path, field, endpoint, False, message)


def _send(method: str, url: str, settings: NotifySettings, *, headers: dict[str, str],
          body: str | None = None) -> tuple[int | None, str]:
    """The final HTTP status and a short detail, or (None, why) when no answer came.

    Through the one HTTP client (toolkit.http): each attempt has one overall deadline
    (`settings.timeout`, body included) and reads at most `SCAN` bytes of the answer,
    so a hub that trickles or never ends its body cannot hold `publish` or fill memory.
    The hub and podping URLs are the producer's own settings: private hosts are allowed.
    """
    policy = http.Policy(allow_private=True, max_redirects=3, deadline=settings.timeout,
                         read_timeout=settings.timeout)
    attempts = max(1, settings.attempts)
    status: int | None = None
    text = ""
    for attempt in range(attempts):
        if attempt:
            time.sleep(settings.backoff * 2 ** (attempt - 1))
        try:
            with http.open_url(url, kind="notify", policy=policy, method=method,
                               headers=headers, body=body.encode() if body is not None else None,
                               raise_for_status=False) as resp:
                status = resp.status
                try:
                    head = b"".join(resp.chunks(limit=SCAN))
                except http.FetchError as exc:   # the status came; its body did not, in time
                    head = f"({exc.message})".encode()
        except http.FetchError as exc:
            status, text = None, exc.message
            log.debug("%s %s: attempt %d: %s", method, http.display_url(url), attempt + 1, text)
            continue
        text = " ".join(head.decode("utf-8", "replace").split())
        log.debug("%s %s: HTTP %s after %d attempt(s)", method, http.display_url(url), status,
                  attempt + 1)
        if status not in RETRY_STATUS:
            break
    tries = attempt + 1
    if status is None:
        return None, f"no answer after {tries} attempt(s): {text}" if tries > 1 else \
            f"no answer: {text}"
    if status in RETRY_STATUS and tries > 1:
        text = f"after {tries} attempts" + (f"; {text}" if text else "")
    return status, text
