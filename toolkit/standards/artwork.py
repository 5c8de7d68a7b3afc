"""Cover-art inspection with Pillow: what Apple Podcasts accepts for show and episode art."""
from __future__ import annotations

import hashlib
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

#: Apple: square JPEG or PNG, 1400 to 3000 px, RGB colour space.
MIN_PX, MAX_PX = 1400, 3000
#: Hosts and apps ask for artwork of at most 512 KiB (Apple's older guide said so; some
#: directories refuse larger files): a warning, every app fetches the file again.
WARN_BYTES = 512 * 1024
#: podkit's own bounds on any picture it reads (cover, episode art, chapter img): far above
#: a real 3000 px JPEG or PNG, low enough that a file with 200 MB of trailing data or an
#: 88-megapixel photo is refused before a build decodes it (that build used 1.09 GB).
MAX_BYTES = 16 << 20
MAX_PIXELS = 25_000_000
#: The JPEG comment `podkit init` writes into the placeholder cover it draws (followed by
#: the file's hash): while a feed's artwork is still that file, `podkit check` warns.
PLACEHOLDER_MARK = b"podkit placeholder cover: replace with your own artwork; sha256 "
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

    kind: str               # "file", "square", "size", "bytes" or "rgb" (validate's rule ids)
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


def bounds_problem(path: Path, info: ArtInfo | None = None) -> str | None:
    """Why podkit will not read the picture at `path` (over MAX_BYTES or MAX_PIXELS), or None.

    The byte count comes from stat, the pixel count from the header: nothing is decoded.
    """
    try:
        size = path.stat().st_size
    except OSError:
        return None  # the loader reports a missing or unreadable file
    if size > MAX_BYTES:
        return (f"{path.name} is {size / (1 << 20):.0f} MiB; podkit reads pictures of at most "
                f"{MAX_BYTES >> 20} MiB (trailing data? re-export it as JPEG or PNG)")
    info = info or inspect(path)
    if info.width * info.height > MAX_PIXELS:
        return (f"{path.name} is {info.width}x{info.height} ({info.width * info.height / 1e6:.0f} "
                f"megapixels); podkit reads pictures of at most {MAX_PIXELS / 1e6:.0f} megapixels")
    return None


def size_warning(path: Path) -> str | None:
    """A warning when the picture at `path` is over WARN_BYTES (but within MAX_BYTES)."""
    try:
        size = path.stat().st_size
    except OSError:
        return None
    if WARN_BYTES < size <= MAX_BYTES:
        return (f"{path.name} is {size / 1024:.0f} KiB; hosts and apps ask for at most "
                f"{WARN_BYTES // 1024} KiB (compress it)")
    return None


def format_problems(path: Path, info: ArtInfo | None = None) -> list[str]:
    """What is wrong with the file type of an image: unreadable, over podkit's byte or pixel
    bounds, or not the JPEG/PNG its name says."""
    info = info or inspect(path)
    if info.format is None:
        return [f"{path.name} {info.error}"]
    too_big = bounds_problem(path, info)
    if too_big:
        return [too_big]
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
    warn = size_warning(path)
    if warn:
        out.append(ArtProblem("bytes", warn, warning=True))
    if info.transparent:
        out.append(ArtProblem("rgb", f"{path.name} has transparency; save it as plain RGB",
                              warning=True))
    elif info.mode not in ("RGB", "P"):
        out.append(ArtProblem("rgb", f"{path.name} uses colour mode {info.mode}; it must be RGB"))
    return out


def problems(path: Path) -> list[str]:
    """The errors in `path` as podcast artwork (empty when Apple would accept it)."""
    return [p.message for p in check(path) if not p.warning]


def mark_placeholder(jpeg: bytes) -> bytes:
    """`jpeg` (saved with PLACEHOLDER_MARK + 64 zeros as its comment) with the zeros
    replaced by the SHA-256 of those bytes: the file vouches for itself (`is_placeholder`)."""
    blank = PLACEHOLDER_MARK + b"0" * 64
    digest = hashlib.sha256(jpeg).hexdigest().encode("ascii")
    return jpeg.replace(blank, PLACEHOLDER_MARK + digest, 1)


def is_placeholder(path: Path) -> bool:
    """True when `path` is still, byte for byte, the placeholder cover `podkit init` drew.

    Its JPEG comment holds a marker and the hash of the file as drawn: any change (the
    producer's own artwork, or the placeholder edited and saved again, which keeps the
    comment) no longer matches, while the title drawn on it needs no record anywhere.
    """
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES)
    except OSError:
        return False
    at = data.find(PLACEHOLDER_MARK)
    if at < 0:
        return False
    start = at + len(PLACEHOLDER_MARK)
    digest = data[start:start + 64]
    blank = data[:start] + b"0" * 64 + data[start + 64:]
    return hashlib.sha256(blank).hexdigest().encode("ascii") == digest
