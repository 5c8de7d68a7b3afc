"""What `podkit validate` reports: findings, the collector the rule modules fill, the rule list."""
from __future__ import annotations

from dataclasses import dataclass

from toolkit.errors import Severity, format_location


@dataclass(frozen=True)
class Finding:
    """One broken or doubtful rule, located by item and field."""

    rule: str               # e.g. "rss.item.enclosure.length", "apple.category", "p20.guid"
    severity: Severity
    item: str               # "channel", "feed", or the item's guid / title / "item N"
    field: str              # the tag or attribute, e.g. "enclosure@length"
    message: str
    source: str = ""        # the file or URL checked

    def __str__(self) -> str:
        return format_location(self.source or None, f"{self.rule}: {self.item}: {self.field}",
                               self.message, self.severity)


class Report:
    """Collects findings in document order (the rule modules add to it)."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def error(self, rule: str, item: str, field: str, message: str) -> None:
        """Record a rule the feed breaks."""
        assert rule in RULES, rule
        self.findings.append(Finding(rule, Severity.ERROR, item, field, message))

    def warning(self, rule: str, item: str, field: str, message: str) -> None:
        """Record something apps tolerate but Apple or other validators flag."""
        assert rule in RULES, rule
        self.findings.append(Finding(rule, Severity.WARNING, item, field, message))


#: Every rule `podkit validate` checks, with what it requires (docs and --json consumers).
RULES: dict[str, str] = {
    "source.read": "the feed file or URL can be read (a regular file or http/https, at most 64 MiB, "
                   "within the fetch deadline)",
    "xml.wellformed": "the document is well-formed XML",
    "xml.unsafe": "no entity or external declarations (parsed with defusedxml)",
    "xml.encoding": "the document is UTF-8",
    "xml.encoding.declared": "the encoding named by the byte-order mark, HTTP charset or XML "
                             "declaration is known and fits the bytes",
    "rss.version": "the root is <rss version=\"2.0\"> holding one <channel>",
    "rss.namespace.itunes": "the iTunes namespace is http://www.itunes.com/dtds/podcast-1.0.dtd exactly",
    "rss.channel.title": "the channel has a non-empty <title>",
    "rss.channel.link": "the channel <link> is the show's website (an absolute URL), not the feed "
                        "itself",
    "rss.channel.description": "the channel has a non-empty <description>",
    "rss.channel.self": "atom:link rel=\"self\" names the canonical feed URL",
    "rss.item.title": "every item has a non-empty <title>",
    "rss.item.enclosure": "every item has an <enclosure> with url, length and type",
    "rss.item.enclosure.length": "enclosure length is the published file's size in bytes (not the duration)",
    "rss.item.enclosure.type": "enclosure type matches the file (audio/mpeg for .mp3, audio/x-m4a for .m4a)",
    "rss.item.enclosure.unique": "no two items share an enclosure URL",
    "rss.item.guid": "every item has a non-empty <guid>",
    "rss.item.guid.unique": "no two items share a guid",
    "rss.item.guid.permalink": "a guid that is not a URL carries isPermaLink=\"false\"",
    "rss.item.pubdate": "every item has a <pubDate> in RFC 2822 form with a zone",
    "url.https": "enclosure and artwork URLs are https",
    "url.ascii": "enclosure and artwork URLs are ASCII without spaces",
    "apple.image": "the channel has itunes:image href ending in .jpg/.jpeg/.png",
    "apple.image.file": "the artwork file exists and its content type matches its extension",
    "apple.image.size": "artwork is 1400 to 3000 pixels wide",
    "apple.image.square": "artwork is square",
    "apple.image.rgb": "artwork is in the RGB colour space",
    "apple.language": "<language> is an ISO 639 code, optionally with a region (en, en-us)",
    "apple.category": "itunes:category (and subcategory) from Apple's current list",
    "apple.explicit": "itunes:explicit is true or false (present on the channel)",
    "apple.author": "the channel has itunes:author",
    "apple.owner.email": "the channel has itunes:owner with a valid itunes:email",
    "apple.type": "itunes:type is episodic or serial",
    "apple.type.serial": "a serial show numbers every episode (itunes:episode)",
    "apple.episode": "itunes:episode is a positive integer",
    "apple.season": "itunes:season is a positive integer",
    "apple.episode-type": "itunes:episodeType is full, trailer or bonus",
    "apple.duration": "itunes:duration is whole seconds (or h:mm:ss) and matches the audio within 1 s",
    "apple.description.length": "descriptions are at most 4000 bytes",
    "apple.description.html": "description HTML uses only p, ol, ul, li and a",
    "p20.namespace": "the Podcasting 2.0 namespace is https://podcastindex.org/namespace/1.0 with prefix podcast",
    "p20.guid": "podcast:guid is a UUID (for our feed: the UUIDv5 of the feed URL, or the pinned one)",
    "p20.locked": "podcast:locked is yes or no; owner is an email address",
    "p20.url.https": "every URL in a podcast: tag is https",
    "p20.transcript": "podcast:transcript has url and a known type; the file matches the type",
    "p20.chapters": "podcast:chapters has url and type application/json+chapters; the JSON has "
                    "version and chapters with ascending startTime",
    "p20.value": "podcast:funding/season/episode/soundbite/medium values are well-formed",
    "p20.value4value": "podcast:value has type and method; each podcast:valueRecipient has "
                       "type, address and a whole-number split, and the splits add up above 0",
    "p20.trailer": "podcast:trailer has a title of at most 128 characters, a url and an RFC 2822 "
                   "pubdate; length and season are whole numbers",
    "p20.location": "podcast:location has a name of at most 128 characters; geo is a geo: URI, "
                    "osm an OpenStreetMap reference, rel subject or creator",
    "p20.podroll": "podcast:podroll holds podcast:remoteItem elements whose feedGuid is a UUID",
    "p20.txt": "podcast:txt has text of at most 4000 characters and a purpose of at most 128",
    "p20.person": "podcast:person has a name; role and group are from the Podcast Taxonomy",
    "p20.alternateEnclosure": "podcast:alternateEnclosure has a type, a podcast:source with an "
                              "absolute http(s) uri, whole-number length and bitrate, and at "
                              "most one default=\"true\" (the enclosure's own file)",
    "p20.alternateEnclosure.type": "alternateEnclosure type matches its file's extension "
                                   "(audio/mpeg for .mp3, audio/x-m4a for .m4a, audio/opus "
                                   "for .opus)",
    "p20.alternateEnclosure.length": "alternateEnclosure length is the published file's size "
                                     "in bytes",
    "own.file": "every URL in our feed is a file we built",
    "own.loudness": "each built audio file measured within 1 LU of its target and under the ceiling",
}
