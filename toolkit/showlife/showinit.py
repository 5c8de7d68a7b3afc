"""`podkit init`: start a show folder that `podkit check` accepts from the first minute.

    init_show(folder, ShowSettings(title=..., author=..., email=..., base_url=...))

writes, and never overwrites:

    feeds/<id>.toml      the feed, commented key by key (toolkit/data/init/feed.toml)
    feeds/<id>.jpg       a placeholder cover: 1400 px RGB JPEG with the title drawn
    templates/README.md  how to override podkit's templates
    .gitignore           build/
    Makefile             the producer's targets, calling the `podkit` on PATH

Everything is first written into a hidden staging folder and the feed is read back with
the same reader `podkit check` uses; only a feed that loads is moved into place, each
file with a hard link that fails if the name is taken (so nothing is ever overwritten,
even by a file that appeared meanwhile).
"""
from __future__ import annotations

import colorsys
import hashlib
import io
import json
import logging
import os
import shutil
import string
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from toolkit import fsutil
from toolkit.config.show import read_show
from toolkit.config.tomlread import text_problem
from toolkit.errors import ConfigError, Problem, ProblemsError, Severity
from toolkit.model import slugify
from toolkit.standards import artwork

log = logging.getLogger(__name__)

COVER_SIZE = 1400
#: Fonts tried in order for the placeholder cover; Pillow's own scalable font is the fallback.
FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
         "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
         "/usr/share/fonts/truetype/freefont/FreeSansBold.ttf")


@dataclass(frozen=True)
class ShowSettings:
    """What `podkit init` asks for; the rest of the feed gets a commented default."""

    title: str
    author: str
    email: str
    base_url: str                   # public https URL the published folder is served under
    feed_id: str | None = None      # default: the title as a slug
    language: str = "en"
    category: str = "Society & Culture"
    description: str | None = None  # default: "<title>, a podcast by <author>."
    link: str | None = None         # default: base_url (the published index page)
    explicit: bool = False


def _toml(value: str) -> str:
    # A TOML basic string: JSON's escapes are a subset TOML accepts.
    return json.dumps(value, ensure_ascii=False)


def _data(name: str) -> str:
    return resources.files("toolkit").joinpath("data", "init", name).read_text("utf-8")


def feed_toml(s: ShowSettings, feed_id: str) -> str:
    """The text of `feeds/<feed_id>.toml` for these settings."""
    base = s.base_url if s.base_url.endswith("/") else s.base_url + "/"
    description = s.description or f"{s.title}, a podcast by {s.author}."
    return string.Template(_data("feed.toml")).substitute(
        title_toml=_toml(s.title), description_toml=_toml(description),
        link_toml=_toml(s.link or base), language_toml=_toml(s.language),
        author_toml=_toml(s.author), explicit="true" if s.explicit else "false",
        category_toml=_toml(s.category), feed_id=feed_id, base_url_toml=_toml(base),
        feed_url_toml=_toml(base + "feed.xml"), email_toml=_toml(s.email))


# ---- the placeholder cover ----------------------------------------------------------------

def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in FONTS:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
          width: int) -> list[str]:
    """Greedy word wrap; a word wider than the line stays on a line of its own."""
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(f"{lines[-1]} {word}", font=font) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def cover_image(title: str, author: str = "") -> Image.Image:
    """A square RGB placeholder cover with the title drawn large, the author below.

    The colour comes from the title's hash, so two shows started on one machine do not
    look alike, and the same title always gives the same picture.
    """
    hue = hashlib.sha256(title.encode("utf-8")).digest()[0] / 255
    top = tuple(round(c * 255) for c in colorsys.hsv_to_rgb(hue, 0.65, 0.35))
    bottom = tuple(round(c * 255) for c in colorsys.hsv_to_rgb((hue + 0.08) % 1, 0.70, 0.65))
    # A vertical gradient: one row drawn per pixel line is fast enough at 1400 px.
    img = Image.new("RGB", (COVER_SIZE, COVER_SIZE))
    draw = ImageDraw.Draw(img)
    for y in range(COVER_SIZE):
        t = y / (COVER_SIZE - 1)
        draw.line([(0, y), (COVER_SIZE, y)],
                  fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom)))
    margin, width = 120, COVER_SIZE - 240
    # The largest size at which the title fits in at most five lines inside the margins.
    for size in range(220, 39, -12):
        font = _font(size)
        lines = _wrap(draw, title, font, width)
        if len(lines) <= 5 and all(draw.textlength(l, font=font) <= width for l in lines):
            break
    line_h = round(size * 1.15)
    y = (COVER_SIZE - line_h * len(lines)) // 2 - 60
    for line in lines:
        left, _, right, _ = draw.textbbox((0, 0), line, font=font)
        draw.text(((COVER_SIZE - (right - left)) / 2 - left, y), line, font=font,
                  fill=(250, 250, 250))
        y += line_h
    if author:
        small = _font(56)
        left, _, right, _ = draw.textbbox((0, 0), author, font=small)
        draw.text(((COVER_SIZE - (right - left)) / 2 - left, COVER_SIZE - margin - 56),
                  author, font=small, fill=(225, 225, 225))
    draw.rectangle((margin, COVER_SIZE - margin - 100, COVER_SIZE - margin,
                    COVER_SIZE - margin - 94), fill=(250, 250, 250))
    return img


