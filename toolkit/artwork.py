"""Cover-art inspection with Pillow: what Apple Podcasts accepts for show and episode art."""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

#: Apple: square JPEG or PNG, 1400 to 3000 px, RGB colour space.
MIN_PX, MAX_PX = 1400, 3000
_EXT_FORMAT = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG"}


@dataclass(frozen=True)
class ArtInfo:
    """What an image file really is, whatever its name says."""

    format: str | None      # Pillow's format name (JPEG, PNG, WEBP...), None if unreadable
    width: int
    height: int
    mode: str               # RGB, RGBA, CMYK, L, P...
    error: str = "is not a readable image"   # why `format` is None
    transparent: bool = False                 # an alpha channel or a transparent palette entry


@dataclass(frozen=True)
class ArtProblem:
    """One thing wrong with an image as podcast artwork."""

    kind: str               # "file", "square", "size" or "rgb" (validate maps them to rule ids)
    message: str
    warning: bool = False   # transparency: Apple asks for RGB, apps still show it


def inspect(path: Path) -> ArtInfo:
    """Read an image's header (cheap: Pillow does not decode the pixels)."""
    try:
        with warnings.catch_warnings():
            # Pillow only warns between 89 and 179 million pixels: far beyond any cover.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                transparent = im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
                return ArtInfo(im.format, im.width, im.height, im.mode, transparent=transparent)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        pixels = re.search(r"\((\d+) pixels\)", str(exc))
        size = f" ({int(pixels.group(1)) / 1e6:.0f} megapixels)" if pixels else ""
        return ArtInfo(None, 0, 0, "", f"is too large to open safely{size}: a decompression bomb?")
    except (UnidentifiedImageError, OSError):
        return ArtInfo(None, 0, 0, "")


def format_problems(path: Path, info: ArtInfo | None = None) -> list[str]:
    """What is wrong with the file type of an image: unreadable, or not the JPEG/PNG its name says."""
    info = info or inspect(path)
    if info.format is None:
        return [f"{path.name} {info.error}"]
    expected = _EXT_FORMAT.get(path.suffix.lower())
    if expected is None:
        return [f"{path.name}: must be .jpg or .png"]
    if info.format != expected:
        return [f"{path.name} is {info.format} data but named {path.suffix} (must be {expected})"]
    return []


def check(path: Path) -> list[ArtProblem]:
    """Everything Apple Podcasts would object to in `path` as artwork, errors and warnings."""
    info = inspect(path)
    out = [ArtProblem("file", msg) for msg in format_problems(path, info)]
    if info.format is None:
        return out
    size = f"{path.name} is {info.width}x{info.height}"
    if info.width != info.height:
        out.append(ArtProblem("square", f"{size}; it must be square"))
    if not (MIN_PX <= info.width <= MAX_PX and MIN_PX <= info.height <= MAX_PX):
        out.append(ArtProblem("size", f"{size}; Apple needs {MIN_PX} to {MAX_PX} px"))
    if info.transparent:
        out.append(ArtProblem("rgb", f"{path.name} has transparency; save it as plain RGB",
                              warning=True))
    elif info.mode not in ("RGB", "P"):
        out.append(ArtProblem("rgb", f"{path.name} uses colour mode {info.mode}; it must be RGB"))
    return out


def problems(path: Path) -> list[str]:
    """The errors in `path` as podcast artwork (empty when Apple would accept it)."""
    return [p.message for p in check(path) if not p.warning]
