"""Apple Podcasts' category list, kept as data in `toolkit/data/apple_categories.json`."""
from __future__ import annotations

import functools
import json
from importlib import resources


@functools.lru_cache(maxsize=None)
def apple_categories() -> dict[str, tuple[str, ...]]:
    """Apple's categories mapped to their subcategories (case-sensitive names)."""
    data = json.loads(resources.files("toolkit").joinpath("data/apple_categories.json")
                      .read_text("utf-8"))
    return {k: tuple(v) for k, v in data.items() if not k.startswith("_")}


def check_category(name: str, sub: str | None = None) -> str | None:
    """None if (name, sub) is in Apple's list, else a message saying what is wrong and what is close."""
    cats = apple_categories()
    if name not in cats:
        close = [c for c in cats if c.lower() == name.lower()]
        hint = f" (did you mean {close[0]!r}? names are case-sensitive)" if close else ""
        return f"{name!r} is not an Apple Podcasts category{hint}"
    if sub is not None and sub not in cats[name]:
        choices = ", ".join(cats[name]) or "none"
        return f"{sub!r} is not a subcategory of {name!r} (choose from: {choices})"
    return None
