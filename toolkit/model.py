"""The data that flows between podkit's stages: frozen dataclasses, stdlib only, no I/O.

A `Show` comes from `feeds/<id>.toml`, an `Episode` from `episodes/<slug>/episode.toml`.
Paths in these objects are absolute (resolved by the loaders); nothing here touches disk.
"""
from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from pathlib import Path

from toolkit.audiomodel import (  # noqa: F401  (audio settings as data live there)
    EncodingSettings,
    Limiting,
    LoudnessStats,
    LoudnessTarget,
    Preset,
    Processing,
)
from toolkit.cutmodel import Cut, CutOutput, CutsPart  # noqa: F401  (cuts as data live there)
from toolkit.p20model import Location, RemoteItem, Trailer, Txt, Value, ValueRecipient  # noqa: F401

#: The Podcast Index namespace UUID for `podcast:guid` (podcast-namespace docs/tags/guid.md).
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")

#: Bump when the audio engine changes what it writes: cached audio and builds are redone.
ENGINE_VERSION = 3           # 3: the AAC has its own calibrated plan

#: Slugs and feed ids become URLs and object keys: keep them boring.
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$")
SLUG_MAX = 60       # longest slug or feed id `slugify` makes (SLUG_RE allows 80: room for a suffix)


class ShowType(str, Enum):
    """Apple's `itunes:type`."""

    EPISODIC = "episodic"
    SERIAL = "serial"


class EpisodeType(str, Enum):
    """Apple's `itunes:episodeType`."""

    FULL = "full"
    TRAILER = "trailer"
    BONUS = "bonus"


class TargetKind(str, Enum):
    """Where `podkit publish` puts the built show."""

    LOCAL = "local"
    S3 = "s3"


class TranscriptFormat(str, Enum):
    """Transcript formats podkit reads (inputs) and writes (outputs)."""

    TEXT = "text"     # plain paragraphs, optional `Speaker:` prefixes
    SRT = "srt"
    VTT = "vtt"
    JSON = "json"     # Podcast Index transcript JSON
    HTML = "html"     # output only


#: MIME types of transcript formats as the Podcasting 2.0 `podcast:transcript` tag names them.
TRANSCRIPT_MIME = {
    TranscriptFormat.TEXT: "text/plain",
    TranscriptFormat.SRT: "application/x-subrip",
    TranscriptFormat.VTT: "text/vtt",
    TranscriptFormat.JSON: "application/json",
    TranscriptFormat.HTML: "text/html",
}


@dataclass(frozen=True)
class Person:
    """A `podcast:person`: host, guest, producer..."""

    name: str
    role: str = "host"
    group: str = "cast"
    img: str | None = None
    href: str | None = None


@dataclass(frozen=True)
class Funding:
    """A `podcast:funding` link."""

    url: str
    label: str


@dataclass(frozen=True)
class Category:
    """An Apple category, with an optional subcategory."""

    name: str
    sub: str | None = None

    def __str__(self) -> str:
        return f"{self.name} > {self.sub}" if self.sub else self.name


@dataclass(frozen=True)
class Owner:
    """`itunes:owner`: who Apple contacts about the show."""

    name: str
    email: str


@dataclass(frozen=True)
class PublishTarget:
    """Where a show is published. Never holds credentials (boto3's chain supplies them)."""

    kind: TargetKind = TargetKind.LOCAL
    directory: Path | None = None       # LOCAL: the folder to publish into
    bucket: str | None = None           # S3
    prefix: str = ""                    # S3 key prefix, no leading slash, '' or ending in '/'
    endpoint_url: str | None = None     # S3-compatible endpoint (MinIO, R2, B2, Spaces...)
    region: str | None = None
    addressing_style: str = "auto"      # auto | path | virtual
    public_read: bool = False           # add an ACL; only where the service supports ACLs
    websub_hub: str | None = None       # WebSub hub told of each new feed (and named in it)
    podping_url: str | None = None      # podping endpoint told of each new feed (token: env)


