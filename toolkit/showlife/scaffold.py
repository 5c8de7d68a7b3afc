"""`podkit new`: scaffold an episode folder from the show's `episode.toml.j2` template."""
from __future__ import annotations

import datetime as dt
import os
import shutil
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.config.episode import EPISODE_FILE, TRANSCRIPT_EXT, episode_folders
from toolkit.config.tomlread import parse_toml
from toolkit.crosscheck import load_catalog
from toolkit.errors import ConfigError, Problem, ProblemsError
from toolkit.fsutil import kind_problem, os_problem, write_text
from toolkit.model import is_slug
from toolkit.site import notes

if TYPE_CHECKING:
    from toolkit.config.catalog import Catalog


def new_episode(root: Path, slug: str, *, feed_id: str | None = None, title: str | None = None,
                now: dt.datetime | None = None, audio: Path | None = None,
                transcripts: tuple[Path, ...] = (), date: dt.datetime | None = None,
                draft: bool = True) -> Path:
    """Create `episodes/<slug>/episode.toml`; never overwrite an existing folder.

    With `audio` (and `transcripts`), copies those files into the episode folder (the
    originals are only read) and the episode.toml points at them. The folder is made
    under a hidden name and renamed into place whole, so a failed copy leaves nothing.
    """
    if not is_slug(slug):
        raise ConfigError(f"{slug!r} is not a valid slug: use lowercase ASCII letters, digits "
                          "and single hyphens, e.g. 2024-05-interview", field="slug")
    folder = root / "episodes" / slug
    if folder.exists():
        raise ConfigError("already exists; podkit never overwrites an episode", path=folder)
    sources = _sources(audio, transcripts)
    cat = load_catalog(root, probe_media=False)
    feed_id = _pick_feed(root, cat, feed_id)
    number = _last_number(root, feed_id) + 1
    now = now or dt.datetime.now(dt.timezone.utc).astimezone()
    when = (date or now).replace(microsecond=0)
    if when.tzinfo is None:
        raise ConfigError("needs a time zone, e.g. 2025-06-01T09:00:00+02:00", field="date")
    language = cat.shows[feed_id].language
    templates = root / "templates"
    text = notes.render_scaffold(
        templates if templates.is_dir() else None, slug=slug, feed=feed_id, title=title,
        date=when, number=number, audio=audio.name if audio else None,
        transcripts=[{"file": t.name, "language": language} for t in transcripts], draft=draft)
    if audio is not None:
        _check_points_at(text, audio.name, templates)
    episodes = root / "episodes"
    episodes.mkdir(parents=True, exist_ok=True)
    # A hidden work folder (episode_folders skips dot names), renamed into place whole.
    work = episodes / f".new-{slug}.{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)     # left by a killed `new` of this process id
    work.mkdir()                                # (mkdir honours the umask; mkdtemp is 0700)
    try:
        for src in sources:
            shutil.copyfile(src, work / src.name)
        write_text(work / EPISODE_FILE, text)
        try:
            os.rename(work, folder)     # fails if the folder appeared meanwhile
        except OSError:
            raise ConfigError("already exists; podkit never overwrites an episode",
                              path=folder) from None
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return folder / EPISODE_FILE


def _sources(audio: Path | None, transcripts: tuple[Path, ...]) -> list[Path]:
    """The files `new` copies, checked before anything is written: regular, distinct names."""
    if transcripts and audio is None:
        raise ConfigError("a transcript needs the audio too: add --audio FILE", field="transcript")
    sources = ([audio] if audio else []) + list(transcripts)
    option = ["audio"] * bool(audio) + ["transcript"] * len(transcripts)
    for src, opt in zip(sources, option):
        try:
            problem = kind_problem(os.stat(src).st_mode)
        except OSError as exc:
            problem = os_problem(exc)
        if problem:
            raise ConfigError(problem, path=src, field=opt)
        if src.name == EPISODE_FILE:
            raise ConfigError(f"a source may not be called {EPISODE_FILE}", path=src, field=opt)
    names = [s.name for s in sources]
    for name in set(names):
        if names.count(name) > 1:
            raise ConfigError(f"two sources are called {name!r}: rename one", field="transcript")
    for t in transcripts:
        if t.suffix.lower() not in TRANSCRIPT_EXT:
            raise ConfigError("unknown transcript type: name it .txt, .srt, .vtt or .json",
                              path=t, field="transcript")
    return sources


def _pick_feed(root: Path, cat: Catalog, feed_id: str | None) -> str:
    """The feed a new episode belongs to: the one named, else the only one there is."""
    if feed_id is not None:
        if feed_id not in cat.shows:
            raise ConfigError(f"no valid feed {feed_id!r} (see `podkit check`)", field="feed")
        return feed_id
    files = sorted((root / "feeds").glob("*.toml")) if (root / "feeds").is_dir() else []
    if not files:
        raise ConfigError("no feed here: start the show with `podkit init` (or use --root)",
                          path=root / "feeds", field="feed")
    if len(files) == 1 and not cat.shows:
        # The one feed does not load: its own problems say why, not "choose a feed".
        raise ProblemsError([p for p in cat.errors if p.path.startswith("feeds/")]
                            or [Problem(f"feeds/{files[0].name}", "", "does not load")])
    if len(cat.shows) != 1:
        raise ConfigError("choose the feed with --feed "
                          f"({', '.join(sorted(cat.shows)) or 'no valid feed'})", field="feed")
    return next(iter(cat.shows))


def _check_points_at(text: str, audio: str, templates: Path) -> None:
    """Refuse a scaffold (a show's own older episode.toml.j2) that ignores `audio`."""
    data = tomllib.loads(text)
    if data.get("audio") != audio and audio not in [p.get("file") for p in data.get("parts", [])]:
        raise ConfigError("does not use the `audio` variable, so the episode would not point at "
                          "the audio: add `audio = {{ audio|toml }}` (see podkit's default)",
                          path=templates / "episode.toml.j2", field="audio")


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
