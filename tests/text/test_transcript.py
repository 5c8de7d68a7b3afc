"""Transcripts: every input format, validation with precise messages, every output format
read back by an independent reader (ffmpeg for captions, json, html.parser)."""
from __future__ import annotations

import json
import logging
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from toolkit import ffmpeg
from toolkit.errors import ConfigError, PodkitError
from toolkit.model import TRANSCRIPT_MIME, Cue, Transcript, TranscriptFormat, TranscriptSource
from toolkit.text import transcript

WEB_TEXT = """Korean Peninsula A to Z
Korea, Today and Tomorrow
Hanoi summit ends without a deal

Jane Host: Good evening. The second summit
between the two leaders ended early.
Dr Min Analyst: It was a surprise to many.

Editor's note: this line is not a speaker.

SPEAKER_01: A diarized speaker, 10:30 in the morning.
김정은: 한국어 이름도 됩니다.

Share this article
Copyright 2019


"""

SRT = """1
00:00:00,000 --> 00:00:02,500
Jane Host: Good evening,
<i>and welcome</i>.

2
00:00:02,500 --> 00:00:05,000
The summit ended early.

3
00:00:05,200 --> 00:00:09,000
Dr Min Analyst: A surprise &amp; a lesson.
"""

VTT = """WEBVTT - produced by hand
Kind: captions

NOTE this block is a comment
and spans two lines

intro
00:00.000 --> 00:02.500 align:start
<v Jane Host>Good evening, <b>and welcome</b>.

00:00:02.500 --> 00:00:05.000
The summit ended early.

STYLE
::cue { color: red }

00:00:05.200 --> 00:00:09.000
<v.loud Dr Min Analyst>A surprise &amp; a lesson.</v>
<v Jane Host>Indeed.

00:00:09.000 --> 00:00:09.900
Gilon: a colon speaker in VTT.
"""

PI_JSON = {"version": "1.0.0", "segments": [
    {"speaker": "Darth Vader", "startTime": 0.5, "endTime": 0.75, "body": "I"},
    {"speaker": "Darth Vader", "startTime": 1, "endTime": 1.25, "body": "am"},
    {"speaker": "Darth Vader", "startTime": 1.5, "endTime": 2.0, "body": "your"},
    {"speaker": "Darth Vader", "startTime": 2.25, "endTime": 2.5, "body": "father.\n"},
    {"speaker": "Luke", "startTime": 2.75, "body": "Nooooo"},
]}


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return p


def load(path: Path, fmt: TranscriptFormat | None = None, duration: float | None = 10.0,
         drop: tuple[int, ...] = ()) -> Transcript:
    src = TranscriptSource(path, fmt or transcript.format_for(path), language="en", drop_lines=drop)
    return transcript.load(src, duration=duration)


# ---- reading -----------------------------------------------------------------------------------

