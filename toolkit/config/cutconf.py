"""Reads `[cuts.<name>]` tables (feed and episode) into `cutmodel.Cut`s (docs/radio.md).

    [cuts.air]                   # feeds/<id>.toml: every episode of the feed makes it
    preset = "ebu-r128"          # ebu-r128, atsc-a85, prss or podcast; or integrated/true_peak
    format = "wav"               # wav, mp2, flac
    name = "{cart}"              # the file name without extension
    slot = "9:30"
    fit = "bed"

An episode's `[cuts.air]` table overrides the feed's key by key (and may declare a
cut of its own); its top-level `cart`, `slot` and `kill_date` keys fill every cut that
does not set them. A part's `cuts = ["air"]` puts it only in the cuts named.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from toolkit.config.tomlread import Table
from toolkit.cutmodel import CUT_FORMATS, FIT_MODES, PODCAST, Cut
from toolkit.model import AudioPart

#: Named loudness targets: (integrated LUFS, true-peak ceiling dBTP, tolerance LU).
#: Sources: EBU R 128 (2023) s. 1-3 and EBU Tech 3343; ATSC A/85:2013 s. 5 and annex;
#: PRSS Content Delivery specifications (-24 LUFS +/-2 LU, -2 dBTP); Apple Podcasts
#: (podcasters.apple.com/support/893) for the podcast figure. docs/radio.md quotes each.
PRESETS: dict[str, tuple[float, float, float]] = {
    "ebu-r128": (-23.0, -1.0, 0.5),
    "atsc-a85": (-24.0, -2.0, 2.0),
    "prss": (-24.0, -2.0, 2.0),
    "podcast": (-16.0, -1.0, 1.0),
}
#: Template fields of `name` and `cart`, with sample values for checking a template.
_SAMPLE = {"cart": "KA0312", "slug": "slug", "cut": "air", "title": "title",
           "date": dt.datetime(2019, 3, 7, tzinfo=dt.timezone.utc)}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def sanitised(text: str, limit: int = 60) -> str:
    """A file-name-safe form of a title: ASCII letters, digits, '.', '_' and '-' only."""
    return _UNSAFE.sub("-", text).strip("-.")[:limit].rstrip("-.") or "untitled"


def expand(template: str, *, cart: str | None, slug: str, cut: str, title: str,
           date: dt.datetime) -> str:
    """A `name`/`cart` template filled in ({title} sanitised, {cart} the slug when unset)."""
    return template.format(cart=cart or slug, slug=slug, cut=cut, title=sanitised(title),
                           date=date)


def _template(ct: Table, key: str) -> str | None:
    text = ct.text(key)
    if text is None:
        return None
    try:
        sample = template_sample(text)
    except (KeyError, ValueError, IndexError, AttributeError) as exc:
        ct.error(key, f"bad template {text!r} ({exc.__class__.__name__}: {exc}); fields are "
                      "{cart} {slug} {cut} {title} {date:%Y%m%d}")
        return None
    if key == "name" and (not sample or sample != sanitised(sample, 200)):
        ct.error(key, f"{text!r} makes {sample!r}: a file name takes letters, digits, '.', '_' "
                      "and '-' only ({title} is sanitised)")
        return None
    return text


def template_sample(text: str) -> str:
    """`text` expanded with sample values (raises on an unknown field or a bad format)."""
    return text.format(**_SAMPLE)


def read_values(ct: Table) -> dict[str, Any]:
    """The keys one `[cuts.<name>]` table gives, checked, as Cut field values."""
    out: dict[str, Any] = {}
    preset = ct.text("preset")
    if preset is not None:
        if preset in PRESETS:
            out["preset"] = preset
            out["integrated"], out["true_peak"], out["tolerance"] = PRESETS[preset]
        else:
            ct.error("preset", f"unknown loudness preset {preset!r} (choose from "
                               f"{', '.join(PRESETS)})")
    for key, lo, hi in (("integrated", -40.0, -5.0), ("true_peak", -12.0, 0.0),
                        ("tolerance", 0.1, 3.0), ("max_gap_change", 0.0, 30.0)):
        value = ct.number(key, minimum=lo, maximum=hi)
        if value is not None:
            out[key] = value
    _one_of(ct, "format", ct.text("format"), CUT_FORMATS, out)
    for key, allowed in (("sample_rate", (32000, 44100, 48000, 96000)), ("bits", (16, 24)),
                         ("channels", (1, 2)), ("bitrate", (128, 160, 192, 224, 256, 320, 384))):
        _one_of(ct, key, ct.integer(key), allowed, out)
    out.update(_air_values(ct))
    return out


def _air_values(ct: Table) -> dict[str, Any]:
    """The cart, slot and file-name keys (shared by a cut table and the episode's top level)."""
    out: dict[str, Any] = {}
    for key in ("name", "cart"):
        value = _template(ct, key)
        if value is not None:
            out["filename" if key == "name" else key] = value
    for key in ("client", "category", "artist"):
        value = ct.text(key)
        if value is not None:
            out[key] = value
    out.update(_timing(ct))
    _one_of(ct, "fit", ct.text("fit"), FIT_MODES, out)
    return out


def _timing(t: Table) -> dict[str, Any]:
    """`kill_date`, `slot` and `slot_tolerance`, as a cut table or an episode gives them."""
    out: dict[str, Any] = {}
    kill = t.datetime("kill_date")
    if kill is not None:
        out["kill_date"] = kill
    for key in ("slot", "slot_tolerance"):
        value = t.time(key)
        if value is not None:
            out[key] = value
    return out


def _one_of(ct: Table, key: str, value: object, allowed: Sequence[object],
            out: dict[str, Any]) -> None:
    """`out[key] = value` when it is one of `allowed`; else an error naming them (nothing
    when the key is absent: `value` None)."""
    if value is None:
        return
    if value in allowed:
        out[key] = value
    else:
        ct.error(key, f"must be one of {', '.join(map(str, allowed))}, not {value!r}")


def read_tables(t: Table) -> dict[str, dict[str, Any]]:
    """Every `[cuts.<name>]` table of a feed or episode file: name -> given values."""
    cuts = t.table("cuts")
    if cuts is None:
        return {}
    out = {}
    for name in list(cuts.data):
        if name == PODCAST or not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,30}", name):
            cuts.error(name, "a cut's name is lowercase letters, digits and '-' (and not "
                             "'podcast': the podcast cut is what the feed publishes)")
            cuts.has(name)
            continue
        ct = cuts.table(name)
        if ct is not None:
            out[name] = read_values(ct)
            ct.finish()
    return out


