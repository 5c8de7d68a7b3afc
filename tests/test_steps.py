"""The episode build as a list of steps: a step added to the list lands in the record, the
build summary and the CLI's warnings with no other edit; one that does not apply leaves
no part; the steps keep their order and the built files are the same as before."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from toolkit import pipeline, steps
from toolkit.cli import cli
from toolkit.config import catalog
from toolkit.errors import MediaError
from toolkit.steps.base import Context, Step
from toolkit.store.parts import MasterPart, TaggedPart


@dataclass(frozen=True)
class SlotPart:
    """What the test step measures: the enclosure's size and the seconds it saw."""

    mp3_bytes: int
    seconds: float
    seen: tuple[str, ...]          # the parts the earlier steps had added when it ran


class Slot(Step):
    """A step written the way a new one would be (the radio air cut, clips)."""

    name = "slot-test"
    part_type = SlotPart
    topic = "slot"

    def run(self, ctx: Context) -> SlotPart:
        (ctx.work / "slot.txt").write_text(f"{ctx.audio.duration:.3f}\n", "utf-8")
        return SlotPart(mp3_bytes=ctx.part("tags").audio.size, seconds=ctx.audio.duration,
                        seen=tuple(ctx.parts))

    def warnings(self, part: SlotPart) -> tuple[str, ...]:
        return (f"{part.seconds:.1f} s in the slot",)


class Never(Step):
    """A step that does not apply to this episode."""

    name = "never-test"
    part_type = SlotPart
    topic = "never"

    def applies(self, ctx: Context) -> bool:
        return False

    def run(self, ctx: Context) -> SlotPart:  # pragma: no cover - must not run
        raise AssertionError("ran a step that does not apply")


def test_the_steps_run_in_data_order() -> None:
    assert [s.name for s in steps.STEPS] == ["audio", "transcripts", "chapters", "tags",
                                             "clips", "notes", "page", "cuts", "cue"]


def test_a_step_added_to_the_list_lands_in_the_record_summary_and_output(
        show_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(steps, "STEPS", (*steps.STEPS, Slot(), Never()))
    run = CliRunner().invoke(cli, ["--root", str(show_root), "build"])
    assert run.exit_code == 0, run.output
    cat = catalog.load(show_root)
    (ep,) = cat.episodes
    rec = cat.load_record(ep)
    part = rec.part("slot-test")
    assert isinstance(part, SlotPart)                # read back typed, from the JSON
    assert part.mp3_bytes == rec.audio.size > 0 and part.seconds == pytest.approx(rec.duration)
    assert part.seen == ("audio", "transcripts", "chapters", "tags", "notes", "page", "cue")
    assert "never-test" not in rec.steps
    assert isinstance(rec.part("audio"), MasterPart) and isinstance(rec.part("tags"), TaggedPart)
    # Its file was promoted with the others; its warning is printed like the built-in ones.
    assert (cat.episode_folder(ep) / "slot.txt").read_text("utf-8").startswith(f"{rec.duration:.1f}")
    assert f"episodes/first-episode: slot: warning: {rec.duration:.1f} s in the slot" \
        in run.output.splitlines()
    # A record whose step this process does not know keeps its part as plain data.
    monkeypatch.undo()
    from toolkit.store import parts
    monkeypatch.delitem(parts.TYPES, "slot-test")
    again = catalog.load(show_root).load_record(ep)
    assert again.part("slot-test")["mp3_bytes"] == rec.audio.size
    assert again.audio == rec.audio


def test_a_failing_step_leaves_the_previous_build(show_root: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    assert all(r.ok for r in pipeline.build(show_root))
    cat = catalog.load(show_root)
    (ep,) = cat.episodes
    before = {p.name: p.read_bytes() for p in cat.episode_folder(ep).iterdir()}

    class Broken(Slot):
        name = "broken-test"
        part_type = SlotPart

        def run(self, ctx: Context) -> SlotPart:
            raise MediaError("the slot step failed", path=str(ctx.work / "slot.txt"))
    monkeypatch.setattr(steps, "STEPS", (*steps.STEPS, Broken()))
    (ep.dir / "episode.toml").write_text(
        (ep.dir / "episode.toml").read_text("utf-8").replace('title = "First episode"',
                                                           'title = "First, again"'), "utf-8")
    (result,) = pipeline.build(show_root)
    # The error names the file where it will be, not the private work folder.
    assert not result.ok and result.error.startswith(f"{cat.episode_folder(ep)}/slot.txt:")
    after = {p.name: p.read_bytes() for p in cat.episode_folder(ep).iterdir()}
    assert after == before


def test_a_build_served_from_its_record_shows_its_warnings_again(
        show_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(steps, "STEPS", (*steps.STEPS, Slot()))
    first = CliRunner().invoke(cli, ["--root", str(show_root), "build"])
    assert first.exit_code == 0, first.output
    warning = next(ln for ln in first.output.splitlines() if ": slot: warning: " in ln)
    # Nothing changed: nothing is built, and the first build's warning is still shown,
    # from the record (the step is not even in the list any more).
    monkeypatch.setattr(steps, "STEPS", steps.STEPS[:-1])
    (result,) = pipeline.build(show_root)
    assert result.value.unchanged and ("slot", warning.split(": warning: ")[1]) in result.value.warnings
    again = CliRunner().invoke(cli, ["--root", str(show_root), "build"])
    assert again.exit_code == 0 and warning in again.output.splitlines(), again.output
    assert "unchanged: 1 episode(s)" in again.output


class DiskFull(Slot):
    """A step that hits a full disk on one episode (not a podkit error)."""

    name = "diskfull-test"
    part_type = SlotPart

    def run(self, ctx: Context) -> SlotPart:
        if ctx.episode.slug == "second-episode":
            raise OSError(28, "No space left on device", str(ctx.work / "big.bin"))
        return super().run(ctx)


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_os_error_fails_one_episode_and_the_others_build(
        show_root: Path, monkeypatch: pytest.MonkeyPatch, jobs: int) -> None:
    import shutil
    second = show_root / "episodes" / "second-episode"
    shutil.copytree(show_root / "episodes" / "first-episode", second)
    toml = (second / "episode.toml").read_text("utf-8")
    (second / "episode.toml").write_text(toml.replace("number = 1", "number = 2"), "utf-8")
    monkeypatch.setattr(steps, "STEPS", (*steps.STEPS, DiskFull()))   # forked workers see it
    run = CliRunner().invoke(cli, ["--root", str(show_root), "build", "-j", str(jobs)])
    assert run.exit_code == 1, run.output
    assert "built first-episode:" in run.output
    failed = [ln for ln in run.output.splitlines() if ln.startswith("failed ")]
    assert failed == ["failed second-episode: "
                      f"{show_root}/build/stage/test-radio/episodes/second-episode/big.bin: "
                      "No space left on device"], run.output
    assert "Traceback" not in run.output
    cat = catalog.load(show_root)
    assert cat.record(cat.episodes[0]) is not None
    assert cat.record(next(e for e in cat.episodes if e.slug == "second-episode")) is None