@dataclass(frozen=True)
class Show:
    """One podcast feed, from `feeds/<id>.toml`."""

    id: str
    path: Path                          # the .toml it came from
    title: str
    description: str
    link: str                           # the website, not the feed
    language: str
    author: str
    owner: Owner
    categories: tuple[Category, ...]
    explicit: bool
    artwork: Path
    base_url: str                       # public URL the site folder is served under, ends in '/'
    feed_url: str                       # the feed's own canonical URL
    preset: Preset
    publish: PublishTarget
    type: ShowType = ShowType.EPISODIC
    copyright: str | None = None
    license: str | None = None          # `podcast:license` (an SPDX id or a name)
    guid: str = ""                      # `podcast:guid`; the loader derives it when absent
    locked: bool = True
    locked_owner: str | None = None     # email in `podcast:locked owner=`
    funding: tuple[Funding, ...] = ()
    persons: tuple[Person, ...] = ()
    medium: str = "podcast"
    keywords: tuple[str, ...] = ()
    templates: Path | None = None       # a folder of template overrides, if the show has one
    enclosure_prefix: str | None = None  # analytics prefix of <enclosure url> (OP3, Podtrac)
    # Podcasting 2.0 tags apps use (toolkit.p20model): payments, trailers, place, podroll, txt
    value: tuple[Value, ...] = ()
    trailers: tuple[Trailer, ...] = ()
    location: Location | None = None
    podroll: tuple[RemoteItem, ...] = ()
    txts: tuple[Txt, ...] = ()
    cuts: tuple[Cut, ...] = ()          # [cuts.<name>] tables of the feed (episodes add theirs)
    delivery: tuple[DeliveryTarget, ...] = ()  # where cuts go (toolkit.delivermodel)


@dataclass(frozen=True)
class AudioPart:
    """One segment of an episode, in play order."""

    path: Path
    title: str | None = None
    gain_db: float = 0.0
    crossfade_s: float = 0.0            # overlap with the previous part
    gap_s: float = 0.0                  # silence before this part
    trim_silence: bool = False          # trim leading and trailing silence
    bed: Path | None = None             # a music bed played under this part, ducked
    bed_gain_db: float = -18.0          # bed level under speech
    chapter: bool = True                # a chapter mark starts at this part
    processing: Processing | None = None  # speech processing; None: the episode's
    level_re_speech: float | None = None  # LU from the speech's loudness (a music part); None: as is
    cuts: tuple[str, ...] = ()          # only in these cuts ("podcast", "air"); (): in every cut


@dataclass(frozen=True)
class Chapter:
    """A chapter: Podcast Index JSON chapters and ID3 CHAP share this shape."""

    start: float                        # seconds from the start of the episode
    title: str
    end: float | None = None
    url: str | None = None
    img: str | None = None              # a URL, or a path relative to the episode folder
    toc: bool = True


@dataclass(frozen=True)
class TranscriptSource:
    """A transcript file given by the episode."""

    path: Path
    format: TranscriptFormat
    language: str | None = None
    drop_lines: tuple[int, ...] = ()    # 1-based line numbers to drop (negative: from the end)
    drop_until: str | None = None       # a pattern: drop up to and including its first line
    drop_matching: tuple[str, ...] = ()  # patterns: drop every line one of them matches
    align: bool = True                  # plain text: time it against the audio (toolkit.text.align)


@dataclass(frozen=True)
class Soundbite:
    """A `podcast:soundbite`."""

    start: float
    duration: float
    title: str | None = None
    clip: bool = True                   # render a video clip of it (toolkit.clips)
    shape: str = "square"               # the clip's frame: square, vertical or landscape