def feed_cuts(t: Table) -> tuple[Cut, ...]:
    """A feed's cuts (its `[cuts.<name>]` tables)."""
    return tuple(Cut(name=name, **values) for name, values in read_tables(t).items())


def episode_top(t: Table) -> dict[str, Any]:
    """An episode's top-level `cart`, `slot`, `slot_tolerance` and `kill_date` keys."""
    out: dict[str, Any] = {}
    cart = _template(t, "cart")
    if cart is not None:
        out["cart"] = cart
    out.update(_timing(t))
    return out


def episode_cuts(t: Table, feed: tuple[Cut, ...], top: dict[str, Any],
                 parts: tuple[AudioPart, ...]) -> tuple[Cut, ...]:
    """The episode's cuts: the feed's with the episode's tables and top-level keys on top.

    A part naming an unknown cut is an error on `parts`.
    """
    own = read_tables(t)
    cuts = {c.name: c for c in feed}
    for name, values in own.items():
        cuts[name] = replace(cuts[name], **values) if name in cuts else Cut(name=name, **values)
    for name, cut in list(cuts.items()):
        # Top-level keys fill what the episode's own table for the cut does not set.
        fill = {k: v for k, v in top.items() if k not in own.get(name, {})}
        cuts[name] = replace(cut, **fill)
    if not cuts:
        for key in top:     # cart, slot, kill_date fill cuts: with none they would do nothing
            t.error(key, "applies to the episode's cuts, and it has none: declare one "
                         "([cuts.air], docs/radio.md); the podcast's own slot is max_duration")
    known = {PODCAST, *cuts}
    for name in cuts:
        if parts and not any(not p.cuts or name in p.cuts for p in parts):
            t.error(f"cuts.{name}", f"no part is in the {name} cut (every part names other cuts)")
    for i, part in enumerate(parts):
        for name in part.cuts:
            if name not in known:
                t.error(f"parts[{i}].cuts", f"no cut {name!r} (declared: "
                                            f"{', '.join(sorted(known))})")
    return tuple(cuts[k] for k in sorted(cuts))
