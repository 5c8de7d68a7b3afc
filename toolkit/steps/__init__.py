"""The episode build as a list of steps, in the order the data flows.

    STEPS = (Audio(), Transcripts(), Chapters(), Tags(), Notes(), Page(), Cuts(), Cue())

`toolkit.episode_build.build_episode` makes a `Context` (the job, the work folders,
what earlier steps produced) and runs each step that `applies` to it; each step returns
its own typed part of the build record (`toolkit.store.parts`), kept under its `name`.
Adding a step is one new module here (a `Step` subclass with its part type) and one
entry in `STEPS`: the record, the build summary and `podkit status` take its part and
its warnings as they come. See docs/architecture.md, "Adding a build step".
"""
from __future__ import annotations

from toolkit.steps.audio import Audio
from toolkit.steps.base import BuildSettings, Context, EpisodeJob, Step
from toolkit.steps.chapters import Chapters
from toolkit.steps.cuesheet import Cue
from toolkit.steps.cuts import Cuts
from toolkit.steps.notes import Notes, Page
from toolkit.steps.tags import Tags
from toolkit.steps.transcripts import Transcripts

__all__ = ["STEPS", "BuildSettings", "Context", "EpisodeJob", "Step", "warnings"]

#: The build, in order. Each entry's part is kept in the record under its name.
STEPS: tuple[Step, ...] = (Audio(), Transcripts(), Chapters(), Tags(), Notes(), Page(), Cuts(),
                           Cue())


def warnings(parts: dict[str, object]) -> tuple[tuple[str, str], ...]:
    """What each step's part warns of, as (topic, message), in step order."""
    out: list[tuple[str, str]] = []
    for step in STEPS:
        if step.name in parts:
            out += [(step.topic, message) for message in step.warnings(parts[step.name])]
    return tuple(out)
