"""`podkit new`: scaffold an episode folder from the show's `episode.toml.j2` template."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from toolkit.errors import ConfigError, Problem
from toolkit.episode import EPISODE_FILE, episode_folders
from toolkit.fsutil import write_text
from toolkit.model import is_slug
from toolkit.show import load_shows


def new_episode(root: Path, slug: str, *, feed_id: str | None = None, title: str | None = None,
                now: dt.datetime | None = None) -> Path:
    """Create `episodes/<slug>/episode.toml`; never overwrite an existing folder."""
    if not is_slug(slug):
        raise ConfigError(f"{slug!r} is not a valid slug: use lowercase ASCII letters, digits "
                          "and single hyphens, e.g. 2024-05-interview", field="slug")
    folder = root / "episodes" / slug
    if folder.exists():
        raise ConfigError("already exists; podkit never overwrites an episode", path=folder)
    problems: list[Problem] = []
    shows = {k: v for k, v in load_shows(root, problems).items() if v is not None}
    if feed_id is None:
        if len(shows) != 1:
            raise ConfigError(f"choose the feed with --feed ({', '.join(sorted(shows)) or 'none valid'})",
                              field="feed")
        feed_id = next(iter(shows))
    elif feed_id not in shows:
        raise ConfigError(f"no valid feed {feed_id!r} (see `podkit check`)", field="feed")
    numbers = []
    for other in episode_folders(root):
        text = (other / EPISODE_FILE).read_text("utf-8", "replace") if (other / EPISODE_FILE).is_file() else ""
        for line in text.splitlines():
            if line.startswith("number") and "=" in line:
                try:
                    numbers.append(int(line.split("=", 1)[1].split("#")[0]))
                except ValueError:
                    pass
    now = now or dt.datetime.now(dt.timezone.utc).astimezone()
    text = _render(root, slug=slug, feed=feed_id, title=title or slug.replace("-", " ").capitalize(),
                                 date=now.replace(microsecond=0).isoformat(),
                                 number=max(numbers, default=0) + 1)
    write_text(folder / EPISODE_FILE, text)
    return folder / EPISODE_FILE


def _render(root: Path, **values: object) -> str:
    """Render the scaffold template: the show's templates/ first, else podkit's default."""
    import jinja2
    loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(root / "templates")),
                                  jinja2.PackageLoader("toolkit", "templates")])
    env = jinja2.Environment(loader=loader, undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, autoescape=False)
    return env.get_template("episode.toml.j2").render(**values)
