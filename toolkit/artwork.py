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


def inspect(path: Path) -> ArtInfo:
    """Read an image's header (cheap: Pillow does not decode the pixels)."""
    try:
        with warnings.catch_warnings():
            # Pillow only warns between 89 and 179 million pixels: far beyond any cover.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                return ArtInfo(im.format, im.width, im.height, im.mode)
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


def problems(path: Path) -> list[str]:
    """What is wrong with `path` as podcast artwork (empty when Apple would accept it)."""
    info = inspect(path)
    out = format_problems(path, info)
    if info.format is None:
        return out
    if info.width != info.height:
        out.append(f"{path.name} is {info.width}x{info.height}; it must be square")
    if not (MIN_PX <= info.width <= MAX_PX and MIN_PX <= info.height <= MAX_PX):
        out.append(f"{path.name} is {info.width}x{info.height}; Apple needs {MIN_PX} to {MAX_PX} px")
    if info.mode != "RGB":
        out.append(f"{path.name} uses colour mode {info.mode}; it must be RGB")
    return out