@dataclass(frozen=True)
class Episode:
    """One episode, from `episodes/<slug>/episode.toml`."""

    slug: str
    dir: Path
    path: Path                          # the episode.toml
    feed: str                           # the Show.id it belongs to
    title: str
    date: datetime                      # always timezone-aware
    parts: tuple[AudioPart, ...]
    guid: str                           # stable forever; derived by the loader when absent
    number: int | None = None
    season: int | None = None
    type: EpisodeType = EpisodeType.FULL
    summary: str = ""
    notes: str = ""                     # Markdown
    explicit: bool | None = None        # None: the show's value
    transcripts: tuple[TranscriptSource, ...] = ()
    chapters: tuple[Chapter, ...] = ()  # empty: one chapter per part
    persons: tuple[Person, ...] = ()
    keywords: tuple[str, ...] = ()
    art: Path | None = None
    draft: bool = False
    max_duration: float | None = None   # slot length in seconds (radio)
    soundbites: tuple[Soundbite, ...] = ()
    season_name: str | None = None
    episode_display: str | None = None
    programme: str | None = None        # radio programme name for cue sheets
    segment: str | None = None          # radio segment series name
    loudness: LoudnessTarget | None = None  # overrides the show's preset target
    encoding: EncodingSettings | None = None  # overrides the show's encoding ([encoding])
    passthrough: bool = False           # the MP3 is the finished master: never re-encoded
    keep_tags: bool = False             # passthrough: published byte for byte (no podkit tags)
    processing: Processing | None = None    # speech processing; None: the feed's
    value: tuple[Value, ...] = ()           # replaces the show's for this episode
    location: Location | None = None
    txts: tuple[Txt, ...] = ()
    cuts: tuple[Cut, ...] = ()          # named deliverables besides the podcast (cutmodel)
    all_parts: tuple[AudioPart, ...] = ()   # with cuts: every part, in order (`parts`: the podcast's)

    def cut_parts(self, cut: str) -> tuple[AudioPart, ...]:
        """The parts cut `cut` takes, in order: those without `cuts` and those naming it."""
        return tuple(p for p in (self.all_parts or self.parts) if not p.cuts or cut in p.cuts)


@dataclass(frozen=True)
class MediaFile:
    """A built, published file (MP3, M4A, transcript...), as the feed needs it."""

    path: Path
    url: str
    mime: str
    size: int
    sha256: str
    duration: float | None = None       # seconds, audio only
    language: str | None = None         # transcripts: their language
    rel: str | None = None              # transcripts: "captions" for timed captions


@dataclass(frozen=True)
class BuiltEpisode:
    """What a finished episode build produced, for the feed and pages."""

    episode: Episode
    audio: MediaFile
    chapters: tuple[Chapter, ...] = ()
    transcripts: tuple[MediaFile, ...] = ()
    chapters_file: MediaFile | None = None
    page_url: str | None = None
    image_url: str | None = None        # episode art URL (None: the show's)
    description_html: str = ""          # sanitized to Apple's p/ol/ul/li/a, for <description>
    content_html: str = ""              # the full notes, sanitized, for <content:encoded>
    loudness: LoudnessStats | None = None
    extra_audio: tuple[MediaFile, ...] = field(default=())  # other published renditions


def podcast_guid(feed_url: str) -> str:
    """The Podcasting 2.0 `podcast:guid` of a feed URL: UUIDv5 over it without scheme or trailing slashes."""
    bare = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", "", feed_url.strip()).rstrip("/")
    return str(uuid.uuid5(PODCAST_GUID_NAMESPACE, bare))


def episode_guid(show_guid: str, slug: str) -> str:
    """A stable item guid from the show's identity and the episode's slug (never the media URL)."""
    return str(uuid.uuid5(uuid.UUID(show_guid), slug))


def slugify(text: str, fallback: str = "") -> str:
    """A slug or feed id from a title: ASCII letters and digits, single hyphens, at most
    SLUG_MAX characters (cut at a hyphen); `fallback` when nothing usable is left."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > SLUG_MAX:
        slug = slug[:SLUG_MAX].rsplit("-", 1)[0] if "-" in slug[:SLUG_MAX] else slug[:SLUG_MAX]
    return slug if slug and is_slug(slug) else fallback


def is_slug(text: str) -> bool:
    """True when text is a valid slug or feed id: lowercase ASCII letters, digits and inner hyphens."""
    return bool(SLUG_RE.match(text)) and "--" not in text


def clock(seconds: float) -> str:
    """A duration as 'm:ss' ('14:32'), or 'h:mm:ss' from one hour on; rounded to the nearest
    second (halves up), never below 0:00. Every printed duration uses it: cue sheets,
    `status`, the CLI's lines."""
    total = int(max(0.0, seconds) + 0.5)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


# Transcripts as data live in toolkit.textmodel (this module grew past 400 lines); they
# are re-exported here, so `from toolkit.model import Transcript` keeps working.
from toolkit.textmodel import AlignReport, AlignStatus, Cue, Transcript, Word  # noqa: E402,F401
from toolkit.delivermodel import DeliveryTarget  # noqa: E402,F401
