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

Each request is retried with exponential backoff on connection errors, timeouts, 429
and 5xx (at most `NotifySettings.attempts` tries; a server's Retry-After is not obeyed,
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import urllib3
from urllib3.util.retry import Retry

from toolkit import __version__
from toolkit.model import Show
from toolkit.redact import LogRedactor

log = logging.getLogger(__name__)

Scrub = Callable[[str], str]

TOKEN_ENV = "PODKIT_PODPING_TOKEN"
USER_AGENT = f"podkit/{__version__}"
#: How much of a server's answer is read for the warning (scrubbed first, then cut to DETAIL).
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
    redactor.install()  # urllib3 debug logs and our own: the token never reaches a handler
    try:
        pool = urllib3.PoolManager()
        notices = []
        if target.websub_hub:
            notices.append(_websub(pool, show, target.websub_hub, settings, redactor.scrub))
        if target.podping_url:
            notices.append(_podping(pool, show, target.podping_url, token, settings,
                                    redactor.scrub))
        pool.clear()
    finally:
        redactor.uninstall()
    # Messages may quote a server's answer, which could echo the header back.
    return [Notice(n.service, n.path, n.field, n.endpoint, n.ok, redactor.scrub(n.message))
            for n in notices]


def _websub(pool: urllib3.PoolManager, show: Show, hub: str, settings: NotifySettings,
            scrub: Scrub) -> Notice:
    body = urlencode({"hub.mode": "publish", "hub.url": show.feed_url})
    status, detail = _send(pool, "POST", hub, settings, body=body,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    ok = status is not None and 200 <= status < 300
    return _notice("WebSub", show, "publish.websub_hub", hub, ok, status, _clip(scrub(detail)))


def _podping(pool: urllib3.PoolManager, show: Show, endpoint: str, token: str,
             settings: NotifySettings, scrub: Scrub) -> Notice:
    field = "publish.podping_url"
    if not token:
        return Notice("podping", show.path, field, endpoint, False,
                      f"{TOKEN_ENV} is not set: podping not sent (apps learn of the episode "
                      "when they next poll)")
    if why := token_problem(token):
        return Notice("podping", show.path, field, endpoint, False, f"{why}: podping not sent")
    query = urlencode({"url": show.feed_url, "reason": "update", "medium": show.medium})
    url = endpoint + ("&" if "?" in endpoint else "?") + query
    status, detail = _send(pool, "GET", url, settings, headers={"Authorization": token})
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


def _send(pool: urllib3.PoolManager, method: str, url: str, settings: NotifySettings, *,
          headers: dict[str, str], body: str | None = None) -> tuple[int | None, str]:
    """The final HTTP status and a short detail, or (None, why) when no answer came."""
    retry = Retry(total=max(0, settings.attempts - 1), backoff_factor=settings.backoff,
                  status_forcelist=RETRY_STATUS, allowed_methods=None, raise_on_status=False,
                  respect_retry_after_header=False, redirect=3)
    try:
        # Headers given per request replace the pool's: the User-Agent goes in each one.
        resp = pool.request(method, url, body=body, headers={"User-Agent": USER_AGENT, **headers},
                            retries=retry,
                            timeout=urllib3.Timeout(settings.timeout))
    except urllib3.exceptions.MaxRetryError as exc:
        return None, f"no answer after {settings.attempts} attempt(s): {_reason(exc.reason)}"
    except urllib3.exceptions.HTTPError as exc:
        return None, f"no answer: {_reason(exc)}"
    tries = len(resp.retries.history) + 1 if resp.retries else 1
    text = " ".join(resp.data[:SCAN].decode("utf-8", "replace").split())
    log.debug("%s %s: HTTP %s after %d attempt(s)", method, url.split("?")[0], resp.status, tries)
    if resp.status in RETRY_STATUS and tries > 1:
        text = f"after {tries} attempts" + (f"; {text}" if text else "")
    return resp.status, text


def _reason(exc: BaseException | None) -> str:
    # urllib3 wraps the socket error: its last part says what happened, without the pool's repr.
    text = str(exc) if exc is not None else "unknown error"
    return text.rsplit(": ", 1)[-1] if "Connection refused" in text else text
