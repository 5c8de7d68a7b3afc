"""The tag stage on real MP3s: frames read back with mutagen and, independently, with ffmpeg."""
from __future__ import annotations

import hashlib
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from mutagen.apev2 import APEv2
from mutagen.id3 import ID3, TIT2, Encoding
from mutagen.mp3 import MP3
from PIL import Image

from toolkit import ffmpeg
from toolkit.config import presets
from toolkit.errors import MediaError, PodkitError
from toolkit.model import Category, Chapter, Episode, Owner, PublishTarget, Show
from toolkit.tags import id3 as tag
from toolkit.tags import pictures
from toolkit.text import chapters as chapters_mod

KST = timezone(timedelta(hours=9))


# ---- fixtures --------------------------------------------------------------------------------------

def make_image(path: Path, size: int, fmt: str = "JPEG", mode: str = "RGB") -> Path:
    """A picture with detail (a gradient), so JPEG sizes are realistic."""
    img = Image.linear_gradient("L").resize((size, size)).convert(mode)
    img.save(path, fmt)
    return path


def make_show(tmp: Path, **kw) -> Show:
    values = dict(id="korea-az", path=tmp / "feeds" / "korea-az.toml", title="Korean Peninsula A to Z",
                  description="A weekly programme.", link="https://www.example.org/korea-az/",
                  language="en", author="Example Public Radio",
                  owner=Owner("Example Public Radio", "podcasts@example.org"),
                  categories=(Category("News", "Politics"),), explicit=False,
                  artwork=make_image(tmp / "show.jpg", 300), base_url="https://media.example.org/korea-az/",
                  feed_url="https://media.example.org/korea-az/feed.xml", preset=presets.get("podcast"),
                  publish=PublishTarget(), copyright="© 2019 Example Public Radio",
                  keywords=("Korea", "diplomacy"))
    values.update(kw)
    return Show(**values)


def make_episode(tmp: Path, **kw) -> Episode:
    d = tmp / "episodes" / "hanoi-summit"
    d.mkdir(parents=True, exist_ok=True)
    values = dict(slug="hanoi-summit", dir=d, path=d / "episode.toml", feed="korea-az",
                  title="Hanoi summit ends — без сделки ✓", date=datetime(2019, 3, 7, 18, 0, tzinfo=KST),
                  parts=(), guid="6f1e2c1a-0000-5000-8000-000000000001", number=12, season=2,
                  summary="Why the second North Korea-U.S. summit ended early.")
    values.update(kw)
    return Episode(**values)


def sine_mp3(path: Path, seconds: float = 6.0) -> Path:
    ffmpeg.run(["-v", "error", "-y", "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
                "-ac", "2", "-c:a", "libmp3lame", "-b:a", "64k", str(path)], what="test mp3")
    return path


@pytest.fixture(scope="module")
def master(tmp_path_factory) -> Path:
    """An untagged-by-us MP3 as the encoder leaves it (ffmpeg writes its own ID3v2.4 TSSE)."""
    return sine_mp3(tmp_path_factory.mktemp("audio") / "master.mp3")


CHAPTERS = (Chapter(0.0, "Intro"), Chapter(1.5, "The summit; a much longer title = trouble",
                                           url="https://www.example.org/summit"),
            Chapter(4.25, "Outro", img="outro.png"))


def tagged(tmp_path: Path, master: Path, v2_version: int = 3, **kw) -> tuple[Path, Show, Episode]:
    show = make_show(tmp_path)
    ep = make_episode(tmp_path, chapters=CHAPTERS)
    make_image(ep.dir / "outro.png", 900, "PNG", "RGBA")
    resolved = chapters_mod.resolve(ep, (), tag.mp3_duration(master))
    out = tmp_path / "ep.mp3"
    args = dict(chapters=resolved, transcript_text="Jane Host: Good evening.\n\nThe end.",
                page_url="https://www.example.org/korea-az/hanoi-summit/", v2_version=v2_version, out=out)
    args.update(kw)
    tag.tag_mp3(master, show, ep, **args)
    return out, show, ep


