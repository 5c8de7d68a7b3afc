"""The pure model: identities that must never change once published."""
from toolkit import model


def test_podcast_guid_matches_the_spec_example():
    # podcast-namespace docs/tags/guid.md: mp3s.nashownotes.com/pc20rss.xml
    assert model.podcast_guid("https://mp3s.nashownotes.com/pc20rss.xml") == \
        "917393e3-1b1e-5cef-ace4-edaa54e1f810"
    # scheme and trailing slashes do not count
    assert model.podcast_guid("http://mp3s.nashownotes.com/pc20rss.xml/") == \
        "917393e3-1b1e-5cef-ace4-edaa54e1f810"


def test_episode_guid_is_stable_and_depends_on_show_and_slug():
    show = model.podcast_guid("https://example.org/feed.xml")
    other = model.podcast_guid("https://example.net/feed.xml")
    g = model.episode_guid(show, "hanoi-summit")
    assert g == model.episode_guid(show, "hanoi-summit")
    assert g != model.episode_guid(show, "another")
    assert g != model.episode_guid(other, "hanoi-summit")


def test_slugs():
    for good in ("a", "hanoi-summit", "ep-001", "x1"):
        assert model.is_slug(good), good
    for bad in ("", "-a", "a-", "A", "a b", "../x", "é", "a--b", "a_b", "a/b"):
        assert not model.is_slug(bad), bad


def test_loudness_target_mono():
    t = model.LoudnessTarget(integrated=-16.0, mono_integrated=-19.0)
    assert t.for_channels(2) == -16.0
    assert t.for_channels(1) == -19.0
