"""Fuzzing (hypothesis): episode.toml loading and the transcript parsers never fail with
anything but a PodkitError, whatever they are given.

- episode.toml: arbitrary bytes and text, and TOML documents whose known keys (at the top
  and in [[parts]], [[transcripts]], [[chapters]], [[persons]], [[soundbites]], [loudness])
  hold arbitrary TOML values, paths among them that exist, escape, or are symlinks.
  Loading returns an Episode or None with at least one error Problem; never raises.
- transcripts: arbitrary bytes as .txt/.srt/.vtt/.json, and near-valid SRT, WebVTT and
  Podcast Index JSON with arbitrary times and text. `transcript.load` returns a
  Transcript or raises PodkitError; a Transcript renders to every output format, and
  our own SRT and WebVTT read back as the same cues.

CI runs a bounded number of examples (about 15 s in all on this machine). For a longer
local run: `PODKIT_FUZZ_EXAMPLES=5000 .venv/bin/python -m pytest tests/test_corpus_fuzz.py`
(examples per test; the runs are then randomized instead of derandomized).
"""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from conftest import FEED_TOML
from corpus_support import Row
from hypothesis import HealthCheck, configuration, given, settings
from hypothesis import strategies as st

from toolkit.config.episode import read_episode
from toolkit.config.show import load_shows
from toolkit.config.tomlread import parse_toml
from toolkit.errors import PodkitError, Problem, Severity
from toolkit.model import Episode, TranscriptFormat, TranscriptSource
from toolkit.text import transcript

configuration.set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "podkit-hypothesis")

ROWS = [
    Row("fuzz-episode-bytes", "arbitrary bytes and text as episode.toml",
        "Episode or problems, never another exception", "hypothesis, 300 examples each"),
    Row("fuzz-episode-values", "TOML documents with arbitrary values (nan, inf, 400-digit "
        "integers, dates, nested tables, escaping paths, symlinks) in every known key",
        "Episode or problems; loaded paths inside the folder; loaded numbers finite",
        "hypothesis, 300 examples; found nan/inf/huge numbers and newlines in keys"),
    Row("fuzz-transcript-bytes", "arbitrary bytes as .txt/.srt/.vtt/.json, arbitrary duration",
        "Transcript or PodkitError; a Transcript renders to every output format",
        "hypothesis, 400 examples"),
    Row("fuzz-transcript-near-valid", "SRT, WebVTT and JSON shaped right with arbitrary times, "
        "texts and wrong values", "Transcript or PodkitError; our SRT/VTT read back as the same "
        "cues", "hypothesis, 500 examples; found negative and NaN JSON times"),
]

#: Examples per test: a CI budget by default, more with PODKIT_FUZZ_EXAMPLES (read here only).
_KNOB = os.environ.get("PODKIT_FUZZ_EXAMPLES", "").strip()


