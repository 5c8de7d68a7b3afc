"""AAC (.m4a) tagging: iTunes atoms read back with mutagen, chapters with mutagen and ffmpeg."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from mutagen.mp4 import MP4
from test_tag import CHAPTERS, ffmetadata, make_episode, make_image, make_show

from toolkit import ffmpeg
from toolkit.errors import PodkitError
from toolkit.tags import mp4, tagging
from toolkit.text import chapters as chapters_mod


@pytest.fixture(scope="module")
def aac(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("aac") / "master.m4a"
    ffmpeg.run(["-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=330:duration=6",
                "-c:a", "aac", "-b:a", "64k", str(path)], what="test m4a")
    return path


def packets_md5(path: Path) -> str:
    """MD5 of the AAC packets as ffmpeg demuxes them (container-independent)."""
    return ffmpeg.run(["-v", "error", "-i", str(path), "-map", "0:a", "-c", "copy", "-f", "md5", "-"],
                      what="md5").stdout.decode().strip()


def tag_it(tmp_path: Path, src: Path, out: Path) -> tuple[Path, object, object]:
    show = make_show(tmp_path)
    ep = make_episode(tmp_path, chapters=CHAPTERS)
    make_image(ep.dir / "outro.png", 200, "PNG")
    resolved = chapters_mod.resolve(ep, (), 6.0)
    tagging.tag_audio(src, show, ep, chapters=resolved, transcript_text="Jane Host: Hello.", out=out,
                  v2_version=3)
    return out, show, ep


def test_m4a_atoms_and_chapters(tmp_path, aac):
    out, show, ep = tag_it(tmp_path, aac, tmp_path / "ep.m4a")
    f = MP4(out)
    t = f.tags
    assert t["\xa9nam"] == [ep.title]
    assert t["\xa9ART"] == [show.author] and t["\xa9alb"] == [show.title]
    assert t["\xa9day"] == ["2019-03-07T09:00:00Z"]  # 18:00 KST in UTC
    assert t["\xa9gen"] == ["Podcast"]
    assert t["trkn"] == [(12, 0)] and t["tves"] == [12] and t["tvsn"] == [2]
    assert t["pcst"] is True and t["stik"] == [21]
    assert t["purl"] == [show.feed_url] and t["egid"] == [ep.guid]
    assert t["\xa9lyr"] == ["Jane Host: Hello."]
    assert bytes(t["covr"][0]) == (tmp_path / "show.jpg").read_bytes()
    # chapters: mutagen reads the Nero chpl atom ...
    assert [(c.start, c.title) for c in f.chapters] == [(c.start, c.title) for c in CHAPTERS]
    # ... and ffmpeg (an independent reader) the same
    tags, chapters = ffmetadata(out)
    assert tags["title"] == ep.title and tags["genre"] == "Podcast"
    def ms(c: dict[str, str]) -> int:  # MP4 chapters come in the track's time base (1/44100)
        num, den = map(int, c["TIMEBASE"].split("/"))
        return round(int(c["START"]) * num * 1000 / den)
    assert sorted((ms(c), c["title"]) for c in chapters) == \
        [(0, "Intro"), (1500, CHAPTERS[1].title), (4250, "Outro")]


def test_m4a_tagging_is_idempotent_and_keeps_the_audio(tmp_path, aac):
    out, show, ep = tag_it(tmp_path, aac, tmp_path / "ep.m4a")
    first = out.read_bytes()
    again = tmp_path / "again.m4a"
    shutil.copyfile(out, again)
    tagging.tag_audio(again, show, ep, chapters=chapters_mod.resolve(ep, (), 6.0),
                  transcript_text="Jane Host: Hello.")
    assert again.read_bytes() == first
    assert packets_md5(out) == packets_md5(aac)
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_ffmetadata_escapes_special_characters():
    text = mp4.ffmetadata([mp4.Chapter(0, "a=b;c#d\\e\nf")], 5.0)
    assert "title=a\\=b\\;c\\#d\\\\e\\\nf" in text


def test_unknown_extension_is_refused(tmp_path):
    with pytest.raises(PodkitError, match="cannot tag .ogg"):
        tagging.tag_audio(tmp_path / "x.ogg", make_show(tmp_path), make_episode(tmp_path))
