"""Quality-control outputs of an audio build: a PNG and a small JSON report.

The picture shows the finished programme's short-term loudness over time against
the target (and the input's, for comparison), the true-peak ceiling, and the
waveform envelope. Both files are reproducible byte for byte.
"""
from __future__ import annotations

import functools
import json
import logging
import math
import sys
import threading
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np

from toolkit import fsutil
from toolkit.model import LoudnessStats

log = logging.getLogger(__name__)

_WIDTH_PX, _HEIGHT_PX, _DPI = 1400, 700, 100
#: The waveform is drawn as at most one bar per pixel column.
WAVEFORM_COLUMNS = _WIDTH_PX


_PRELOAD: list[threading.Thread] = []


def _import_pyplot() -> None:
    # Imported here: matplotlib is only needed for this picture, at the end of a build.
    import matplotlib
    matplotlib.use("Agg")     # never a display: builds run headless and in worker processes
    import matplotlib.pyplot  # noqa: F401


def preload() -> None:
    """Start importing matplotlib (about 1 s) on a background thread.

    A build calls this while the encoder works, when a core is mostly waiting, so the
    picture at the end does not pay for the import; write_picture() waits for it.
    """
    if not _PRELOAD and "matplotlib.pyplot" not in sys.modules:
        thread = threading.Thread(target=_import_pyplot, name="podkit-qc-import", daemon=True)
        _PRELOAD.append(thread)
        thread.start()


def wait_loaded() -> None:
    """Import matplotlib now, or wait for `preload` to finish doing so."""
    preload()
    for thread in _PRELOAD:
        thread.join()


def _number(value: float) -> float | None:
    return round(value, 2) if math.isfinite(value) else None


def stats_dict(stats: LoudnessStats) -> dict[str, float | None]:
    """LoudnessStats as JSON-ready numbers (None for -inf), rounded to 0.01."""
    return {"integrated_lufs": _number(stats.integrated), "lra_lu": _number(stats.lra),
            "true_peak_dbtp": _number(stats.true_peak),
            "sample_peak_dbfs": _number(stats.sample_peak),
            "duration_s": _number(stats.duration)}


def write_report(path: Path, data: dict[str, Any]) -> None:
    """Write the QC report as sorted, indented JSON (atomic)."""
    fsutil.write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def envelope(peaks: np.ndarray, peak_rate: float, columns: int = WAVEFORM_COLUMNS
             ) -> tuple[np.ndarray, np.ndarray]:
    """The waveform envelope the picture draws: (column edges in seconds, peak per column).

    Every block lands in a column (columns differ by at most one block in width), so
    the picture reaches the programme's last block; `len(edges) == len(peaks_per_column) + 1`.
    """
    n = len(peaks)
    if n == 0:
        return np.zeros(2), np.zeros(1)
    cols = max(1, min(n, columns))
    edges = np.linspace(0, n, cols + 1).round().astype(np.int64)
    env = np.maximum.reduceat(np.asarray(peaks), edges[:-1])
    return edges / peak_rate, env


@functools.lru_cache(maxsize=None)
def _charmap() -> frozenset[int]:
    """Code points the picture's font can draw (matplotlib's default, bundled DejaVu Sans)."""
    _import_pyplot()
    from matplotlib import font_manager, ft2font, rcParams
    path = font_manager.findfont(font_manager.FontProperties(family=rcParams["font.family"]))
    return frozenset(ft2font.FT2Font(path).get_charmap())


def drawable(text: str) -> str:
    """`text` without the characters the picture's font lacks (emoji, Hangul, ...).

    matplotlib would draw those as empty boxes and warn "Glyph ... missing" for each;
    no well-kept pip font covers both emoji and CJK, and a system font would make the
    picture depend on the machine, so they are left out of the title instead.
    """
    have = _charmap()
    # Format characters (zero-width joiners, emoji variation selectors) draw nothing anyway.
    kept = "".join(c for c in unicodedata.normalize("NFC", text) if c.isspace() or (
        ord(c) in have and unicodedata.category(c) != "Cf"
        and not unicodedata.name(c, "").startswith("VARIATION SELECTOR")))
    if kept != text:
        log.debug("QC title: left out characters the font lacks from %r", text)
    return " ".join(kept.split())


