"""The build record read one way: `Catalog.is_current` is the one answer to "rebuild?"
that build, feed and status all give, the summary of a build served from its record keeps
its warnings, and a damaged or older record is refused with one clear line."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from corpus_support import copy_show, podkit_inprocess

from toolkit import pipeline
from toolkit.config import catalog
from toolkit.errors import NotBuiltError
from toolkit.store import record

EP = "episodes/first-episode"


@pytest.fixture
def show(built_show: Path, tmp_path: Path) -> Path:
    return copy_show(built_show, tmp_path / "show")


def _answers(root: Path) -> tuple[bool, list[str], str, str]:
    """What each command says about the one episode: is_current and stale, then `podkit
    status` and `podkit feed`, through the CLI."""
    cat = catalog.load(root)
    (ep,) = cat.episodes
    rec = cat.record(ep)
    status = podkit_inprocess(root, "status", "--json", "--now", "2030-01-01T00:00:00")
    (row,) = json.loads(status.stdout)["episodes"]
    feed = podkit_inprocess(root, "feed", "--now", "2030-01-01T00:00:00")
    return cat.is_current(ep, rec), cat.stale(ep, rec) if rec else [], row["state"], feed.stderr


def test_a_fresh_record_is_current_for_every_command(show: Path) -> None:
    current, why, state, feed_err = _answers(show)
    assert current and why == [] and state != "stale" and feed_err == ""
    (result,) = pipeline.build(show)
    assert result.value.unchanged


@pytest.mark.parametrize("change, named", [
    (lambda root: (root / EP / "body.flac").write_bytes((root / EP / "body.flac").read_bytes()
                                                        + b"\0"), "episodes/first-episode/body.flac"),
    (lambda root: (root / EP / "episode.toml").write_text(
        (root / EP / "episode.toml").read_text("utf-8").replace(
            'title = "First episode"', 'title = "Renamed"'), "utf-8"),
     "episodes/first-episode/episode.toml (title)"),
    (lambda root: next((root / "build/stage/test-radio" / EP).glob("*.mp3")).unlink(),
     "built audio missing (first-episode-"),
])
def test_each_change_makes_every_command_say_stale(show: Path, change, named: str) -> None:  # noqa: ANN001
    change(show)
    current, why, state, feed_err = _answers(show)
    assert not current and any(w.startswith(named) for w in why), why
    assert state == "stale"
    assert "stale: changed since its build: " + named in feed_err, feed_err
    (result,) = pipeline.build(show)                  # and build rebuilds it, once
    assert result.ok and not result.value.unchanged
    (again,) = pipeline.build(show)
    assert again.value.unchanged


def test_inputs_are_structured(show: Path) -> None:
    cat = catalog.load(show)
    (ep,) = cat.episodes
    inputs = cat.load_record(ep).inputs
    assert isinstance(inputs, record.Inputs)
    assert sorted(inputs.files) == ["episodes/first-episode/body.flac",
                                    "episodes/first-episode/intro.flac"]
    assert f"record {record.VERSION}" in inputs.podkit and len(inputs.feed) == 64


def test_a_record_of_an_older_version_is_rebuilt_once(show: Path) -> None:
    path = next((show / "build/stage/test-radio" / EP).glob(record.RECORD_FILE))
    data = json.loads(path.read_text("utf-8"))
    path.write_text(json.dumps({**data, "version": record.VERSION - 1}), "utf-8")
    cat = catalog.load(show)
    (ep,) = cat.episodes
    with pytest.raises(NotBuiltError, match="built by another podkit version"):
        cat.load_record(ep)
    assert not cat.is_current(ep, cat.record(ep))
    (result,) = pipeline.build(show)
    assert result.ok and not result.value.unchanged
    assert pipeline.build(show)[0].value.unchanged


def test_a_damaged_part_is_named_when_read(show: Path) -> None:
    path = next((show / "build/stage/test-radio" / EP).glob(record.RECORD_FILE))
    data = json.loads(path.read_text("utf-8"))
    data["steps"]["chapters"]["chapters"] = "not a list"
    path.write_text(json.dumps(data), "utf-8")
    cat = catalog.load(show)
    (ep,) = cat.episodes
    rec = cat.load_record(ep)                # the header is fine: read fast, parts on demand
    with pytest.raises(NotBuiltError) as exc:
        rec.chapters
    assert "steps.chapters" in str(exc.value) and str(path) in str(exc.value)
    run = podkit_inprocess(show, "feed", "--now", "2030-01-01T00:00:00")
    assert run.rc == 1 and "build record damaged" in run.stderr and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_a_record_that_is_not_json_reads_as_not_built(show: Path) -> None:
    path = next((show / "build/stage/test-radio" / EP).glob(record.RECORD_FILE))
    path.write_text('{"version": 4, "inputs"', "utf-8")
    cat = catalog.load(show)
    (ep,) = cat.episodes
    with pytest.raises(NotBuiltError, match="build record damaged"):
        cat.load_record(ep)
    (result,) = pipeline.build(show)
    assert result.ok and not result.value.unchanged


def test_the_record_round_trips_through_the_fast_reader(show: Path) -> None:
    cat = catalog.load(show)
    (ep,) = cat.episodes
    rec = cat.load_record(ep)
    folder = cat.episode_folder(ep)
    saved = (folder / record.RECORD_FILE).read_bytes()
    record.save(folder, rec, root=show)               # what was read writes the same bytes
    assert (folder / record.RECORD_FILE).read_bytes() == saved
    # Read without the catalogue's episode, the record's own snapshot decodes to the same.
    alone = record.load(folder, root=show, slug=ep.slug)
    assert alone.episode == ep and alone == rec
