"""Encoding: the normalized programme is piped into an ffmpeg process that writes
deliverables at once (the formats of `toolkit.standards.renditions`: MP3, AAC in .m4a, Ogg Opus,
the broadcast WAV). The audio stage runs one encoder per rendition that has its own
gain plan (the MP3 with the WAV, the AAC and the Opus apart), each measured as it is
written.

The encoder runs in its own process, so while LAME works on one core Python
prepares the next chunks on the other. Outputs are written to temp files beside
their targets and renamed only when ffmpeg succeeded (fsutil.atomic_path), with
bit-exact flags so the same samples always give the same bytes.
"""
from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

import numpy as np

from toolkit import ffmpeg, fsutil
from toolkit.errors import FFmpegError
from toolkit.model import EncodingSettings
from toolkit.standards import renditions

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Targets:
    """Where the deliverables go: a path per rendition key (toolkit.standards.renditions); None or a
    missing key leaves one out. Written in registry order."""

    mp3: Path | None
    others: Mapping[str, Path | None] = field(default_factory=dict)   # "aac", "opus", "wav"

    @property
    def outputs(self) -> list[tuple[renditions.Format, Path]]:
        """(format, path) of every deliverable, in registry order (the MP3 first)."""
        paths = {"mp3": self.mp3, **self.others}
        return [(f, paths[f.key]) for f in renditions.REGISTRY.values()  # type: ignore[misc]
                if paths.get(f.key) is not None]

    def get(self, key: str) -> Path | None:
        """The path of rendition `key`, if it is a target."""
        return self.mp3 if key == "mp3" else self.others.get(key)

    @property
    def first(self) -> Path:
        """The first deliverable (the one errors name, and the monitor decodes)."""
        if not self.outputs:
            raise ValueError("no target to encode to")
        return self.outputs[0][1]


def mp3_bitrate(settings: EncodingSettings) -> int:
    """The CBR bitrate (kbps) used for this channel count."""
    return settings.mp3_bitrate_mono if settings.channels == 1 else settings.mp3_bitrate


def mp3_args(settings: EncodingSettings) -> list[str]:
    """ffmpeg output options for the MP3 (CBR unless a VBR quality is set)."""
    rate = ["-c:a", "libmp3lame"]
    if settings.mp3_vbr_quality is not None:
        rate += ["-q:a", str(settings.mp3_vbr_quality)]
    else:
        rate += ["-b:a", f"{mp3_bitrate(settings)}k"]
    return rate + ["-ar", str(settings.sample_rate), "-ac", str(settings.channels), "-f", "mp3"]


def lossy_args(settings: EncodingSettings, fmt: renditions.Format) -> list[str]:
    """ffmpeg codec options of a lossy rendition, from the registry (without the muxer)."""
    if fmt.key == "mp3":
        return mp3_args(settings)[:-2]      # LAME's VBR mode is its own rule
    return ["-c:a", fmt.codec, "-b:a", f"{fmt.bitrate(settings)}k", *fmt.codec_options, "-ar",
            str(fmt.rate(settings)), "-ac", str(settings.channels)]


def codec_args(settings: EncodingSettings, kind: str) -> list[str]:
    """ffmpeg output options writing lossy rendition `kind` (a registry key) as a file."""
    fmt = renditions.get(kind)
    return lossy_args(settings, fmt) + ["-f", fmt.muxer]


def _output_args(settings: EncodingSettings, fmt: renditions.Format, lossless_gain_db: float = 0.0,
                 *, tee: bool = False) -> list[str]:
    # No metadata and bit-exact muxing: the same samples give the same bytes (and the
    # tagging stage writes all the tags).
    common = ["-map", "0:a", "-map_metadata", "-1", "-fflags", "+bitexact",
              "-flags:a", "+bitexact"]
    if fmt.lossy and tee:
        # Without loopback decoders (ffmpeg < 7): one encode feeds two muxers, the file
        # (seekable, so the MP3 gets its LAME/Info header) and a pipe decoded separately.
        return common + lossy_args(settings, fmt) + [
            "-f", "tee", f"[{fmt.tee_file}]{{}}|[f={fmt.pipe_format}]pipe:1"]
    if fmt.lossy:
        return common + lossy_args(settings, fmt) + list(fmt.mux_options) + ["-f", fmt.muxer]
    codec = {16: "pcm_s16le", 24: "pcm_s24le", 32: "pcm_s32le"}[settings.wav_bits]
    filters = []
    if lossless_gain_db:
        filters.append(f"volume={lossless_gain_db:.4f}dB:precision=double")
    if settings.wav_sample_rate != settings.sample_rate:
        filters.append("aresample=resampler=soxr:precision=28")
    resample = ["-af", ",".join(filters)] if filters else []
    return common + resample + ["-c:a", codec, "-ar", str(settings.wav_sample_rate),
                                "-ac", str(settings.channels), "-rf64", "auto", "-write_bext", "1",
                                "-f", "wav"]