def cover_jpeg(title: str, author: str = "") -> bytes:
    """The placeholder cover as JPEG bytes (no EXIF, no timestamp: the same title, the same bytes)."""
    buf = io.BytesIO()
    # The comment marks it as the placeholder: `podkit check` warns until it is replaced.
    cover_image(title, author).save(buf, "JPEG", quality=85, optimize=True,
                                    comment=artwork.PLACEHOLDER_MARK + b"0" * 64)
    return artwork.mark_placeholder(buf.getvalue())


# ---- the show folder ----------------------------------------------------------------------

def planned_files(s: ShowSettings, feed_id: str) -> dict[str, bytes]:
    """Every file `init` writes, by path relative to the show folder."""
    return {f"feeds/{feed_id}.toml": feed_toml(s, feed_id).encode("utf-8"),
            f"feeds/{feed_id}.jpg": cover_jpeg(s.title, s.author),
            "templates/README.md": _data("templates-README.md").encode("utf-8"),
            ".gitignore": _data("gitignore").encode("utf-8"),
            "Makefile": _data("Makefile").encode("utf-8")}


#: The files every show folder has beside its feeds: `podkit import` writes them too.
SUPPORT_FILES = {".gitignore": "gitignore", "Makefile": "Makefile"}


def write_support_files(folder: Path) -> list[Path]:
    """Write the `.gitignore` and `Makefile` `init` writes where they are missing (an
    existing one is the producer's and is never overwritten); return those written."""
    written = []
    for name, data in SUPPORT_FILES.items():
        path = Path(folder) / name
        if not os.path.lexists(path):
            fsutil.write_text(path, _data(data))
            written.append(path)
    return written


def _check_folders(folder: Path, files: dict[str, bytes]) -> None:
    """ConfigError, before anything is written, when the show folder or a folder `init`
    writes into (feeds/, templates/) exists as something other than a folder."""
    wanted = {folder} | {folder / Path(name).parent for name in files}
    for path in sorted(wanted):
        if os.path.lexists(path) and not path.is_dir():
            raise ConfigError("exists and is not a folder; podkit init writes a show folder "
                              "there (start in another folder or move it)", path=path)


def init_show(folder: Path, settings: ShowSettings) -> list[Path]:
    """Write a new show into `folder` (created if missing); return the files written.

    Refuses (ConfigError listing them) when any of the files exists, writing nothing;
    refuses (ProblemsError) settings the feed reader rejects, naming the field.
    """
    folder = Path(folder)
    for name, value in vars(settings).items():
        problem = text_problem(value) if isinstance(value, str) else None
        if problem:
            option = name.replace("_", "-").replace("feed-id", "id")
            raise ConfigError(problem, field=f"--{option}")
    feed_id = settings.feed_id or slugify(settings.title)
    if not feed_id:
        raise ConfigError(f"cannot make a feed id from the title {settings.title!r}: "
                          "give one with --id (lowercase a-z, 0-9, hyphens)", field="id")
    files = planned_files(settings, feed_id)
    taken = [name for name in files if os.path.lexists(folder / name)]
    if taken:
        raise ConfigError(f"already exist{'s' if len(taken) == 1 else ''}: {', '.join(taken)}; "
                          "podkit init never overwrites (start in another folder or move them)",
                          path=folder)
    _check_folders(folder, files)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the show folder: {exc.strerror}", path=folder) from None
    staging = Path(tempfile.mkdtemp(prefix=".podkit-init-", dir=folder))
    try:
        for name, data in files.items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            (staging / name).write_bytes(data)
        # Read back as `podkit check` will: bad settings fail here, naming the field.
        problems: list[Problem] = []
        read_show(staging / "feeds" / f"{feed_id}.toml", staging, problems)
        # The email is written twice (owner, locked_owner): say each bad value once.
        errors = list({p.message: p for p in reversed(problems)
                       if p.severity is Severity.ERROR}.values())[::-1]
        if errors:
            raise ProblemsError(errors)
        written = []
        for name in files:
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(staging / name, target)   # fails if the name appeared meanwhile
            except FileExistsError:
                raise ConfigError("appeared while podkit init ran; not overwritten",
                                  path=target) from None
            written.append(target)
            log.info("wrote %s", target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    (folder / "episodes").mkdir(exist_ok=True)
    return written