def ffmetadata(path: Path) -> tuple[dict[str, str], list[dict[str, str]]]:
    """Global tags and [CHAPTER] sections as ffmpeg itself reads them (an independent reader).

    `-copyts` keeps chapter times as stored; without it ffmpeg shifts them by the encoder delay.
    """
    text = ffmpeg.run(["-v", "error", "-copyts", "-i", str(path), "-f", "ffmetadata", "-"],
                      what="ffmetadata").stdout.decode("utf-8")
    sections: list[dict[str, str]] = [{}]
    for line, eq in _ffmeta_lines(text):
        if line == "[CHAPTER]":
            sections.append({})
        elif eq is not None:
            sections[-1][line[:eq]] = line[eq + 1:]
    return sections[0], sections[1:]


def _ffmeta_lines(text: str) -> list[tuple[str, int | None]]:
    """Unescaped lines of an ffmetadata file with the index of each key's '=' (backslash
    escapes '=', ';', '#', '\\' and line breaks inside values)."""
    out: list[tuple[str, int | None]] = []
    cur, eq, i = "", None, 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            cur += text[i + 1]
            i += 2
            continue
        if ch == "\n":
            if cur and not cur.startswith(";"):
                out.append((cur, eq))
            cur, eq = "", None
        else:
            if ch == "=" and eq is None:
                eq = len(cur)
            cur += ch
        i += 1
    if cur:
        out.append((cur, eq))
    return out


def payload_hash(path: Path, tmp: Path) -> str:
    """Hash of the audio with every tag removed by mutagen (not by the code under test)."""
    copy = tmp / f"strip-{path.name}"
    shutil.copyfile(path, copy)
    from mutagen import id3
    id3.delete(copy, delete_v1=True, delete_v2=True)
    try:
        APEv2(copy).delete(copy)
    except Exception:
        pass  # no APE tag
    return hashlib.sha256(copy.read_bytes()).hexdigest()


# ---- tests ---------------------------------------------------------------------------------------

def test_every_frame_reads_back_with_mutagen(tmp_path, master):
    out, show, ep = tagged(tmp_path, master)
    t = ID3(out, translate=False)  # the frames as stored, not upgraded to v2.4 on load
    assert t.version == (2, 3, 0)
    assert str(t["TIT2"]) == ep.title
    assert t["TIT2"].encoding == Encoding.UTF16
    assert str(t["TPE1"]) == "Example Public Radio"
    assert str(t["TALB"]) == "Korean Peninsula A to Z"
    assert str(t["TRCK"]) == "12" and str(t["TPOS"]) == "2"
    # v2.3 has no TDRC: the date is TYER + TDAT (DDMM) + TIME (HHMM), local to the episode
    assert (str(t["TYER"]), str(t["TDAT"]), str(t["TIME"])) == ("2019", "0703", "1800")
    assert str(t["TCON"]) == "Podcast"
    assert t.getall("COMM")[0].text == [ep.summary] and t.getall("COMM")[0].lang == "eng"
    assert str(t["TDES"]) == ep.summary
    apic = t.getall("APIC")
    assert len(apic) == 1 and apic[0].type == 3 and apic[0].mime == "image/jpeg"
    assert apic[0].data == (tmp_path / "show.jpg").read_bytes()  # small art is embedded as is
    assert t.getall("USLT")[0].text == "Jane Host: Good evening.\n\nThe end."
    assert t["WOAF"].url == "https://www.example.org/korea-az/hanoi-summit/"
    assert t.getall("WXXX")[0].url == "https://www.example.org/korea-az/hanoi-summit/"
    assert t["PCST"].value == 1
    assert str(t["TCAT"]) == "News"
    assert str(t["TGID"]) == ep.guid
    assert str(t["TKWD"]) == "Korea,diplomacy"
    assert t["WFED"].url == show.feed_url
    assert str(t["TCOP"]) == show.copyright
    # no v2.4-only frame survived the conversion
    assert not {"TDRC", "TDRL", "TDTG", "TSOP", "TIPL"} & {k[:4] for k in t.keys()}


