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
from collections.abc import Callable
from functools import cache
from pathlib import Path
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
    try:
        return _decoder(cls)(data, base)
    except CodecError as exc:
        raise CodecError(f"{cls.__name__}.{exc}") from None


Decoder = Callable[[Any, "Path | None"], Any]


@cache
def _decoder(tp: Any) -> Decoder:
    """A function decoding data into `tp`, built once per type from its annotations.

    Reading 2,000 build records per command decodes ~500,000 values: the type analysis
    is done here once, not per value. Errors name the path to the value ("audio.size").
    """
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        inner = _decoder(args[0])
        if len(args) < len(typing.get_args(tp)):        # X | None
            return lambda d, b: None if d is None else inner(d, b)
        return inner
    if dataclasses.is_dataclass(tp):
        return _dataclass_decoder(tp)
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            item = _decoder(args[0])
            return lambda d, b: tuple(_each(item, _list(d), b))
        items = [_decoder(a) for a in args]
        return lambda d, b: tuple(dec(v, b) for dec, v in zip(items, _list(d)))
    if origin in (dict, list):
        return _container_decoder(origin, typing.get_args(tp))
    return _scalar_decoder(tp)


def _dataclass_decoder(tp: type) -> Decoder:
    hints = _hints(tp)
    fields = [(f.name, _decoder(hints[f.name]),
               f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
              for f in dataclasses.fields(tp)]

    def decode(d: Any, b: Path | None) -> Any:
        if not isinstance(d, dict):
            raise CodecError(": expected an object")
        kwargs = {}
        for name, dec, required in fields:
            if name in d:
                try:
                    kwargs[name] = dec(d[name], b)
                except CodecError as exc:
                    raise CodecError(_join(name, exc)) from None
            elif required:
                raise CodecError(f"{name}: missing")
        return tp(**kwargs)
    return decode


def _container_decoder(origin: Any, args: tuple) -> Decoder:
    if origin is list:
        item = _decoder(args[0])
        return lambda d, b: list(_each(item, _list(d), b))
    key, val = _decoder(args[0]), _decoder(args[1])

    def decode(d: Any, b: Path | None) -> Any:
        if not isinstance(d, dict):
            raise CodecError(": expected an object")
        out = {}
        for k, v in d.items():
            try:
                out[key(k, b)] = val(v, b)
            except CodecError as exc:
                raise CodecError(_join(f"[{k}]", exc)) from None
        return out
    return decode


def _join(prefix: str, exc: CodecError) -> str:
    """'audio' + '.size: ...' -> 'audio.size: ...'; a field name after an index gets a dot."""
    text = str(exc)
    return prefix + (text if text.startswith((".", "[", ":")) else "." + text)


def _list(d: Any) -> list:
    if not isinstance(d, list):
        raise CodecError(": expected a list")
    return d


def _each(dec: Decoder, items: list, b: Path | None) -> Any:
    for i, v in enumerate(items):
        try:
            yield dec(v, b)
        except CodecError as exc:
            raise CodecError(_join(f"[{i}]", exc)) from None


def _scalar_decoder(tp: Any) -> Decoder:
    if tp is Any:
        return lambda d, b: d
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _checked(tp, lambda d: tp(d))
    if tp in (int, bool, str):
        def exact(d: Any, b: Path | None) -> Any:
            if type(d) is not tp:       # bool is not an int here, nor an int a bool
                raise CodecError(f": {d!r} is not a {tp.__name__}")
            return d
        return exact
    if tp is float:
        return _checked(tp, decode_float)
    if tp is dt.datetime:
        return _checked(tp, dt.datetime.fromisoformat)
    if tp is Path:
        return lambda d, b: _path(d, b)
    raise TypeError(f"cannot decode into {tp!r}")


#: How `dump` tags the floats JSON has no number for (the loudness of silence is -inf).
NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def decode_float(d: Any) -> float:
    """A float as `dump` wrote it: a JSON number, or one of the NON_FINITE tags (only those:
    any other string is not a number, and a text field's "-inf" is never touched)."""
    if isinstance(d, (int, float)) and not isinstance(d, bool):
        return float(d)
    if isinstance(d, str) and d in NON_FINITE:
        return NON_FINITE[d]
    raise ValueError(f"{d!r} is not a number")


def _checked(tp: Any, convert: Callable[[Any], Any]) -> Decoder:
    def decode(d: Any, b: Path | None) -> Any:
        try:
            return convert(d)
        except (TypeError, ValueError):
            raise CodecError(f": {d!r} is not a {getattr(tp, '__name__', tp)}") from None
    return decode


def _path(d: Any, b: Path | None) -> Path:
    if not isinstance(d, str):
        raise CodecError(f": {d!r} is not a path")
    return Path(d) if b is None or d.startswith("/") else b / d
