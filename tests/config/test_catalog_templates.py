"""The show's template overrides are part of every episode's inputs: read once per command.

A show made by `podkit init` has a templates/ folder; its digest went into each
episode's inputs by walking the folder again for every episode (2,000 walks per command
on a daily show's catalogue). Counted here through Python's audit events for os.scandir,
which every folder walk raises.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

from toolkit.config import catalog

_WATCHED: list[str] = []     # the folder whose listings are counted, while a test runs
_SEEN: list[str] = []


def _audit(event: str, args: tuple) -> None:
    # An audit hook cannot be removed: it only counts while a test watches a folder.
    if event == "os.scandir" and _WATCHED and args and str(args[0]).startswith(_WATCHED[0]):
        _SEEN.append(str(args[0]))


sys.addaudithook(_audit)


def _show_with_templates(root: Path, episodes: int) -> Path:
    (root / "templates" / "partials").mkdir(parents=True)
    (root / "templates" / "README.md").write_text("How to override podkit's templates.\n")
    (root / "templates" / "partials" / "note.txt").write_text("a partial\n")
    first = root / "episodes" / "first-episode"
    for n in range(2, episodes + 1):
        folder = root / "episodes" / f"episode-{n}"
        shutil.copytree(first, folder)
        toml = folder / "episode.toml"
        toml.write_text(toml.read_text().replace("number = 1", f"number = {n}"))
    return root


def test_the_templates_are_walked_once_for_all_episodes(show_root: Path) -> None:
    root = _show_with_templates(show_root, episodes=6)
    cat = catalog.load(root)
    assert len(cat.episodes) == 6 and not cat.errors, cat.errors
    _WATCHED.append(str(root / "templates"))
    try:
        list((root / "templates").rglob("*"))          # what one walk of the folder costs
        one_walk = len(_SEEN)
        _SEEN.clear()
        digests = {cat.inputs(ep).templates for ep in cat.episodes}
    finally:
        _WATCHED.clear()
    assert len(digests) == 1 and "" not in digests
    # One walk for the six episodes, not one each.
    assert one_walk and len(_SEEN) == one_walk, _SEEN


def test_a_template_edit_is_seen_by_the_next_command(show_root: Path) -> None:
    root = _show_with_templates(show_root, episodes=2)
    before = catalog.load(root)
    first = before.inputs(before.episodes[0]).templates
    (root / "templates" / "partials" / "note.txt").write_text("another partial\n")
    after = catalog.load(root)
    assert after.inputs(after.episodes[0]).templates != first
    assert {after.inputs(ep).templates for ep in after.episodes} == \
        {after.inputs(after.episodes[0]).templates}
