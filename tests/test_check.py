"""`podkit check` and the loaders: every planted mistake is reported once, naming file and field."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from toolkit.cli import cli
from toolkit.crosscheck import load_catalog
from toolkit.model import EpisodeType, podcast_guid


def run_check(root: Path):
    return CliRunner().invoke(cli, ["--root", str(root), "check"])


def tree_hash(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_valid_show_loads(show_root: Path) -> None:
    cat = load_catalog(show_root)
    assert cat.problems == []
    (show,) = cat.shows.values()
    assert show.id == "test-radio"
    assert [str(c) for c in show.categories] == ["News > Politics", "Government"]
    assert show.guid == podcast_guid("https://media.example.org/test-radio/feed.xml")
    (ep,) = cat.episodes
    assert ep.slug == "first-episode" and ep.type is EpisodeType.FULL
    assert ep.date.utcoffset().total_seconds() == 9 * 3600
    assert [p.title for p in ep.parts] == ["Intro", "Talk"] and ep.parts[1].gap_s == 0.5
    result = run_check(show_root)
    assert result.exit_code == 0, result.output
    assert "ok: 1 feed(s), 1 episode(s)" in result.output


def test_five_planted_mistakes_give_five_lines(show_root: Path) -> None:
    feed = show_root / "feeds" / "test-radio.toml"
    ep = show_root / "episodes" / "first-episode" / "episode.toml"
    # 1. unknown category, 2. unknown key (a typo) in the feed
    feed.write_text('titel = "typo"\n' + feed.read_text().replace('"Government"', '"Goverment"'))
    # 3. naive date, 4. missing audio file in the episode
    ep.write_text(ep.read_text().replace("2024-05-01T09:00:00+09:00", "2024-05-01T09:00:00")
                  .replace('file = "body.flac"', 'file = "missing.flac"'))
    # 5. bad TOML in a second episode
    bad = show_root / "episodes" / "second"
    bad.mkdir()
    (bad / "episode.toml").write_text('feed = "test-radio"\ntitle = "unterminated\n')
    before = tree_hash(show_root)
    result = run_check(show_root)
    assert result.exit_code == 1
    lines = [ln for ln in result.output.splitlines() if not ln.startswith("podkit:")
             and "problem(s)" not in ln]
    assert len(lines) == 5, result.output
    expected = [("feeds/test-radio.toml", "categories[1]", "Goverment"),
                ("feeds/test-radio.toml", "titel", "unknown key"),
                ("episodes/first-episode/episode.toml", "date", "no time zone"),
                ("episodes/first-episode/episode.toml", "parts[1].file", "missing.flac"),
                ("episodes/second/episode.toml", "toml", "line 2")]
    for path, field, words in expected:
        assert any(ln.startswith(f"{path}: {field}: ") and words in ln for ln in lines), \
            (path, field, result.output)
    assert tree_hash(show_root) == before  # check writes nothing


def test_wrong_types_and_cross_checks(show_root: Path) -> None:
    ep_dir = show_root / "episodes" / "first-episode"
    twin = show_root / "episodes" / "twin"
    twin.mkdir()
    for name in ("intro.flac", "body.flac"):
        (twin / name).write_bytes((ep_dir / name).read_bytes())
    text = (ep_dir / "episode.toml").read_text()
    (twin / "episode.toml").write_text(text.replace('feed = "test-radio"', 'feed = "nope"'))
    (ep_dir / "episode.toml").write_text('explicit = "yes"\n' + text.replace("season = 1", 'season = "one"'))
    cat = load_catalog(show_root)
    found = {(p.path, p.field) for p in cat.problems}
    assert ("episodes/first-episode/episode.toml", "season") in found
    assert ("episodes/first-episode/episode.toml", "explicit") in found
    assert ("episodes/twin/episode.toml", "feed") in found
    msgs = " ".join(p.message for p in cat.problems)
    assert "must be an integer" in msgs and "true or false" in msgs and "no feed 'nope'" in msgs


def test_duplicate_numbers_and_guids(show_root: Path) -> None:
    ep_dir = show_root / "episodes" / "first-episode"
    twin = show_root / "episodes" / "twin"
    twin.mkdir()
    for name in ("intro.flac", "body.flac"):
        (twin / name).write_bytes((ep_dir / name).read_bytes())
    (twin / "episode.toml").write_text('guid = "fixed-guid"\n' + (ep_dir / "episode.toml").read_text())
    (ep_dir / "episode.toml").write_text('guid = "fixed-guid"\n' + (ep_dir / "episode.toml").read_text())
    cat = load_catalog(show_root)
    fields = sorted(p.field for p in cat.errors)
    assert fields == ["guid", "number"], cat.problems


def test_not_audio_and_bad_art_and_http(show_root: Path) -> None:
    ep_dir = show_root / "episodes" / "first-episode"
    (ep_dir / "body.flac").write_text("this is not audio")
    from PIL import Image
    Image.new("RGB", (1400, 1000)).save(show_root / "feeds" / "test-radio.jpg", "JPEG")
    cat = load_catalog(show_root)
    found = [str(p) for p in cat.errors]
    assert any("parts[1].file" in m and "not a readable audio file" in m for m in found), found
    assert any("artwork" in m and "square" in m for m in found), found
    feed = show_root / "feeds" / "test-radio.toml"
    feed.write_text(feed.read_text().replace("https://www.example.org/test-radio/",
                                             "http://www.example.org/test-radio/"))
    cat = load_catalog(show_root)
    assert "https://" in {p.field: p.message for p in cat.errors}["link"]


def test_path_outside_episode_folder_and_bad_slug(show_root: Path) -> None:
    ep_dir = show_root / "episodes" / "first-episode"
    (ep_dir / "episode.toml").write_text((ep_dir / "episode.toml").read_text()
                                         .replace('"intro.flac"', '"../../feeds/test-radio.jpg"'))
    (show_root / "episodes" / "Bad Slug").mkdir()
    cat = load_catalog(show_root)
    msgs = [str(p) for p in cat.errors]
    assert any("parts[0].file" in m and "inside" in m for m in msgs), msgs
    assert any(m.startswith("episodes/Bad Slug: slug:") for m in msgs), msgs


def test_check_warns_when_built_audio_overruns_the_slot(built_show: Path, tmp_path: Path) -> None:
    import shutil
    root = tmp_path / "show"
    shutil.copytree(built_show, root, symlinks=True)
    toml = root / "episodes" / "first-episode" / "episode.toml"
    toml.write_text('max_duration = "0:03"\n' + toml.read_text())
    result = run_check(root)
    assert result.exit_code == 0, result.output  # a warning, not an error
    (line,) = [ln for ln in result.output.splitlines() if ": max_duration: " in ln]
    assert line.startswith("episodes/first-episode/episode.toml: max_duration: warning: built audio runs 0:05")
    assert "over its 0:03 slot" in line


# ---- check and validate agree -------------------------------------------------------------------

def _minimal_feed(language: str, pub_date: str) -> bytes:
    """An RSS document with one item: enough for validate's language and pubDate rules."""
    from xml.sax.saxutils import escape
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
            f'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel>'
            f'<title>T</title><link>https://www.example.org/</link><description>D</description>'
            f'<language>{escape(language)}</language><item><title>I</title>'
            f'<guid isPermaLink="false">g1</guid><pubDate>{escape(pub_date)}</pubDate></item>'
            f'</channel></rss>').encode()