class _Piped(Protocol):
    """What an encoder needs of the process ffmpeg.popen started: its input pipe."""

    stdin: IO[bytes]


class Encoder:
    """An open ffmpeg encoder: `write()` float32 chunks (frames, channels)."""

    def __init__(self, proc: _Piped) -> None:
        self._proc = proc
        self.frames = 0

    def write(self, chunk: np.ndarray) -> None:
        """Send the next chunk to the encoder."""
        data = np.ascontiguousarray(chunk, dtype="<f4")
        self.frames += len(data)
        self._proc.stdin.write(memoryview(data).cast("B"))     # no extra copy


Monitor = Callable[[np.ndarray], None]


def _feed_monitor(src: IO[bytes], channels: int, monitor: Monitor,
                  errors: list[BaseException]) -> None:
    """Read decoded float32 PCM from a pipe and hand it to the monitor in chunks."""
    try:
        for chunk in ffmpeg.read_pcm(src, channels):
            monitor(chunk)
    except BaseException as exc:  # noqa: BLE001  (re-raised by the caller after join)
        errors.append(exc)
        # Nobody reads the decoded stream any more: closing it makes ffmpeg fail at once
        # instead of blocking on a full pipe (and the encoder's input with it).
        src.close()


def _pump(src: IO[bytes], dst: IO[bytes], errors: list[BaseException]) -> None:
    """Copy a pipe to another until EOF, then close the destination (the tee fallback)."""
    try:
        while data := src.read(1 << 16):
            dst.write(data)
    except BaseException as exc:  # noqa: BLE001  (re-raised by the caller after join)
        errors.append(exc)
        src.close()
    finally:
        try:
            dst.close()
        except BrokenPipeError:
            pass


def loopback_decoders() -> bool:
    """Whether the ffmpeg in use can decode its own output in the same process (7.0+)."""
    version = ffmpeg.info().version
    m = re.match(r"n?(\d+)\.", version)
    # Numbered releases from 7 on; "N-..." and "git-..." are development builds (new).
    return int(m.group(1)) >= 7 if m else version.startswith(("N-", "git"))


def _monitor_args(sample_rate: int, channels: int) -> list[str]:
    # A loopback decoder decodes the MP3 encoder's own packets inside the encoding
    # process (output 0 is the MP3): the same samples as decoding the finished file
    # (encoder delay and padding trimmed), with no second process or copy through Python.
    return ["-dec", "0:0", "-filter_complex", "[dec:0]anull[monitor]", "-map", "[monitor]",
            "-c:a", "pcm_f32le", "-ac", str(channels), "-ar", str(sample_rate), "-f", "f32le",
            "pipe:1"]


class _Running(_Piped, Protocol):
    """What the encoder's helpers need of the ffmpeg process: its pipes and its exit."""

    stdout: IO[bytes]

    def wait(self) -> int: ...


@contextmanager
def open_encoder(targets: Targets, settings: EncodingSettings, *, sample_rate: int,
                 channels: int, lossless_gain_db: float = 0.0,
                 monitor: Monitor | None = None) -> Iterator[Encoder]:
    """Start the encoder; the targets appear (atomically) when the block exits cleanly.

    The samples are planned for the lossy encoders (which take a little loudness
    away); `lossless_gain_db` corrects the WAV, which loses nothing, by that much.
    With `monitor`, the first lossy target (the MP3, else the AAC) is also decoded as
    it is made and passed to monitor() in chunks (from a worker thread), so measuring
    the encoded file costs no extra pass. With ffmpeg 7+ the monitored samples are exactly the finished file's;
    older versions decode a second stream that still holds the encoder delay (a few ms).
    """
    loopback = monitor is not None and loopback_decoders()
    with ExitStack() as stack:
        monitored = targets.outputs[0][0] if monitor is not None else None
        if monitored is not None and not monitored.lossy:
            raise ValueError("the monitor decodes a lossy target")
        args = _command(stack, targets, settings, sample_rate, channels, lossless_gain_db,
                        monitored, loopback)
        proc = stack.enter_context(ffmpeg.popen(args, what="encoding", path=targets.first,
                                                stdin=True, stdout=monitor is not None))
        errors: list[BaseException] = []
        threads = [] if monitor is None or monitored is None else _start_monitor(
            stack, proc, monitored, loopback, sample_rate, channels, monitor, errors,
            targets.first)
        try:
            yield Encoder(proc)
            proc.stdin.close()
        except BrokenPipeError:
            failure = _broken_pipe(proc, threads, errors, targets.first)
            if failure is None:
                raise       # ffmpeg failed on its own: ffmpeg.popen reports its error
            raise failure from None
        for t in threads:
            t.join()
        if errors:
            raise errors[0]


