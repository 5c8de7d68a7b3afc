"""Rules that loading (`podkit check`) and `podkit validate` apply alike, so the two agree.

A value check accepts must pass validate after build and feed, and a feed validate
accepts must not hold a value check would refuse. Each rule lives here once; the
loaders (toolkit.config.show, toolkit.config.episode) and the feed rules (toolkit.feed.rules,
toolkit.feed.itemrules) call it.
"""
from __future__ import annotations

import datetime as dt
import re
import urllib.parse

#: RFC 2822 (section 3.3): a date's year has four digits and is 1900 or later. Feed
#: writers print the year as it is ('Wed, 07 Mar 1 18:00:00'), which no reader parses.
MIN_YEAR, MAX_YEAR = 1900, 9999
#: BCP 47's shape: ASCII subtags of 1 to 8 letters or digits joined by hyphens.
_SUBTAGS_RE = re.compile(r"[A-Za-z0-9]{1,8}(?:-[A-Za-z0-9]{1,8})*")
#: Tags most feeds carry, in lower case (BCP 47 ignores case), each valid in the IANA
#: registry (tests/standards/test_languages.py checks them with langcodes): they are
#: answered without loading langcodes, whose registry costs every command ~25 ms (a
#: show's language is checked each time its feed definition is read).
COMMON_LANGUAGES = frozenset(
    "en en-us en-gb en-au en-ca en-ie en-nz en-in en-za es es-es es-mx es-419 es-ar es-us "
    "pt pt-br pt-pt de de-de de-at de-ch fr fr-fr fr-ca fr-be fr-ch it it-it nl nl-nl nl-be "
    "sv sv-se no nb nn da da-dk fi fi-fi pl pl-pl ru ru-ru uk tr tr-tr ar he hi id ms th vi "
    "ja ja-jp ko ko-kr zh zh-cn zh-tw zh-hk zh-hans zh-hant cs sk hu ro el bg hr sr sl ca "
    "eu gl cy ga is et lv lt fa ur bn ta sw af".split())


def date_problem(when: dt.datetime) -> str | None:
    """Why `when` cannot be an RSS date (RFC 2822), or None when it can.

    The year must lie in MIN_YEAR..MAX_YEAR, also once converted to UTC (a reader may
    convert: 9999-12-31T23:00-05:00 is in the year 10000 there).
    """
    try:
        years = {when.year, when.astimezone(dt.timezone.utc).year}
    except OverflowError:
        years = {when.year, MAX_YEAR + 1}
    bad = sorted(y for y in years if not MIN_YEAR <= y <= MAX_YEAR)
    if not bad:
        return None
    return (f"year {bad[0]} is outside {MIN_YEAR} to {MAX_YEAR}, the years an RFC 2822 date "
            "(the feed's pubDate) can carry")


def https_url_problem(url: str) -> str | None:
    """Why `url` cannot be a published https URL, or None: it must be an absolute ASCII https
    URL with a host name, without spaces and without a user name or password (which would be
    published in the feed, the pages and the ID3 tags; the URL is then not echoed either).

    `podkit check` applies it to base_url and feed_url, `podkit import` to --base-url and
    --feed-url, so import never writes what check then refuses.
    """
    if not url.startswith("https://") or len(url) <= len("https://"):
        return f"must be an https:// URL, not {url!r}"
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname
    except ValueError:  # an unclosed '[' of an IPv6 address, a bad port
        return f"is not a valid URL: {url!r}"
    if "@" in parts.netloc:
        return ("holds a user name or password (user:password@): it would be published in "
                "the feed, the pages and the tags; remove it")
    if not url.isascii() or any(c.isspace() for c in url):
        return f"must be ASCII without spaces (percent-encode it): {url!r}"
    if not host:
        return f"has no host name: {url!r} (write e.g. https://media.example.org/show/)"
    return None


def folder_url_problem(url: str) -> str | None:
    """Why `url` cannot be base_url (a folder every published URL is appended to), or None."""
    problem = https_url_problem(url)
    if problem is None and ("?" in url or "#" in url):
        # Every published URL is base_url + a path: a query or fragment would swallow it.
        problem = f"must be a folder URL without '?' or '#': {url!r}"
    return problem


def description_html(text: str) -> str:
    """A plain-text show description as the feed publishes it: paragraphs (at blank lines)
    of HTML in which every character is text (`<script>` stays the text "<script>").

    Apps render a channel description as HTML; Apple allows p, ol, ul, li and a in it.
    Check measures this form against Apple's 4000 bytes, so check and validate agree.
    """
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text)]
    return "".join("<p>" + p.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                   + "</p>" for p in paragraphs if p)


def fit_description(text: str, limit: int) -> str:
    """`text` cut (at a character) so that its `description_html` is at most `limit` bytes."""
    while len(description_html(text).encode("utf-8")) > limit:
        excess = len(description_html(text).encode("utf-8")) - limit
        raw = text.encode("utf-8")
        text = raw[:max(0, len(raw) - max(excess // 5, 1))].decode("utf-8", "ignore")
    return text


def language_problem(tag: str) -> str | None:
    """Why `tag` is not a valid BCP 47 language tag (the form RSS and Apple use: en, en-us,
    ko, zh-Hant, es-419), or None when it is. Checked against the IANA registry that
    `langcodes` ships: `xx-invalid` has the right shape but names no language."""
    if tag.lower() in COMMON_LANGUAGES:
        return None
    import langcodes  # the registry, only for a tag of another language
    # langcodes also reads the POSIX locale form en_US, which is no BCP 47 tag.
    if _SUBTAGS_RE.fullmatch(tag) and langcodes.tag_is_valid(tag):
        return None
    return (f"{tag!r} is not a valid BCP 47 language tag (an ISO 639 code with an optional "
            "region or script, such as en, en-us, ko or zh-Hant)")
