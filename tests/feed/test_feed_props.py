"""Property tests: unusual titles and notes round-trip through the feed and feedparser."""
from __future__ import annotations

import html
import io
import re
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import feed_fixtures as F
import feedparser
import podcastparser
import pytest
from hypothesis import HealthCheck, assume, configuration, given, settings
from hypothesis import strategies as st
from lxml import etree

from toolkit.errors import FeedError
from toolkit.feed import rss, validate

# Hypothesis caches constants under ./.hypothesis by default: keep tests out of the repo.
configuration.set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "podkit-hypothesis")

LATER = datetime(2030, 1, 1, tzinfo=timezone.utc)
ROOT = Path("/nonexistent/show")    # the feed build reads no file, so nothing is created
# XML 1.0's forbidden characters and the C1 controls (feedparser reads those as cp1252).
ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")

#: Characters that have broken feeds in the wild, mixed into arbitrary Unicode text.
NASTY = st.sampled_from(["&", "<", ">", "]]>", "]]", "<![CDATA[", "&amp;", "&#0;", '"', "'",
                         "🎙", "👩‍👩‍👧", "한국어", "é", "\u200b", "\r", "\n", "\t", "\x00", "\x0b",
                         "\x1f", "\ud800", "\ufffe", "\uffff", "\x85", "\u2028"])
TEXT = st.lists(st.one_of(NASTY, st.characters(codec="utf-8"), st.characters()),
                max_size=24).map("".join)
MARKUP = re.compile(r"<[!?/A-Za-z]")
PROPS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.too_slow])


def feedparser_reads(text: str) -> str:
    """feedparser 6's own repair (mixin.py): text that is all Latin-1 and is valid UTF-8 once
    re-encoded is taken for double-encoded UTF-8 and decoded ('Â¡' -> '¡'). The feed is right
    (the strict parse below shows the exact bytes); this models the reader's quirk."""
    try:
        return text.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _build(title: str, notes: str) -> tuple[bytes, str]:
    be = F.make_episode(ROOT, "odd", 1, title=title,
                        description_html=f"<p>{html.escape(notes)}</p>",
                        content_html=f"<p>{html.escape(notes)}</p><p>{notes}</p>")
    return rss.build_feed(F.make_show(ROOT), [be], cover_url="https://x.example/c.jpg",
                           now=LATER), be.episode.guid


@PROPS
@given(title=TEXT, notes=TEXT)
def test_titles_and_notes_round_trip_through_feedparser(title, notes):
    expected_title = " ".join(ILLEGAL.sub("", title).split())
    if not expected_title:
        with pytest.raises(FeedError):
            _build(title, notes)
        return
    data, guid = _build(title, notes)
    d = feedparser.parse(data)
    assert not d.bozo, d.get("bozo_exception")
    (entry,) = d.entries
    assert entry.id == guid
    if entry.title_detail.type == "text/plain":
        assert entry.title == feedparser_reads(expected_title)
    elif not MARKUP.search(expected_title):
        # RSS titles are ambiguous; feedparser guesses HTML when it sees entities and then
        # hands back HTML: the same characters once unescaped.
        assert html.unescape(entry.title) == html.unescape(feedparser_reads(expected_title))
    # (Text that looks like markup is sanitized by feedparser's HTML guess; podcastparser,
    # which reads titles as plain text, checks it exactly.)
    (episode,) = podcastparser.parse("https://x.example/feed.xml", io.BytesIO(data))["episodes"]
    assert episode["title"] == expected_title
    # The raw XML, read by a strict parser, carries exactly the cleaned strings.
    item = etree.fromstring(data).find("channel/item")
    clean_notes = ILLEGAL.sub("", notes).replace("\r\n", "\n").replace("\r", "\n")
    assert item.findtext("title") == expected_title
    assert item.findtext("description") == f"<p>{html.escape(clean_notes)}</p>"
    assert item.findtext("{http://purl.org/rss/1.0/modules/content/}encoded") == \
        f"<p>{html.escape(clean_notes)}</p><p>{clean_notes}</p>"
    # feedparser hands back the description's text intact (it may re-serialise the HTML).
    got = html.unescape(re.sub(r"</?p>", "", entry.summary))
    assert " ".join(got.split()) == " ".join(feedparser_reads(clean_notes).split())


@PROPS
@given(title=TEXT.filter(lambda t: " ".join(ILLEGAL.sub("", t).split()) != ""), notes=TEXT)
def test_unusual_text_never_breaks_validation(title, notes):
    data, _ = _build(title, notes)
    findings = validate.validate_feed(data, source="prop")
    assert not validate.has_errors(findings), [str(f) for f in findings]


@PROPS
@given(title=TEXT)
def test_builds_are_deterministic(title):
    assume(" ".join(ILLEGAL.sub("", title).split()))
    assert _build(title, title)[0] == _build(title, title)[0]


VALUES = st.sampled_from(["", " ", "x", "-1", "0", "1e9", "yes", "true", "http://a b", "99:99",
                          "1:2:3", "é", "&", "NaN", "inf", "1.5", "🎙", "serial"])


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(edits=st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(["drop", "attr", "text"]),
                                VALUES), min_size=1, max_size=5))
def test_validation_reports_instead_of_crashing_on_damaged_feeds(edits):
    data, _ = _build("Title", "notes")
    root = etree.fromstring(data)
    for pick, op, value in edits:
        els = list(root.iter())
        el = els[pick % len(els)]
        if op == "drop" and el.getparent() is not None:
            el.getparent().remove(el)
        elif op == "attr" and el.attrib:
            el.set(sorted(el.attrib)[pick % len(el.attrib)], value)
        else:
            el.text = value
    damaged = etree.tostring(root)
    own = validate.OwnFeedContext(F.FEED_URL, {}, probe_audio=False)
    for findings in (validate.validate_feed(damaged, source="fuzz"),
                     validate.validate_feed(damaged, source="fuzz", own=own)):
        assert all(f.rule and f.item and f.field and f.message for f in findings)