def test_plain_text_drops_named_lines_and_finds_speakers(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    t = load(write(tmp_path, "t.txt", WEB_TEXT), drop=(1, 2, 3, -2, -1))
    assert not t.timed
    assert [(c.speaker, c.text) for c in t.cues] == [
        ("Jane Host", "Good evening. The second summit between the two leaders ended early."),
        ("Dr Min Analyst", "It was a surprise to many."),
        (None, "Editor's note: this line is not a speaker."),
        ("SPEAKER_01", "A diarized speaker, 10:30 in the morning."),
        ("김정은", "한국어 이름도 됩니다."),
    ]
    assert "dropping line 1: 'Korean Peninsula A to Z'" in caplog.text
    assert "Share this article" in caplog.text  # -2 counts from the last line with text


def test_drop_lines_counts_lines_that_hold_text(tmp_path):
    """A broadcaster's page puts blank lines between its headings: [1, 2, 3] names the three
    headings, not heading, blank line, heading (which kept the third heading as text)."""
    page = ("Korean Peninsula A to Z\n\nKorea, Today and Tomorrow\n\n\nHanoi summit ends\n\n"
            "Host: Good evening.\n\nShare this article\n\n\u00a9 2019 Example Public Radio\n\n")
    t = load(write(tmp_path, "t.txt", page), drop=(1, 2, 3, -2, -1))
    assert [(c.speaker, c.text) for c in t.cues] == [("Host", "Good evening.")]
    with pytest.raises(ConfigError, match="line 7 does not exist: the file has 6 lines of text"):
        load(write(tmp_path, "t.txt", page), drop=(7,))


def test_the_sample_show_keeps_its_words_and_drops_its_headings():
    """episodes/hanoi-summit uses drop_lines: the meaning change leaves its transcript alone."""
    import tomllib
    folder = Path(__file__).resolve().parents[2] / "episodes" / "hanoi-summit"
    (spec,) = tomllib.loads((folder / "episode.toml").read_text("utf-8"))["transcripts"]
    t = load(folder / spec["file"], drop=tuple(spec["drop_lines"]))
    text = (folder / spec["file"]).read_text("utf-8")
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    assert len(t.cues) == len(paragraphs) - 2  # the heading block and the page's end
    assert t.cues[0].speaker == "Host" and t.cues[0].text.startswith("This is Korean Peninsula")
    assert t.cues[-1].speaker == "Host" and t.cues[-1].text.endswith("Korean Peninsula A to Z.")


def test_plain_text_without_drop_lines_keeps_everything(tmp_path):
    t = load(write(tmp_path, "t.txt", WEB_TEXT))
    assert t.cues[0].text.startswith("Korean Peninsula A to Z Korea, Today")
    assert t.cues[-1].text == "Share this article Copyright 2019"


@pytest.mark.parametrize("drop, message", [((0,), "start at 1"), ((40,), "line 40 does not exist"),
                                           ((-20,), "line -20 does not exist")])
def test_bad_drop_lines(tmp_path, drop, message):
    path = write(tmp_path, "t.txt", WEB_TEXT)
    with pytest.raises(ConfigError, match=message) as err:
        load(path, drop=drop)
    assert err.value.path == str(path) and err.value.field == "drop_lines"


def test_srt(tmp_path):
    t = load(write(tmp_path, "t.srt", SRT))
    assert t.timed
    assert [(c.speaker, c.text, c.start, c.end) for c in t.cues] == [
        ("Jane Host", "Good evening,\nand welcome.", 0.0, 2.5),
        (None, "The summit ended early.", 2.5, 5.0),
        ("Dr Min Analyst", "A surprise & a lesson.", 5.2, 9.0),
    ]


def test_vtt_voices_notes_styles_and_entities(tmp_path):
    t = load(write(tmp_path, "t.vtt", VTT))
    assert [(c.speaker, c.text, c.start, c.end) for c in t.cues] == [
        ("Jane Host", "Good evening, and welcome.", 0.0, 2.5),
        (None, "The summit ended early.", 2.5, 5.0),
        ("Dr Min Analyst", "A surprise & a lesson.", 5.2, 9.0),
        ("Jane Host", "Indeed.", 5.2, 9.0),       # a second voice in the same cue
        ("Gilon", "a colon speaker in VTT.", 9.0, 9.9),
    ]


def test_podcast_index_json_fills_missing_end(tmp_path):
    t = load(write(tmp_path, "t.json", json.dumps(PI_JSON)), duration=4.0)
    assert [c.text for c in t.cues] == ["I", "am", "your", "father.", "Nooooo"]
    assert t.cues[-1].end == 4.0  # no endTime on the last segment: the audio's end


@pytest.mark.parametrize("name, content, field, words", [
    ("a.srt", "1\n00:00:01,000 -> 00:00:02,000\nx\n", "cue 1", "line 2: expected a timing line"),
    ("b.vtt", "WEBVTT\n\n00:01.000 --> 00:02.000\nok\n\n00:03.000 --> 00:04\nbad\n", "cue 2",
     "line 6: expected a timing line"),
    ("c.vtt", "WEBVTTX\n\n00:01.000 --> 00:02.000\nx\n", "header", "starts with 'WEBVTT'"),
    ("d.json", '{"segments": [{"startTime": 0, "body": "a"}, {"startTime": "1", "body": "b"}]}',
     "segments[1].startTime", "must be a number"),
    ("e.json", '{"segments": [}', "json", "line 1, column 15"),
    ("f.json", '[1, 2]', "segments", "'segments' list"),
    ("g.txt", "\n\n  \n", "file", "holds no text"),
])
def test_malformed_files_name_file_and_place(tmp_path, name, content, field, words):
    path = write(tmp_path, name, content)
    with pytest.raises(ConfigError) as err:
        load(path)
    assert err.value.path == str(path) and err.value.field == field
    assert words in str(err.value) and "\n" not in str(err.value)


def test_timing_problems_are_all_listed_with_cue_and_time(tmp_path):
    srt = ("1\n00:00:01,000 --> 00:00:03,000\na\n\n"
           "2\n00:00:00,500 --> 00:00:02,000\nb\n\n"      # goes backwards
           "3\n00:00:04,000 --> 00:00:04,000\nc\n\n"      # zero length
           "4\n00:00:09,000 --> 00:00:12,000\nd\n\n"      # ends after the audio (10 s)
           "5\n00:00:11,000 --> 00:00:12,000\ne\n")       # starts after the audio
    path = write(tmp_path, "bad.srt", srt)
    with pytest.raises(PodkitError) as err:
        load(path, duration=10.0)
    lines = str(err.value).splitlines()
    assert lines == [
        f"{path}: cue 2 at 00:00.500: starts before cue 1 (1 s): times must not go backwards",
        f"{path}: cue 3 at 00:04.000: ends at 4 s, not after its start (4 s)",
        f"{path}: cue 4 at 00:09.000: ends at 12.000 s, after the end of the audio (10.000 s)",
        f"{path}: cue 5 at 00:11.000: starts after the end of the audio (00:10, 10.000 s)",
    ]


def test_end_slightly_after_the_audio_is_clipped(tmp_path):
    t = load(write(tmp_path, "t.srt", "1\n00:00:01,000 --> 00:00:10,300\nx\n"), duration=10.0)
    assert t.cues[0].end == 10.0


def test_without_duration_only_order_is_checked(tmp_path):
    t = load(write(tmp_path, "t.srt", "1\n00:01:00,000 --> 00:02:00,000\nx\n"), duration=None)
    assert t.cues[0].end == 120.0


# ---- encodings ---------------------------------------------------------------------------------

def test_latin1_is_an_error_with_byte_offset_line_and_column(tmp_path):
    path = write(tmp_path, "t.txt", "Caf\u00e9 one\nna\u00efve two\n".encode("latin-1"))
    with pytest.raises(ConfigError) as err:
        load(path)
    assert err.value.field == "byte 3"
    assert "byte 0xE9 at line 1, column 4" in str(err.value)
    path.write_bytes("ok\nna\u00efve\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="line 2, column 3") as err:
        load(path)
    assert err.value.field == "byte 5"


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_with_bom_are_decoded_with_a_warning(tmp_path, caplog, codec):
    data = "Jane Host: Café ✓\n".encode(codec)
    if codec == "utf-16-be":
        data = b"\xfe\xff" + data
    t = load(write(tmp_path, "t.txt", data))
    assert (t.cues[0].speaker, t.cues[0].text) == ("Jane Host", "Café ✓")
    assert "byte-order mark" in caplog.text


def test_utf16_without_bom_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="NUL bytes.*UTF-16 without a byte-order mark"):
        load(write(tmp_path, "t.txt", "Hello\n".encode("utf-16-le")))


def test_utf8_bom_and_crlf_are_accepted(tmp_path):
    t = load(write(tmp_path, "t.srt", b"\xef\xbb\xbf" + SRT.replace("\n", "\r\n").encode()))
    assert len(t.cues) == 3 and t.cues[0].text == "Good evening,\nand welcome."


# ---- writing -----------------------------------------------------------------------------------

def caption_cues_via_ffmpeg(path: Path, tmp_path: Path) -> list[tuple[float, float, str]]:
    """ffmpeg parses our caption file and re-emits it as SRT (an independent reader)."""
    out = ffmpeg.run(["-v", "error", "-i", str(path), "-f", "srt", "-"], what="read captions").stdout
    cues = []
    for block in out.decode("utf-8").strip().split("\n\n"):
        lines = block.splitlines()
        m = re.match(r"(\d+):(\d+):(\d+),(\d+) --> (\d+):(\d+):(\d+),(\d+)", lines[1])
        assert m, block
        g = [int(x) for x in m.groups()]
        cues.append((g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000,
                     g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000, " ".join(lines[2:])))
    return cues


def test_write_all_formats_with_mime_and_captions_rel(tmp_path):
    t = load(write(tmp_path, "in.vtt", VTT))
    out = tmp_path / "site"
    files = transcript.write_all([t], out, url_of=lambda p: f"https://media.example.org/ep/{p.name}")
    assert [(f.path.name, f.mime, f.rel, f.language) for f in files] == [
        ("transcript.vtt", "text/vtt", "captions", "en"),
        ("transcript.srt", "application/x-subrip", "captions", "en"),
        ("transcript.json", "application/json", None, "en"),
        ("transcript.html", "text/html", None, "en"),
        ("transcript.txt", "text/plain", None, "en"),
    ]
    assert set(TRANSCRIPT_MIME.values()) == {f.mime for f in files}
    for f in files:
        assert f.size == f.path.stat().st_size and f.url.endswith(f.path.name)
    # deterministic: writing again changes nothing, byte for byte
    before = {f.path: f.path.read_bytes() for f in files}
    again = transcript.write_all([t], out, url_of=lambda p: p.name)
    assert {f.path: f.path.read_bytes() for f in again} == before
    assert [f.sha256 for f in again] == [f.sha256 for f in files]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in before)  # no temp files