def _command(stack: ExitStack, targets: Targets, settings: EncodingSettings, sample_rate: int,
             channels: int, lossless_gain_db: float, monitored: renditions.Format | None,
             loopback: bool) -> list[str]:
    """The encoder's ffmpeg arguments, read as the command: the float32 input from the
    pipe, every output into its temp file (entered on `stack`), then the loopback monitor."""
    args = ["-v", "error", "-f", "f32le", "-ar", str(sample_rate), "-ac", str(channels),
            "-i", "pipe:0"]
    for fmt, target in targets.outputs:
        tmp = stack.enter_context(fsutil.atomic_path(target))
        if fmt is monitored and not loopback:     # the file name goes inside the tee spec
            out = _output_args(settings, fmt, lossless_gain_db, tee=True)
            args += out[:-1] + ["-y", out[-1].format(tmp)]
        else:
            args += _output_args(settings, fmt, lossless_gain_db) + ["-y", str(tmp)]
    if loopback:
        args += _monitor_args(sample_rate, channels)
    return args


def _start_monitor(stack: ExitStack, proc: _Running, monitored: renditions.Format,
                   loopback: bool, sample_rate: int, channels: int, monitor: Monitor,
                   errors: list[BaseException], path: Path) -> list[threading.Thread]:
    """Start the threads that hand the monitored target's decoded samples to `monitor`:
    from the encoder's own loopback decoder, or (ffmpeg < 7) through a second ffmpeg that
    decodes the tee's pipe. Their failures are appended to `errors`."""
    threads: list[threading.Thread] = []
    pcm = proc.stdout
    if not loopback:
        dec = stack.enter_context(ffmpeg.popen(
            ["-v", "error", "-f", monitored.pipe_demuxer, "-i", "pipe:0",
             "-f", "f32le", "-ac", str(channels), "-ar", str(sample_rate), "pipe:1"],
            what=f"decoding the encoded {monitored.key.upper()}", path=path,
            stdin=True, stdout=True))
        threads.append(threading.Thread(target=_pump, args=(proc.stdout, dec.stdin, errors),
                                        daemon=True))
        pcm = dec.stdout
    threads.append(threading.Thread(target=_feed_monitor,
                                    args=(pcm, channels, monitor, errors), daemon=True))
    for t in threads:
        t.start()
    return threads


def _broken_pipe(proc: _Running, threads: list[threading.Thread],
                 errors: list[BaseException], path: Path) -> BaseException | None:
    """What to raise when the encoder stopped reading; None: the BrokenPipeError itself.

    Either a failed monitor closed its output (the monitor's error), ffmpeg failed on its
    own (a full disk: the BrokenPipeError goes on to ffmpeg.popen, which reports ffmpeg's
    own error: None), or it went away mid-encode (killed, crashed): say that, not what
    the temp file's context would make of it ("cannot write file: Broken pipe").
    """
    for t in threads:
        t.join()
    if errors:
        return errors[0]
    code = proc.wait()
    if code > 0:
        return None
    return FFmpegError(f"encoding failed: ffmpeg stopped mid-encode ({_ended(code)})",
                       path=path)


def _ended(code: int) -> str:
    """How a process ended, from its return code."""
    return f"killed by signal {-code}" if code < 0 else f"exit {code}"


def encode(chunks: Iterable[np.ndarray], targets: Targets, settings: EncodingSettings, *,
           sample_rate: int, channels: int, lossless_gain_db: float = 0.0,
           monitor: Monitor | None = None) -> int:
    """Encode a stream of chunks to the targets; returns the frames written.

    If the encode stops early, the chunk stream is closed before the error leaves, so the
    decoders behind it (ffmpeg.decode) are stopped and waited for at once.
    """
    source = iter(chunks)
    try:
        with open_encoder(targets, settings, sample_rate=sample_rate, channels=channels,
                          lossless_gain_db=lossless_gain_db, monitor=monitor) as enc:
            for chunk in source:
                enc.write(chunk)
    finally:
        # Not left to the garbage collector: from Python 3.12 on, a failed encode's frames
        # (this one included, holding `source`) sit in a reference cycle through
        # contextlib's __exit__, and a -j worker exits without collecting: the source's
        # ffmpeg decoder would outlive its worker, unwaited (a zombie).
        close = getattr(source, "close", None)
        if close is not None:
            close()
    return enc.frames

