"""Draw the sample show's cover art, feeds/korea-az.jpg (1400 x 1400 RGB JPEG).

Run from the repository root with the project venv:

    .venv/bin/python scripts/make_cover.py

`scripts/make_sample_show.py` calls this too. The picture is a pure function of this
code and the font found (DejaVu Sans Bold when installed, else Pillow's built-in
font), so re-running it on the same machine rewrites the same bytes.
"""
from __future__ import annotations

import argparse
import io
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SIZE = 1400
TITLE_TOP = "KOREAN PENINSULA"
TITLE_BIG = "A to Z"
TAGLINE = "Korea, Today and Tomorrow"
NETWORK = "EXAMPLE PUBLIC RADIO"

# Fonts tried in order; Pillow's own scalable default is the fallback (Pillow >= 10.1).
_FONTS = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSansBold.ttf",
]


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in _FONTS:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def _background() -> Image.Image:
    """A night-blue to teal vertical gradient with a warm dawn glow near the horizon."""
    y = np.linspace(0.0, 1.0, SIZE)[:, None]
    x = np.linspace(-1.0, 1.0, SIZE)[None, :]
    top = np.array([12, 24, 58], dtype=float)
    bottom = np.array([18, 96, 112], dtype=float)
    rgb = top + (bottom - top) * y[..., None]
    # The glow sits behind the sun disc drawn later; a Gaussian keeps JPEG banding low.
    glow = np.exp(-((x * 1.1) ** 2 + ((y - 0.70) * 2.4) ** 2))[..., None]
    rgb = rgb + glow * np.array([120, 70, 20], dtype=float)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")


def _ridge(base: float, amp: float, seed: float) -> list[tuple[float, float]]:
    """A mountain ridge as a polygon: a few summed sines (no randomness, so reproducible)."""
    pts = [(0.0, float(SIZE))]
    for i in range(0, SIZE + 1, 10):
        t = i / SIZE
        h = (math.sin(t * 7.0 + seed) * 0.5 + math.sin(t * 17.0 + seed * 2.3) * 0.3
             + math.sin(t * 31.0 + seed * 0.7) * 0.2)
        pts.append((float(i), base - amp * h))
    pts.append((float(SIZE), float(SIZE)))
    return pts


def _centered(draw: ImageDraw.ImageDraw, y: int, text: str, font, fill) -> None:
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    draw.text(((SIZE - (right - left)) / 2 - left, y - top), text, font=font, fill=fill)


def render() -> Image.Image:
    """Return the cover as an RGB image of SIZE x SIZE pixels."""
    img = _background()
    draw = ImageDraw.Draw(img)
    # Sun disc rising behind the ridges: the "Tomorrow" in the segment's name.
    cx, cy, r = SIZE // 2, 990, 200
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(246, 178, 74))
    draw.polygon(_ridge(1075, 60, 0.4), fill=(22, 58, 74))
    draw.polygon(_ridge(1160, 50, 2.1), fill=(14, 40, 54))
    draw.polygon(_ridge(1240, 35, 4.0), fill=(8, 24, 36))

    _centered(draw, 150, TITLE_TOP, _font(112), (240, 244, 250))
    _centered(draw, 300, TITLE_BIG, _font(300), (255, 255, 255))
    draw.rectangle((SIZE // 2 - 260, 650, SIZE // 2 + 260, 658), fill=(246, 178, 74))
    _centered(draw, 1300, NETWORK, _font(54), (200, 214, 226))
    _centered(draw, 685, TAGLINE, _font(60), (225, 233, 242))
    return img


def write(target: Path) -> int:
    """Write the cover JPEG to `target` (temp file + rename); return its size in bytes."""
    buf = io.BytesIO()
    # No EXIF and no timestamps: the JPEG bytes depend only on the pixels and settings.
    render().save(buf, "JPEG", quality=86, optimize=True, progressive=False, subsampling="4:2:0")
    data = buf.getvalue()
    tmp = target.with_name(f".{target.name}.part")
    tmp.write_bytes(data)
    tmp.replace(target)
    return len(data)


def main() -> None:
    """Command line: write feeds/korea-az.jpg (or --out)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("feeds/korea-az.jpg"))
    args = parser.parse_args()
    size = write(args.out)
    print(f"{args.out}: {SIZE}x{SIZE} RGB JPEG, {size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
