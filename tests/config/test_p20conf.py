"""`podkit check` on the Podcasting 2.0 tables: value, trailers, location, podroll, txt in
feeds/<id>.toml and episode.toml are read into the model, and each broken value is one
problem naming the file and the field (the rules `podkit validate` applies to the XML)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from corpus_support import podkit_inprocess

from toolkit.config import catalog
from toolkit.model import Location, RemoteItem, Trailer, Txt, Value, ValueRecipient

NODE = "03ae9f91a0cb8ff43840e3c322c4c61f019d8c1c3cea15a25cfc425ac605e61a4a"
FEED_EXTRAS = f"""
[[value]]
type = "lightning"
method = "keysend"
suggested = 0.00000005
[[value.recipients]]
name = "Host"
type = "node"
address = "{NODE}"
split = 90
[[value.recipients]]
name = "App"
type = "node"
address = "{NODE}"
split = 10
fee = true

[[trailers]]
title = "Season 2 is coming"
url = "https://media.example.org/test-radio/trailer.mp3"
date = 2024-03-01T08:00:00Z
length = 498537
type = "audio/mpeg"
season = 2

[location]
name = "Austin, TX"
geo = "geo:30.2672,-97.7431"
osm = "R113314"

[[podroll]]
feed_guid = "917393e3-1b1e-5cef-ace4-edaa54e1f810"
feed_url = "https://example.org/other/feed.xml"

[[txt]]
text = "naj3eEZaWVVY9a38uhX8FekACyhtqP4JN"
purpose = "verify"
"""
EPISODE_EXTRAS = """
[location]
name = "Studio B"
rel = "creator"

[[txt]]
text = "recorded live"
"""


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text("utf-8") + text, "utf-8")


def test_the_tables_load_into_the_show_and_episode(show_root: Path) -> None:
    _append(show_root / "feeds" / "test-radio.toml", FEED_EXTRAS)
    _append(show_root / "episodes" / "first-episode" / "episode.toml", EPISODE_EXTRAS)
    cat = catalog.load(show_root)
    assert cat.problems == [], [str(p) for p in cat.problems]
    show = cat.shows["test-radio"]
    assert show.value == (Value("lightning", "keysend", (
        ValueRecipient("node", NODE, 90, "Host"), ValueRecipient("node", NODE, 10, "App",
                                                                 fee=True)), "0.00000005"),)
    assert show.trailers == (Trailer("Season 2 is coming",
                                     "https://media.example.org/test-radio/trailer.mp3",
                                     dt.datetime(2024, 3, 1, 8, tzinfo=dt.timezone.utc), 498537,
                                     "audio/mpeg", 2),)
    assert show.location == Location("Austin, TX", "geo:30.2672,-97.7431", "R113314")
    assert show.podroll == (RemoteItem("917393e3-1b1e-5cef-ace4-edaa54e1f810",
                                       "https://example.org/other/feed.xml"),)
    assert show.txts == (Txt("naj3eEZaWVVY9a38uhX8FekACyhtqP4JN", "verify"),)
    (ep,) = cat.episodes
    assert (ep.location, ep.txts, ep.value) == (Location("Studio B", rel="creator"),
                                                (Txt("recorded live"),), ())


@pytest.mark.parametrize("old, new, field, words", [
    ('method = "keysend"\n', "", "value[0].method", "missing (required)"),
    ("split = 90", 'split = "ninety"', "value[0].recipients[0].split", "must be"),
    ('type = "node"', 'type = "Node Key"', "value[0].recipients[0].type", "not a service slug"),
    ('url = "https://media.example.org/test-radio/trailer.mp3"',
     'url = "http://media.example.org/trailer.mp3"', "trailers[0].url", "https://"),
    ("date = 2024-03-01T08:00:00Z", 'date = "soon"', "trailers[0].date", ""),
    ('type = "audio/mpeg"', 'type = "text/html"', "trailers[0].type", "audio or video"),
    ('geo = "geo:30.2672,-97.7431"', 'geo = "30.2672,-97.7431"', "location.geo", "geo URI"),
    ('osm = "R113314"', 'osm = "Austin"', "location.osm", "OpenStreetMap"),
    ('feed_guid = "917393e3-1b1e-5cef-ace4-edaa54e1f810"', 'feed_guid = "other"',
     "podroll[0].feed_guid", "not a UUID"),
    ('purpose = "verify"', f'purpose = "{"p" * 129}"', "txt[0].purpose", "at most 128"),
])
def test_each_broken_value_is_one_problem(show_root: Path, old: str, new: str, field: str,
                                          words: str) -> None:
    assert old in FEED_EXTRAS
    _append(show_root / "feeds" / "test-radio.toml", FEED_EXTRAS.replace(old, new, 1))
    run = podkit_inprocess(show_root, "check")
    assert run.rc == 1
    problems = [ln for ln in run.err_lines if ln.startswith("feeds/test-radio.toml: ")]
    assert len(problems) == 1, run.stderr
    assert problems[0].startswith(f"feeds/test-radio.toml: {field}: ") and words in problems[0], \
        problems