def test_chapters_read_back_with_mutagen(tmp_path, master):
    out, _, _ = tagged(tmp_path, master)
    t = ID3(out)
    chaps = sorted(t.getall("CHAP"), key=lambda c: c.start_time)
    assert [(c.start_time, c.end_time) for c in chaps] == [(0, 1500), (1500, 4250),
                                                          (4250, round(tag.mp3_duration(master) * 1000))]
    assert [str(c.sub_frames["TIT2"]) for c in chaps] == [c.title for c in CHAPTERS]
    assert chaps[1].sub_frames.getall("WXXX")[0].url == "https://www.example.org/summit"
    pic = chaps[2].sub_frames.getall("APIC")[0]
    # a 900 px RGBA PNG becomes a JPEG of at most 640 px
    assert pic.mime == "image/jpeg"
    from io import BytesIO
    assert max(Image.open(BytesIO(pic.data)).size) == pictures.CHAPTER_MAX_PX
    toc = t.getall("CTOC")
    assert len(toc) == 1
    assert toc[0].flags & 3 == 3  # top-level and ordered
    # children in time order, whatever order the CHAP frames sit in the file
    by_id = {c.element_id: c.start_time for c in chaps}
    assert [by_id[i] for i in toc[0].child_element_ids] == [0, 1500, 4250]


def test_ffmpeg_reads_the_same_tags_and_chapters(tmp_path, master):
    out, show, ep = tagged(tmp_path, master)
    tags, chapters = ffmetadata(out)
    assert tags["title"] == ep.title
    assert tags["artist"] == show.author
    assert tags["album"] == show.title
    assert tags["track"] == "12" and tags["disc"] == "2"
    assert tags["genre"] == "Podcast"
    assert tags["date"].startswith("2019-03-07")
    assert tags["comment"] == ep.summary
    assert tags["TGID"] == ep.guid and tags["TCAT"] == "News"
    assert tags["lyrics-eng"] == "Jane Host: Good evening.\n\nThe end."
    assert "encoder" not in tags or tags["encoder"].startswith("Lav")  # ffmpeg adds its own
    # ffmpeg lists CHAP frames in file order (mutagen sorts them by size): compare by start
    got = sorted((int(c["START"]), int(c["END"]), c["title"]) for c in chapters)
    assert [(s, e) for s, e, _ in got][:2] == [(0, 1500), (1500, 4250)]
    assert [t for _, _, t in got] == [c.title for c in CHAPTERS]
    assert all(c["TIMEBASE"] == "1/1000" for c in chapters)


def test_ffmpeg_sees_the_cover_as_attached_picture(tmp_path, master):
    out, _, _ = tagged(tmp_path, master)
    cover = tmp_path / "cover-out.jpg"
    ffmpeg.run(["-v", "error", "-y", "-i", str(out), "-map", "0:v", "-c", "copy", "-f", "image2",
                str(cover)], what="extract cover")
    assert cover.read_bytes() == (tmp_path / "show.jpg").read_bytes()


