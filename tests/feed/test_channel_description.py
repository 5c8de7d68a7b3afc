"""The channel <description> (issue 22, item 4): the show's description is plain text, and
apps render a channel description as HTML; so it is published as HTML in which every
character is text, never as markup. Read back with lxml, feedparser and html5lib."""
from __future__ import annotations

import feed_fixtures as F
import feedparser
import html5lib
from lxml import etree

from toolkit.feed import rss

HOSTILE = ('Our show <script>alert(1)</script><img src=x onerror="alert(2)"> '
           '<a href="javascript:alert(3)">more</a> &amp; friends.\n\nSecond paragraph.')


def _feed(tmp_path, description: str) -> bytes:  # noqa: ANN001
    show = F.make_show(tmp_path, description=description)
    return rss.build_feed(show, [], cover_url="https://x.example/c.jpg", now=F.T0)


def test_markup_in_the_show_description_reaches_apps_as_text(tmp_path) -> None:  # noqa: ANN001
    data = _feed(tmp_path, HOSTILE)
    root = etree.fromstring(data, etree.XMLParser(strip_cdata=False))
    (desc,) = root.xpath("/rss/channel/description")
    assert b"<![CDATA[<p>Our show &lt;script&gt;" in data
    # What an app gets after XML parsing, rendered as HTML the way apps do:
    doc = html5lib.parse(desc.text, namespaceHTMLElements=False)
    assert doc.findall(".//script") == [] and doc.findall(".//img") == [] and doc.findall(".//a") == []
    paragraphs = ["".join(p.itertext()) for p in doc.findall(".//p")]
    assert paragraphs == [" ".join(HOSTILE.split("\n\n")[0].split()), "Second paragraph."]
    parsed = feedparser.parse(data)
    assert not parsed.bozo
    shown = html5lib.parse(parsed.feed.subtitle, namespaceHTMLElements=False)
    assert shown.findall(".//script") == [] and shown.findall(".//img") == []
    assert "<script>alert(1)</script>" in "".join(shown.itertext())


def test_plain_descriptions_read_back_unchanged(tmp_path) -> None:  # noqa: ANN001
    data = _feed(tmp_path, "A weekly programme about the two Koreas & their neighbours.")
    assert feedparser.parse(data).feed.subtitle == (
        "<p>A weekly programme about the two Koreas &amp; their neighbours.</p>")


def test_check_and_validate_measure_the_description_alike(tmp_path) -> None:  # noqa: ANN001
    """A description check accepts fits Apple's 4000 bytes as published, and import cuts
    one that would not (escaping makes '&' five bytes)."""
    from toolkit.config.show import MAX_DESCRIPTION_BYTES
    from toolkit.standards import stdcheck
    text = "Q&A " * 990                              # 3960 bytes of text, 7,9xx published
    html = stdcheck.description_html(text)
    assert len(text.encode()) < MAX_DESCRIPTION_BYTES < len(html.encode())
    fitted = stdcheck.fit_description(text, MAX_DESCRIPTION_BYTES)
    assert len(stdcheck.description_html(fitted).encode()) <= MAX_DESCRIPTION_BYTES
    assert text.startswith(fitted)
    assert len(stdcheck.description_html(fitted).encode()) > MAX_DESCRIPTION_BYTES - 10  # cut no more than needed
    data = _feed(tmp_path, fitted)
    desc = etree.fromstring(data).findtext("channel/description")
    assert desc == stdcheck.description_html(fitted) and len(desc.encode()) <= MAX_DESCRIPTION_BYTES
