"""The QC picture's drawing kit, on Pillow: plot panels, nice ticks, text in DejaVu Sans.

Pillow draws the picture in a few tens of milliseconds where matplotlib took about 0.2 s
and a 0.4 s import on every build. Sizes follow matplotlib's defaults at 100 dpi (points
times 100/72), so the picture keeps the look producers know. A panel's contents (lines,
fills, boxes) are drawn at SCALE times the size and reduced, which anti-aliases them;
text, spines and ticks are drawn afterwards at full size, where FreeType's own
anti-aliasing keeps them crisp.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from toolkit.standards import fonts

SCALE = 2
PT = 100 / 72                           # pixels per point at the picture's 100 dpi
Color = tuple[int, int, int]
WHITE: Color = (255, 255, 255)
INK: Color = (0, 0, 0)
C0: Color = (0x1F, 0x77, 0xB4)          # matplotlib's colour cycle, which producers know
GREEN: Color = (0x2C, 0xA0, 0x2C)
RED: Color = (0xD6, 0x27, 0x28)
GREY: Color = (0x99, 0x99, 0x99)        # matplotlib's "0.6"
GRID: Color = (0xE7, 0xE7, 0xE7)        # its grid, #b0b0b0 at alpha 0.3 on white
FRAME: Color = (0xD6, 0xD6, 0xD6)       # the legend's edge, 0.8 grey at alpha 0.8
#: matplotlib's dash patterns, on and off lengths in points per point of line width.
DASHED, DOTTED = (3.7, 1.6), (1.0, 1.65)
TICK_PT, TICK_PAD_PT, LABEL_PAD_PT = 3.5, 3.5, 4.0
#: A legend row's text height in ems: matplotlib's measure of one line of DejaVu Sans.
LABEL_EM = 1.045
@functools.lru_cache(maxsize=None)
def font(size_pt: float) -> ImageFont.FreeTypeFont:
    """The picture's font at `size_pt` points.

    Basic layout (no shaping) on every machine, whether or not libraqm is installed: the
    same title gives the same pixels everywhere, as matplotlib's text did.
    """
    return ImageFont.truetype(str(fonts.path(fonts.REGULAR)), size_pt * PT,
                              layout_engine=ImageFont.Layout.BASIC)


def nice_ticks(lo: float, hi: float, length_pt: float, label_pt: float) -> list[float]:
    """Tick values at a 1, 2, 2.5 or 5 x 10^k step inside [lo, hi], as matplotlib picks them.

    At most 9 intervals, fewer on a short axis (a label every `label_pt` points).
    """
    nbins = max(1, min(9, math.floor(length_pt / label_pt)))
    raw = (hi - lo) / nbins
    scale = 10.0 ** math.floor(math.log10(raw))
    step = next(s * scale for s in (1, 2, 2.5, 5, 10) if s * scale >= raw * (1 - 1e-9))
    first = math.ceil(lo / step - 1e-9)
    count = math.floor(hi / step + 1e-9) - first + 1
    # round() keeps 0.1 * 3 from printing as 0.30000000000000004.
    return [round((first + i) * step, 12) + 0.0 for i in range(count)]


def tick_labels(ticks: Sequence[float]) -> list[str]:
    """Labels with as few decimals as the ticks need, and a true minus sign."""
    decimals = next((d for d in range(6) if all(abs(t - round(t, d)) < 1e-9 for t in ticks)), 6)
    return [f"{t:.{decimals}f}".replace("-", "\u2212") for t in ticks]


def row_of(frac: float, size: int) -> int:
    """The pixel row (or column) of a position `frac` (0..1) along a panel `size` long."""
    return min(size - 1, max(0, math.floor(frac * size)))


def _centring(width: int) -> float:
    """How far up to move y so that Pillow's line of `width` pixels is centred on it.

    Pillow draws rows floor(y) - (width - 1) // 2 onwards: centred on the pixel at y for
    an odd width, half a pixel low for an even one. (A line on the panel's bottom edge
    then shows its upper half, as matplotlib's does, rather than vanishing.)
    """
    return 0.5 if width % 2 == 0 else 0.0


def _thin(px: np.ndarray, py: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A polyline with many points per pixel column cut to four per column (first,
    lowest, highest, last): the same pixels, a fraction of the segments to draw.

    A 3-hour programme has 108,000 short-term values for 2,600 columns (at SCALE).
    """
    cols = np.floor(px).astype(np.int64)
    if len(px) <= 2 * (cols[-1] - cols[0] + 1):
        return px, py                       # about a point per column: nothing to gain
    starts = np.flatnonzero(np.diff(cols, prepend=cols[0] - 1))
    ends = np.append(starts[1:], len(px)) - 1
    x = cols[starts] + 0.5
    ys = np.column_stack((py[starts], np.minimum.reduceat(py, starts),
                          np.maximum.reduceat(py, starts), py[ends]))
    return np.repeat(x, 4), ys.ravel()


@dataclass
class Panel:
    """One plot area: data drawn at SCALE into its own image (so it is clipped to the
    area), then reduced into the picture at `box` (left, top, right, bottom)."""
    box: tuple[int, int, int, int]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    image: Image.Image = field(init=False)
    draw: ImageDraw.ImageDraw = field(init=False)
    #: Text drawn after the reduction, crisp: (x, y, text, size_pt, anchor), picture pixels.
    texts: list[tuple[float, float, str, float, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.image = Image.new("RGB", (self.width * SCALE, self.height * SCALE), WHITE)
        self.draw = ImageDraw.Draw(self.image)

    @property
    def width(self) -> int:
        """Width in picture pixels."""
        return self.box[2] - self.box[0]

    @property
    def height(self) -> int:
        """Height in picture pixels."""
        return self.box[3] - self.box[1]

    def fx(self, x: np.ndarray | float) -> np.ndarray | float:
        """Data x as a fraction of the panel's width."""
        return (x - self.xlim[0]) / (self.xlim[1] - self.xlim[0])

    def fy(self, y: np.ndarray | float) -> np.ndarray | float:
        """Data y as a fraction of the panel's height from the top."""
        return (self.ylim[1] - y) / (self.ylim[1] - self.ylim[0])

    def grid(self, xs: Sequence[float], ys: Sequence[float], color: Color = GRID) -> None:
        """One-pixel grid lines at the ticks (on the rows and columns the ticks mark)."""
        w, h = self.image.size
        for x in xs:
            c = row_of(self.fx(x), self.width) * SCALE
            self.draw.rectangle((c, 0, c + SCALE - 1, h), fill=color)
        for y in ys:
            r = row_of(self.fy(y), self.height) * SCALE
            self.draw.rectangle((0, r, w, r + SCALE - 1), fill=color)

    def _line_px(self, width_pt: float) -> int:
        return max(1, round(width_pt * PT * SCALE))

    def line(self, x: np.ndarray, y: np.ndarray, color: Color, width_pt: float) -> None:
        """A polyline through the points, broken where a value is not finite."""
        width = self._line_px(width_pt)
        px = self.fx(np.asarray(x, float)) * self.image.size[0]
        py = self.fy(np.asarray(y, float)) * self.image.size[1] - _centring(width)
        ok = np.isfinite(px) & np.isfinite(py)
        # Runs of finite points: each is one polyline (a gap stays a gap).
        bounds = np.flatnonzero(np.diff(np.concatenate(([0], ok.astype(np.int8), [0]))))
        for start, stop in zip(bounds[::2], bounds[1::2]):
            xs, ys = _thin(px[start:stop], py[start:stop])
            pts = np.column_stack((xs, ys)).ravel().tolist()
            if len(pts) == 2:
                pts += pts      # a single point: a dot
            self.draw.line(pts, fill=color, width=width)

    def hline(self, y: float, color: Color, width_pt: float,
              dashes: tuple[float, float] | None = None) -> None:
        """A horizontal line across the panel, solid or dashed (pattern from the left).

        It covers the rows Pillow's line() gives a polyline at the same y, so a series at
        the target lies on the target's line.
        """
        w, h = self.image.size
        width = self._line_px(width_pt)
        top = math.floor(self.fy(y) * h - _centring(width)) - (width - 1) // 2
        if dashes is None:
            pattern = np.ones(w, bool)
        else:
            on, off = (d * width_pt * PT * SCALE for d in dashes)
            pattern = (np.arange(w) + 0.5) % (on + off) < on
        # One 1-bit mask for the whole line: hundreds of dots cost one paste.
        mask = Image.fromarray(np.ascontiguousarray(np.broadcast_to(pattern, (width, w))))
        self.image.paste(color, (0, top), mask)

    def fill_symmetric(self, edges: np.ndarray, env: np.ndarray, color: Color) -> None:
        """Fill from -env to +env over each step [edges[i], edges[i + 1]).

        Done on arrays (a mask from each pixel column's step) rather than a polygon:
        fast, and a silent step draws nothing rather than a hairline.
        """
        w, h = self.image.size
        if len(env) == 0:
            return
        edge_px = self.fx(np.asarray(edges, float)) * w
        centres = np.arange(w) + 0.5
        # Steps are at least two pixels wide at this size, so sampling each pixel
        # column's centre misses none.
        step = np.searchsorted(edge_px, centres, side="right") - 1
        inside = (step >= 0) & (step < len(env))
        amp = np.where(inside, np.asarray(env, float)[np.clip(step, 0, len(env) - 1)], 0.0)
        # Symmetric about y = 0: a pixel is filled when its centre is within the column's
        # half-height of that line (one broadcast comparison for the whole panel).
        half = np.where(amp > 0, amp * h / (self.ylim[1] - self.ylim[0]), -1.0)
        off_axis = np.abs(np.arange(h) + 0.5 - self.fy(0.0) * h)
        mask = off_axis.astype(np.float32)[:, None] <= half.astype(np.float32)[None, :]
        # A 1-bit mask: pasting through it is five times faster than through an 8-bit one.
        self.image.paste(color, (0, 0), Image.fromarray(mask))

    def box_under(self, rect: tuple[float, float, float, float], alpha: float,
                  outline: Color | None = None, radius_pt: float = 0.0) -> None:
        """A white box at `alpha` over what is drawn (rect in picture pixels, panel-relative)."""
        x0, y0, x1, y1 = (round(v * SCALE) for v in rect)
        # Blending towards white is a per-channel lookup table: no white image to build.
        lut = [round(v + (255 - v) * alpha) for v in range(256)] * 3
        self.image.paste(self.image.crop((x0, y0, x1, y1)).point(lut), (x0, y0))
        if outline is not None:
            self.draw.rounded_rectangle((x0, y0, x1 - 1, y1 - 1), radius=radius_pt * PT * SCALE,
                                        outline=outline, width=self._line_px(1.0))

    def text(self, x: float, y: float, text: str, size_pt: float, anchor: str) -> None:
        """Text at panel-relative picture pixels, drawn crisp after the reduction."""
        self.texts.append((self.box[0] + x, self.box[1] + y, text, size_pt, anchor))

    def paste_into(self, picture: Image.Image) -> None:
        """Reduce the panel into the picture, then draw its text on top."""
        picture.paste(self.image.reduce(SCALE), self.box[:2])
        draw = ImageDraw.Draw(picture)
        for x, y, text, size_pt, anchor in self.texts:
            draw.text((x, y), text, fill=INK, font=font(size_pt), anchor=anchor)


def legend(panel: Panel, entries: Sequence[tuple[str, Color, float, tuple[float, float] | None]],
           size_pt: float = 8.0) -> None:
    """matplotlib's lower-left legend: a line sample and a label per entry, in a white box.

    `entries` are (label, colour, line width in points, dash pattern or None).
    """
    if not entries:
        return
    fs = size_pt * PT
    f = font(size_pt)
    row = LABEL_EM * fs + 0.5 * fs                      # labelspacing 0.5
    text_w = max(f.getlength(label) for label, *_ in entries)
    width = 0.4 * fs * 2 + 2.0 * fs + 0.8 * fs + text_w  # borderpad, handle, handletextpad
    height = 0.4 * fs * 2 + row * len(entries) - 0.5 * fs
    x0, y1 = 0.5 * fs, panel.height - 0.5 * fs          # borderaxespad 0.5
    y0 = y1 - height
    panel.box_under((x0, y0, x0 + width, y1), 0.8, outline=FRAME, radius_pt=0.2 * size_pt)
    for i, (label, color, width_pt, dashes) in enumerate(entries):
        mid = y0 + 0.4 * fs + i * row + LABEL_EM * fs / 2
        hx0, hx1 = x0 + 0.4 * fs, x0 + 0.4 * fs + 2.0 * fs
        lw = max(1, round(width_pt * PT * SCALE))
        on, off = (d * width_pt * PT for d in dashes) if dashes else (hx1 - hx0, 0.0)
        top = math.floor(mid) * SCALE           # snapped to a pixel row, as hline()
        for start in np.arange(hx0, hx1, on + off):
            a, b = round(start * SCALE), round(min(start + on, hx1) * SCALE)
            if b > a:
                panel.draw.rectangle((a, top, b - 1, top + lw - 1), fill=color)
        panel.text(hx1 + 0.8 * fs, mid, label, size_pt, "lm")


def note(panel: Panel, text: str, size_pt: float = 8.0) -> None:
    """A line of text in a white box at the panel's top right (axes 0.99, 0.97)."""
    f = font(size_pt)
    pad = 0.3 * size_pt * PT
    right, top = 0.99 * panel.width, 0.03 * panel.height
    left, _, _, bottom = f.getbbox(text, anchor="ra")
    panel.box_under((right + left - pad, top - pad, right + pad, top + bottom + pad), 0.8)
    panel.text(right, top, text, size_pt, "ra")


def frame(picture: Image.Image, panel: Panel, xticks: Sequence[float],
          yticks: Sequence[float], xlabels: bool, size_pt: float = 10.0) -> int:
    """Spines, outward tick marks and tick labels around a panel (after paste_into).

    Returns the x of the y tick labels' left edge, for the y axis label.
    """
    draw = ImageDraw.Draw(picture)
    l, t, r, b = panel.box
    tick = round(TICK_PT * PT)
    # On the panel's edges, as matplotlib's spines (they cover its outermost pixels).
    draw.rectangle((l, t, r, b), outline=INK)
    f = font(size_pt)
    pad = (TICK_PT + TICK_PAD_PT) * PT
    for x, label in zip(xticks, tick_labels(xticks)):
        c = l + row_of(panel.fx(x), panel.width)
        draw.line((c, b + 1, c, b + tick), fill=INK)
        if xlabels:
            draw.text((c + 0.5, b + pad), label, fill=INK, font=f, anchor="ma")
    left = l
    for y, label in zip(yticks, tick_labels(yticks)):
        rr = t + row_of(panel.fy(y), panel.height)
        draw.line((l - tick, rr, l - 1, rr), fill=INK)
        draw.text((l - pad, rr + 0.5), label, fill=INK, font=f, anchor="rm")
        left = min(left, math.floor(l - pad - f.getlength(label)))
    return left


def xlabel(picture: Image.Image, panel: Panel, text: str, size_pt: float = 10.0) -> None:
    """The x axis label, centred under the tick labels."""
    f = font(size_pt)
    ascent, descent = f.getmetrics()
    y = panel.box[3] + (TICK_PT + TICK_PAD_PT) * PT + ascent + descent + LABEL_PAD_PT * PT
    ImageDraw.Draw(picture).text(((panel.box[0] + panel.box[2]) / 2, y), text, fill=INK,
                                 font=f, anchor="ma")


def ylabel(picture: Image.Image, panel: Panel, text: str, right: float,
           size_pt: float = 10.0) -> None:
    """The y axis label, reading upwards, centred on the panel, ending at `right`."""
    f = font(size_pt)
    ascent, descent = f.getmetrics()
    mask = Image.new("L", (math.ceil(f.getlength(text)) + 2, ascent + descent), 0)
    ImageDraw.Draw(mask).text((1, 0), text, fill=255, font=f)
    mask = mask.transpose(Image.Transpose.ROTATE_90)   # exact, unlike rotate(90) on floats
    x = round(right - LABEL_PAD_PT * PT) - mask.width
    y = round((panel.box[1] + panel.box[3]) / 2 - mask.height / 2)
    picture.paste(INK, (x, y), mask)


def title(picture: Image.Image, panel: Panel, text: str, size_pt: float = 12.0) -> None:
    """The title centred above the panel, its baseline 6 points above the top spine."""
    ImageDraw.Draw(picture).text(((panel.box[0] + panel.box[2]) / 2, panel.box[1] - 6 * PT),
                                 text, fill=INK, font=font(size_pt), anchor="ms")
