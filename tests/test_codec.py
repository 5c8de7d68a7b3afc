"""The one dataclass <-> JSON codec: everything podkit saves round-trips exactly."""
from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from toolkit import codec
from toolkit.model import (
    AudioPart,
    Chapter,
    Episode,
    EpisodeType,
    LoudnessStats,
    MediaFile,
    Person,
    TranscriptFormat,
    TranscriptSource,
)
from toolkit.model import Limiting
from toolkit.store.parts import CueSheet

ROOT = Path("/shows/daily")


@dataclass(frozen=True)
class Saved:
    """A record-like dataclass with every kind of field podkit saves."""

    version: int
    episode: Episode
    inputs: dict[str, str]
    audio: MediaFile
    renditions: dict[str, LoudnessStats] = field(default_factory=dict)
    parts: tuple[tuple[str, float], ...] = ()
    limiting: Limiting | None = None
    cue: CueSheet | None = None


def record() -> Saved:
    folder = ROOT / "episodes" / "day-1"
    ep = Episode(slug="day-1", dir=folder, path=folder / "episode.toml", feed="daily",
                 title="Día 1 — 첫날", date=dt.datetime(2024, 5, 1, 9, tzinfo=dt.timezone(dt.timedelta(hours=9))),
                 parts=(AudioPart(folder / "a.wav", title="Intro", gain_db=-1.5, bed=folder / "bed.ogg"),),
                 guid="urn:x", number=1, type=EpisodeType.BONUS, persons=(Person("Ann", "guest"),),
                 transcripts=(TranscriptSource(folder / "t.txt", TranscriptFormat.TEXT, "en", (1, -1)),),
                 chapters=(Chapter(0.0, "Start"),), art=None, max_duration=None)
    mp3 = MediaFile(Path("/elsewhere/day-1.mp3"), "https://x/day-1.mp3", "audio/mpeg", 10, "ab", 1.5)
    silence = LoudnessStats(-math.inf, 0.0, -math.inf, -math.inf, 1.0)
    return Saved(version=1, episode=ep, inputs={"file:a.wav": "00"}, audio=mp3,
                 renditions={"mp3": silence}, parts=(("Intro", 1.5),),
                 limiting=Limiting(seconds=0.0, share=0.0, max_db=0.0, warning=None),
                 cue=CueSheet("day-1", "P", "", "T", "2024-05-01", 1.5))


def test_round_trip_through_json_text() -> None:
    rec = record()
    text = json.dumps(codec.dump(rec, base=ROOT))          # strict JSON: no Infinity
    assert "Infinity" not in text and '"episodes/day-1/a.wav"' in text
    back = codec.load(Saved, json.loads(text), base=ROOT)
    assert codec.decode(Saved, text.encode(), base=ROOT) == back
    assert back == rec                                     # -inf == -inf: silence survives
    assert back.episode.date.utcoffset() == dt.timedelta(hours=9)
    assert back.audio.path == Path("/elsewhere/day-1.mp3")  # outside base: kept absolute


@pytest.mark.parametrize("path, value, message", [
    (("audio", "size"), "ten", "Saved.audio.size: Expected int, got str"),
    (("audio", "size"), True, "Saved.audio.size: Expected int, got bool"),
    (("episode", "chapters", 0, "start"), None, "Saved.episode.chapters[0].start: Expected float"),
    (("episode", "type"), "movie", "Saved.episode.type: Invalid enum value 'movie'"),
    (("parts",), "x", "Saved.parts: Expected array, got str"),
])
def test_damaged_data_names_the_value(path: tuple, value: object, message: str) -> None:
    data = codec.dump(record(), base=ROOT)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(codec.CodecError) as exc:
        codec.load(Saved, data, base=ROOT)
    assert str(exc.value).startswith(message)


def test_a_missing_required_field_is_named() -> None:
    data = codec.dump(record(), base=ROOT)
    del data["episode"]["title"]
    with pytest.raises(codec.CodecError, match=r"^Saved\.episode\.title: missing$"):
        codec.load(Saved, data, base=ROOT)


def test_non_finite_floats_are_tagged_values_and_text_is_never_touched() -> None:
    # A float field takes a number or one of the three tags dump writes; a text field that
    # reads "-inf" or "-Infinity" stays that text (no string replacement anywhere).
    stats = LoudnessStats(-math.inf, math.inf, -1.0, -2.0, 3.0)
    data = codec.dump(stats)
    assert data["integrated"] == "-inf" and data["lra"] == "inf"
    assert codec.load(LoudnessStats, json.loads(json.dumps(data, allow_nan=False))) == stats
    nan = codec.load(LoudnessStats, {**data, "lra": "nan"})
    assert math.isnan(nan.lra)
    # msgspec's lax mode (the reader) also takes a number written as text; what is not a
    # number at all is refused, naming the field.
    for bad in ("loud", "", True):
        with pytest.raises(codec.CodecError, match="lra"):
            codec.load(LoudnessStats, {**data, "lra": bad})
    chapter = Chapter(0.0, "Countdown to -Infinity")
    assert codec.load(Chapter, codec.dump(chapter)) == chapter


def test_decode_refuses_what_is_not_json() -> None:
    with pytest.raises(ValueError, match="not JSON"):
        codec.decode(Saved, b'{"version": 1,', base=ROOT)