def test_vtt_and_srt_outputs_read_back_by_ffmpeg_and_by_us(tmp_path):
    t = load(write(tmp_path, "in.srt", SRT))
    files = {f.path.suffix: f.path for f in transcript.write_all([t], tmp_path / "o", url_of=str)}
    vtt_text = files[".vtt"].read_text("utf-8")
    assert vtt_text.startswith("WEBVTT\n\n1\n00:00:00.000 --> 00:00:02.500\n<v Jane Host>Good evening,\n")
    assert "<v Dr Min Analyst>A surprise &amp; a lesson." in vtt_text
    for suffix in (".vtt", ".srt"):
        got = caption_cues_via_ffmpeg(files[suffix], tmp_path)
        assert [(s, e) for s, e, _ in got] == [(0, 2.5), (2.5, 5.0), (5.2, 9.0)]
        assert "A surprise & a lesson." in got[2][2]
    # round trip through our own readers gives the same cues
    for suffix, fmt in ((".vtt", TranscriptFormat.VTT), (".srt", TranscriptFormat.SRT)):
        assert load(files[suffix], fmt).cues == t.cues
    back = load(files[".json"], TranscriptFormat.JSON)
    assert [(c.speaker, c.start, c.end) for c in back.cues] == [(c.speaker, c.start, c.end) for c in t.cues]


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.items: list[tuple[str, dict, str]] = []
        self._open: tuple[str, dict] | None = None

    def handle_starttag(self, tag, attrs):
        self._open = (tag, dict(attrs))

    def handle_data(self, data):
        if self._open and data.strip():
            self.items.append((self._open[0], self._open[1], data))


