"""Video clips rendered for real: read back by ffmpeg, frames compared, loudness metered."""
from __future__ import annotations

import re
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from audiosignals import convert, ebur128, speech_like, write_wav
from toolkit import ffmpeg
from toolkit.clips import captions
from toolkit.clips.render import SHAPES, ClipRequest, check_length, drawable, render
from toolkit.errors import PodkitError
from toolkit.textmodel import Cue, Word

WORDS = ("The talks ended early and without the agreement that many had expected "
         "from the second summit between the two leaders in Hanoi this week").split()


def timed_cues(start: float = 1.0, step: float = 0.4) -> tuple[Cue, ...]:
    """A transcript with one word every `step` seconds, in two sentences."""
    words = [Word(w, start + i * step, start + i * step + step * 0.8)
             for i, w in enumerate(WORDS)]
    half = len(words) // 2
    return (Cue(" ".join(WORDS[:half]), "Host", words[0].start, words[half - 1].end,
                tuple(words[:half])),
            Cue(" ".join(WORDS[half:]), "Host", words[half].start, words[-1].end,
                tuple(words[half:])))


@pytest.fixture(scope="module")
def programme(tmp_path_factory) -> Path:
    """Twelve seconds of speech-like audio as a 44.1 kHz stereo MP3 (a mastered programme)."""
    d = tmp_path_factory.mktemp("clip")
    wav = write_wav(d / "prog.wav", speech_like(12.0, level_db=-18.0, hot_peaks=False), 44100)
    return convert(wav, d / "prog.mp3", "-c:a", "libmp3lame", "-b:a", "128k")


@pytest.fixture(scope="module")
def art(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("art") / "cover.jpg"
    img = Image.new("RGB", (1400, 1400), (30, 90, 160))
    img.paste((240, 180, 40), (300, 300, 1100, 1100))
    img.save(path, quality=90)
    return path


def streams(path: Path) -> str:
    """ffmpeg's own report of a file (the imageio wheel ships no ffprobe)."""
    return subprocess.run([ffmpeg.binary(), "-hide_banner", "-i", str(path)],
                          capture_output=True, text=True).stderr


def top_atoms(path: Path) -> list[str]:
    """The MP4's top-level box types in file order."""
    data, pos, out = path.read_bytes(), 0, []
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
        out.append(kind.decode("latin-1"))
        pos += size if size else len(data)
    return out


def frame(path: Path, t: float, out: Path) -> np.ndarray:
    subprocess.run([ffmpeg.binary(), "-v", "error", "-ss", f"{t:.3f}", "-i", str(path),
                    "-frames:v", "1", "-y", str(out)], check=True)
    return np.asarray(Image.open(out).convert("L"), dtype=np.int16)


def test_layout_never_more_than_two_lines_and_words_in_order():
    words = captions.clip_words(timed_cues(), 0.0, 30.0)
    cues = captions.layout(words, chars=20)
    assert [w.text for c in cues for line in c.lines for w in line] == WORDS
    for c in cues:
        assert 1 <= len(c.lines) <= captions.MAX_LINES
        for line in c.lines:
            assert len(" ".join(w.text for w in line)) <= 20 or len(line) == 1
    starts = [c.start for c in cues]
    assert starts == sorted(starts)
    assert all(a.end <= b.start + 1e-9 for a, b in zip(cues, cues[1:]))


def test_clip_words_are_shifted_and_cut_to_the_clip():
    words = captions.clip_words(timed_cues(), 3.0, 2.0)
    assert words and all(0 <= w.start < w.end <= 2.0 for w, _ in words)
    assert words[0][0].text == WORDS[5]          # 1.0 + 5 * 0.4 = 3.0


def test_ass_escapes_override_braces_and_highlights_each_word():
    style = captions.Style(1080, 1080, "DejaVu Sans", 56, 1030, 40, 30, 60)
    cue = captions.CaptionCue(((Word("{\\b1}evil", 0.0, 0.5), Word("word", 0.5, 1.0)),),
                              0.0, 1.0)
    text = captions.ass_script(style, [cue], ["Show"], 2.0)
    events = [ln for ln in text.splitlines() if ln.startswith("Dialogue: 1")]
    assert len(events) == 2                      # one event per spoken word
    assert "{\\b1}" not in text                  # the transcript cannot inject overrides
    assert events[0].count("\\c&H") == 1 and events[1].count("\\c&H") == 1


def test_drawable_leaves_out_glyphs_the_font_lacks():
    assert drawable("Hanoi summit — 하노이 🎙") == "Hanoi summit"
    assert drawable("Zürich café") == "Zürich café"


def test_length_bounds_are_one_clear_line():
    check_length(30.0, "bite 1")
    with pytest.raises(PodkitError, match=r"bite 1: a clip is 5 to 90 s long.*120"):
        check_length(120.0, "bite 1")


@pytest.mark.slow
def test_square_clip_reads_back_and_captions_move(tmp_path, programme, art):
    req = ClipRequest(programme, 2.0, 6.0, art, ("Show title", "Episode title"), timed_cues())
    out = tmp_path / "clip.mp4"
    assert render(req, out, tmp_path / "work") is True
    info = streams(out)
    assert re.search(r"Video: h264 .*1080x1080", info), info
    assert re.search(r"Audio: aac", info), info
    dur = re.search(r"Duration: (\d+):(\d+):([\d.]+)", info)
    seconds = int(dur[1]) * 3600 + int(dur[2]) * 60 + float(dur[3])
    assert abs(seconds - 6.0) <= 1 / 25 + 0.03          # within a frame (AAC priming aside)
    atoms = top_atoms(out)
    assert atoms.index("moov") < atoms.index("mdat")   # +faststart: playable while loading
    # The caption region changes between the start and the end of one word's highlight.
    shape = SHAPES["square"]
    region = slice(shape.caption_y - 2 * shape.caption_size - 40, shape.caption_y + 10)
    w = captions.clip_words(req.cues, req.start, req.duration)
    a = frame(out, w[0][0].start + 0.05, tmp_path / "a.png")[region]
    b = frame(out, w[0][0].end + 0.05, tmp_path / "b.png")[region]
    assert np.abs(a - b).mean() > 0.5
    # The audio is the programme's stretch at the programme's loudness (within 1 LU).
    src = tmp_path / "src.wav"
    subprocess.run([ffmpeg.binary(), "-v", "error", "-ss", "2", "-t", "6", "-i",
                    str(programme), "-y", str(src)], check=True)
    assert abs(ebur128(out)["I"] - ebur128(src)["I"]) <= 1.0


@pytest.mark.slow
def test_same_inputs_give_the_same_bytes_and_no_cues_give_no_captions(tmp_path, programme,
                                                                      art):
    req = ClipRequest(programme, 1.0, 5.0, art, ("Show",), (), shape="vertical")
    one, two = tmp_path / "1.mp4", tmp_path / "2.mp4"
    assert render(req, one, tmp_path / "w1") is False
    render(req, two, tmp_path / "w2")
    assert one.read_bytes() == two.read_bytes()
    assert re.search(r"Video: h264 .*1080x1920", streams(one))
