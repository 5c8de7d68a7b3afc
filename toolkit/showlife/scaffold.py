"""`podkit new`: scaffold an episode folder from the show's `episode.toml.j2` template."""
from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.config.episode import EPISODE_FILE, TRANSCRIPT_EXT, episode_folders
from toolkit.config import tomlread
from toolkit.config.tomlread import parse_toml
from toolkit.crosscheck import load_catalog
from toolkit.errors import ConfigError, Problem, ProblemsError
from toolkit.fsutil import kind_problem, os_problem, write_text
from toolkit.model import is_slug
from toolkit.site import notes

if TYPE_CHECKING:
    from toolkit.config.catalog import Catalog

log = logging.getLogger(__name__)


def new_episode(root: Path, slug: str, *, feed_id: str | None = None, title: str | None = None,
                now: dt.datetime | None = None, audio: Path | tuple[Path, ...] | None = None,
                transcripts: tuple[Path, ...] = (), date: dt.datetime | None = None,
                draft: bool = True, bed: Path | None = None) -> Path:
    """Create `episodes/<slug>/episode.toml`; never overwrite an existing folder.

    With `audio` (one file, or several: ordered `[[parts]]`, each titled from its file
    name), `bed` (a music bed under the first part) and `transcripts`, copies those
    files into the episode folder (the originals are only read) and the episode.toml
    points at them. In a show with seasons the episode joins the current (highest)
    season and is numbered within it. The folder is made under a hidden name and
    renamed into place whole, so a failed copy leaves nothing.
    """
    if not is_slug(slug):
        raise ConfigError(f"{slug!r} is not a valid slug: use lowercase ASCII letters, digits "
                          "and single hyphens, e.g. 2024-05-interview", field="slug")
    if title is not None:
        text_problem = tomlread.text_problem(title)
        if text_problem:
            # Written into episode.toml, it would make a file `check` then refuses.
            raise ConfigError(text_problem, field="--title")
    folder = root / "episodes" / slug
    if folder.exists():
        raise ConfigError("already exists; podkit never overwrites an episode", path=folder)
    audios = (audio,) if isinstance(audio, Path) else tuple(audio or ())
    sources = _sources(audios, transcripts, bed)
    cat = load_catalog(root, probe_media=False)
    feed_id = _pick_feed(root, cat, feed_id)
    season, last = _current_season(root, feed_id)
    number = last + 1
    now = now or dt.datetime.now(dt.timezone.utc).astimezone()
    when = (date or now).replace(microsecond=0)
    if when.tzinfo is None:
        raise ConfigError("needs a time zone, e.g. 2025-06-01T09:00:00+02:00", field="date")
    language = cat.shows[feed_id].language
    templates = root / "templates"
    # One file stays `audio = ...` (as before); several, or a bed, need ordered parts.
    parts = [{"file": a.name, "title": _part_title(a), "bed": ""} for a in audios] \
        if len(audios) > 1 or bed is not None else []
    if parts and bed is not None:
        parts[0]["bed"] = bed.name

    def render(number: int, season: int | None) -> str:
        return notes.render_scaffold(
            templates if templates.is_dir() else None, slug=slug, feed=feed_id, title=title,
            date=when, number=number, audio=audios[0].name if len(audios) == 1 else None,
            transcripts=[{"file": t.name, "language": language} for t in transcripts],
            draft=draft, parts=parts, season=season)
    text = render(number, season)
    if season is not None and tomllib.loads(text).get("season") != season:
        # A show's own older template that does not write the season: a number within
        # the season would then collide with another season's, so count across the show.
        log.warning("%s does not use the `season` variable: numbering across seasons",
                    templates / "episode.toml.j2")
        text = render(_highest_number(root, feed_id) + 1, None)
    if audios:
        _check_points_at(text, [a.name for a in audios], bed.name if bed else None, templates)
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


def _part_title(path: Path) -> str:
    """A part's title (its chapter) from its file name: interview-take2.wav -> Interview take2."""
    words = " ".join(path.stem.replace("_", " ").replace("-", " ").split())
    return words[:1].upper() + words[1:] if words else path.name


def _sources(audio: tuple[Path, ...], transcripts: tuple[Path, ...],
             bed: Path | None = None) -> list[Path]:
    """The files `new` copies, checked before anything is written: regular, distinct names."""
    if transcripts and not audio:
        raise ConfigError("a transcript needs the audio too: add --audio FILE", field="transcript")
    if bed is not None and not audio:
        raise ConfigError("a bed plays under a part: add --audio FILE", field="bed")
    sources = list(audio) + ([bed] if bed else []) + list(transcripts)
    option = ["audio"] * len(audio) + ["bed"] * bool(bed) + ["transcript"] * len(transcripts)
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
            raise ConfigError(f"two sources are called {name!r}: rename one",
                              field=option[names.index(name)])
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


def _check_points_at(text: str, audio: list[str], bed: str | None, templates: Path) -> None:
    """Refuse a scaffold (a show's own older episode.toml.j2) that ignores the audio given."""
    data = tomllib.loads(text)
    parts = [p for p in data.get("parts", []) if isinstance(p, dict)]
    files = [p.get("file") for p in parts]
    if len(audio) == 1 and bed is None and data.get("audio") == audio[0]:
        return
    if files[:len(audio)] != audio or (bed is not None and parts[0].get("bed") != bed):
        variable = "audio" if len(audio) == 1 and bed is None else "parts"
        raise ConfigError(f"does not use the `{variable}` variable, so the episode would not point "
                          "at the audio given: see podkit's default episode.toml.j2",
                          path=templates / "episode.toml.j2", field=variable)


def _positive(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _highest_number(root: Path, feed_id: str) -> int:
    """The highest `number` any episode folder of `feed_id` holds, whatever its season."""
    highest = 0
    for folder in episode_folders(root):
        data = parse_toml(folder / EPISODE_FILE, [], "") if (folder / EPISODE_FILE).exists() else None
        if (data or {}).get("feed") == feed_id:
            highest = max(highest, _positive(data.get("number")) or 0)
    return highest


def _current_season(root: Path, feed_id: str) -> tuple[int | None, int]:
    """(the current season, the highest `number` within it; 0 if none) of `feed_id`.

    The current season is the highest `season` any episode holds (None when no episode
    has one: then numbers count across the show). Episodes without a season are not in
    it, so a trailer or the pre-season episodes do not push the numbering on. Read from
    the TOML as written, not from the catalogue: an episode scaffolded a moment ago has
    no audio yet, so it is not a valid episode, but its number is taken.
    """
    found: list[tuple[int | None, int | None]] = []
    for folder in episode_folders(root):
        data = parse_toml(folder / EPISODE_FILE, [], "") if (folder / EPISODE_FILE).exists() else None
        if (data or {}).get("feed") == feed_id:
            found.append((_positive(data.get("season")), _positive(data.get("number"))))
    season = max((s for s, _ in found if s is not None), default=None)
    return season, max((n for s, n in found if s == season and n is not None), default=0)
