"""The cost of alignment is bounded by the audio, whatever the text (issue 22 item 9).

10,000 words on 1 s of audio took 86 s, 2 MB of text on 5 s did not finish in 600 s: every
word was pronounced (eSpeak NG, three accents) and searched for, window after window. A
text far outside human speech rates for the speech the audio holds is now a mismatch at
once, before any pronunciation or search. Real eSpeak NG speech, the real aligner.
"""
from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from speech import RATE, programme, write_wav

from toolkit.model import AlignStatus, TranscriptFormat, TranscriptSource
from toolkit.text import align, transcript

VOCAB = ("the talks began in and they ended without a deal we will find out in the coming "
         "weeks welcome to the programme today we talk about hockey players").split()


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """1 s and 5 s of real speech (eSpeak NG)."""
    folder = tmp_path_factory.mktemp("clips")
    samples, _ = programme([("A", "en-us", "Hello there. Welcome to the programme today. "
                             "We talk about the coming weeks.")], lead=0.2)
    return {"1s": write_wav(folder / "one.wav", samples[:RATE]),
            "5s": write_wav(folder / "five.wav", samples[:5 * RATE])}


def _text(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "t.txt"
    path.write_text(text, "utf-8")
    return transcript.load(TranscriptSource(path, TranscriptFormat.TEXT, "en"), duration=None)


def _words(n: int) -> str:
    rng = random.Random(n)
    # Made-up words too (eSpeak would pronounce each: the cost that grew with the text).
    words = [rng.choice(VOCAB) + (str(rng.randrange(1000)) if rng.random() < 0.3 else "")
             for _ in range(n)]
    return "\n".join(" ".join(words[i:i + 12]) + "." for i in range(0, n, 12)) + "\n"


@pytest.mark.parametrize("clip,text,cpu_s", [
    ("1s", lambda: _words(10_000), 5.0),
    ("5s", lambda: _words(330_000), 30.0),          # about 2 MB of text
], ids=["10000-words-on-1s", "2MB-on-5s"])
def test_far_too_much_text_is_a_mismatch_without_any_search(tmp_path, clips, monkeypatch,
                                                             clip, text, cpu_s) -> None:  # type: ignore[no-untyped-def]
    body = text()
    assert clip == "1s" or len(body.encode()) > 2_000_000
    def no_decoders(*a, **k):  # type: ignore[no-untyped-def]
        raise AssertionError("pronunciations and decoders were built for an implausible text")
    monkeypatch.setattr(align, "_Decoders", no_decoders)
    tr = _text(tmp_path, body)
    start = time.process_time()
    result = align.align(tr, clips[clip], audio_key=clip, cache_dir=tmp_path / "cache")
    spent = time.process_time() - start
    assert result.report.status is AlignStatus.MISMATCH, result.report
    assert "words a second" in result.report.message and "at most about 6" in result.report.message
    assert result.transcript == tr and not result.transcript.timed
    # CPU time of this process (the machine's load does not count): seconds, not minutes.
    assert spent < cpu_s, spent


def test_far_too_little_text_is_a_mismatch(tmp_path, clips) -> None:  # type: ignore[no-untyped-def]
    result = align.align(_text(tmp_path, "Hello.\n"), clips["5s"], audio_key="x",
                         cache_dir=tmp_path / "cache")
    assert result.report.status is AlignStatus.MISMATCH, result.report
    assert "words a second" in result.report.message and "at least" in result.report.message


def test_a_plausible_text_is_aligned(tmp_path, clips) -> None:  # type: ignore[no-untyped-def]
    text = "Hello there. Welcome to the programme today. We talk about the coming weeks.\n"
    result = align.align(_text(tmp_path, text), clips["5s"], audio_key="y",
                         cache_dir=tmp_path / "cache")
    assert result.report.status is AlignStatus.ALIGNED, result.report


def test_plausibility_bounds() -> None:
    assert align.plausibility(0, 0.0) is None               # no words: said elsewhere
    assert "no speech" in (align.plausibility(10, 0.0) or "")
    assert align.plausibility(30, 10.0) is None             # 3 words a second
    assert align.plausibility(60, 10.0) is None             # 6: fast, still speech
    assert "at most" in (align.plausibility(61, 10.0) or "")
    assert align.plausibility(5, 10.0) is None
    assert "at least" in (align.plausibility(4, 10.0) or "")


def test_a_word_is_spoken_when_it_has_a_letter_or_digit_in_any_script() -> None:
    from toolkit.text.align_text import word_key
    assert word_key("“Yongbyon,”") == "yongbyon" and word_key("2018,") == "2018"
    for silent in ("–", "—", "...", "_", "__", "*", "(!)"):
        assert word_key(silent) == "", silent
    for spoken in ("서울", "٣", "²", "Ⅻ", "ß", "_x_"):
        assert word_key(spoken), spoken
    # The same rule as str.isalnum() for every code point (a stride keeps it quick).
    for cp in range(0, 0x110000, 7):
        ch = chr(cp)
        if ch not in "\"'“”‘’()[]{}<>«».,!?;:…—–-*_/\\" and not ch.isspace():
            assert bool(word_key(ch)) == ch.isalnum(), hex(cp)
