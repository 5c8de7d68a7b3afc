"""Fitting a cut to its slot (docs/radio.md): the closing bed, or the gaps between parts.

`fit = "bed"`: the cut's last part is its closing bed. `Fitted` stops the render at the
slot with a fade over the last FADE_S (the bed is shortened), or plays the bed again from
its start until the slot is full (extended, at most MAX_EXTEND_S), then fades. The result
is exactly the slot's length in frames; `into_speech` says when the fade would reach into
the part before the bed (the caller then leaves the cut whole).

`fit = "gaps"`: `spread` shares the difference over the joins between parts.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace

import numpy as np

from toolkit.audio import assemble
from toolkit.cutmodel import Cut
from toolkit.model import AudioPart

FADE_S = 3.0            # the closing bed's fade when fitted to the slot
MAX_EXTEND_S = 60.0     # at most this much closing bed is added by playing it again


class Fitted:
    """The render, cut or extended to the slot with the closing bed faded (see module doc)."""

    def __init__(self, render: assemble.Render, slot_frames: int | None) -> None:
        self.render = render
        self.slot = slot_frames
        self.extended = 0           # frames of closing bed added by playing it again
        self.into_speech = 0        # frames the fade would reach into the part before the bed

    def _source(self) -> Iterator[np.ndarray]:
        yield from self.render
        if self.slot is None:
            return
        bed = self.render.parts[-1]
        loop = assemble.Render([AudioPart(path=bed.path, gain_db=bed.gain_db)],
                               self.render.sample_rate, self.render.channels)
        budget = round(MAX_EXTEND_S * self.render.sample_rate)
        while budget > 0 and self.render.frames + self.extended < self.slot:
            for chunk in loop:
                chunk = chunk[:min(budget, self.slot - self.render.frames - self.extended)]
                budget -= len(chunk)
                self.extended += len(chunk)
                yield chunk
                if budget <= 0 or self.render.frames + self.extended >= self.slot:
                    break

    def __iter__(self) -> Iterator[np.ndarray]:
        if self.slot is None:
            yield from self.render
            return
        rate, ch = self.render.sample_rate, self.render.channels
        self.extended = self.into_speech = 0    # each pass starts afresh
        fade = min(round(FADE_S * rate), self.slot)
        held = np.zeros((0, ch), dtype=np.float32)
        out = 0
        source = self._source()
        try:
            for chunk in source:
                take = min(len(chunk), self.slot - out - len(held))
                held = np.concatenate([held, chunk[:take]])
                if len(held) > fade:
                    emit, held = held[:len(held) - fade], held[len(held) - fade:]
                    out += len(emit)
                    yield emit
                if out + len(held) >= self.slot:
                    break
        finally:
            source.close()
        # The part before the closing bed must have ended before the fade starts.
        spans, n = self.render.spans, len(self.render.parts)
        if n > 1:
            self.into_speech = (max(0, spans[n - 2].end - out) if len(spans) >= n - 1
                                else self.slot)
        ramp = np.linspace(1.0, 0.0, len(held), dtype=np.float32)[:, None]
        yield held * ramp


def spread(parts: Sequence[AudioPart], cut: Cut, channels: int,
            stages: dict[int, assemble.Stage] | None) -> tuple[list[AudioPart], str]:
    """`fit = "gaps"`: the slot's difference shared over the joins between parts (those
    without a crossfade), each gap changed by at most `max_gap_change` s and never below 0.
    One render to count the frames; the note says what could not be absorbed."""
    rate = cut.sample_rate
    render = assemble.Render(parts, rate, channels, stages)
    frames = sum(len(chunk) for chunk in render)
    joins = [i for i, p in enumerate(parts) if i and not p.crossfade_s]
    want = round(cut.slot * rate) - frames          # + longer, - shorter
    if not joins:
        return list(parts), "could not fit: no gaps between parts to change"
    bound = round(cut.max_gap_change * rate)
    out, left = list(parts), want
    for n, i in enumerate(joins):
        share = left // (len(joins) - n) if left >= 0 else -((-left) // (len(joins) - n))
        gap = round(parts[i].gap_s * rate)
        change = max(-gap, min(bound, max(-bound, share)))
        out[i] = replace(parts[i], gap_s=(gap + change) / rate)
        left -= change
    if left:
        return out, (f"could not fit: the gaps take {(want - left) / rate:+.2f} s, "
                     f"{left / rate:+.2f} s remain (at most {cut.max_gap_change:g} s a gap)")
    return out, f"gaps between parts changed by {want / rate:+.2f} s in all"