def test_html_fragment_is_escaped_and_marks_speakers_and_times(tmp_path):
    cues = (Cue("Hello <script>alert(1)</script> & bye", "Jane <Host>", 0.0, 4.0),
            Cue("still Jane.", None, 4.0, 8.0),
            Cue("Now Min.", "Min", 65.5, 70.0))
    t = Transcript(tmp_path / "x.vtt", cues, "en")
    html_text = transcript.to_html(t)
    assert "<script>" not in html_text
    p = _Collect()
    p.feed(html_text)
    assert p.items == [
        ("cite", {}, "Jane <Host>:"),
        ("time", {"datetime": "PT0S"}, "00:00"),
        ("p", {}, "Hello <script>alert(1)</script> & bye still Jane."),
        ("cite", {}, "Min:"),
        ("time", {"datetime": "PT1M5.500S"}, "01:05"),
        ("p", {}, "Now Min."),
    ]


def test_untimed_text_gives_html_and_text_only(tmp_path):
    t = load(write(tmp_path, "t.txt", WEB_TEXT), drop=(1, 2, 3, -2, -1))
    files = transcript.write_all([t], tmp_path / "o", url_of=str, title="Hanoi & co")
    assert [f.path.name for f in files] == ["transcript.html", "transcript.txt"]
    page = files[0].path.read_text("utf-8")
    assert '<html lang="en">' in page and '<meta charset="utf-8">' in page
    assert "<title>Hanoi &amp; co</title>" in page
    txt = files[1].path.read_text("utf-8")
    assert txt.startswith("Jane Host: Good evening. The second summit between")
    assert "\n\nDr Min Analyst: It was a surprise to many.\n\n" in txt
    with pytest.raises(ValueError):
        transcript.to_vtt(t)


