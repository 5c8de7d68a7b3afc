"""Quality-control outputs of an audio build: a PNG and a small JSON report.

The picture shows the finished programme's short-term loudness over time against
the target (and the input's, for comparison), the true-peak ceiling, and the
waveform envelope. Both files are reproducible byte for byte.
"""
from __future__ import annotations

import json
import math
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np

from toolkit import fsutil
from toolkit.model import LoudnessStats

_WIDTH_PX, _HEIGHT_PX, _DPI = 1400, 700, 100


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


def write_picture(path: Path, *, title: str, short_term_before: np.ndarray,
                  short_term_after: np.ndarray, peaks_after: np.ndarray, peak_rate: float,
                  target_lufs: float, ceiling_dbtp: float) -> None:
    """Draw loudness over time and the waveform envelope to a PNG (atomic).

    Short-term series are one value every 100 ms (the first ending at 3 s);
    `peaks_after` holds the output's largest magnitude per 1/`peak_rate` seconds.
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
    ax_l.set_title(title)
    ax_l.grid(alpha=0.3)
    ax_l.legend(loc="lower left", fontsize=8)
    # The waveform as an envelope: one bar per pixel column is enough and stays small.
    cols = max(1, min(len(peaks_after), _WIDTH_PX))
    usable = len(peaks_after) - len(peaks_after) % cols
    env = peaks_after[:usable].reshape(cols, -1).max(axis=1) if usable else np.zeros(1)
    t = np.arange(len(env)) * (usable / max(cols, 1)) / peak_rate / 60.0 * scale
    ax_w.fill_between(t, -env, env, color="C0", lw=0)
    ceiling = 10.0 ** (ceiling_dbtp / 20.0)
    for sign in (1, -1):
        ax_w.axhline(sign * ceiling, color="C3", ls=":", lw=1)
    ax_w.set_ylim(-1.05, 1.05)
    ax_w.set_ylabel("waveform")
    ax_w.set_xlabel(f"time ({unit})")
    fig.tight_layout()
    with fsutil.atomic_path(path) as tmp:
        # No Software or date chunks: the same audio gives the same bytes.
        fig.savefig(tmp, format="png", metadata={"Software": None})
    plt.close(fig)
