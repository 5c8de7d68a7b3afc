"""Forced alignment (toolkit/text/align.py) on real synthetic speech: eSpeak NG voices whose true
sentence times are known, aligned by the real pocketsphinx, written by the real writers."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from speech import programme, write_wav

from toolkit.cli import cli
from toolkit.model import AlignStatus, TranscriptFormat, TranscriptSource
from toolkit.text import align, transcript
from toolkit.text.transcript_read import parse_srt, parse_vtt

HOST, GUEST = ("Host", "en-us+f3"), ("Guest", "en-gb-x-rp+m3")
PARAGRAPHS = [
    (*HOST, "Welcome to the programme. Today we talk about Yongbyon and PyeongChang."),
    (*GUEST, "Thank you. The talks began in 2018, and they ended without a deal."),
    (*HOST, "What happens next? We will find out in the coming weeks."),
]
OTHER = [(*HOST, "The weather was cold and dry all week, with snow in the mountains."),
         (*GUEST, "Many visitors came by train every morning to see the games.")]


def _text(paragraphs: list[tuple[str, str, str]]) -> str:
    return "\n\n".join(f"{speaker}: {text}" for speaker, _, text in paragraphs) + "\n"


@pytest.fixture(scope="module")
def spoken(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """(wav, true sentences) of PARAGRAPHS, and a wav of other words."""
    folder = tmp_path_factory.mktemp("speech")
    samples, truth = programme(PARAGRAPHS)
    other, _ = programme(OTHER)
    return write_wav(folder / "speech.wav", samples), truth, write_wav(folder / "other.wav", other)


def _load(tmp_path: Path, text: str, language: str | None = "en"):  # type: ignore[no-untyped-def]
    path = tmp_path / "t.txt"
    path.write_text(text, "utf-8")
    return transcript.load(TranscriptSource(path, TranscriptFormat.TEXT, language), duration=None)


def test_sentences_start_where_they_are_spoken(tmp_path: Path, spoken) -> None:  # type: ignore[no-untyped-def]
    wav, truth, _ = spoken
    result = align.align(_load(tmp_path, _text(PARAGRAPHS)), wav, audio_key="a",
                         cache_dir=tmp_path / "cache")
    assert result.report.status is AlignStatus.ALIGNED, result.report
    cues = result.transcript.cues
    assert [c.text for c in cues] == [s.text for s in truth]
    assert [c.speaker for c in cues] == [s.speaker for s in truth]
    for cue, true in zip(cues, truth):
        assert abs(cue.start - true.start) <= 0.15, (cue, true)
        assert abs(cue.end - true.end) <= 0.3, (cue, true)
    # Names and digits the dictionary lacks were pronounced, not dropped.
    assert result.report.guessed >= 2 and result.report.interpolated == 0
    words = [w.text for c in cues for w in c.words]
    assert "Yongbyon" in words and "PyeongChang." in words and "2018," in words


def test_timed_outputs_read_back(tmp_path: Path, spoken) -> None:  # type: ignore[no-untyped-def]
    wav, truth, _ = spoken
    result = align.align(_load(tmp_path, _text(PARAGRAPHS)), wav, audio_key="a",
                         cache_dir=tmp_path / "cache")
    files = {Path(m.path).suffix: Path(m.path) for m in transcript.write_all(
        [result.transcript], tmp_path / "out", url_of=lambda p: p.name)}
    assert set(files) == {".vtt", ".srt", ".json", ".html", ".txt"}
    vtt = parse_vtt(files[".vtt"].read_text("utf-8"), files[".vtt"])
    assert [c.speaker for c in vtt][0] == "Host" and {c.speaker for c in vtt} == {"Host", "Guest"}
    assert abs(vtt[0].start - truth[0].start) <= 0.15
    srt = parse_srt(files[".srt"].read_text("utf-8"), files[".srt"])
    assert [c.start for c in srt] == [c.start for c in vtt]
    segments = json.loads(files[".json"].read_text("utf-8"))["segments"]
    # One segment per word, in time order, every word of the text.
    assert [s["body"] for s in segments] == _text(PARAGRAPHS).replace("Host:", "").replace(
        "Guest:", "").split()
    assert all(a["startTime"] <= b["startTime"] for a, b in zip(segments, segments[1:]))
    page = transcript.to_page_html(result.transcript)
    assert page.count('<span class="cue" data-start=') == len(truth)


def test_audio_of_other_words_is_a_mismatch(tmp_path: Path, spoken) -> None:  # type: ignore[no-untyped-def]
    _, _, other = spoken
    text = _load(tmp_path, _text(PARAGRAPHS))
    result = align.align(text, other, audio_key="b", cache_dir=tmp_path / "cache")
    assert result.report.status is AlignStatus.MISMATCH
    assert "does not match" in result.report.message
    assert result.transcript == text and not result.transcript.timed


def test_text_with_a_paragraph_never_spoken_is_a_mismatch(tmp_path: Path, spoken) -> None:  # type: ignore[no-untyped-def]
    wav, _, _ = spoken
    text = _load(tmp_path, _text(PARAGRAPHS[:2] + OTHER + PARAGRAPHS[2:]))
    result = align.align(text, wav, audio_key="c", cache_dir=tmp_path / "cache")
    assert result.report.status is AlignStatus.MISMATCH


def test_language_without_a_model_stays_untimed(tmp_path: Path, spoken) -> None:  # type: ignore[no-untyped-def]
    wav, _, _ = spoken
    text = _load(tmp_path, "안녕하세요. 반갑습니다.\n", language="ko")
    result = align.align(text, wav, audio_key="d", cache_dir=tmp_path / "cache")
    assert result.report.status is AlignStatus.NO_MODEL
    assert "'ko'" in result.report.message and "align = false" in result.report.message
    assert not result.transcript.timed
    assert not (tmp_path / "cache").exists()


def test_result_is_cached_by_audio_key_and_text(tmp_path: Path, spoken) -> None:  # type: ignore[no-untyped-def]
    wav, _, _ = spoken
    copy = tmp_path / "master.wav"
    copy.write_bytes(wav.read_bytes())
    text = _load(tmp_path, _text(PARAGRAPHS))
    first = align.align(text, copy, audio_key="e", cache_dir=tmp_path / "cache")
    copy.unlink()           # a cache hit must not need the audio again
    again = align.align(text, copy, audio_key="e", cache_dir=tmp_path / "cache")
    assert again == first
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [
        f"align-{align.cache_key('e', text)[:16]}.json"]
    from toolkit.errors import PodkitError
    with pytest.raises(PodkitError):       # another master key: aligned again, from the audio
        align.align(text, copy, audio_key="f", cache_dir=tmp_path / "cache")


def test_build_publishes_timed_transcripts_and_align_reports(show_root: Path, spoken) -> None:  # type: ignore[no-untyped-def]
    wav, _, _ = spoken
    ep = show_root / "episodes" / "first-episode"
    (ep / "body.wav").write_bytes(wav.read_bytes())
    toml = (ep / "episode.toml").read_text("utf-8").replace("body.flac", "body.wav")
    (ep / "episode.toml").write_text(toml + '\n[[transcripts]]\nfile = "t.txt"\nlanguage = "en"\n',
                                     "utf-8")
    (ep / "t.txt").write_text(_text(PARAGRAPHS), "utf-8")
    run = CliRunner().invoke(cli, ["--root", str(show_root), "align", "first-episode"])
    assert run.exit_code == 0, run.output
    assert "first-episode: t.txt: aligned: " in run.output
    stage = show_root / "build" / "stage" / "test-radio" / "episodes" / "first-episode"
    rec = json.loads((stage / ".podkit-build.json").read_text("utf-8"))
    assert [a["status"] for a in rec["steps"]["transcripts"]["alignments"]] == ["aligned"]
    assert {Path(t["path"]).suffix for t in rec["steps"]["transcripts"]["files"]} \
        >= {".vtt", ".srt", ".json"}
    assert 'class="cue" data-start=' in (stage / "index.html").read_text("utf-8")
    # align = false: the same text published untimed, the record says so.
    (ep / "episode.toml").write_text(toml + '\n[[transcripts]]\nfile = "t.txt"\nalign = false\n',
                                     "utf-8")
    run = CliRunner().invoke(cli, ["--root", str(show_root), "align", "first-episode"])
    assert run.exit_code == 0, run.output
    assert "t.txt: off" in run.output
    assert not (stage / "transcript.vtt").exists()
