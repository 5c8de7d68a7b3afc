"""toolkit.migrate.importextras on item and channel XML as hosts write it: what is mapped,
what is left out with a note (never a block that would pay the wrong people), and the
tags named as not mapped."""
from __future__ import annotations

import defusedxml.ElementTree as SafeET

from toolkit.migrate import importextras, importfeed

NS = ('xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" '
      'xmlns:podcast="https://podcastindex.org/namespace/1.0"')
NODE = "03ae9f91a0cb8ff43840e3c322c4c61f019d8c1c3cea15a25cfc425ac605e61a4a"


def _item(inner: str):  # noqa: ANN202
    return SafeET.fromstring(f"<item {NS}>{inner}</item>")


def test_a_value_block_with_a_bad_recipient_is_left_out_whole() -> None:
    notes: list[str] = []
    el = _item('<podcast:value type="lightning" method="keysend">'
               f'<podcast:valueRecipient name="Host" type="node" address="{NODE}" split="90"/>'
               '<podcast:valueRecipient name="Guest" type="node" address="" split="10"/>'
               "</podcast:value>")
    extras = importextras.item_extras(el, "item g1", notes)
    assert "value" not in extras.table
    assert notes == ["item g1: podcast:value: recipient 'Guest': address is required: the "
                     "block is left out"]


def test_season_number_name_display_soundbites_and_summary() -> None:
    notes: list[str] = []
    el = _item('<podcast:season name="Spring">2</podcast:season>'
               '<podcast:episode display="Ep. 2.1">1</podcast:episode>'
               '<podcast:soundbite startTime="12.5" duration="30">A bite</podcast:soundbite>'
               '<podcast:soundbite startTime="x" duration="30"/>'
               "<itunes:summary>&lt;p&gt;Beans &amp;amp; slugs.&lt;/p&gt;</itunes:summary>"
               "<itunes:block>yes</itunes:block>")
    extras = importextras.item_extras(el, "item g2", notes)
    table: dict = {"title": "t"}
    importextras.merge_item(table, extras)
    assert table == {"title": "t", "summary": "Beans & slugs.", "season": 2,
                     "season_name": "Spring", "episode_display": "Ep. 2.1",
                     "soundbites": [{"start": 12.5, "duration": 30.0, "title": "A bite"}]}
    assert notes == ["item g2: podcast:soundbite: startTime 'x' / duration '30' are not times: "
                     "left out"]
    assert extras.unmapped == ("itunes:block",)


def test_a_subtitle_stays_the_summary_and_itunes_season_wins() -> None:
    extras = importextras.item_extras(_item(
        '<podcast:season name="Spring">2</podcast:season><itunes:summary>Long</itunes:summary>'),
        "item g3", [])
    table = {"summary": "Short", "season": 3}
    importextras.merge_item(table, extras)
    assert table == {"summary": "Short", "season": 3, "season_name": "Spring"}


def test_video_enclosures_are_carried_and_named_by_type() -> None:
    assert importextras.delivered_name("https://h.example/v.mp4?x=1", "video/mp4") == "video.mp4"
    assert importextras.delivered_name("https://h.example/v.m4v", "video/x-unknown") == "video.m4v"
    assert importextras.delivered_name("https://h.example/l.pdf", "application/pdf") is None


def test_unmapped_lines_name_each_tag_once() -> None:
    assert importextras.unmapped_lines([("channel", ("podcast:updateFrequency",)),
                                        ("g1", ("itunes:author",)),
                                        ("g2", ("itunes:author", "podcast:socialInteract"))]) == [
        "channel: podcast:updateFrequency: podkit has no place for it (left out)",
        "items: itunes:author: podkit has no place for it, in 2 item(s) (left out)",
        "items: podcast:socialInteract: podkit has no place for it, in 1 item(s) (left out)"]


def test_parse_keeps_the_extras_of_channel_and_items() -> None:
    xml = (f'<rss version="2.0" {NS}><channel><title>T</title><ttl>60</ttl>'
           '<podcast:txt purpose="verify">tok</podcast:txt>'
           '<podcast:location geo="nowhere">Home</podcast:location>'
           "<item><guid>a</guid><title>A</title><pubDate>Mon, 01 May 2023 10:00:00 +0000"
           '</pubDate><enclosure url="https://h.example/a.mp3" length="1" type="audio/mpeg"/>'
           "</item></channel></rss>")
    ch = importfeed.parse(xml, source="f.xml")
    assert ch.extras is not None and ch.extras.table == {
        "txt": [{"text": "tok", "purpose": "verify"}], "location": {"name": "Home"}}
    assert ch.extras.unmapped == ("ttl",)
    assert "channel: podcast:location: geo 'nowhere' is not a geo URI (\"geo:51.5074,-0.1278\"): " \
           "left out" in ch.notes
