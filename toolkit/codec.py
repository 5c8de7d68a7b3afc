"""One dataclass <-> JSON codec for everything podkit saves: build records, cache results.

    data = codec.dump(record, base=root)       # plain JSON-ready dicts and lists
    record = codec.load(EpisodeRecord, data, base=root)
    record = codec.decode(EpisodeRecord, json_bytes, base=root)   # the fast way

Types are read from the dataclasses' annotations, so a record is written and read back
by the same description: nested dataclasses, tuples, dicts, enums, datetimes, paths and
`X | None`. Paths under `base` are stored relative to it (the show folder may move);
non-finite floats (the loudness of silence) are stored as the strings "inf", "-inf" and
"nan" because JSON has no such numbers. Reading goes through msgspec, which decodes
JSON into typed objects in C (a 2,000-episode catalogue reads ~500,000 values per
command); writing stays here, sorted and byte-stable. No I/O.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import math
from collections.abc import Callable
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, TypeVar

import msgspec

T = TypeVar("T")


class CodecError(ValueError):
    """Saved data that does not fit the dataclass it is read into (a damaged or older file)."""


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def dump(value: Any, *, base: Path | None = None) -> Any:
    """`value` as JSON-ready data (dicts, lists, str, int, float, bool, None)."""
    # The common leaves first: a 2,000-episode catalogue dumps ~100,000 values per command.
    if value is None or isinstance(value, (str, bool, int)) and not isinstance(value, enum.Enum):
        return value
    cls = type(value)
    if hasattr(cls, "__dataclass_fields__"):
        return {name: dump(getattr(value, name), base=base) for name in _field_names(cls)}
    if isinstance(value, (list, tuple)):
        return [dump(v, base=base) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Path):
        text = str(value)
        if base is not None:
            prefix = str(base).rstrip("/") + "/"
            if text.startswith(prefix):
                return text[len(prefix):]          # POSIX paths: already with slashes
        return text
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): dump(v, base=base) for k, v in value.items()}
    raise TypeError(f"cannot encode {type(value).__name__}")


def load(cls: type[T], data: Any, *, base: Path | None = None) -> T:
    """Read `data` (as `dump` wrote it, parsed) back into `cls`; CodecError when it does not fit."""
    try:
        return msgspec.convert(data, cls, dec_hook=_hook(base), strict=False)
    except msgspec.ValidationError as exc:
        raise CodecError(_message(cls, exc)) from None


def decode(cls: type[T], raw: bytes, *, base: Path | None = None) -> T:
    """Read JSON text `raw` (as `dump` wrote it) straight into `cls` (msgspec: no dicts in
    between); CodecError when it does not fit, ValueError when it is not JSON."""
    try:
        return _decoder(cls, base).decode(raw)
    except msgspec.ValidationError as exc:
        raise CodecError(_message(cls, exc)) from None
    except msgspec.DecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None


@cache
def _decoder(cls: type, base: Path | None) -> msgspec.json.Decoder:
    # Lax: non-finite floats are stored as the strings "inf", "-inf", "nan" (see dump).
    return msgspec.json.Decoder(cls, dec_hook=_hook(base), strict=False)


@cache
def _hook(base: Path | None) -> Callable[[type, Any], Any]:
    """msgspec's hook for the one type it does not know: paths, relative ones under `base`."""
    # A record's paths share a few folders (its episode's): joining a file name to a
    # folder met before costs about half of parsing the whole relative path again, and a
    # 2,000-episode catalogue decodes some 20,000 paths per command.
    @lru_cache(maxsize=4096)
    def folder(rel: str) -> Path:
        return base / rel if base is not None else Path(rel)

    def hook(tp: type, obj: Any) -> Any:
        if tp is Path and isinstance(obj, str):
            if base is None or obj.startswith("/"):
                return Path(obj)
            parent, _, name = obj.rpartition("/")
            return folder(parent) / name if parent and name not in ("", ".", "..") else base / obj
        raise NotImplementedError(f"cannot decode into {tp!r}")
    return hook


def _message(cls: type, exc: msgspec.ValidationError) -> str:
    """msgspec's "Expected `int`, got `str` - at `$.audio.size`" as "Record.audio.size: ..."."""
    text, _, where = str(exc).partition(" - at `")
    where = cls.__name__ + where.rstrip("`").removeprefix("$")
    missing = text.removeprefix("Object missing required field `")
    if missing != text:
        return f"{where}.{missing.rstrip('`')}: missing"
    return f"{where}: {text.replace('`', '')}"
