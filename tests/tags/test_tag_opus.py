"""Ogg Opus tagging: Vorbis comments read back with mutagen, the OpusHead read as bytes,
and two builds of the same input giving the same bytes."""
from __future__ import annotations

import base64
import struct
from pathlib import Path

import numpy as np
import pytest
from audiosignals import speech_like
from mutagen.flac import Picture
from mutagen.oggopus import OggOpus
from test_tag import CHAPTERS, make_episode, make_image, make_show

from toolkit.audio import encode
from toolkit.errors import MediaError
from toolkit.model import EncodingSettings
from toolkit.tags import tagging
from toolkit.tags import opus as tag_opus
from toolkit.text import chapters as chapters_mod

RATE = 44100


def _encode(path: Path) -> Path:
    x = speech_like(6.0, rate=RATE) * 0.5
    encode.encode((x[i:i + 8192] for i in range(0, len(x), 8192)),
                  encode.Targets(mp3=None, others={"opus": path}),
                  EncodingSettings(renditions=("mp3", "opus")), sample_rate=RATE, channels=2)
    return path


@pytest.fixture(scope="module")
def opus(tmp_path_factory) -> Path:
    return _encode(tmp_path_factory.mktemp("opus") / "master.opus")


def _tag(tmp_path: Path, src: Path, out: Path):  # noqa: ANN202 - (path, show, episode)
    show = make_show(tmp_path)
    ep = make_episode(tmp_path, chapters=CHAPTERS)
    make_image(ep.dir / "outro.png", 200, "PNG")
    resolved = chapters_mod.resolve(ep, (), 6.0)
    tagging.tag_audio(src, show, ep, chapters=resolved, transcript_text="Jane Host: Hello.", out=out,
                  v2_version=3, page_url="https://example.org/ep/")
    return out, show, ep


def opus_head(path: Path) -> dict[str, int]:
    """The OpusHead packet's fields (RFC 7845 section 5.1), read from the file's bytes."""
    data = path.read_bytes()
    at = data.index(b"OpusHead")
    version, channels, pre_skip, rate, gain, mapping = struct.unpack(
        "<BBHIhB", data[at + 8:at + 19])
    return {"version": version, "channels": channels, "pre_skip": pre_skip, "rate": rate,
            "output_gain": gain, "mapping": mapping}


def test_opus_vorbis_comments_cover_and_chapters(tmp_path, opus):
    out, show, ep = _tag(tmp_path, opus, tmp_path / "ep.opus")
    f = OggOpus(out)
    t = f.tags
    assert t["TITLE"] == [ep.title] and t["ALBUM"] == [show.title]
    assert t["ARTIST"] == [show.author]
    assert t["DATE"] == ["2019-03-07T09:00:00Z"]           # 18:00 KST in UTC
    assert t["TRACKNUMBER"] == [str(ep.number)] and t["GENRE"] == ["Podcast"]
    assert t["DESCRIPTION"] == [ep.summary] and t["CONTACT"] == ["https://example.org/ep/"]
    pic = Picture(base64.b64decode(t["METADATA_BLOCK_PICTURE"][0]))
    assert pic.type == 3 and pic.mime == "image/jpeg"
    assert pic.data == (tmp_path / "show.jpg").read_bytes()
    names = [(t[f"CHAPTER{n:03d}"][0], t[f"CHAPTER{n:03d}NAME"][0])
             for n in range(1, len(CHAPTERS) + 1)]
    assert names == [(tag_opus.chapter_time(c.start), c.title) for c in CHAPTERS]
    assert names[1][0] == "00:00:01.500"
    # No replay gain of any kind: the file is already at the target.
    assert not [k for k in t.keys() if k.upper().startswith(("R128_", "REPLAYGAIN_"))]
    assert "encoder" not in {k.lower() for k in t.keys()}   # the encoder's comment is gone
    head = opus_head(out)
    assert head == {**head, "version": 1, "channels": 2, "output_gain": 0, "mapping": 0}
    assert f.info.length == pytest.approx(6.0, abs=0.03)


def test_opus_builds_are_byte_identical(tmp_path, opus):
    # Two encodes of the same samples, each tagged: the same bytes (Ogg serial numbers
    # are fixed by -fflags +bitexact and -serial_offset, mutagen adds nothing random).
    again = _encode(tmp_path / "again.opus")
    assert again.read_bytes() == opus.read_bytes()
    a, _, _ = _tag(tmp_path, opus, tmp_path / "a.opus")
    b, _, _ = _tag(tmp_path, again, tmp_path / "b.opus")
    assert a.read_bytes() == b.read_bytes()
    # Tagging the tagged file again changes nothing, and the audio packets stay the same.
    c, _, _ = _tag(tmp_path, a, tmp_path / "c.opus")
    assert c.read_bytes() == a.read_bytes()
    from audiosignals import decode_all
    assert np.array_equal(decode_all(a, 48000, 2), decode_all(opus, 48000, 2))


def test_chapter_times_are_hh_mm_ss_mmm():
    assert tag_opus.chapter_time(0) == "00:00:00.000"
    assert tag_opus.chapter_time(3723.4567) == "01:02:03.457"


def test_not_an_opus_file_is_a_media_error(tmp_path):
    bad = tmp_path / "x.opus"
    bad.write_bytes(b"not ogg at all" * 100)
    with pytest.raises(MediaError, match="not a readable Ogg Opus file"):
        _tag(tmp_path, bad, tmp_path / "out.opus")
    assert not (tmp_path / "out.opus").exists()