def _validate_rules(xml: bytes) -> set[str]:
    from toolkit.feed.validate import validate_feed
    return {f.rule for f in validate_feed(xml, source="feed.xml") if f.severity.value == "error"}


def _check_fields(root: Path) -> set[str]:
    return {p.field for p in load_catalog(root, probe_media=False).errors}


@pytest.mark.parametrize("language", ["en", "en-us", "EN-GB", "ko", "zh-Hant", "es-419",
                                      "xx-invalid", "xx", "en-", "english", "en_US"])
def test_check_and_validate_agree_on_the_language(show_root: Path, language: str) -> None:
    feed = show_root / "feeds" / "test-radio.toml"
    feed.write_text(feed.read_text().replace('language = "en"', f'language = "{language}"'))
    check_refuses = "language" in _check_fields(show_root)
    validate_refuses = "apple.language" in _validate_rules(
        _minimal_feed(language, "Wed, 01 May 2024 09:00:00 +0900"))
    assert check_refuses == validate_refuses, (language, check_refuses)
    assert check_refuses == (language in ("xx-invalid", "xx", "en-", "english", "en_US"))


@pytest.mark.parametrize("year", [1, 999, 1899, 1900, 2024, 9999])
def test_check_and_validate_agree_on_the_year(show_root: Path, year: int) -> None:
    import datetime as dt

    import lxml.etree  # noqa: F401  (feedgen.util needs it imported)
    from feedgen.util import formatRFC2822  # what feed.py's feedgen writes as pubDate
    toml = show_root / "episodes" / "first-episode" / "episode.toml"
    toml.write_text(toml.read_text().replace("2024-05-01", f"{year:04d}-05-01"))
    check_refuses = "date" in _check_fields(show_root)
    when = dt.datetime(year, 5, 1, 9, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    validate_refuses = "rss.item.pubdate" in _validate_rules(_minimal_feed("en", formatRFC2822(when)))
    assert check_refuses == validate_refuses == (year < 1900), (year, check_refuses)
