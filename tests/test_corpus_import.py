"""Corpus: moving a show in: `passthrough` episodes and `podkit import` of other hosts' feeds.

CASES run the real `podkit` like the config corpus (one line, exit status, sources
untouched); ROWS are checked by their own tests in tests/test_import.py, which serve the
feeds and their media from a local HTTP server.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from corpus_support import EP, EP_TOML, Case, Line, Row, corpus_base, corpus_built, edit, run_case  # noqa: F401
from conftest import make_tone

ONE = "1 problem(s)"


def _one_file(name: str, extra: str):  # type: ignore[no-untyped-def]
    """A planter: the corpus episode as `audio = name` (an MP3 made here) with `extra` keys."""
    def plant(root: Path) -> None:
        if name.endswith(".mp3"):
            make_tone(root / EP / name, 2.0)
        text = (root / EP_TOML).read_text("utf-8").split("[[parts]]")[0]
        (root / EP_TOML).write_text(text + f'audio = "{name}"\n' + extra, "utf-8")
    return plant


def _mp3_episode(extra: str):  # type: ignore[no-untyped-def]
    """A planter: the corpus episode as one MP3 with `extra` keys."""
    return _one_file("master.mp3", extra)


def _aac_named_mp3(root: Path) -> None:
    make_tone(root / EP / "aac.m4a", 2.0)
    (root / EP / "aac.m4a").rename(root / EP / "master.mp3")
    text = (root / EP_TOML).read_text("utf-8").split("[[parts]]")[0]
    (root / EP_TOML).write_text(text + 'audio = "master.mp3"\npassthrough = true\n', "utf-8")


CASES = [
    Case("passthrough-parts", "`passthrough = true` with `[[parts]]`",
         lambda r: edit(r / EP_TOML, "number = 1", "number = 1\npassthrough = true"),
         "refused: parts are assembled and encoded",
         Line(EP_TOML, "passthrough", ("needs one MP3",)), summary=ONE),
    Case("passthrough-flac", "`passthrough = true` on `audio = \"intro.flac\"`",
         _one_file("intro.flac", "passthrough = true\n"),
         "refused: only an MP3 can be published without an encode",
         Line(EP_TOML, "passthrough", ("needs one MP3",)), summary=ONE),
    Case("keep-tags-alone", "`keep_tags = true` without passthrough",
         _mp3_episode("keep_tags = true\n"), "refused",
         Line(EP_TOML, "keep_tags", ("only with passthrough",)), summary=ONE),
    Case("passthrough-loudness", "`passthrough = true` with a `[loudness]` table",
         _mp3_episode("passthrough = true\n[loudness]\nintegrated = -19.0\n"),
         "warning: the target is not applied", Line(EP_TOML, "loudness", ("ignored",), warning=True,
                                                   stream="stdout"), exit=0, summary=None),
    Case("passthrough-aac-named-mp3", "`podkit build` of a passthrough `.mp3` holding AAC",
         _aac_named_mp3, "the episode fails; nothing re-encoded, nothing published",
         Line(EP_TOML, "passthrough", ("holds aac audio", "not MP3"), prefix="failed first-episode: ",
              absolute=True),
         command=("build",), built=True, summary="podkit: 1 of 1 episode(s) failed", process=True,
         checked="the last good build stays byte-identical"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_import_config_case(case: Case, corpus_base: Path, corpus_built: Path,
                            tmp_path: Path) -> None:
    run_case(case, corpus_built if case.built else corpus_base, tmp_path)


ROWS: list[Row] = []
