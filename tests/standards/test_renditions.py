"""The renditions registry and the `[encoding] renditions` list, feed and episode level:
aliases, one-line errors naming file and field, the cache keys of existing shows."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from toolkit.config import catalog, presets
from toolkit.model import EncodingSettings
from toolkit.standards import contenttypes, renditions

FEED = "feeds/test-radio.toml"
EP = "episodes/first-episode/episode.toml"


def _append(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.write_text(path.read_text("utf-8") + "\n" + text + "\n", "utf-8")


def _problems(root: Path) -> list[str]:
    return [str(p) for p in catalog.load(root).problems]


def test_the_registry_holds_each_format_once_with_its_facts():
    assert list(renditions.REGISTRY) == ["mp3", "aac", "opus", "wav"]
    assert [f.key for f in renditions.REGISTRY.values() if f.primary] == ["mp3"]
    assert [f.key for f in renditions.REGISTRY.values() if not f.in_feed] == ["wav"]
    for fmt in renditions.REGISTRY.values():
        # MIME types come from the one table of them.
        assert fmt.mime == contenttypes.BY_EXTENSION[f".{fmt.ext}"]
        assert renditions.by_ext(f"https://x.example/a-0123456789ab.{fmt.ext}?q=1") is fmt
    opus = renditions.OPUS
    assert (opus.codec, opus.muxer, opus.tagging, opus.label) == ("libopus", "ogg", "vorbis",
                                                                  "Opus")
    stereo, mono = EncodingSettings(), EncodingSettings(channels=1)
    assert (opus.bitrate(stereo), opus.bitrate(mono), opus.rate(stereo)) == (64, 48, 48000)
    assert (renditions.MP3.bitrate(stereo), renditions.MP3.bitrate(mono)) == (128, 96)
    assert renditions.WAV.bitrate(stereo) is None and renditions.WAV.rate(stereo) == 48000


def test_feed_level_list_and_the_old_aliases(show_root):
    _append(show_root, FEED, '[encoding]\nrenditions = ["opus", "mp3"]\nopus_bitrate = 80\n')
    show = catalog.load(show_root).shows["test-radio"]
    assert show.preset.encoding.renditions == ("mp3", "opus")     # registry order
    assert show.preset.encoding.opus_bitrate == 80
    # `aac = true` and `wav = true` still work: they add to the list.
    text = (show_root / FEED).read_text().replace('renditions = ["opus", "mp3"]',
                                                  "aac = true\nwav = true")
    (show_root / FEED).write_text(text)
    enc = catalog.load(show_root).shows["test-radio"].preset.encoding
    assert enc.renditions == ("mp3", "aac", "wav") and enc.aac and enc.wav
    # The broadcast preset lists its WAV.
    assert presets.get("broadcast").encoding.renditions == ("mp3", "wav")


def test_episode_level_renditions_override_the_feed(show_root):
    _append(show_root, EP, '[encoding]\nrenditions = ["mp3", "aac", "opus"]\n')
    cat = catalog.load(show_root)
    assert _problems(show_root) == []
    ep = cat.episodes[0]
    assert ep.encoding is not None and ep.encoding.renditions == ("mp3", "aac", "opus")
    assert ep.encoding.mp3_bitrate == 128           # the rest is the feed's
    assert cat.shows["test-radio"].preset.encoding.renditions == ("mp3",)


@pytest.mark.parametrize("where, value, message", [
    (FEED, '["mp3", "opsu"]', "encoding.renditions: unknown rendition 'opsu' (did you mean "
                              "'opus'?); choose from mp3, aac, opus, wav"),
    (EP, '["aac", "opus"]', 'encoding.renditions: must include "mp3" (the feed\'s <enclosure>)'),
    (EP, '["mp3", "mp3"]', "encoding.renditions: lists 'mp3' twice"),
    (EP, '"mp3"', "encoding.renditions: must be a list, not 'mp3' (a string)"),
])
def test_a_bad_list_is_one_line_naming_file_and_field(show_root, where, value, message):
    _append(show_root, where, f"[encoding]\nrenditions = {value}\n")
    assert _problems(show_root) == [f"{where}: {message}"]


def test_a_typo_among_the_encoding_keys_gets_a_suggestion(show_root):
    _append(show_root, EP, "[encoding]\nrendition = [\"mp3\"]\n")
    assert _problems(show_root) == [f"{EP}: encoding.rendition: unknown key (did you mean "
                                    "'renditions'?)"]


def test_existing_shows_keep_their_audio_cache_keys():
    """The cache key holds the settings in their pre-registry shape: no re-encode on upgrade."""
    enc = EncodingSettings(renditions=("mp3", "aac"))
    key = renditions.settings_key(enc)
    assert key == {"sample_rate": 44100, "channels": 2, "mp3_bitrate": 128,
                   "mp3_bitrate_mono": 96, "mp3_vbr_quality": None, "aac": True,
                   "aac_bitrate": 96, "wav": False, "wav_sample_rate": 48000, "wav_bits": 24}
    with_opus = renditions.settings_key(replace(enc, renditions=("mp3", "opus")))
    assert with_opus["opus"][0] == "libopus" and with_opus["opus_bitrate"] == 64


def test_publish_treats_every_rendition_as_media():
    """publish uploads media first and serves each file with the registry's type."""
    for fmt in renditions.REGISTRY.values():
        assert f".{fmt.ext}" in contenttypes.MEDIA_EXTENSIONS
        assert contenttypes.content_type(f"episodes/a/a-0123456789ab.{fmt.ext}") == fmt.mime
        assert contenttypes.is_content_addressed(f"episodes/a/a-0123456789ab.{fmt.ext}")
