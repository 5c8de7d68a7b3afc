"""`podkit new`: scaffold an episode folder from the show's `episode.toml.j2` template."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from toolkit import notes
from toolkit.check import load_catalog
from toolkit.episode import EPISODE_FILE, episode_folders
from toolkit.errors import ConfigError
from toolkit.fsutil import write_text
from toolkit.model import is_slug
from toolkit.tomlread import parse_toml


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
    number = _last_number(root, feed_id) + 1
    now = now or dt.datetime.now(dt.timezone.utc).astimezone()
    templates = root / "templates"
    text = notes.render_scaffold(templates if templates.is_dir() else None, slug=slug,
                                 feed=feed_id, title=title, date=now.replace(microsecond=0),
                                 number=number)
    write_text(folder / EPISODE_FILE, text)
    return folder / EPISODE_FILE



def _last_number(root: Path, feed_id: str) -> int:
    """The highest `number` any episode folder of `feed_id` holds (0 if none).

    Read from the TOML as written, not from the catalogue: an episode scaffolded a moment
    ago has no audio yet, so it is not a valid episode, but its number is taken.
    """
    highest = 0
    for folder in episode_folders(root):
        data = parse_toml(folder / EPISODE_FILE, [], "") if (folder / EPISODE_FILE).exists() else None
        number = (data or {}).get("number")
        if (data or {}).get("feed") == feed_id and isinstance(number, int) \
                and not isinstance(number, bool):
            highest = max(highest, number)
    return highest
