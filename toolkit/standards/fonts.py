"""The DejaVu fonts podkit draws text with: the QC picture (regular) and the video clips
(bold). They come in matplotlib's package data, a dependency already; found here without
importing matplotlib (a 0.2 s import), with the characters each one can draw.
"""
from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

REGULAR = "DejaVuSans.ttf"
BOLD = "DejaVuSans-Bold.ttf"


def path(file: str) -> Path:
    """The font file `file` (REGULAR or BOLD) in matplotlib's package data."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("matplotlib (which ships podkit's fonts) is not installed")
    return Path(spec.submodule_search_locations[0], "mpl-data", "fonts", "ttf", file)


@functools.lru_cache(maxsize=None)
def charmap(file: str) -> frozenset[int]:
    """Code points font `file` can draw (its best Unicode cmap)."""
    from fontTools.ttLib import TTFont   # 50 ms; only when a text is not plain ASCII
    with TTFont(path(file), lazy=True) as ttf:
        return frozenset(ttf.getBestCmap())
