"""Pictures for tags: cover and chapter art as JPEG or PNG bytes of a sane size (Pillow).

Car stereos and older players choke on huge embedded pictures, so art above the size
limits is scaled down (Lanczos) and re-encoded as baseline JPEG. Art already within the
limits is embedded byte for byte. Both paths are deterministic: the same file gives
the same bytes, so tagging stays reproducible.
"""
from __future__ import annotations

import io
import logging
import warnings
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from toolkit import fsutil
from toolkit.errors import MediaError
from toolkit.standards import artwork

log = logging.getLogger(__name__)

#: Embedded cover art: Apple's minimum feed art size is also a good maximum inside the file.
COVER_MAX_PX = 1400
COVER_MAX_BYTES = 500_000
#: Chapter pictures are shown small and there may be many.
CHAPTER_MAX_PX = 640
CHAPTER_MAX_BYTES = 200_000

_MIME = {"JPEG": "image/jpeg", "PNG": "image/png"}
_KEEP_MODES = {"JPEG": {"RGB", "L"}, "PNG": {"RGB", "RGBA", "L", "LA", "P"}}
_QUALITIES = (90, 85, 80, 70, 60, 50)


def picture(path: Path, *, max_px: int = COVER_MAX_PX, max_bytes: int = COVER_MAX_BYTES,
            field: str = "artwork") -> tuple[bytes, str]:
    """(bytes, MIME type) of the picture at `path`, ready for an APIC frame or an MP4 `covr`.

    Raises MediaError naming the file and `field` when it is missing, unreadable, or
    neither JPEG nor PNG (judged by content, not by extension: a WebP named .png fails).
    """
    try:
        # Bounded before reading: a cover with 200 MB of trailing data is still a valid JPEG.
        data = fsutil.read_source(Path(path), artwork.MAX_BYTES)
    except fsutil.SourceError as exc:
        raise MediaError(exc.message, path=path, field=field) from exc
    try:
        with warnings.catch_warnings():
            # Over 89 million pixels Pillow only warns: refuse such a picture like a bigger one.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
        if img.width * img.height > artwork.MAX_PIXELS:  # from the header: nothing decoded yet
            raise MediaError(f"is {img.width}x{img.height} ({img.width * img.height / 1e6:.0f} "
                             f"megapixels); podkit reads pictures of at most "
                             f"{artwork.MAX_PIXELS / 1e6:.0f} megapixels", path=path, field=field)
        if img.format == "JPEG" and max(img.size) > max_px:
            # Let libjpeg decode at 1/2, 1/4 or 1/8 scale (never below max_px): a 3000 px
            # cover then costs a quarter of the memory and time before the Lanczos step.
            img.draft("RGB", (max_px, max_px))
        img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaError("too large to open safely (a decompression bomb?)", path=path,
                         field=field) from exc
    except UnidentifiedImageError as exc:  # its text names an in-memory object: no use to anyone
        raise MediaError("not a readable image (no image format recognized)", path=path,
                         field=field) from exc
    except OSError as exc:
        raise MediaError(f"not a readable image ({exc})", path=path, field=field) from exc
    fmt = img.format or "unknown"
    if fmt not in _MIME:
        raise MediaError(f"is a {fmt} image; use JPEG or PNG", path=path, field=field)
    if max(img.size) <= max_px and len(data) <= max_bytes and img.mode in _KEEP_MODES[fmt]:
        return data, _MIME[fmt]
    return _shrink(img, path, max_px, max_bytes), "image/jpeg"


def _shrink(img: Image.Image, path: Path, max_px: int, max_bytes: int) -> bytes:
    img = ImageOps.exif_transpose(img)  # a phone photo's rotation lives in EXIF, which we drop
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        # JPEG has no alpha: flatten onto white, as players would show it on a light page.
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        img = flat
    else:
        img = img.convert("RGB")
    before = img.size
    if max(img.size) > max_px:
        img.thumbnail((max_px, max_px), Image.Resampling.LANCZOS)
    data = b""
    for quality in _QUALITIES:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=quality, optimize=True)
        data = buf.getvalue()
        if len(data) <= max_bytes:
            break
    log.info("%s: embedded as %dx%d JPEG (was %dx%d), %d bytes", path, *img.size, *before, len(data))
    return data