def test_several_transcripts_get_distinct_names(tmp_path):
    a = load(write(tmp_path, "a.txt", "Hello."))
    b = Transcript(tmp_path / "b.txt", (Cue("안녕하세요."),), "ko")
    c = Transcript(tmp_path / "c.txt", (Cue("Hallo."),), None)
    names = [f.path.name for f in transcript.write_all([a, b, c], tmp_path / "o", url_of=str)]
    assert names == ["transcript.html", "transcript.txt", "transcript-ko.html", "transcript-ko.txt",
                     "transcript-3.html", "transcript-3.txt"]


def test_word_level_json_becomes_readable_captions(tmp_path):
    t = load(write(tmp_path, "t.json", json.dumps(PI_JSON)), duration=4.0)
    vtt = transcript.to_vtt(t)
    assert "<v Darth Vader>I am your father.\n" in vtt
    assert "<v Luke>Nooooo\n" in vtt
    # the JSON output keeps one segment per word, as given
    assert len(json.loads(transcript.to_json(t))["segments"]) == 5
    assert transcript.plain_text(t) == "Darth Vader: I am your father.\n\nLuke: Nooooo"


def test_timed_paragraphs_follow_speakers(tmp_path):
    t = load(write(tmp_path, "t.vtt", VTT))
    paras = transcript.paragraphs(t)
    assert [(p.speaker, p.start) for p in paras] == [("Jane Host", 0.0), ("Dr Min Analyst", 5.2),
                                                    ("Jane Host", 5.2), ("Gilon", 9.0)]
    assert paras[0].text == "Good evening, and welcome. The summit ended early."


def test_cue_words_for_the_cue_sheet(tmp_path):
    t = load(write(tmp_path, "t.txt", WEB_TEXT), drop=(1, 2, 3, -2, -1))
    assert transcript.cue_words(t, 4) == ("Good evening. The second", "morning. 한국어 이름도 됩니다.")
    assert transcript.cue_words(t)[0] == "Good evening. The second summit"


def test_plain_text_is_what_the_mp3_gets(tmp_path):
    t = load(write(tmp_path, "in.srt", SRT))
    assert transcript.plain_text(t) == ("Jane Host: Good evening, and welcome. The summit ended early."
                                        "\n\nDr Min Analyst: A surprise & a lesson.")


