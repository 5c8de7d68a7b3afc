"""The QC outputs: the waveform envelope the picture is drawn from, the picture itself
(read back as pixels: where the lines, the fill and the text land), titles in scripts the
bundled font lacks, and the limiting summary."""
from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from PIL import Image

from toolkit.audio import qc

PEAK_RATE = 100.0          # 10 ms blocks
C0 = (0x1F, 0x77, 0xB4)    # the output's loudness and waveform (matplotlib's first colour)
GREEN = (0x2C, 0xA0, 0x2C)  # the target
RED = (0xD6, 0x27, 0x28)    # the true-peak ceiling
GREY = (0x99, 0x99, 0x99)   # the input's loudness


def _picture(path, peaks, title="ep-1: A test", before=np.zeros(0), after=np.zeros(0),
             target=-16.0, ceiling=-1.0, note=None):
    qc.write_picture(path, title=title, short_term_before=before, short_term_after=after,
                     peaks_after=peaks, peak_rate=PEAK_RATE, target_lufs=target,
                     ceiling_dbtp=ceiling, note=note)
    return np.asarray(Image.open(path).convert("RGB"))


def _near(img, color, tol=24):
    return np.all(np.abs(img.astype(int) - color) <= tol, axis=2)


def _spines(img):
    """The panels' frames as found in the pixels: [(top, bottom, left, right)] per panel,
    top panel first (rows and columns that are black over most of their length)."""
    black = np.all(img < 60, axis=2)
    rows = np.flatnonzero(black[:, 100:1300].mean(axis=1) > 0.9)
    assert len(rows) == 4, f"expected 4 horizontal spines, found rows {rows}"
    panels = []
    for top, bottom in ((rows[0], rows[1]), (rows[2], rows[3])):
        cols = np.flatnonzero(black[top + 1:bottom].mean(axis=0) > 0.9)
        assert len(cols) == 2, f"expected 2 vertical spines, found {cols}"
        panels.append((top, bottom, cols[0], cols[1]))
    return panels


def _x_ticks(img, bottom, left, right):
    """Columns of the tick marks under a panel's bottom spine."""
    black = np.all(img[bottom + 2:bottom + 4, left - 2:right + 3] < 60, axis=2).all(axis=0)
    return np.flatnonzero(black) + left - 2


