"""Reading the `processing` setting of a feed, an episode or a part (stdlib only).

Three spellings, all resolved to a `model.Processing` (docs/processing.md):

    processing = "speech"                        # every step with its defaults
    processing = ["highpass", "denoise"]         # the steps named, with their defaults
    processing = "none"   /   processing = []    # off (overrides the feed or episode)

    [processing]                                 # a table: steps (or preset) plus settings
    steps = ["highpass", "dehum", "denoise", "level"]
    highpass_hz = 80
    hum_hz = 50                                  # skip the 50/60 Hz detection
    denoise_db = 18

A part's setting replaces the episode's, the episode's replaces the feed's (whole,
not key by key: what a part says is all that applies to it).
"""
from __future__ import annotations

from typing import Any

from toolkit.config.tomlread import Table
from toolkit.model import AudioPart, Episode, Preset, Processing

STEPS = ("highpass", "dehum", "denoise", "level")
DEFAULT_HIGHPASS_HZ = 80.0
DEFAULT_DENOISE_DB = 18.0
#: What `processing = "speech"` turns on.
SPEECH = Processing(highpass_hz=DEFAULT_HIGHPASS_HZ, dehum=True, denoise_db=DEFAULT_DENOISE_DB,
                    level=True)
OFF = Processing()
_PRESETS = {"speech": STEPS, "none": ()}


def _from_steps(steps: tuple[str, ...], highpass_hz: float | None = None,
                hum_hz: float | None = None, denoise_db: float | None = None) -> Processing:
    return Processing(
        highpass_hz=(highpass_hz or DEFAULT_HIGHPASS_HZ) if "highpass" in steps else None,
        dehum="dehum" in steps, hum_hz=hum_hz if "dehum" in steps else None,
        denoise_db=(denoise_db or DEFAULT_DENOISE_DB) if "denoise" in steps else None,
        level="level" in steps)


def _steps(t: Table, key: str, value: Any) -> tuple[str, ...] | None:
    """The step names of a preset name or a list; None (and a problem) when invalid."""
    if isinstance(value, str):
        if value not in _PRESETS:
            t.error(key, f"unknown processing {value!r} (choose \"speech\", \"none\" or a list "
                         f"of steps: {', '.join(STEPS)})")
            return None
        return _PRESETS[value]
    if isinstance(value, list):
        bad = [v for v in value if v not in STEPS]
        if bad:
            t.error(key, f"unknown step {bad[0]!r} (steps: {', '.join(STEPS)})")
            return None
        return tuple(value)
    t.error(key, "must be \"speech\", \"none\", a list of steps or a table")
    return None


def read(t: Table, key: str = "processing") -> Processing | None:
    """The `processing` setting of table `t`; None when absent (or invalid: a problem is recorded)."""
    if not t.has(key):
        return None
    value = t.data[key]
    if not isinstance(value, dict):
        t.get(key, object)          # marks the key as read
        steps = _steps(t, key, value)
        return None if steps is None else _from_steps(steps)
    sub = t.table(key)
    assert sub is not None
    if sub.has("steps") and sub.has("preset"):
        sub.error("steps", "give steps or preset, not both")
    raw = sub.data.get("steps", sub.data.get("preset", "speech"))
    sub.get("steps", object)
    sub.get("preset", object)
    steps = _steps(sub, "steps" if sub.has("steps") else "preset", raw)
    highpass = sub.number("highpass_hz", minimum=20.0, maximum=300.0)
    hum = sub.number("hum_hz")
    if hum is not None and hum not in (50.0, 60.0):
        sub.error("hum_hz", f"must be 50 or 60 (the mains frequency), not {hum:g}")
        hum = None
    denoise = sub.number("denoise_db", minimum=3.0, maximum=40.0)
    sub.finish()
    if steps is None:
        return None
    return _from_steps(steps, highpass, hum, denoise)


def resolve(part: AudioPart, episode: Episode, preset: Preset) -> Processing:
    """The processing that applies to `part`: its own, else the episode's, else the feed's."""
    for candidate in (part.processing, episode.processing, preset.processing):
        if candidate is not None:
            return candidate
    return OFF