def budget(default: int) -> settings:
    """Bounded in CI (derandomized: the same examples every run); the knob widens and randomizes."""
    return settings(max_examples=int(_KNOB) if _KNOB else default,
                    deadline=None if _KNOB else 5000, derandomize=not _KNOB, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


# ---- a tiny TOML writer (no third-party writer is installed) ------------------------------------

def toml_string(text: str) -> str:
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return toml_string(v)
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{toml_string(k)} = {toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def toml_document(doc: dict[str, object]) -> str:
    return "".join(f"{toml_string(k)} = {toml_value(v)}\n" for k, v in doc.items())


# ---- strategies -------------------------------------------------------------------------------

#: Names in the fuzzed episode folder: real files, a symlink out, escapes, nothing.
FILES = ["intro.flac", "empty.wav", "notes.md", "t.txt", "t.srt", "t.vtt", "t.json", "art.jpg",
         "out.flac", "../secret.txt", "/etc/passwd", "missing.ogg", "sub/../intro.flac", ""]
OFFSETS = [None, dt.timezone.utc, dt.timezone(dt.timedelta(hours=9)),
           dt.timezone(dt.timedelta(hours=-3, minutes=-30))]
TEXT = st.text(max_size=30) | st.sampled_from(FILES) | st.sampled_from(
    ["full", "trailer", "bonus", "srt", "vtt", "json", "text", "html", "test-radio", "1:00",
     "12:34.5", "1:02:03", "-1:00", "https://example.org/x", "javascript:alert(1)", "en"])
SCALAR = st.one_of(
    TEXT, st.integers(), st.just(10**400), st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.datetimes(min_value=dt.datetime(1000, 1, 1), timezones=st.sampled_from(OFFSETS)),
    st.dates(min_value=dt.date(1000, 1, 1)), st.times())
VALUE = st.recursive(SCALAR, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)

TABLE_KEYS = {
    "parts": ["file", "title", "gain", "gap", "crossfade", "trim_silence", "bed", "bed_gain",
              "chapter"],
    "transcripts": ["file", "format", "language", "drop_lines"],
    "chapters": ["start", "title", "url", "img", "toc"],
    "persons": ["name", "role", "group", "href", "img"],
    "soundbites": ["start", "duration", "title"],
}
TOP_KEYS = ["feed", "title", "date", "number", "season", "type", "summary", "notes", "notes_file",
            "explicit", "guid", "keywords", "art", "draft", "max_duration", "programme",
            "segment", "season_name", "episode_display", "audio", "titel", "loudness"]


def _table(keys: list[str]) -> st.SearchStrategy[dict[str, object]]:
    return st.dictionaries(st.sampled_from(keys + ["unknown"]), VALUE, max_size=len(keys))


DOCUMENT = st.fixed_dictionaries(
    {"feed": st.just("test-radio") | VALUE, "title": TEXT, "date": VALUE},
    optional={**{k: VALUE for k in TOP_KEYS if k not in ("feed", "title", "date", "loudness")},
              **{k: st.lists(_table(keys), max_size=3) | VALUE for k, keys in TABLE_KEYS.items()},
              "loudness": _table(["integrated", "mono_integrated", "true_peak", "max_lra",
                                  "levelling"]) | VALUE})


# ---- episode.toml -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fuzz_show(tmp_path_factory: pytest.TempPathFactory, _media_cache: Path):
    """A show with a valid feed and an episode folder holding real, empty and escaping files."""
    root = tmp_path_factory.mktemp("fuzz") / "show"
    (root / "feeds").mkdir(parents=True)
    (root / "feeds" / "test-radio.toml").write_text(FEED_TOML, "utf-8")
    shutil.copy(_media_cache / "cover.jpg", root / "feeds" / "test-radio.jpg")
    folder = root / "episodes" / "fuzzed"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(_media_cache / "intro.flac", folder / "intro.flac")
    shutil.copy(_media_cache / "cover.jpg", folder / "art.jpg")
    (folder / "empty.wav").write_bytes(b"")
    (folder / "notes.md").write_text("Notes with *markup*.\x0c\n")
    (folder / "t.txt").write_text("Host: Hello.\n\nGuest: Hi.\n")
    (folder / "t.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nHello.\n")
    (folder / "t.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:01.000\nHello.\n")
    (folder / "t.json").write_text('{"version": "1.0.0", "segments": []}')
    (root / "secret.txt").write_text("outside")
    os.symlink(root / "secret.txt", folder / "out.flac")
    problems: list[Problem] = []
    shows = load_shows(root, problems)
    assert problems == [] and shows["test-radio"] is not None
    return root, folder, shows


def load(fuzz_show, data: bytes) -> tuple[Episode | None, list[Problem]]:
    root, folder, shows = fuzz_show
    (folder / "episode.toml").write_bytes(data)
    problems: list[Problem] = []
    try:
        episode = read_episode(folder, root, problems, shows)
    except PodkitError:
        return None, problems  # allowed by the contract, though the loader collects instead
    assert episode is None or isinstance(episode, Episode)
    assert all(isinstance(p, Problem) and "\n" not in str(p) for p in problems)
    if episode is None:  # a refusal always says why
        assert any(p.severity is Severity.ERROR for p in problems), problems
    return episode, problems


@budget(300)
@given(data=st.binary(max_size=300))
def test_episode_toml_any_bytes(fuzz_show, data: bytes) -> None:
    load(fuzz_show, data)


@budget(300)
@given(text=st.text(max_size=300))
def test_episode_toml_any_text(fuzz_show, text: str) -> None:
    load(fuzz_show, text.encode("utf-8", "surrogatepass"))


@budget(300)
@given(doc=DOCUMENT)
def test_episode_toml_any_values_in_known_keys(fuzz_show, doc: dict[str, object]) -> None:
    text = toml_document(doc)
    problems: list[Problem] = []
    root, folder, _ = fuzz_show
    (folder / "episode.toml").write_text(text, "utf-8")
    assert parse_toml(folder / "episode.toml", problems, "episode.toml") is not None, (text, problems)
    episode, problems = load(fuzz_show, text.encode("utf-8"))
    if episode is not None:  # what loaded is inside the folder and typed as the model says
        for part in episode.parts:
            assert part.path.resolve().is_relative_to(folder.resolve())
            assert all(math.isfinite(x) for x in (part.gain_db, part.gap_s, part.crossfade_s,
                                                  part.bed_gain_db))
        assert episode.date.tzinfo is not None and isinstance(episode.title, str)
        numbers = [c.start for c in episode.chapters] + [episode.max_duration or 0.0]
        numbers += [x for s in episode.soundbites for x in (s.start, s.duration)]
        if episode.loudness is not None:
            numbers += [x for x in vars(episode.loudness).values() if isinstance(x, float)]
        assert all(math.isfinite(x) for x in numbers), numbers


# ---- transcripts -------------------------------------------------------------------------------

EXT = {TranscriptFormat.TEXT: ".txt", TranscriptFormat.SRT: ".srt", TranscriptFormat.VTT: ".vtt",
       TranscriptFormat.JSON: ".json"}
FORMATS = st.sampled_from(list(EXT))
DURATIONS = st.none() | st.floats(min_value=0.0, max_value=1e5)
CUE_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40) | st.sampled_from(
    ["Host: hello", "<v Jane>hi</v>", "<b>bold</b> &amp; more", "-->", "NOTE x", "WEBVTT",
     "1", "", "   ", "{\\an8}top", "Dr. Seo: yes"])


def _stamp(seconds: float, sep: str, hours: bool = True) -> str:
    ms = int(round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return (f"{h:02d}:" if hours or h else "") + f"{m:02d}:{s:02d}{sep}{ms:03d}"


TIMES = st.floats(min_value=0, max_value=40_000) | st.sampled_from([0.0, 59.9995, 3599.9999])


@st.composite
def near_valid(draw) -> tuple[TranscriptFormat, bytes]:
    """SRT, WebVTT or JSON shaped right, with arbitrary times, texts and the odd broken line."""
    fmt = draw(st.sampled_from([TranscriptFormat.SRT, TranscriptFormat.VTT, TranscriptFormat.JSON]))
    cues = draw(st.lists(st.tuples(TIMES, TIMES, CUE_TEXT), max_size=6))
    if fmt is TranscriptFormat.JSON:
        segments = [{"startTime": a, "endTime": b, "body": t, "speaker": draw(st.none() | CUE_TEXT)}
                    for a, b, t in cues]
        for seg in segments:
            if draw(st.booleans()):
                seg[draw(st.sampled_from(list(seg)))] = draw(VALUE)  # a wrong value somewhere
        doc = {"version": draw(st.sampled_from(["1.0.0", "2", 1])), "segments": segments}
        return fmt, json.dumps(doc, default=str).encode()
    sep = "," if fmt is TranscriptFormat.SRT else "."
    blocks = [f"{i}\n{_stamp(a, sep)} --> {_stamp(b, sep)}\n{t}" for i, (a, b, t) in
              enumerate(cues, 1)]
    head = ["WEBVTT"] if fmt is TranscriptFormat.VTT else []
    text = "\n\n".join(head + blocks) + draw(st.sampled_from(["", "\n", "\r\n", "\n\n\n"]))
    return fmt, text.encode("utf-8", "surrogatepass")


def load_transcript(tmp: Path, fmt: TranscriptFormat, data: bytes, duration: float | None,
                    drops: tuple[int, ...] = ()):
    path = tmp / f"t{EXT[fmt]}"
    path.write_bytes(data)
    try:
        result = transcript.load(TranscriptSource(path, fmt, "en", drops), duration=duration)
    except PodkitError as exc:
        assert "\n" not in str(exc) or hasattr(exc, "problems")
        return None
    assert result.cues, "a transcript without cues is refused"
    renders = [transcript.to_html, transcript.to_text, transcript.plain_text]
    if result.timed:  # captions and JSON need times
        renders += [transcript.to_vtt, transcript.to_srt, transcript.to_json]
    for render in renders:
        assert isinstance(render(result), str)
    return result


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-transcripts")


@budget(400)
@given(fmt=FORMATS, data=st.binary(max_size=400), duration=DURATIONS)
def test_transcript_any_bytes(scratch, fmt, data, duration) -> None:
    load_transcript(scratch, fmt, data, duration)


@budget(300)
@given(text=st.text(max_size=300), drops=st.lists(st.integers(-5, 5), max_size=3).map(tuple))
def test_plain_text_transcript_any_text(scratch, text, drops) -> None:
    load_transcript(scratch, TranscriptFormat.TEXT, text.encode("utf-8", "surrogatepass"), None,
                    drops)


@budget(500)
@given(case=near_valid(), duration=DURATIONS)
def test_transcript_near_valid(scratch, case, duration) -> None:
    fmt, data = case
    result = load_transcript(scratch, fmt, data, duration)
    if result is None or fmt is TranscriptFormat.JSON:
        return
    # Our own SRT and WebVTT read back as the same cues (text, speaker, times to the ms).
    for out_fmt, render in ((TranscriptFormat.SRT, transcript.to_srt),
                            (TranscriptFormat.VTT, transcript.to_vtt)):
        again = load_transcript(scratch, out_fmt, render(result).encode(), duration)
        assert again is not None
        assert [(c.text, c.speaker, round(c.start * 1000), round(c.end * 1000)) for c in again.cues] \
            == [(c.text, c.speaker, round(c.start * 1000), round(c.end * 1000)) for c in result.cues]