def test_tagging_twice_gives_identical_bytes_and_keeps_the_audio(tmp_path, master):
    out, show, ep = tagged(tmp_path, master)
    first = out.read_bytes()
    # tag the tagged file again, in place
    again = tmp_path / "again.mp3"
    shutil.copyfile(out, again)
    tag.tag_mp3(again, show, ep, chapters=chapters_mod.resolve(ep, (), tag.mp3_duration(master)),
                transcript_text="Jane Host: Good evening.\n\nThe end.",
                page_url="https://www.example.org/korea-az/hanoi-summit/")
    assert again.read_bytes() == first
    # the MPEG payload is the master's, byte for byte (tags stripped by mutagen to compare)
    assert payload_hash(out, tmp_path) == payload_hash(master, tmp_path)
    start, end = tag.audio_span(out)
    m_start, m_end = tag.audio_span(master)
    assert first[start:end] == master.read_bytes()[m_start:m_end]
    # and the decoded audio is what it was
    def md5(p: Path) -> str:
        return ffmpeg.run(["-v", "error", "-i", str(p), "-map", "0:a", "-f", "md5", "-"],
                          what="md5").stdout.decode().strip()
    assert md5(out) == md5(master)


def test_old_id3v1_ape_and_id3v2_tags_are_removed(tmp_path, master):
    dirty = tmp_path / "dirty.mp3"
    shutil.copyfile(master, dirty)
    ape = APEv2()
    ape["Title"] = "old ape title"
    ape.save(dirty)
    old = ID3(dirty)
    old.add(TIT2(encoding=3, text="old title"))
    old.save(dirty, v1=2)  # writes an ID3v1 tag at the end too
    assert dirty.read_bytes()[-128:-125] == b"TAG"
    out, _, _ = tagged(tmp_path, dirty)
    data = out.read_bytes()
    assert data[-128:-125] != b"TAG"
    assert b"APETAGEX" not in data
    assert b"old title" not in data and b"old ape title" not in data
    assert payload_hash(out, tmp_path) == payload_hash(master, tmp_path)
    # same result as tagging the clean master
    sub = tmp_path / "clean"
    sub.mkdir()
    clean, _, _ = tagged(sub, master)
    assert clean.read_bytes() == data


def test_id3v24_option(tmp_path, master):
    out, _, ep = tagged(tmp_path, master, v2_version=4)
    t = ID3(out)
    assert t.version == (2, 4, 0)
    assert str(t["TDRC"]) == "2019-03-07 18:00:00"
    assert t["TIT2"].encoding == Encoding.UTF8
    tags, chapters = ffmetadata(out)
    assert tags["title"] == ep.title and tags["date"] == "2019-03-07T18:00:00"
    # ffmpeg (<= 9.0) reads CHAP sub-frame sizes as plain integers even in v2.4, where they
    # are syncsafe: a chapter with a sub-frame of 128 bytes or more (our outro's picture)
    # vanishes there. One reason v2.3 is the default. The chapters it does list are right.
    got = {(int(c["START"]), int(c["END"]), c["title"]) for c in chapters}
    assert {(0, 1500, "Intro"), (1500, 4250, CHAPTERS[1].title)} <= got
    assert len(ID3(out).getall("CHAP")) == 3


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_large_cover_is_scaled_and_deterministic(tmp_path, master, fmt):
    big = make_image(tmp_path / f"big.{fmt.lower()}", 3000, fmt)
    data, mime = pictures.picture(big)
    assert mime == "image/jpeg" and len(data) <= pictures.COVER_MAX_BYTES
    from io import BytesIO
    assert Image.open(BytesIO(data)).size == (1400, 1400)
    assert pictures.picture(big) == (data, mime)
    out, _, _ = tagged(tmp_path, master, cover=big)
    assert ID3(out).getall("APIC")[0].data == data


def test_bad_art_names_the_file(tmp_path, master):
    webp = tmp_path / "art.png"
    Image.new("RGB", (100, 100)).save(webp, "WEBP")
    with pytest.raises(MediaError, match=r"art\.png: art: is a WEBP image"):
        tag.tag_mp3(master, make_show(tmp_path), make_episode(tmp_path, art=webp),
                    out=tmp_path / "x.mp3")
    assert not (tmp_path / "x.mp3").exists()