def test_missing_json_ends_become_the_next_later_start(tmp_path):
    """Equal starts (one cue per voice) share the next later start; the last cue ends with
    the audio, or stays open while the duration is unknown (`podkit check`)."""
    segs = [(0.0, None), (0.0, None), (1.0, 2.0), (1.0, None), (2.5, None), (3.0, None)]
    doc = {"version": "1.0.0", "segments": [
        {"startTime": s, **({"endTime": e} if e is not None else {}), "body": f"w{i}"}
        for i, (s, e) in enumerate(segs)]}
    path = write(tmp_path, "t.json", json.dumps(doc))
    assert [c.end for c in load(path, duration=10.0).cues] == [1.0, 1.0, 2.0, 2.5, 3.0, 10.0]
    assert [c.end for c in load(path, duration=None).cues] == [1.0, 1.0, 2.0, 2.5, 3.0, None]


def test_missing_json_ends_match_the_definition_on_many_segments(tmp_path):
    """Against the plain definition (first later start that is greater), 5,000 segments with
    runs of equal starts and some ends given."""
    import random
    rng = random.Random(7)
    starts = sorted(round(rng.uniform(0, 500), 1) for _ in range(5000))
    ends = [None if rng.random() < 0.8 else s + 0.05 for s in starts]
    doc = {"version": "1.0.0", "segments": [
        {"startTime": s, **({"endTime": e} if e is not None else {}), "body": "x"}
        for s, e in zip(starts, ends)]}
    got = [c.end for c in load(write(tmp_path, "t.json", json.dumps(doc)), duration=600.0).cues]
    want = [e if e is not None else next((t for t in starts[i + 1:] if t > s), 600.0)
            for i, (s, e) in enumerate(zip(starts, ends))]
    assert got == want


# ---- speakers: a word before a colon is not a speaker --------------------------------------------

CAPTIONS = """1
00:00:00,000 --> 00:00:02,000
Interview: the allotment keeper.

2
00:00:02,000 --> 00:00:04,000
She has kept the plot for thirty years.

3
00:00:04,000 --> 00:00:06,000
Every spring starts the same way.
"""


def test_a_caption_label_is_not_a_speaker(tmp_path):
    """Issue 23, item 5: one `Interview:` caption among plain captions is text, not a voice."""
    t = load(write(tmp_path, "c.srt", CAPTIONS))
    assert [(c.speaker, c.text) for c in t.cues][0] == (None, "Interview: the allotment keeper.")
    assert all(c.speaker is None for c in t.cues)
    # The same caption in WebVTT and in plain text.
    vtt = "WEBVTT\n\n" + CAPTIONS.replace(",", ".").replace("1\n00", "00", 1)
    assert load(write(tmp_path, "c.vtt", vtt)).cues[0].text == "Interview: the allotment keeper."
    text = "Interview: the allotment keeper.\n\nShe has kept the plot.\n\nEvery spring.\n"
    assert [c.speaker for c in load(write(tmp_path, "c.txt", text)).cues] == [None, None, None]


def test_a_prefix_the_transcript_uses_as_a_speaker_is_one(tmp_path):
    """A name that starts two turns is a speaker, even among captions without one."""
    srt = CAPTIONS + ("\n4\n00:00:06,000 --> 00:00:08,000\nMaria Keeper: First the beans.\n"
                      "\n5\n00:00:08,000 --> 00:00:09,000\nNo names here.\n"
                      "\n6\n00:00:09,000 --> 00:00:10,000\nMaria Keeper: Then the rest.\n")
    cues = load(write(tmp_path, "c.srt", srt)).cues
    assert [(c.speaker, c.text) for c in cues if c.speaker] == [
        ("Maria Keeper", "First the beans."), ("Maria Keeper", "Then the rest.")]
    assert cues[0].text == "Interview: the allotment keeper."
    # Written as speaker turns (most turns named), a guest who speaks once is a speaker.
    turns = "Host: Hello.\n\nGuest: Hi.\n\nHost: Bye.\n\nCaller: One thing.\n"
    assert [c.speaker for c in load(write(tmp_path, "t.txt", turns)).cues] == \
        ["Host", "Guest", "Host", "Caller"]
