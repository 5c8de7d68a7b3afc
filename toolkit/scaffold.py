"""`podkit new`: scaffold an episode folder from the show's `episode.toml.j2` template."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from toolkit import notes
from toolkit.check import load_catalog
from toolkit.episode import EPISODE_FILE
from toolkit.errors import ConfigError
from toolkit.fsutil import write_text
from toolkit.model import is_slug


def new_episode(root: Path, slug: str, *, feed_id: str | None = None, title: str | None = None,
                now: dt.datetime | None = None) -> Path:
    """Create `episodes/<slug>/episode.toml`; never overwrite an existing folder."""
    if not is_slug(slug):
        raise ConfigError(f"{slug!r} is not a valid slug: use lowercase ASCII letters, digits "
                          "and single hyphens, e.g. 2024-05-interview", field="slug")
    folder = root / "episodes" / slug
    if folder.exists():
        raise ConfigError("already exists; podkit never overwrites an episode", path=folder)
    cat = load_catalog(root, probe_media=False)
    if feed_id is None:
        if len(cat.shows) != 1:
            raise ConfigError("choose the feed with --feed "
                              f"({', '.join(sorted(cat.shows)) or 'no valid feed'})", field="feed")
        feed_id = next(iter(cat.shows))
    elif feed_id not in cat.shows:
        raise ConfigError(f"no valid feed {feed_id!r} (see `podkit check`)", field="feed")
    number = max((e.number or 0 for e in cat.episodes_of(feed_id)), default=0) + 1
    now = now or dt.datetime.now(dt.timezone.utc).astimezone()
    templates = root / "templates"
    text = notes.render_scaffold(templates if templates.is_dir() else None, slug=slug,
                                 feed=feed_id, title=title, date=now.replace(microsecond=0),
                                 number=number)
    write_text(folder / EPISODE_FILE, text)
    return folder / EPISODE_FILE