def test_not_an_mp3_is_a_clean_error_and_leaves_the_target(tmp_path):
    fake = tmp_path / "fake.mp3"
    fake.write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"not audio" * 100)
    target = tmp_path / "target.mp3"
    target.write_bytes(b"previous good output")
    with pytest.raises(PodkitError, match="fake.mp3"):
        tag.tag_mp3(fake, make_show(tmp_path), make_episode(tmp_path), out=target)
    assert target.read_bytes() == b"previous good output"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_language_codes():
    assert tag.id3_language("en-us") == "eng"
    assert tag.id3_language("ko") == "kor"
    assert tag.id3_language("xx") == "und"
    assert tag.id3_language(None) == "und"


def test_mp3_without_chapters_has_no_ctoc(tmp_path, master):
    out = tmp_path / "plain.mp3"
    tag.tag_mp3(master, make_show(tmp_path), make_episode(tmp_path), out=out)
    t = ID3(out)
    assert not t.getall("CHAP") and not t.getall("CTOC") and not t.getall("USLT")
    assert MP3(out).info.length == pytest.approx(MP3(master).info.length)


def test_output_is_identical_across_processes(tmp_path, master):
    """A fresh interpreter with another hash seed writes the same bytes (no set/dict-order luck)."""
    import os
    import subprocess
    import sys
    out, _, _ = tagged(tmp_path, master)
    script = (
        "import sys; from pathlib import Path; sys.path[:0] = [sys.argv[1], str(Path(sys.argv[1]).parent)];"
        "import test_tag as t; d = Path(sys.argv[2]); d.mkdir();"
        "out, _, _ = t.tagged(d, Path(sys.argv[3]));"
        "print(out)")
    env = dict(os.environ, PYTHONHASHSEED="12345")
    other = tmp_path / "other"
    proc = subprocess.run([sys.executable, "-c", script, str(Path(__file__).parent), str(other),
                           str(master)], env=env, capture_output=True, text=True, check=True)
    assert Path(proc.stdout.strip()).read_bytes() == out.read_bytes()


def test_hidden_chapters_and_open_ends(tmp_path, master):
    """toc=false keeps a CHAP out of the CTOC; unresolved chapters end at the next start or
    the MP3's own duration; a remote chapter image is not embedded."""
    chs = (Chapter(0, "A"), Chapter(2, "Hidden", toc=False, img="https://cdn.example.org/x.jpg"),
           Chapter(3, "C"))
    out = tmp_path / "h.mp3"
    tag.tag_mp3(master, make_show(tmp_path), make_episode(tmp_path), chapters=chs, out=out)
    t = ID3(out)
    chap = {c.element_id: c for c in t.getall("CHAP")}
    assert sorted((c.start_time, c.end_time) for c in chap.values()) == \
        [(0, 2000), (2000, 3000), (3000, round(MP3(master).info.length * 1000))]
    assert [chap[i].start_time for i in t.getall("CTOC")[0].child_element_ids] == [0, 3000]
    assert not any(c.sub_frames.getall("APIC") for c in chap.values())
    assert len(ffmetadata(out)[1]) == 3  # ffmpeg ignores CTOC and lists every CHAP


@pytest.mark.parametrize("junk", [b"APETAGEX" + bytes(24), b"APETAGEX\xd0\x07\x00\x00\xff\xff\xff\x7f" + bytes(16),
                                  b"123456LYRICS200", b"xxxxxxLYRICS200"])
def test_damaged_trailing_tags_never_hang_or_cut_audio(tmp_path, master, junk):
    f = tmp_path / "junk.mp3"
    f.write_bytes(master.read_bytes() + junk)
    start, end = tag.audio_span(f)
    m_start, m_end = tag.audio_span(master)
    assert start == m_start and end >= m_end


def test_missing_input_is_a_clean_error(tmp_path):
    with pytest.raises(MediaError, match=r"nope\.mp3: file not found"):
        tag.tag_mp3(tmp_path / "nope.mp3", make_show(tmp_path), make_episode(tmp_path))