def write_picture(path: Path, *, title: str, short_term_before: np.ndarray,
                  short_term_after: np.ndarray, peaks_after: np.ndarray, peak_rate: float,
                  target_lufs: float, ceiling_dbtp: float, note: str | None = None) -> None:
    """Draw loudness over time and the waveform envelope to a PNG (atomic).

    Short-term series are one value every 100 ms (the first ending at 3 s);
    `peaks_after` holds the output's largest magnitude per 1/`peak_rate` seconds;
    `note` is a line of figures printed under the title (speech processing).
    """
    for thread in _PRELOAD:
        thread.join()
    _import_pyplot()
    import matplotlib.pyplot as plt
    fig, (ax_l, ax_w) = plt.subplots(2, 1, figsize=(_WIDTH_PX / _DPI, _HEIGHT_PX / _DPI),
                                     dpi=_DPI, sharex=True,
                                     gridspec_kw={"height_ratios": [3, 2]})
    minutes = len(peaks_after) / peak_rate / 60.0
    scale, unit = (1.0, "min") if minutes >= 2 else (60.0, "s")
    for series, label, style in ((short_term_before, "input", {"color": "0.6", "lw": 0.8}),
                                 (short_term_after, "output", {"color": "C0", "lw": 1.0})):
        if len(series):
            t = (3.0 + np.arange(len(series)) * 0.1) / 60.0 * scale
            ax_l.plot(t, np.maximum(series, -60.0), label=f"short-term loudness ({label})",
                      **style)
    ax_l.axhline(target_lufs, color="C2", ls="--", lw=1, label=f"target {target_lufs:g} LUFS")
    ax_l.axhline(ceiling_dbtp, color="C3", ls=":", lw=1,
                 label=f"true-peak ceiling {ceiling_dbtp:g} dBTP")
    ax_l.set_ylabel("LUFS / dB")
    ax_l.set_ylim(-60, 3)
    # y given: matplotlib then skips measuring every axis to place the title (15 % of the cost).
    ax_l.set_title(drawable(title), y=1.0, pad=6)
    if note:
        ax_l.text(0.99, 0.97, note, transform=ax_l.transAxes, ha="right", va="top", fontsize=8,
                  bbox={"facecolor": "white", "alpha": 0.8, "lw": 0})
    ax_l.grid(alpha=0.3)
    ax_l.legend(loc="lower left", fontsize=8)
    # The waveform as an envelope: one bar per pixel column is enough and stays small.
    edges, env = envelope(peaks_after, peak_rate)
    t = edges / 60.0 * scale
    env = np.append(env, env[-1])       # a step per column, the last one up to the end
    ax_w.fill_between(t, -env, env, color="C0", lw=0, step="post")
    ceiling = 10.0 ** (ceiling_dbtp / 20.0)
    for sign in (1, -1):
        ax_w.axhline(sign * ceiling, color="C3", ls=":", lw=1)
    ax_w.set_ylim(-1.05, 1.05)
    ax_w.set_ylabel("waveform")
    ax_w.set_xlabel(f"time ({unit})")
    # Fixed margins for this fixed size rather than tight_layout, which draws the whole
    # figure once more to measure it (40 % of the picture's cost, paid on every build).
    fig.subplots_adjust(left=0.055, right=0.99, top=0.94, bottom=0.085, hspace=0.06)
    with fsutil.atomic_path(path) as tmp:
        # No Software or date chunks: the same audio gives the same bytes.
        fig.savefig(tmp, format="png", metadata={"Software": None})
    plt.close(fig)
