"""Assembly: an episode's parts become one programme, streamed in chunks.

The edit list (parts with gain, gap, crossfade, silence trimming and a ducked music
bed) is rendered on the fly: each part is read through `sources.stream` and only a
few seconds are ever held, so a 3-hour part costs the same memory as a 3-minute one.
pydub does the short editing work where it is convenient and safe: the crossfade
joins (a few seconds of audio, as int32 with 24 dB of headroom so its integer
arithmetic cannot clip). pydub never calls ffprobe here: it is handed raw samples.

Rendering is deterministic, so the normalizer can render the programme twice
(measure, then write) and get the same samples and part boundaries both times.
"""
from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

with warnings.catch_warnings():
    # pydub looks for a bare "ffmpeg" on import and warns; podkit names the binary itself.
    warnings.simplefilter("ignore", RuntimeWarning)
    from pydub import AudioSegment

from toolkit import ffmpeg
from toolkit.audio import sources
from toolkit.errors import MediaError
from toolkit.model import AudioPart, Chapter

log = logging.getLogger(__name__)

AudioSegment.converter = ffmpeg.binary()   # never a bare "ffmpeg" lookup by pydub

SILENCE_DB = -50.0          # trim: anything quieter than this at both ends is silence
TRIM_KEEP_S = 0.05          # keep this much of the trimmed silence (no abrupt starts)
TRIM_HOLD_MAX_S = 120.0     # longest trailing silence held in memory while trimming
BED_RISE_DB = 10.0          # the bed rises this much above bed_gain in speech pauses
BED_HOLD_S = 0.6            # a pause must last this long before the bed rises
BED_SMOOTH_S = 0.25         # bed gain changes over this time constant
BED_FADE_S = 1.0            # bed fade in at the part's start and out at its end
SPEECH_DB = -45.0           # block RMS above this counts as speech for ducking
_HEADROOM = float(2 ** 27)  # float 1.0 in int32 for pydub: 16x (24 dB) of headroom
TRUNCATED_S = 0.1           # a part decoding this much shorter than its header says is cut


@dataclass(frozen=True)
class PartSpan:
    """Where a part landed in the programme (frames), filled in while rendering."""

    index: int
    title: str | None
    chapter: bool
    start: int
    end: int


def _frames(seconds: float, sample_rate: int) -> int:
    return max(0, round(seconds * sample_rate))


def _to_segment(x: np.ndarray, sample_rate: int) -> AudioSegment:
    data = np.clip(x * _HEADROOM, -2**31, 2**31 - 1).astype("<i4")
    return AudioSegment(data=data.tobytes(), sample_width=4, frame_rate=sample_rate,
                        channels=x.shape[1])


def _from_segment(seg: AudioSegment, channels: int) -> np.ndarray:
    raw = np.frombuffer(seg.raw_data, dtype="<i4").reshape(-1, channels)
    return raw.astype(np.float32) / _HEADROOM


