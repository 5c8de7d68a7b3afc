"""toolkit.feed.rss: the RSS a show's built episodes become, read back by real parsers."""
from __future__ import annotations

import io
import random
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import feed_fixtures as F
import feedparser
import podcastparser
import pytest
from lxml import etree

from toolkit import model
from toolkit.errors import FeedError
from toolkit.feed import rss

NS = {"itunes": rss.ITUNES_NS, "podcast": rss.PODCAST_NS, "atom": "http://www.w3.org/2005/Atom",
      "content": "http://purl.org/rss/1.0/modules/content/"}
LATER = datetime(2030, 1, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def mp3(tmp_path_factory):
    return F.make_mp3(tmp_path_factory.mktemp("src") / "tone.mp3")


@pytest.fixture
def site(tmp_path, mp3):
    """show, built episodes, cover URL and site folder, all real files."""
    return F.make_site(tmp_path, mp3, slugs=("hanoi-summit", "second", "third"))


def xml(data: bytes) -> etree._Element:
    # strip_cdata=False keeps CDATA nodes so the tests can see how text was written.
    return etree.fromstring(data, etree.XMLParser(strip_cdata=False))


def one(root: etree._Element, path: str) -> etree._Element:
    found = root.xpath(path, namespaces=NS)
    assert len(found) == 1, (path, found)
    return found[0]


def test_feedparser_reads_every_episode_back(site):
    show, eps, cover, _ = site
    data = rss.build_feed(show, eps, cover_url=cover, now=LATER)
    d = feedparser.parse(data)
    assert not d.bozo, d.get("bozo_exception")
    assert d.feed.title == show.title
    assert d.feed.link == show.link                      # the website, not the feed
    assert len(d.entries) == 3
    newest_first = sorted(eps, key=lambda be: be.episode.date, reverse=True)
    for entry, be in zip(d.entries, newest_first):
        assert entry.title == be.episode.title
        assert entry.id == be.episode.guid
        (enc,) = entry.enclosures
        assert enc.href == be.audio.url
        assert int(enc.length) == be.audio.path.stat().st_size   # bytes of the published file
        assert enc.type == "audio/mpeg"
        assert int(entry.itunes_duration) == round(be.audio.duration)
        assert entry.published_parsed[:6] == be.episode.date.astimezone(timezone.utc).timetuple()[:6]


def test_podcastparser_reads_the_itunes_fields(site):
    show, eps, cover, _ = site
    show = replace(show, type=model.ShowType.SERIAL, explicit=True)
    eps[1] = replace(eps[1], episode=replace(eps[1].episode, explicit=False,
                                             type=model.EpisodeType.BONUS, season=2))
    data = rss.build_feed(show, eps, cover_url=cover, now=LATER)
    p = podcastparser.parse(show.feed_url, io.BytesIO(data))
    assert p["title"] == show.title
    assert p["itunes_author"] == show.author
    assert p["itunes_owner"] == {"name": show.owner.name, "email": show.owner.email}
    assert p["itunes_categories"] == [["News", "Politics"], ["Government"]]
    assert p["explicit"] is True
    assert p["type"] == "serial"
    assert p["cover_url"] == cover
    assert p["language"] == "en"
    by_guid = {e["guid"]: e for e in p["episodes"]}
    assert set(by_guid) == {be.episode.guid for be in eps}
    for be in eps:
        e = by_guid[be.episode.guid]
        assert e["number"] == be.episode.number
        assert e["season"] == be.episode.season
        assert e["type"] == be.episode.type.value
        assert e["explicit"] is (show.explicit if be.episode.explicit is None else be.episode.explicit)
        assert e["total_time"] == round(be.audio.duration)
        assert e["enclosures"][0]["file_size"] == be.audio.size
        assert e["published"] == int(be.episode.date.timestamp())


def test_channel_tags(site):
    show, eps, cover, _ = site
    root = xml(rss.build_feed(show, eps, cover_url=cover, now=LATER))
    assert root.get("version") == "2.0"
    ch = one(root, "/rss/channel")
    assert one(ch, "link").text == show.link
    self_link = one(ch, "atom:link[@rel='self']")
    assert self_link.get("href") == show.feed_url
    assert one(ch, "language").text == "en"
    assert one(ch, "copyright").text == show.copyright
    assert one(ch, "itunes:image").get("href") == cover
    assert one(ch, "itunes:explicit").text == "false"
    assert one(ch, "itunes:type").text == "episodic"
    assert one(ch, "itunes:category[@text='News']/itunes:category").get("text") == "Politics"
    assert one(ch, "itunes:owner/itunes:email").text == "podcasts@example.org"
    assert one(ch, "podcast:guid").text == model.podcast_guid(show.feed_url)
    locked = one(ch, "podcast:locked")
    assert (locked.text, locked.get("owner")) == ("yes", "podcasts@example.org")
    funding = one(ch, "podcast:funding")
    assert (funding.get("url"), funding.text) == ("https://www.example.org/support",
                                                  "Support the programme")
    person = one(ch, "podcast:person")
    assert (person.text, person.get("role"), person.get("group")) == ("Jane Host", "host", "cast")
    assert one(ch, "podcast:medium").text == "podcast"
    assert one(ch, "podcast:license").text == "CC-BY-4.0"
    # Real parsers match the literal prefix: the namespace must be bound to `podcast`.
    assert root.nsmap["podcast"] == rss.PODCAST_NS
    assert not ch.xpath("generator[contains(., ':')]")   # no timestamp or version in it


def test_item_tags(site):
    show, eps, cover, _ = site
    be = eps[0]
    be = replace(be, image_url="https://media.example.org/korea-az/episodes/hanoi-summit/art.jpg",
                 episode=replace(be.episode, explicit=True))
    root = xml(rss.build_feed(show, [be], cover_url=cover, now=LATER))
    item = one(root, "/rss/channel/item")
    guid = one(item, "guid")
    assert guid.text == model.episode_guid(show.guid, "hanoi-summit")
    assert guid.get("isPermaLink") == "false"
    assert parsedate_to_datetime(one(item, "pubDate").text) == be.episode.date
    assert one(item, "pubDate").text.endswith("+0900")
    enc = one(item, "enclosure")
    assert enc.attrib == {"url": be.audio.url, "length": str(be.audio.size), "type": "audio/mpeg"}
    desc = one(item, "description")
    assert desc.text == be.description_html
    assert b"<![CDATA[" in etree.tostring(desc)          # HTML is carried as CDATA
    assert one(item, "content:encoded").text == be.content_html
    assert one(item, "itunes:duration").text == "2"
    assert one(item, "itunes:episode").text == "1"
    assert one(item, "itunes:season").text == "1"
    assert one(item, "itunes:episodeType").text == "full"
    assert one(item, "itunes:explicit").text == "true"   # the episode overrides the show
    assert one(item, "itunes:image").get("href") == be.image_url
    vtt, txt = item.xpath("podcast:transcript", namespaces=NS)
    assert vtt.attrib == {"url": be.transcripts[0].url, "type": "text/vtt", "language": "en",
                          "rel": "captions"}
    assert txt.attrib == {"url": be.transcripts[1].url, "type": "text/plain", "language": "en"}
    assert one(item, "podcast:chapters").attrib == {"url": be.chapters_file.url,
                                                     "type": "application/json+chapters"}
    season = one(item, "podcast:season")
    assert (season.text, season.get("name")) == ("1", "2019")
    number = one(item, "podcast:episode")
    assert (number.text, number.get("display")) == ("1", "Ep 1")
    assert one(item, "podcast:person[@role='guest']").text == "Dr Min Analyst"
    bite = one(item, "podcast:soundbite")
    assert (bite.get("startTime"), bite.get("duration"), bite.text) == ("3.5", "30", "The question")


def test_two_builds_are_byte_identical_whatever_the_input_order(site):
    show, eps, cover, _ = site
    first = rss.build_feed(show, eps, cover_url=cover, now=LATER)
    shuffled = eps[:]
    random.Random(4).shuffle(shuffled)
    assert rss.build_feed(show, shuffled, cover_url=cover, now=LATER) == first
    # A later clock changes nothing once every episode is out.
    assert rss.build_feed(show, eps, cover_url=cover, now=LATER + timedelta(days=400)) == first
    root = xml(first)
    newest = max(be.episode.date for be in eps)
    assert parsedate_to_datetime(one(root, "/rss/channel/lastBuildDate").text) == newest


def test_equal_dates_have_a_fixed_order(tmp_path):
    same = F.T0
    eps = [F.make_episode(tmp_path, slug, n, date=same) for n, slug in enumerate("cab", 1)]
    show = F.make_show(tmp_path)
    orders = {rss.build_feed(show, perm, cover_url="https://x.example/c.jpg", now=LATER)
              for perm in (eps, eps[::-1], eps[1:] + eps[:1])}
    assert len(orders) == 1
    titles = xml(orders.pop()).xpath("/rss/channel/item/title/text()")
    assert titles == ["Episode 3: b", "Episode 2: a", "Episode 1: c"]   # higher number first


def test_future_and_draft_episodes_stay_out_until_their_time(tmp_path):
    show = F.make_show(tmp_path)
    old = F.make_episode(tmp_path, "old", 1, date=F.T0)
    future = F.make_episode(tmp_path, "future", 2, date=F.T0 + timedelta(days=7))
    draft = F.make_episode(tmp_path, "draft", 3, date=F.T0 - timedelta(days=7), draft=True)
    cover = "https://media.example.org/korea-az/cover.png"

    def guids(now):
        root = xml(rss.build_feed(show, [old, future, draft], cover_url=cover, now=now))
        return root.xpath("/rss/channel/item/guid/text()"), root
    now = F.T0 + timedelta(days=1)
    listed, root = guids(now)
    assert listed == [old.episode.guid]
    assert parsedate_to_datetime(one(root, "/rss/channel/lastBuildDate").text) == F.T0
    listed, root = guids(F.T0 + timedelta(days=7))       # publication time reached exactly
    assert listed == [future.episode.guid, old.episode.guid]
    assert parsedate_to_datetime(one(root, "/rss/channel/lastBuildDate").text) == \
        future.episode.date
    assert draft.episode.guid not in guids(LATER)[0]


def test_a_feed_with_no_published_episode_has_no_clock_date(tmp_path):
    show = F.make_show(tmp_path)
    future = F.make_episode(tmp_path, "future", 1, date=LATER)
    a = rss.build_feed(show, [future], cover_url="https://x.example/c.jpg", now=F.T0)
    root = xml(a)
    assert root.xpath("/rss/channel/item") == []
    assert root.xpath("/rss/channel/lastBuildDate") == []
    assert rss.build_feed(show, [future], cover_url="https://x.example/c.jpg", now=F.T0) == a


def test_guid_does_not_follow_the_media_url(tmp_path):
    be = F.make_episode(tmp_path, "hanoi-summit", 1)
    moved = replace(be, audio=replace(be.audio, url="https://cdn.example.net/new/bucket/x.mp3"))
    show = F.make_show(tmp_path)
    g = [xml(rss.build_feed(show, [e], cover_url="https://x.example/c.jpg", now=LATER))
         .xpath("/rss/channel/item/guid/text()") for e in (be, moved)]
    assert g[0] == g[1] == [be.episode.guid]


def test_the_build_reads_no_audio(tmp_path):
    # None of these MediaFile paths exists: sizes and durations come from the model.
    eps = [F.make_episode(tmp_path, f"ep-{n}", n, size=1000 + n) for n in range(1, 4)]
    assert not any(be.audio.path.exists() for be in eps)
    root = xml(rss.build_feed(F.make_show(tmp_path), eps, cover_url="https://x.example/c.jpg",
                               now=LATER))
    assert root.xpath("/rss/channel/item/enclosure/@length") == ["1003", "1002", "1001"]


def test_unusual_text_survives_and_illegal_characters_go(tmp_path, caplog):
    be = F.make_episode(tmp_path, "odd", 1, title="Q&A:\x00 <b>bold</b>\nnext ]]> 🎙 \ufffe한국",
                        description_html="<p>a ]]> b &amp; c\x0b</p>",
                        content_html="<p>x]]>y</p>")
    data = rss.build_feed(F.make_show(tmp_path), [be], cover_url="https://x.example/c.jpg",
                           now=LATER)
    item = one(xml(data), "/rss/channel/item")
    assert one(item, "title").text == "Q&A: <b>bold</b> next ]]> 🎙 한국"
    assert one(item, "description").text == "<p>a ]]> b &amp; c</p>"
    assert one(item, "content:encoded").text == "<p>x]]>y</p>"
    assert "title: removed 2 character(s)" in caplog.text
    assert not feedparser.parse(data).bozo


@pytest.mark.parametrize("change, field", [
    (lambda s, e: (replace(s, categories=(model.Category("News", "Gossip"),)), e), "categories"),
    (lambda s, e: (replace(s, categories=(model.Category("Technology Stuff"),)), e), "categories"),
    (lambda s, e: (replace(s, categories=()), e), "categories"),
    (lambda s, e: (replace(s, description="\x01 "), e), "description"),
    (lambda s, e: (s, [e[0], replace(e[1], episode=replace(e[1].episode, guid=e[0].episode.guid))]),
     "guid"),
    (lambda s, e: (s, [replace(e[0], audio=replace(e[0].audio, size=0))]), "size"),
    (lambda s, e: (s, [replace(e[0], image_url="https://x.example/art.webp")]), "art"),
    (lambda s, e: (s, [replace(e[0], episode=replace(e[0].episode, title="\x07"))]), "title"),
    (lambda s, e: (s, [replace(e[0], episode=replace(e[0].episode, guid="abc\x00"))]), "guid"),
    (lambda s, e: (replace(s, link="https://example.org/\x1b[0m"), e), "link"),
    (lambda s, e: (replace(s, persons=(model.Person("X", href="https://x\x0c"),)), e),
     "persons.href"),
])
def test_input_feedgen_would_mangle_is_refused_by_file_and_field(tmp_path, change, field):
    show = F.make_show(tmp_path)
    eps = [F.make_episode(tmp_path, "one", 1), F.make_episode(tmp_path, "two", 2)]
    show, eps = change(show, eps)
    with pytest.raises(FeedError) as err:
        rss.build_feed(show, eps, cover_url="https://x.example/c.jpg", now=LATER)
    assert err.value.field == field
    assert err.value.path is not None and err.value.path.endswith((".toml", ".mp3"))


def test_artwork_url_that_feedgen_would_drop_is_refused(tmp_path):
    with pytest.raises(FeedError, match="artwork URL must end in .jpg or .png") as err:
        rss.build_feed(F.make_show(tmp_path), [], cover_url="https://x.example/c.jpeg", now=LATER)
    assert err.value.field == "artwork"


def test_naive_now_is_a_programming_error(tmp_path):
    with pytest.raises(ValueError):
        rss.build_feed(F.make_show(tmp_path), [], cover_url="https://x.example/c.jpg",
                        now=datetime(2030, 1, 1))


def test_write_feed_is_atomic_and_idempotent(tmp_path):
    show = F.make_show(tmp_path)
    eps = [F.make_episode(tmp_path, "one", 1)]
    target = tmp_path / "build" / "site" / "korea-az" / "feed.xml"
    cover = "https://x.example/c.jpg"
    assert rss.write_feed(target, show, eps, cover_url=cover, now=LATER) is True
    good = target.read_bytes()
    assert rss.write_feed(target, show, eps, cover_url=cover, now=LATER) is False   # unchanged
    bad = replace(show, categories=(model.Category("Nope"),))
    with pytest.raises(FeedError):
        rss.write_feed(target, bad, eps, cover_url=cover, now=LATER)
    assert target.read_bytes() == good                  # the previous good feed is kept
    assert [p.name for p in target.parent.iterdir()] == ["feed.xml"]   # no temp file left
