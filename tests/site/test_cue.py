"""Radio cue sheets (toolkit/site/cue.py): text for the studio, CSV for the running order."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from notes_support import make_episode

from toolkit import model
from toolkit.site import cue

TRANSCRIPT = """Host: This is Korean Peninsula A to Z, and it is time for Korea, Today and Tomorrow.

Ji-hoon Seo: Thank you, Claire. Let me begin with what we know.

[music]

Host: Dr. Ji-hoon Seo, thank you. That was Korea, Today and Tomorrow, here on Korean Peninsula A to Z.
"""

LOUD = model.LoudnessStats(integrated=-16.04, lra=5.2, true_peak=-1.26, sample_peak=-1.5, duration=905.3)


def sheet(**kw) -> cue.CueSheet:
    ep = make_episode()
    parts = cue.parts_from(ep.parts, [45.2, 860.1])
    args = dict(show_title="Show title", duration=905.3, parts=parts, transcript_text=TRANSCRIPT,
                loudness=LOUD)
    args.update(kw)
    return cue.make_sheet(ep, **args)


def test_clock_rounds_to_the_second():
    assert [cue.clock(s) for s in (0, 0.49, 0.5, 59.6, 872.4, 3599.5, 3725)] == [
        "0:00", "0:00", "0:01", "1:00", "14:32", "1:00:00", "1:02:05"]


def test_cues_are_the_first_and_last_spoken_words():
    assert cue.cue_words(TRANSCRIPT) == ("This is Korean Peninsula A to",
                                         "on Korean Peninsula A to Z.")
    assert cue.cue_words(TRANSCRIPT, 3) == ("This is Korean", "A to Z.")
    assert cue.cue_words("(laughs) Ji-hoon Seo: Hello there (pause) friends [applause]", 2) == (
        "Ji-hoon Seo:", "there friends")  # a label after other text is spoken text
    assert cue.cue_words("") == ("", "")


def test_parts_start_after_gaps_and_overlap_by_crossfades():
    parts = (model.AudioPart(Path("a.wav"), "Intro", gap_s=1.0),
             model.AudioPart(Path("b.wav"), None, crossfade_s=2.0),
             model.AudioPart(Path("c.wav"), "Outro", gap_s=0.5))
    got = cue.parts_from(parts, [10.0, 20.0, 5.0])
    assert [(p.title, p.start, p.duration) for p in got] == [
        ("Intro", 1.0, 10.0), ("b", 9.0, 20.0), ("Outro", 29.5, 5.0)]
    with pytest.raises(ValueError):
        cue.parts_from(parts, [1.0])


def test_check_slot():
    assert cue.check_slot(905.3, None) is None
    assert cue.check_slot(899.0, 900.0) is None
    assert cue.check_slot(900.04, 900.0) is None  # MP3 frame padding is not an overrun
    assert cue.check_slot(905.3, 900.0) == "runs 15:05, 5.3 s over its 15:00 slot"
    assert cue.check_slot(1000.0, 900.0) == "runs 16:40, 1:40 over its 15:00 slot"


def test_sheet_fields_and_defaults():
    s = sheet()
    assert (s.programme, s.segment, s.title, s.date) == (
        "Korean Peninsula A to Z", "Korea, Today and Tomorrow", "Hanoi summit ends without a deal", "2019-03-07")
    assert (s.integrated, s.true_peak, s.max_duration) == (-16.04, -1.26, 900.0)
    bare = cue.make_sheet(make_episode(programme=None, segment=None, max_duration=None),
                          show_title="Show title", duration=60.0, in_cue="Good evening", out_cue="Goodbye")
    assert (bare.programme, bare.segment, bare.in_cue, bare.out_cue) == (
        "Show title", "", "Good evening", "Goodbye")
    assert bare.integrated is None and bare.parts == ()


def test_text_sheet():
    text = cue.render_text(sheet())
    lines = text.splitlines()
    assert lines[0] == "CUE SHEET"
    assert "Programme: Korean Peninsula A to Z" in lines
    assert "Duration:  15:05" in lines
    assert "Slot:      15:00  OVERRUN: runs 15:05, 5.3 s over its 15:00 slot" in lines
    assert "Loudness:  -16.0 LUFS integrated" in lines and "True peak: -1.3 dBTP" in lines
    assert 'In-cue:    "This is Korean Peninsula A to ..."' in lines
    assert 'Out-cue:   "... on Korean Peninsula A to Z."' in lines
    assert lines[-3:] == ["Parts:", "   1      0:00  Intro         0:45", "   2      0:45  Analysis     14:20"]
    fits = cue.render_text(sheet(duration=880.0, loudness=None))
    assert "Slot:      15:00  fits, 20.0 s to spare" in fits.splitlines()
    assert "Loudness:  not measured integrated" in fits.splitlines()


def test_csv_round_trips_through_a_csv_reader(tmp_path):
    awkward = make_episode(title='Title, with "quotes"\nand a line break', number=None)
    sheets = [sheet(), cue.make_sheet(awkward, show_title="S", duration=61.0)]
    text = cue.render_csv(sheets)
    assert text == cue.render_csv(sheets)  # deterministic
    assert text.count("\r\n") == 3 and text.endswith("\r\n")  # header and two rows
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [r["episode"] for r in rows] == ["hanoi-summit", "hanoi-summit"]
    first = rows[0]
    assert first["duration"] == "15:05" and first["duration_s"] == "905.30"
    assert first["slot"] == "15:00" and first["slot_status"].startswith("OVERRUN")
    assert first["parts"] == "1. Intro 0:45 | 2. Analysis 14:20"
    assert (first["integrated_lufs"], first["true_peak_dbtp"]) == ("-16.0", "-1.3")
    assert first["out_cue"] == "on Korean Peninsula A to Z."
    assert rows[1]["title"] == 'Title, with "quotes" and a line break'  # one line on a sheet
    assert rows[1]["number"] == "" and rows[1]["integrated_lufs"] == ""
    assert list(rows[0]) == list(cue.CSV_FIELDS)


def test_write_sheet_is_atomic_and_idempotent(tmp_path):
    s = sheet()
    assert sorted(p.name for p in cue.write_sheet(tmp_path, s)) == ["cue.csv", "cue.txt"]
    assert (tmp_path / "cue.txt").read_text("utf-8") == cue.render_text(s)
    assert (tmp_path / "cue.csv").read_bytes() == cue.render_csv([s]).encode("utf-8")
    assert cue.write_sheet(tmp_path, s) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cue.csv", "cue.txt"]


HEAVY = model.Limiting(seconds=85.0, share=0.5667, max_db=5.4,
                       warning="heavy limiting: the limiter works on 85.0 of 150.0 s (57 %), "
                               "up to 5.4 dB (warned above 10 % or 3 dB)")


def test_heavy_limiting_is_on_the_sheet_and_in_the_csv():
    s = sheet(limiting=HEAVY)
    lines = cue.render_text(s).splitlines()
    (line,) = [ln for ln in lines if ln.startswith("Limiting:")]
    assert "85.0 s (57 %), up to 5.4 dB" in line and "WARNING: " + HEAVY.warning in line
    row = next(csv.DictReader(io.StringIO(cue.render_csv([s]))))
    assert (row["limited_s"], row["limiter_max_db"]) == ("85.0", "5.4")
    assert row["limiting_warning"] == HEAVY.warning


def test_light_or_unknown_limiting_has_no_warning():
    light = sheet(limiting=model.Limiting(seconds=0.4, share=0.003, max_db=1.2, warning=None))
    (line,) = [ln for ln in cue.render_text(light).splitlines() if ln.startswith("Limiting:")]
    assert line.split(None, 1)[1] == "0.4 s (0 %), up to 1.2 dB" and "WARNING" not in line
    (line,) = [ln for ln in cue.render_text(sheet()).splitlines() if ln.startswith("Limiting:")]
    assert line.split(None, 1)[1] == "not measured"
    row = next(csv.DictReader(io.StringIO(cue.render_csv([sheet()]))))
    assert (row["limited_s"], row["limiter_max_db"], row["limiting_warning"]) == ("", "", "")