def crossfade(tail: np.ndarray, head: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mix the end of one part into the start of the next with pydub's linear fades.

    Both arrays have the same number of frames; the result has that many too.
    """
    a, b = _to_segment(tail, sample_rate), _to_segment(head, sample_rate)
    mixed = a.fade_out(len(a)).overlay(b.fade_in(len(b)))
    out = _from_segment(mixed, tail.shape[1])
    if len(out) < len(tail):        # pydub works in ms: pad the last sub-ms frames
        out = np.concatenate([out, head[len(out):]])
    return out[:len(tail)]


def _trimmed(chunks: Iterator[np.ndarray], sample_rate: int) -> Iterator[np.ndarray]:
    """Drop leading and trailing silence, keeping TRIM_KEEP_S of each."""
    threshold = 10.0 ** (SILENCE_DB / 20.0)
    keep = _frames(TRIM_KEEP_S, sample_rate)
    hold_max = _frames(TRIM_HOLD_MAX_S, sample_rate)
    started = False
    held: list[np.ndarray] = []      # silence since the last sound (maybe trailing)
    held_frames = 0
    for chunk in chunks:
        loud = np.flatnonzero(np.abs(chunk).max(axis=1) > threshold)
        if not started:
            if not len(loud):
                held, held_frames = [chunk[-keep:]] if keep else [], min(keep, len(chunk))
                continue
            pre = np.concatenate(held + [chunk[:loud[0]]])[-keep:] if keep else chunk[:0]
            started, held, held_frames = True, [], 0
            chunk = np.concatenate([pre, chunk[loud[0]:]])
            loud = np.flatnonzero(np.abs(chunk).max(axis=1) > threshold)
        if len(loud):
            yield from held
            held, held_frames = [], 0
            yield chunk[:loud[-1] + 1]
            rest = chunk[loud[-1] + 1:]
        else:
            rest = chunk
        if len(rest):
            held.append(rest)
            held_frames += len(rest)
        while held_frames > hold_max and len(held) > 1:
            # A very long silence is kept as it is rather than held in memory.
            first = held.pop(0)
            held_frames -= len(first)
            yield first
    if started and held:
        yield np.concatenate(held)[:keep]


def _bed_stream(part: AudioPart, sample_rate: int, channels: int) -> Iterator[np.ndarray]:
    """The bed, looped for ever, as float chunks (the caller stops reading)."""
    assert part.bed is not None
    args = ["-v", "error", "-stream_loop", "-1", "-i", str(part.bed), "-map", "0:a:0",
            "-f", "f32le", "-acodec", "pcm_f32le", "-ac", str(channels), "-ar", str(sample_rate),
            "pipe:1"]
    try:
        with ffmpeg.popen(args, what="decoding the music bed", path=part.bed, stdout=True) as proc:
            assert proc.stdout is not None
            yield from ffmpeg.read_pcm(proc.stdout, channels)
    except GeneratorExit:
        return


class _Bed:
    """Mixes a looping bed under a part, ducked while the part has speech in it."""

    def __init__(self, part: AudioPart, sample_rate: int, channels: int) -> None:
        from scipy import signal  # only beds need it; most builds import it in the background
        self._lfilter = signal.lfilter
        self._stream = _bed_stream(part, sample_rate, channels)
        self._buf = np.zeros((0, channels), dtype=np.float32)
        self._rate = sample_rate
        self._block = max(1, sample_rate // 100)
        self._under = part.bed_gain_db
        self._since_speech = 10 ** 9            # blocks since speech was last heard
        alpha = np.exp(-self._block / (BED_SMOOTH_S * sample_rate))
        self._smooth = ([1.0 - alpha], [1.0, -alpha])
        # Filter state for a bed that starts at its raised (pause) level.
        self._zi = np.array([alpha * (self._under + BED_RISE_DB)])
        self._done = 0

    def _take(self, n: int) -> np.ndarray:
        while len(self._buf) < n:
            self._buf = np.concatenate([self._buf, next(self._stream)])
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def mix(self, speech: np.ndarray) -> np.ndarray:
        """Speech plus the bed at its ducked level (same shape as speech)."""
        n = len(speech)
        nb = -(-n // self._block)
        pad = np.zeros((nb * self._block - n, speech.shape[1]), dtype=np.float32)
        rms = np.sqrt(np.mean(np.square(np.concatenate([speech, pad])).reshape(nb, -1), axis=1))
        active = rms > 10.0 ** (SPEECH_DB / 20.0)
        quiet = np.empty(nb, dtype=np.int64)
        run = self._since_speech
        for i, a in enumerate(active):          # one step per 10 ms block: cheap
            run = 0 if a else run + 1
            quiet[i] = run
        self._since_speech = run
        hold = round(BED_HOLD_S * 100)
        target = np.where(quiet > hold, self._under + BED_RISE_DB, self._under)
        level, self._zi = self._lfilter(*self._smooth, target, zi=self._zi)
        gain = np.repeat(10.0 ** (level / 20.0), self._block)[:n].astype(np.float32)
        fade = np.minimum(1.0, (self._done + np.arange(n)) / (BED_FADE_S * self._rate))
        self._done += n
        return speech + self._take(n) * (gain * fade.astype(np.float32))[:, None]

    def fade_out(self, speech: np.ndarray) -> np.ndarray:
        """Mix the part's last frames with the bed fading to nothing at the end."""
        bed = self.mix(speech) - speech          # ducked by the speech it is under
        ramp = np.linspace(1.0, 0.0, len(speech), dtype=np.float32)[:, None]
        return speech + bed * ramp

    def close(self) -> None:
        """Stop the looping bed decoder."""
        self._stream.close()


def _complete(chunks: Iterator[np.ndarray], info: ffmpeg.ProbeInfo, path: Path,
              sample_rate: int) -> Iterator[np.ndarray]:
    """Pass the chunks on; MediaError at the end if they fall short of the header's duration.

    ffmpeg decodes a truncated MP3 or FLAC to what is there and exits 0: without this the
    episode would be built with the rest of the part missing.
    """
    frames = 0
    for chunk in chunks:
        frames += len(chunk)
        yield chunk
    got = frames / sample_rate
    if info.duration and not info.duration_estimated and got < info.duration - TRUNCATED_S:
        raise MediaError(f"truncated: decodes to {got:.3f} s but its header declares "
                         f"{info.duration:.3f} s (an interrupted copy or export?)", path=path)


def _part_stream(part: AudioPart, sample_rate: int, channels: int,
                 stage: Stage | None = None) -> Iterator[np.ndarray]:
    """One part decoded (and speech-processed), gained, trimmed and bedded, as float chunks."""
    info = ffmpeg.probe(part.path)     # MediaError naming the file if it is not audio

    def decoded(filters: str | None = None) -> Iterator[np.ndarray]:
        raw = (ffmpeg.decode(part.path, sample_rate=sample_rate, channels=channels,
                             filters=filters) if filters else
               sources.stream(part.path, sample_rate=sample_rate, channels=channels, info=info))
        return _complete(raw, info, part.path, sample_rate)
    # Speech processing comes first: the bed is music and is never denoised.
    chunks: Iterator[np.ndarray] = stage.stream(decoded) if stage is not None else decoded()
    if part.gain_db:
        factor = np.float32(10.0 ** (part.gain_db / 20.0))
        chunks = (c * factor for c in chunks)
    if part.trim_silence:
        chunks = _trimmed(chunks, sample_rate)
    if part.bed is None:
        yield from chunks
        return
    ffmpeg.probe(part.bed)
    bed = _Bed(part, sample_rate, channels)
    try:
        # The last BED_FADE_S of speech is held back so the bed can fade out by the end.
        fade = _frames(BED_FADE_S, sample_rate)
        lag = np.zeros((0, channels), dtype=np.float32)
        for chunk in chunks:
            lag = np.concatenate([lag, chunk])
            if len(lag) > fade:
                yield bed.mix(lag[:-fade])
                lag = lag[-fade:]
        if len(lag):
            yield bed.fade_out(lag)
    finally:
        bed.close()


def _split_tail(chunks: Iterator[np.ndarray], n: int, channels: int,
                out_tail: list[np.ndarray]) -> Iterator[np.ndarray]:
    """Yield all but the last n frames; those are appended to out_tail at the end."""
    tail = np.zeros((0, channels), dtype=np.float32)
    for chunk in chunks:
        if n == 0:
            yield chunk
            continue
        tail = np.concatenate([tail, chunk])
        if len(tail) > n:
            yield tail[:-n]
            tail = tail[-n:]
    out_tail.append(tail)


def _take_head(chunks: Iterator[np.ndarray], n: int, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """(first n frames, the rest of the chunk they were taken from)."""
    head = np.zeros((0, channels), dtype=np.float32)
    for chunk in chunks:
        head = np.concatenate([head, chunk])
        if len(head) >= n:
            break
    return head[:n], head[n:]


class Stage(Protocol):
    """Speech processing of a part (toolkit.audio.speech.Staged): decoded chunks in, processed out."""

    def stream(self, decoded: Callable[[str | None], Iterator[np.ndarray]]
               ) -> Iterator[np.ndarray]: ...


class Render:
    """One pass over the assembled programme: iterate it for float32 chunks.

    After the iteration, `spans` holds where each part landed and `frames` the
    programme's length; both are identical on every render of the same parts.
    `stages` maps a part's index to its speech processing, if it has any.
    """

    def __init__(self, parts: Sequence[AudioPart], sample_rate: int, channels: int,
                 stages: Mapping[int, Stage] | None = None) -> None:
        self.parts = tuple(parts)
        self.stages = dict(stages or {})
        self.sample_rate = sample_rate
        self.channels = channels
        self.spans: list[PartSpan] = []
        self.frames = 0

    def __iter__(self) -> Iterator[np.ndarray]:
        self.spans, self.frames = [], 0
        sr, ch = self.sample_rate, self.channels
        held = np.zeros((0, ch), dtype=np.float32)   # end of the previous part, for a crossfade
        for i, part in enumerate(self.parts):
            stream = _part_stream(part, sr, ch, self.stages.get(i))
            xf = _frames(part.crossfade_s, sr) if i else 0
            gap = _frames(part.gap_s, sr)
            if gap or not xf:
                yield from self._emit(held)
                held = held[:0]
                yield from self._emit(np.zeros((gap, ch), dtype=np.float32))
            start = self.frames
            if xf and len(held):
                head, rest = _take_head(stream, min(xf, len(held)), ch)
                overlap = min(len(head), len(held))
                yield from self._emit(held[:len(held) - overlap])
                start = self.frames
                yield from self._emit(crossfade(held[len(held) - overlap:], head[:overlap], sr))
                yield from self._emit(np.concatenate([head[overlap:], rest]))
            nxt = _frames(self.parts[i + 1].crossfade_s, sr) if i + 1 < len(self.parts) else 0
            tail: list[np.ndarray] = []
            for chunk in _split_tail(stream, nxt, ch, tail):
                yield from self._emit(chunk)
            held = tail[0] if tail else held[:0]
            self.spans.append(PartSpan(i, part.title, part.chapter, start,
                                       self.frames + len(held)))
        yield from self._emit(held)

    def _emit(self, chunk: np.ndarray) -> Iterator[np.ndarray]:
        if len(chunk):
            self.frames += len(chunk)
            yield chunk


def chapters(spans: Sequence[PartSpan], sample_rate: int, total_frames: int) -> tuple[Chapter, ...]:
    """Chapter marks at part starts, in milliseconds; parts with chapter=False get none.

    A chapter runs until the next chapter (or the end), so untitled or non-chapter
    parts belong to the chapter before them.
    """
    marks = [(round(s.start * 1000 / sample_rate) / 1000, s.title or f"Part {s.index + 1}")
             for s in spans if s.chapter]
    end = round(total_frames * 1000 / sample_rate) / 1000
    return tuple(Chapter(start=start, title=title,
                         end=marks[j + 1][0] if j + 1 < len(marks) else end)
                 for j, (start, title) in enumerate(marks))


def part_durations(spans: Sequence[PartSpan], sample_rate: int) -> tuple[tuple[str, float], ...]:
    """(title, seconds) of each part as it sounds in the programme, for cue sheets."""
    return tuple((s.title or f"Part {s.index + 1}", (s.end - s.start) / sample_rate) for s in spans)