@pytest.mark.parametrize("blocks", [1, 1399, 1400, 1401, 2 * 1400 + 1399, 360_000 + 7])
def test_envelope_keeps_every_block_up_to_the_end(blocks):
    # The outro is the only sound: the last (blocks mod 1400) blocks used to be dropped.
    peaks = np.zeros(blocks, np.float32)
    tail = min(blocks, 1399)
    peaks[-tail:] = np.linspace(0.1, 0.9, tail)
    t, env = qc.envelope(peaks, PEAK_RATE, qc.WAVEFORM_COLUMNS)
    assert len(t) == len(env) + 1 and len(env) <= qc.WAVEFORM_COLUMNS
    assert t[0] == 0.0 and t[-1] == pytest.approx(blocks / PEAK_RATE)   # to the very end
    assert np.all(np.diff(t) > 0)
    assert env.max() == pytest.approx(peaks.max())                       # nothing lost
    assert env[-1] == pytest.approx(peaks[-1])                           # the last block is drawn
    # Each column is the largest peak of the blocks it covers.
    edges = np.round(t * PEAK_RATE).astype(int)
    for i in (0, len(env) // 2, len(env) - 1):
        assert env[i] == peaks[edges[i]:edges[i + 1]].max()


def test_picture_draws_the_outro(tmp_path):
    # 2 x 1400 + 1399 blocks, sound only in the last 1399 (the part that vanished).
    peaks = np.zeros(2 * 1400 + 1399, np.float32)
    peaks[-1399:] = 0.8
    img = _picture(tmp_path / "qc.png", peaks)
    blue = np.all(np.abs(img.astype(int) - C0) <= 8, axis=2)
    cols = np.flatnonzero(blue.any(axis=0))
    assert len(cols) > 0, "the outro's waveform is missing from the picture"
    # The waveform spans the last third of the time axis (drawn up to the end).
    span = cols.max() - cols.min()
    assert span > 0.25 * img.shape[1]


def test_title_with_emoji_and_korean_draws_without_glyph_warnings(tmp_path):
    title = "ep-7: 서울 특파원 🎙️ Seoul 📻 report"
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # any warning (Glyph ... missing) fails the test
        _picture(tmp_path / "qc.png", np.full(500, 0.5, np.float32), title=title)
    shown = qc.drawable(title)
    # What the font has stays; the emoji (and the variation selector after one, which draws
    # nothing) and the Hangul go, leaving no double spaces.
    assert shown == "ep-7: Seoul report"


def test_same_inputs_same_picture_bytes(tmp_path):
    peaks = np.abs(np.sin(np.arange(3001) / 50.0)).astype(np.float32)
    _picture(tmp_path / "a.png", peaks)
    _picture(tmp_path / "b.png", peaks)
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_picture_is_1400_by_700_png_without_text_chunks(tmp_path):
    img = _picture(tmp_path / "qc.png", np.full(3000, 0.3, np.float32))
    assert img.shape == (700, 1400, 3)
    data = (tmp_path / "qc.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, pos = [], 8
    while pos < len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        chunks.append(data[pos + 4:pos + 8])
        pos += 12 + length
    # No text or time chunk (a date or a software name would break byte-for-byte builds).
    assert chunks[0] == b"IHDR" and chunks[-1] == b"IEND" and b"IDAT" in chunks
    assert not set(chunks) & {b"tEXt", b"zTXt", b"iTXt", b"tIME"}


@pytest.mark.parametrize("target", [-16.0, -23.0])
def test_output_at_the_target_lies_on_the_target_line(tmp_path, target):
    # 5 minutes: the output's short-term loudness is the target all along.
    after = np.full(2971, target)
    img = _picture(tmp_path / "qc.png", np.full(30_000, 0.3, np.float32), after=after,
                   target=target)
    (top, bottom, left, right), _ = _spines(img)
    panel = img[top + 1:bottom, left + 400:right]          # right of the legend
    green_rows = _near(panel, GREEN).sum(axis=1)
    blue_rows = _near(panel, C0).sum(axis=1)
    # The dashed target line: its row is where the y axis (3 at the top spine, -60 at
    # the bottom one) puts the target.
    target_row = int(np.argmax(green_rows))
    expected = (3.0 - target) / 63.0 * (bottom - top) - 1
    assert abs(target_row - expected) <= 1.5
    # The output's line is on that row (seen in the dashes' gaps) and nowhere else.
    assert blue_rows[target_row] > 0.15 * panel.shape[1]
    assert set(np.flatnonzero(blue_rows > 20)) <= set(range(target_row - 2, target_row + 3))


def test_input_series_is_grey_at_its_level(tmp_path):
    before = np.full(2971, -40.0)
    before[1000:1100] = -np.inf    # 10 s of silence (103 to 113 s): drawn at -60, no gap
    img = _picture(tmp_path / "qc.png", np.full(30_000, 0.3, np.float32), before=before)
    (top, bottom, left, right), _ = _spines(img)
    grey_rows = _near(img[top + 1:bottom, left + 400:right], GREY, tol=12).sum(axis=1)
    row = int(np.argmax(grey_rows))
    assert abs(row - ((3.0 + 40.0) / 63.0 * (bottom - top) - 1)) <= 1.5
    ticks = _x_ticks(img, bottom, left, right)          # every minute, 0 to 5
    col = lambda s: round(ticks[0] + s / 60 * (ticks[1] - ticks[0]))   # noqa: E731
    # Half the line lies below the axis, as matplotlib draws it: a lighter grey.
    low = np.all(img[bottom - 2:bottom, col(104):col(112)] < 225, axis=2).any(axis=0)
    assert low.all(), "the silence is not drawn at -60"
    assert not np.all(img[bottom - 2:bottom, col(120):col(150)] < 225, axis=2).any()


def test_target_is_dashed_and_the_ceiling_dotted(tmp_path):
    img = _picture(tmp_path / "qc.png", np.full(30_000, 0.3, np.float32), target=-20.0,
                   ceiling=-2.0)
    (top, bottom, left, right), _ = _spines(img)
    span = img[top + 1:bottom, left + 400:right - 10]   # clear of the legend
    for color, value, lo, hi in ((GREEN, -20.0, 0.55, 0.85), (RED, -2.0, 0.2, 0.55)):
        rows = _near(span, color, tol=40).mean(axis=1)
        row = int(np.argmax(rows))
        assert abs(row - ((3.0 - value) / 63.0 * (bottom - top) - 1)) <= 1.5
        # Dashes cover about 70 % of their line (3.7 on, 1.6 off), dots about 38 %.
        assert lo < rows[row] < hi, (color, rows[row])


def test_waveform_spans_its_sound_in_time_and_amplitude(tmp_path):
    # 4 minutes (the axis in minutes), sound at 0.5 from minute 1 to minute 2 only.
    peaks = np.zeros(24_000, np.float32)
    peaks[6_000:12_000] = 0.5
    img = _picture(tmp_path / "qc.png", peaks)
    _, (top, bottom, left, right) = _spines(img)
    ticks = _x_ticks(img, bottom, left, right)
    assert len(ticks) == 9                       # every half minute, 0 to 4
    blue = _near(img, C0, tol=8)
    cols = np.flatnonzero(blue[top + 1:bottom].any(axis=0))
    assert abs(cols.min() - ticks[2]) <= 2 and abs(cols.max() - ticks[4]) <= 2
    rows = np.flatnonzero(blue[:, ticks[3]])
    # +0.5 and -0.5 on an axis from 1.05 (top spine) to -1.05 (bottom spine).
    for got, value in ((rows.min(), 0.5), (rows.max(), -0.5)):
        assert abs(got - (top + (1.05 - value) / 2.1 * (bottom - top))) <= 2
    # The ceiling's dotted lines at +/- 10^(-1/20) = 0.89, in red.
    red_rows = np.flatnonzero(_near(img[:, left + 1:right], RED).sum(axis=1) > 200)
    for value in (0.891, -0.891):
        want = top + (1.05 - value) / 2.1 * (bottom - top)
        assert np.any(np.abs(red_rows - want) <= 1.5), (value, red_rows)


def test_time_axis_in_seconds_under_two_minutes(tmp_path):
    # 90 s: ticks every 20 s (0 .. 80) rather than every minute.
    img = _picture(tmp_path / "qc.png", np.full(9_000, 0.3, np.float32))
    _, (top, bottom, left, right) = _spines(img)
    ticks = _x_ticks(img, bottom, left, right)
    assert len(ticks) == 5
    steps = np.diff(ticks)
    assert steps.max() - steps.min() <= 1
    # 20 s between ticks on an axis 99 s wide (90 s and 5 % either side).
    assert abs(steps.mean() - 20 / 99 * (right - left)) <= 1.5


def test_title_and_note_are_drawn(tmp_path):
    peaks = np.full(3000, 0.3, np.float32)
    plain = _picture(tmp_path / "a.png", peaks, title="")
    titled = _picture(tmp_path / "b.png", peaks, title="ep-1: A test of the title",
                      note="processing: noise floor -48.2 -> -61.5 dB re speech")
    (top, _, left, right), _ = _spines(titled)
    dark = lambda img: np.all(img < 100, axis=2)            # noqa: E731
    band = dark(titled[:top - 2])
    assert not dark(plain[:top - 2]).any()
    assert band.sum() > 300
    cols = np.flatnonzero(band.any(axis=0))
    # Centred over the panel.
    assert abs((cols.min() + cols.max()) / 2 - (left + right) / 2) <= 3
    # The note: dark text in the loudness panel's top right corner, absent without it.
    corner = (slice(top + 2, top + 30), slice((left + right) // 2, right - 2))
    assert dark(titled[corner]).sum() > 200
    assert not dark(plain[corner]).any()


def test_legend_shows_the_four_entries(tmp_path):
    img = _picture(tmp_path / "qc.png", np.full(3000, 0.3, np.float32),
                   before=np.full(270, -30.0), after=np.full(270, -16.0))
    (top, bottom, left, _), _ = _spines(img)
    box = img[bottom - 110:bottom, left + 1:left + 60]      # the line samples, lower left
    rows = [np.flatnonzero(_near(box, c, tol=12).sum(axis=1) >= 4).mean()
            for c in (GREY, C0, GREEN, RED)]
    assert all(np.isfinite(rows)) and rows == sorted(rows)  # in this order, top to bottom
    assert min(np.diff(rows)) > 10


def test_drawing_the_picture_does_not_import_matplotlib(tmp_path):
    # The build path draws with Pillow: matplotlib's import alone cost 0.4 s per process.
    code = ("import sys, pathlib, numpy as np\n"
            "from toolkit.audio import master, qc\n"
            "master.warm_up()\n"
            "qc.write_picture(pathlib.Path(sys.argv[1]), title='Zürich — Ελλάδα',"
            " short_term_before=np.zeros(9), short_term_after=np.zeros(9),"
            " peaks_after=np.ones(500), peak_rate=100.0, target_lufs=-16.0,"
            " ceiling_dbtp=-1.0, note='n')\n"
            # The clips' titles read the same fonts (toolkit.standards.fonts) the same way.
            "from toolkit.clips import render\n"
            "assert render.drawable('Title — 하노이') == 'Title'\n"
            "print(sorted(m for m in sys.modules if m.startswith('matplotlib')))\n")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "q.png")],
                         capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"
    assert Image.open(tmp_path / "q.png").size == (1400, 700)


def test_drawable_keeps_accented_greek_and_cyrillic():
    assert qc.drawable("Zürich — Ελλάδα, Москва") == "Zürich — Ελλάδα, Москва"
    assert qc.drawable("a\u200db\tc") == "ab c"


def test_long_programme_keeps_every_extreme_of_the_loudness(tmp_path):
    # 2 hours: 72,000 short-term values, about 28 per pixel column (drawn thinned to the
    # first, lowest, highest and last of each column): the swings must all still show.
    after = np.where(np.arange(71_971) % 2 == 0, -10.0, -30.0)
    after[40_000] = -50.0                               # one dip, one value long
    img = _picture(tmp_path / "qc.png", np.full(720_000, 0.3, np.float32), after=after,
                   target=-40.0)
    (top, bottom, left, right), _ = _spines(img)
    blue = _near(img[top + 1:bottom, left + 1:right], C0)
    row = lambda v: round((3.0 - v) / 63.0 * (bottom - top) - 1)   # noqa: E731
    cols = np.flatnonzero(blue[row(-20.0)])              # the series' columns
    inner = cols[(cols > cols.min() + 2) & (cols < cols.max() - 2)]
    assert len(inner) > 0.85 * blue.shape[1]
    # Every column of the series reaches both -10 and -30 (and everything between).
    assert blue[row(-10.0) - 1:row(-10.0) + 2, inner].any(axis=0).all()
    assert blue[row(-30.0) - 1:row(-30.0) + 2, inner].any(axis=0).all()
    assert blue[row(-50.0) - 1:row(-50.0) + 2].any(), "a one-value dip went missing"
