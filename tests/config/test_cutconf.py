"""[cuts.<name>] on feed and episode, part `cuts`, presets and templates: read, merged, refused."""
from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.config import catalog

EP_DIR = ("episodes", "first-episode", "episode.toml")


def _edit(root: Path, *, feed: str = "", top: str = "", tail: str = "",
          part_cuts: str | None = None) -> None:
    fp = root / "feeds" / "test-radio.toml"
    fp.write_text(fp.read_text("utf-8").replace("[owner]", feed + "\n[owner]"), "utf-8")
    ep = root.joinpath(*EP_DIR)
    text = ep.read_text("utf-8").replace("[[parts]]", top + "\n[[parts]]", 1)
    if part_cuts is not None:
        text = text.replace('title = "Talk"\n', f'title = "Talk"\ncuts = {part_cuts}\n')
    ep.write_text(text + tail, "utf-8")


def _load(root: Path):  # noqa: ANN202
    cat = catalog.load(root)
    return cat, [f"{p.field}: {p.message}" for p in cat.problems]


def test_episode_tables_override_the_feeds_key_by_key_and_top_level_keys_fill_in(show_root):
    _edit(show_root, feed='[cuts.air]\npreset = "ebu-r128"\nformat = "mp2"\nclient = "FEED"\n',
          top='cart = "KA{date:%m%d}"\nslot = "9:30"\n',
          tail='\n[cuts.air]\nformat = "wav"\nbits = 16\n\n[cuts.prss]\npreset = "prss"\n'
               'slot = "4:00"\n')
    cat, problems = _load(show_root)
    assert problems == []
    air, prss = cat.episodes[0].cuts
    assert (air.name, air.integrated, air.true_peak, air.tolerance) == ("air", -23.0, -1.0, 0.5)
    assert (air.format, air.bits, air.client, air.slot, air.cart) == ("wav", 16, "FEED", 570.0,
                                                                      "KA{date:%m%d}")
    assert (prss.integrated, prss.true_peak, prss.tolerance, prss.slot) == (-24.0, -2.0, 2.0, 240.0)


def test_a_part_in_one_cut_only_leaves_the_podcast_and_the_air_cut_as_declared(show_root):
    _edit(show_root, tail='\n[cuts.air]\npreset = "atsc-a85"\n', part_cuts='["air"]')
    cat, problems = _load(show_root)
    ep = cat.episodes[0]
    assert problems == []
    assert [p.title for p in ep.parts] == ["Intro"]                  # the podcast
    assert [p.title for p in ep.cut_parts("air")] == ["Intro", "Talk"]


@pytest.mark.parametrize("tail,part_cuts,expected", [
    ('\n[cuts.air]\npreset = "r128"\n', None, "cuts.air.preset: unknown loudness preset 'r128'"),
    ('\n[cuts.air]\nformat = "mp3"\n', None, "cuts.air.format: must be one of wav, mp2, flac"),
    ('\n[cuts.air]\nname = "{slug}/{nope}"\n', None, "cuts.air.name: bad template"),
    ('\n[cuts.air]\nname = "{slug}/x"\n', None, "cuts.air.name: '{slug}/x' makes 'slug/x'"),
    ('\n[cuts.air]\nbits = 20\n', None, "cuts.air.bits: must be one of 16, 24"),
    ('\n[cuts.air]\nfit = "stretch"\n', None, "cuts.air.fit: must be one of none, bed, gaps"),
    ('\n[cuts.podcast]\npreset = "prss"\n', None, "cuts.podcast: a cut's name"),
    ('\n[cuts.air]\nslot = "nine"\n', None, "cuts.air.slot: must be seconds"),
    ('\n[cuts.air]\npresset = "prss"\n', None, "cuts.air.presset: unknown key (did you mean 'preset'?)"),
    ("", '["air"]', "parts[1].cuts: no cut 'air'"),
    ('\nslot = "9:30"\n', None, "slot: applies to the episode's cuts, and it has none"),
    ('\n[cuts.air]\npreset = "prss"\n[cuts.web]\n', '["air"]', "cuts.web: no part is in the web cut"),
    ("", '["air"]', "parts: no part is in the podcast cut"),
])
def test_bad_cut_declarations_are_one_line_naming_the_field(show_root, tail, part_cuts, expected):
    if "no part is in" in expected:      # the intro restricted too: nothing left for one cut
        intro = '["air"]' if "podcast cut" in expected else '["podcast"]'
        root_ep = show_root.joinpath(*EP_DIR)
        root_ep.write_text(root_ep.read_text("utf-8").replace(
            'title = "Intro"\n', f'title = "Intro"\ncuts = {intro}\n'), "utf-8")
        if "podcast cut" in expected:
            tail = '\n[cuts.air]\npreset = "prss"\n'
    if expected.startswith("slot:"):     # a top-level key: before the first [[parts]]
        _edit(show_root, top=tail)
    else:
        _edit(show_root, tail=tail, part_cuts=part_cuts)
    _, problems = _load(show_root)
    assert any(line.startswith(expected) for line in problems), problems


def test_a_change_to_the_feeds_cuts_reaches_episodes_read_from_the_memo(show_root):
    # The catalogue memo keeps loaded episodes between commands; a feed's [cuts.x] table
    # is part of each episode (episodes override it key by key), so changing it must not
    # leave the memoised episodes with the old cut.
    (show_root / "build").mkdir()
    _edit(show_root, feed='[cuts.air]\npreset = "ebu-r128"\n')
    (first,) = catalog.load(show_root).episodes
    assert first.cuts[0].integrated == -23.0
    fp = show_root / "feeds" / "test-radio.toml"
    fp.write_text(fp.read_text("utf-8").replace('"ebu-r128"', '"prss"'), "utf-8")
    (again,) = catalog.load(show_root).episodes
    assert again.cuts[0].integrated == -24.0
