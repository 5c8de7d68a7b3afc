"""Feeds that share a publish target: refused unless their keys cannot collide.

Every feed's site has the same top-level names (`feed.xml`, `index.html`, `archive.html`,
a cover, `episodes/<slug>/`), so two feeds publishing into one bucket and prefix, or one
folder, overwrite each other's feed and pages. Nested targets are fine as long as the
inner one does not lie inside the outer one's `episodes/` (where its slugs could
collide): `shows/` and `shows/extra/` can live together, `shows/` and
`shows/episodes/x/` cannot. `podkit check` lists these problems and `podkit publish`
refuses them; each line names both feed files and the field to change.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from toolkit.config.show import display
from toolkit.errors import Problem
from toolkit.model import Show, TargetKind

#: Site folders whose contents are keyed by names another feed could also use.
SHARED_FOLDERS = frozenset({"episodes"})


def _where(show: Show) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """(the store, the path segments inside it, how messages name it)."""
    t = show.publish
    if t.kind is TargetKind.S3:
        prefix = tuple(p for p in (t.prefix or "").split("/") if p)
        store = ("s3", (t.endpoint_url or "").rstrip("/").lower(), (t.bucket or "").lower())
        return store, prefix, f"s3://{t.bucket}/{'/'.join(prefix) + '/' if prefix else ''}"
    folder = Path(t.directory).resolve() if t.directory else Path()
    return ("local",), folder.parts, f"{folder}/"


def _collide(inner: tuple[str, ...], outer: tuple[str, ...]) -> bool:
    """True when a feed at `inner` can write keys a feed at `outer` also writes."""
    if inner[:len(outer)] != outer:
        return False
    rest = inner[len(outer):]
    return not rest or rest[0] in SHARED_FOLDERS


def problems(shows: Iterable[Show], root: Path, among: set[str] | None = None) -> list[Problem]:
    """One problem per pair of feeds whose publish targets collide, on the later feed file
    (with `among`, only pairs that involve one of those feed ids)."""
    placed = [(show, *_where(show)) for show in sorted(shows, key=lambda s: s.id)]
    out = []
    for i, (show, store, parts, shown) in enumerate(placed):
        for other, o_store, o_parts, o_shown in placed[:i]:
            if store != o_store or not (_collide(parts, o_parts) or _collide(o_parts, parts)):
                continue
            if among is not None and not {show.id, other.id} & among:
                continue
            field = "publish.prefix" if show.publish.kind is TargetKind.S3 else "publish.directory"
            theirs = display(other.path, root)
            if parts == o_parts:
                what = f"the same publish target as {theirs} ({shown})"
            else:
                inner, outer = (shown, o_shown) if len(parts) > len(o_parts) else (o_shown, shown)
                what = (f"a publish target overlapping that of {theirs} ({inner} lies in the "
                        f"episodes/ folder of {outer})")
            out.append(Problem(display(show.path, root), field,
                               f"{what}: their feed.xml, pages and episodes would overwrite each "
                               "other and --delete could remove the other feed's files; give "
                               "each feed its own prefix or folder"))
    return out
