"""Loudness and encoding presets, kept as data in `toolkit/data/presets.toml`."""
from __future__ import annotations

import functools
import tomllib
from dataclasses import fields, replace
from importlib import resources
from typing import Any

from toolkit.errors import ConfigError
from toolkit.model import EncodingSettings, LoudnessTarget, Preset
from toolkit.standards import renditions

#: Keys a [loudness] override table may hold, and their types.
LOUDNESS_KEYS = {"integrated": float, "true_peak": float, "mono_integrated": float,
                 "max_lra": float, "levelling": bool}
#: Keys an [encoding] override table may hold, and their types (`renditions`, a list, and
#: its old boolean aliases `aac` and `wav` are read apart:
#: show.read_encoding and apply_overrides).
ENCODING_KEYS = {f.name: (int if f.type in ("int", "int | None") else bool if f.type == "bool" else float)
                 for f in fields(EncodingSettings) if f.name != "renditions"}


@functools.lru_cache(maxsize=None)
def _table() -> dict[str, dict[str, Any]]:
    text = resources.files("toolkit").joinpath("data/presets.toml").read_text("utf-8")
    return tomllib.loads(text)


def names() -> list[str]:
    """The names of the built-in presets."""
    return sorted(_table())


def describe(name: str) -> str:
    """A one-line description of a preset, for help texts and `podkit doctor`."""
    return str(_table()[name].get("description", name))


def get(name: str) -> Preset:
    """The built-in preset `name`; ConfigError listing the choices if unknown."""
    table = _table()
    if name not in table:
        raise ConfigError(f"unknown preset {name!r} (choose from {', '.join(names())})",
                          field="preset")
    data = dict(table[name])
    data.pop("description", None)
    return apply_overrides(Preset(name=name, loudness=LoudnessTarget(integrated=-16.0),
                                  encoding=EncodingSettings()), data, data)


def apply_overrides(preset: Preset, loudness: dict[str, Any], encoding: dict[str, Any]) -> Preset:
    """A copy of `preset` with the given loudness and encoding values replaced.

    Unknown keys are ignored here: callers validate their tables first (the loaders
    report unknown keys with the file and field).
    """
    lkw = {k: float(v) for k, v in loudness.items()
           if k in LOUDNESS_KEYS and k != "levelling" and v is not None}
    ekw = {k: v for k, v in encoding.items() if k in ENCODING_KEYS}
    listed = encoding.get("renditions")
    if listed is not None or any(encoding.get(k) is not None for k in renditions.ALIASES):
        base = tuple(listed) if listed is not None else preset.encoding.renditions
        ekw["renditions"] = renditions.normalized(base, aac=encoding.get("aac"),
                                                  wav=encoding.get("wav"))
    levelling = bool(loudness.get("levelling", preset.levelling))
    return replace(preset, loudness=replace(preset.loudness, **lkw),
                   encoding=replace(preset.encoding, **ekw), levelling=levelling)
