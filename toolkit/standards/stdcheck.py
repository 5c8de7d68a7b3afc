"""Rules that loading (`podkit check`) and `podkit validate` apply alike, so the two agree.

A value check accepts must pass validate after build and feed, and a feed validate
accepts must not hold a value check would refuse. Each rule lives here once; the
loaders (toolkit.config.show, toolkit.config.episode) and the feed rules (toolkit.feed.rules,
toolkit.feed.itemrules) call it.
"""
from __future__ import annotations

import datetime as dt
import re

import langcodes

#: RFC 2822 (section 3.3): a date's year has four digits and is 1900 or later. Feed
#: writers print the year as it is ('Wed, 07 Mar 1 18:00:00'), which no reader parses.
MIN_YEAR, MAX_YEAR = 1900, 9999
#: BCP 47's shape: ASCII subtags of 1 to 8 letters or digits joined by hyphens.
_SUBTAGS_RE = re.compile(r"[A-Za-z0-9]{1,8}(?:-[A-Za-z0-9]{1,8})*")


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


def language_problem(tag: str) -> str | None:
    """Why `tag` is not a valid BCP 47 language tag (the form RSS and Apple use: en, en-us,
    ko, zh-Hant, es-419), or None when it is. Checked against the IANA registry that
    `langcodes` ships: `xx-invalid` has the right shape but names no language."""
    # langcodes also reads the POSIX locale form en_US, which is no BCP 47 tag.
    if _SUBTAGS_RE.fullmatch(tag) and langcodes.tag_is_valid(tag):
        return None
    return (f"{tag!r} is not a valid BCP 47 language tag (an ISO 639 code with an optional "
            "region or script, such as en, en-us, ko or zh-Hant)")
