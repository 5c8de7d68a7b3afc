"""Podcasting 2.0 tags a moved-in show keeps for its apps: value for value, trailers,
location, podroll, txt (frozen dataclasses, stdlib only, no I/O).

Re-exported from `toolkit.model` (which holds the rest of the data). The attribute
names follow the podcastindex namespace (docs/tags/*.md of Podcastindex-org/
podcast-namespace), in snake case; what each must hold is checked by
`toolkit.standards.p20` for both `podkit check` and `podkit validate`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ValueRecipient:
    """A `podcast:valueRecipient`: who receives a share of a value-for-value payment."""

    type: str                       # "node" (a Lightning node key), "lnaddress", "wallet"...
    address: str
    split: int                      # shares of each payment (not a percentage)
    name: str | None = None
    custom_key: str | None = None   # e.g. a keysend TLV record for a hosted wallet
    custom_value: str | None = None
    fee: bool = False               # an app's or host's fee, taken off the top


@dataclass(frozen=True)
class Value:
    """A `podcast:value` block: how listeners' apps pay the show (channel or episode)."""

    type: str                       # "lightning", "hive", "webmonetization"...
    method: str                     # "keysend", "lnaddress"...
    recipients: tuple[ValueRecipient, ...]
    suggested: str | None = None    # an amount per minute, kept as written (no float noise)


@dataclass(frozen=True)
class Trailer:
    """A `podcast:trailer`: a show or season trailer, published on its own URL."""

    title: str                      # at most 128 characters
    url: str
    date: datetime                  # pubdate
    length: int | None = None       # bytes
    type: str | None = None         # MIME type of the file
    season: int | None = None       # a season trailer


@dataclass(frozen=True)
class Location:
    """A `podcast:location`: where the show or episode is about or made."""

    name: str                       # human-readable, at most 128 characters
    geo: str | None = None          # RFC 5870 geo URI: "geo:51.5,-0.12"
    osm: str | None = None          # OpenStreetMap: type letter and id, "R113314"
    rel: str | None = None          # "subject" (the default) or "creator"


@dataclass(frozen=True)
class RemoteItem:
    """A `podcast:remoteItem` of the show's `podcast:podroll`: a show it recommends."""

    feed_guid: str                  # the other show's podcast:guid
    feed_url: str | None = None
    item_guid: str | None = None
    medium: str | None = None


@dataclass(frozen=True)
class Txt:
    """A `podcast:txt`: free text for a purpose, such as a domain verification token."""

    text: str                       # at most 4000 characters
    purpose: str | None = None      # at most 128 characters, e.g. "verify", "applepodcastsverify"
