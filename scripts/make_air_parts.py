"""The air cut's own parts of the sample show's first episode (docs/radio.md).

    .venv/bin/python scripts/make_air_parts.py        # a few seconds; no apt install

Writes `episodes/hanoi-summit/ident.ogg` (a station ident: a chime and one spoken line,
only on air) and `closing-bed.ogg` (a 40 s music bed the air cut ends on, shortened to
the slot with a fade by the build). The voice is eSpeak NG from the espeakng-loader
wheel podkit already depends on (tests/speech.py), the music the same additive
synthesis as the other sample parts (scripts/sample_audio.py): deterministic, so the
committed files come out the same on every run.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests"))
from sample_audio import SR, _hz, _note, at_loudness, bed, encode, silence  # noqa: E402
from speech import RATE, say  # noqa: E402

EPISODE = ROOT / "episodes" / "hanoi-summit"
IDENT_TEXT = "This is Example Public Radio, the English service."
SPEECH_LUFS, BED_LUFS, CHIME_LUFS = -23.0, -23.0, -21.0   # as the sample show's other parts


def ident(workdir: Path) -> np.ndarray:
    """A three-note chime, then the spoken ident (mono)."""
    chime = np.zeros(int(1.6 * SR), dtype=np.float32)
    for i, step in enumerate((5, 9, 12)):
        note = _note(_hz(step), 1.0, 0.35)
        at = int(i * 0.25 * SR)
        chime[at:at + note.size] += note[:chime.size - at]
    chime = at_loudness(chime, CHIME_LUFS, workdir)
    voice = resample_poly(say(IDENT_TEXT, "en", 160, 45), SR, RATE).astype(np.float32)
    voice = at_loudness(voice, SPEECH_LUFS, workdir)
    return np.concatenate([chime, silence(0.2), voice, silence(0.4)])


def main() -> None:
    """Write the two air-only parts."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, audio in (("ident.ogg", ident(work)),
                            ("closing-bed.ogg", at_loudness(bed(40.0), BED_LUFS, work))):
            seconds = encode(audio, EPISODE / name, work)
            print(f"{name}: {seconds:.2f} s, {(EPISODE / name).stat().st_size} bytes")


if __name__ == "__main__":
    main()
