"""One dataclass <-> JSON codec for everything podkit saves: build records, cache results.

    data = codec.dump(record, base=root)       # plain JSON-ready dicts and lists
    record = codec.load(EpisodeRecord, data, base=root)

Types are read from the dataclasses' annotations, so a record is written and read back
by the same description: nested dataclasses, tuples, dicts, enums, datetimes, paths and
`X | None`. Paths under `base` are stored relative to it (the show folder may move);
non-finite floats (the loudness of silence) are stored as the strings "inf", "-inf" and
"nan" because JSON has no such numbers. Stdlib only, no I/O.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import math
import types
import typing
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

T = TypeVar("T")


class CodecError(ValueError):
    """Saved data that does not fit the dataclass it is read into (a damaged or older file)."""


@cache
def _hints(cls: type) -> dict[str, Any]:
    # Resolved once per class: every module here uses `from __future__ import annotations`.
    return typing.get_type_hints(cls)


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
    """Read `data` (as `dump` wrote it) back into `cls`; CodecError when it does not fit."""
    return _load(cls, data, base, cls.__name__)


def _load(tp: Any, data: Any, base: Path | None, where: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if data is None and type(None) in args:
            return None
        for arg in args:
            if arg is not type(None):
                return _load(arg, data, base, where)
    if dataclasses.is_dataclass(tp):
        if not isinstance(data, dict):
            raise CodecError(f"{where}: expected an object")
        hints = _hints(tp)
        kwargs = {}
        for f in dataclasses.fields(tp):
            if f.name in data:
                kwargs[f.name] = _load(hints[f.name], data[f.name], base, f"{where}.{f.name}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise CodecError(f"{where}.{f.name}: missing")
        return tp(**kwargs)
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(data, list):
            raise CodecError(f"{where}: expected a list")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_load(args[0], v, base, f"{where}[{i}]") for i, v in enumerate(data))
        return tuple(_load(a, v, base, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, data)))
    if origin is dict:
        key_t, val_t = typing.get_args(tp)
        if not isinstance(data, dict):
            raise CodecError(f"{where}: expected an object")
        return {_load(key_t, k, base, where): _load(val_t, v, base, f"{where}[{k}]")
                for k, v in data.items()}
    if origin is list:
        (item_t,) = typing.get_args(tp)
        return [_load(item_t, v, base, f"{where}[{i}]") for i, v in enumerate(data or [])]
    return _scalar(tp, data, base, where)


def _scalar(tp: Any, data: Any, base: Path | None, where: str) -> Any:
    try:
        if tp is Any:
            return data
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return tp(data)
        if tp is float:
            if isinstance(data, bool):
                raise TypeError
            return float(data)      # also "inf", "-inf", "nan" as dump wrote them
        if tp is bool:
            if not isinstance(data, bool):
                raise TypeError
            return data
        if tp is int:
            if isinstance(data, bool) or not isinstance(data, int):
                raise TypeError
            return data
        if tp is str:
            if not isinstance(data, str):
                raise TypeError
            return data
        if tp is dt.datetime:
            return dt.datetime.fromisoformat(data)
        if tp is Path:
            path = Path(data)
            return path if path.is_absolute() or base is None else base / path
    except (TypeError, ValueError):
        raise CodecError(f"{where}: {data!r} is not a {getattr(tp, '__name__', tp)}") from None
    raise TypeError(f"cannot decode into {tp!r}")
