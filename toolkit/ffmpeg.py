"""The one place podkit finds and runs ffmpeg.

Every ffmpeg subprocess goes through here: the argv is logged at debug level, a
failure becomes an `FFmpegError` carrying ffmpeg's last stderr lines, and a
stream that is abandoned half-way kills its process (no orphans on Ctrl-C).

The binary is `PODKIT_FFMPEG` if set, else `ffmpeg` on PATH, else the static
build inside the imageio-ffmpeg wheel. That wheel has no ffprobe, so nothing in
podkit uses ffprobe: `probe()` reads ffmpeg's own `-i` report.
"""
from __future__ import annotations

import errno
import functools
import logging
import re
import shlex
import shutil
import stat
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:  # numpy is imported where PCM is read: probing and checks do without it
    import numpy as np

from toolkit import environ
from toolkit.errors import FFmpegError, MediaError

log = logging.getLogger(__name__)

#: Frames per chunk when streaming PCM through a pipe (about 1.5 s at 44.1 kHz).
CHUNK_FRAMES = 65536


@dataclass(frozen=True)
class FFmpegInfo:
    """Which ffmpeg podkit uses and what it can do."""

    path: str
    source: str          # "PODKIT_FFMPEG", "PATH" or "imageio-ffmpeg"
    version: str
    has_libmp3lame: bool


@dataclass(frozen=True)
class ProbeInfo:
    """What ffmpeg reports about an input's first audio stream."""

    codec: str
    sample_rate: int
    channels: int
    duration: float | None   # from the container header; None when unknown
    bit_rate: int | None = None
    duration_estimated: bool = False   # ffmpeg guessed it from the bit rate (no header said it)


@functools.lru_cache(maxsize=None)
def _locate(override: str | None) -> tuple[str, str]:
    if override:
        if shutil.which(override) or Path(override).is_file():
            return override, "PODKIT_FFMPEG"
        raise FFmpegError(f"PODKIT_FFMPEG points at {override!r}, which is not an executable file",
                          field="PODKIT_FFMPEG")
    on_path = shutil.which("ffmpeg")
    if on_path:
        return on_path, "PATH"
    try:
        import imageio_ffmpeg  # only needed when no system ffmpeg exists
        return imageio_ffmpeg.get_ffmpeg_exe(), "imageio-ffmpeg"
    except Exception as exc:  # the wheel raises RuntimeError when its binary is missing
        raise FFmpegError(f"no ffmpeg found: set PODKIT_FFMPEG, install ffmpeg, or "
                          f"reinstall imageio-ffmpeg ({exc})") from exc


def binary() -> str:
    """The path of the ffmpeg executable podkit runs."""
    return _locate(environ.ffmpeg_override())[0]


@functools.lru_cache(maxsize=None)
def _info(path: str, source: str) -> FFmpegInfo:
    out = run(["-version"], what="ffmpeg -version", banner=True).stdout.decode("utf-8", "replace")
    first = out.splitlines()[0] if out else ""
    m = re.match(r"ffmpeg version (\S+)", first)
    return FFmpegInfo(path=path, source=source, version=m.group(1) if m else first,
                      has_libmp3lame="--enable-libmp3lame" in out or _has_encoder("libmp3lame"))


def _has_encoder(name: str) -> bool:
    out = run(["-encoders"], what="ffmpeg -encoders").stdout.decode("utf-8", "replace")
    return re.search(rf"\s{re.escape(name)}\s", out) is not None


def info() -> FFmpegInfo:
    """Version and capabilities of the ffmpeg in use (cached)."""
    return _info(*_locate(environ.ffmpeg_override()))


def _argv(args: Sequence[str], banner: bool = False) -> list[str]:
    head = [binary()]
    if not banner:
        head += ["-hide_banner", "-nostdin"]
    return head + [str(a) for a in args]


def _tail(stderr: bytes, lines: int = 6) -> str:
    text = stderr.decode("utf-8", "replace").strip().splitlines()
    # The banner and per-frame progress lines say nothing about the failure.
    useful = [ln.strip() for ln in text if ln.strip() and not ln.startswith("size=")]
    return " | ".join(useful[-lines:]) or "no message"


#: ffmpeg exits with its error code's low byte: AVERROR(ENOSPC) = -28 gives 228.
_ENOSPC_EXIT = (-errno.ENOSPC) & 0xFF


def failure(what: str, code: int, stderr: bytes) -> str:
    """The one-line message for an ffmpeg that exited with `code`, from its stderr.

    A full disk is named as such: ffmpeg reports it per output and per thread, and its
    exit status alone (228) says nothing to a producer.
    """
    if b"No space left on device" in stderr or code == _ENOSPC_EXIT:
        return f"{what} failed: no space left on device"
    return f"{what} failed (exit {code}): {_tail(stderr)}"


def _run_waited(argv: list[str], timeout: float | None) -> subprocess.CompletedProcess[bytes]:
    """subprocess.run, except that the process is always waited for.

    On KeyboardInterrupt (Ctrl-C, or a -j worker's SIGTERM) subprocess.run kills the child
    but leaves the wait to the Popen's finalizer or a later Popen; a worker that exits
    first (its failed job's traceback still holding the Popen) leaves a zombie.
    """
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def run(args: Sequence[str], *, what: str, path: str | Path | None = None,
        timeout: float | None = None, banner: bool = False,
        dry_run: bool = False) -> subprocess.CompletedProcess[bytes]:
    """Run ffmpeg to completion; raise FFmpegError naming `what` and `path` on failure."""
    argv = _argv(args, banner)
    log.debug("ffmpeg: %s", shlex.join(argv))
    if dry_run:
        log.info("dry run, not running: %s", shlex.join(argv))
        return subprocess.CompletedProcess(argv, 0, b"", b"")
    try:
        proc = _run_waited(argv, timeout)
    except FileNotFoundError as exc:
        raise FFmpegError(f"cannot run ffmpeg at {argv[0]}: {exc.strerror}") from exc
    except subprocess.TimeoutExpired as exc:
        raise FFmpegError(f"{what}: ffmpeg timed out after {timeout} s", path=path) from exc
    if proc.returncode != 0:
        raise FFmpegError(failure(what, proc.returncode, proc.stderr), path=path)
    return proc


_DURATION_RE = re.compile(r"Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)")
_AUDIO_RE = re.compile(r"Stream #\d+:\d+[^:]*: Audio: ([^,\s]+)[^,]*, (\d+) Hz, ([^,]+)")
_BITRATE_RE = re.compile(r"bitrate: (\d+) kb/s")
_LAYOUTS = {"mono": 1, "stereo": 2, "2.1": 3, "3.0": 3, "quad": 4, "4.0": 4, "5.0": 5,
            "5.1": 6, "6.1": 7, "7.1": 8}


def _channels(layout: str) -> int:
    layout = layout.strip()
    m = re.match(r"(\d+) channels", layout)
    if m:
        return int(m.group(1))
    return _LAYOUTS.get(layout.split("(")[0], 2)


def probe(path: str | Path) -> ProbeInfo:
    """Describe an audio file from ffmpeg's `-i` report; MediaError if it holds no audio.

    Remembered per process for the file as it is (its inode, size and change times): one
    build asks about each part in every pass, and each answer was a process of its own.
    """
    path = Path(path)
    try:
        st = path.stat()
    except OSError:
        st = None
    if st is None or not stat.S_ISREG(st.st_mode):      # one stat: the key needs it anyway
        raise MediaError("file not found", path=path)
    return _probe(str(path), (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns),
                  binary())


@functools.lru_cache(maxsize=512)
def _probe(name: str, identity: tuple[int, ...], ffmpeg: str) -> ProbeInfo:
    """`probe` of the file `name` whose stat gave `identity` by the binary `ffmpeg` (the
    cache key: a changed file, or another ffmpeg, asks again). Errors are never remembered."""
    path = Path(name)
    argv = _argv(["-i", name])
    log.debug("ffmpeg: %s", shlex.join(argv))
    # With no output named ffmpeg exits 1 after printing the input report: that is expected.
    proc = _run_waited(argv, None)
    text = proc.stderr.decode("utf-8", "replace")
    audio = _AUDIO_RE.search(text)
    if audio is None:
        reason = _tail(proc.stderr, 2) if "Invalid data" in text or "Error" in text else "no audio stream"
        raise MediaError(f"not a readable audio file ({reason})", path=path)
    dur = _DURATION_RE.search(text)
    duration = (int(dur.group(1)) * 3600 + int(dur.group(2)) * 60 + float(dur.group(3))) if dur else None
    br = _BITRATE_RE.search(text)
    return ProbeInfo(codec=audio.group(1), sample_rate=int(audio.group(2)),
                     channels=_channels(audio.group(3)), duration=duration,
                     bit_rate=int(br.group(1)) * 1000 if br else None,
                     duration_estimated="Estimating duration from bitrate" in text)


_PIPE_BYTES = 1 << 20


def _widen(pipe: IO[bytes] | None) -> None:
    """Give a pipe 1 MB of buffer (Linux; elsewhere the default 64 kB stays).

    PCM moves through these pipes at hundreds of MB/s: with 64 kB each side wakes the
    other every few hundred microseconds, and a short stall of one side stops the other.
    """
    if pipe is None:
        return
    try:
        import fcntl
        fcntl.fcntl(pipe.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), _PIPE_BYTES)
    except (ImportError, OSError, ValueError):
        pass


@contextmanager
def popen(args: Sequence[str], *, what: str, path: str | Path | None = None,
          stdin: bool = False, stdout: bool = False) -> Iterator[subprocess.Popen[bytes]]:
    """Start ffmpeg with pipes; on leaving, wait for it and raise FFmpegError if it failed.

    If the block raises (including KeyboardInterrupt), the process is killed first,
    so an abandoned encode or decode never outlives its caller. A BrokenPipeError from
    the block whose cause is ffmpeg having exited on an error of its own (a full disk,
    say) becomes that error, read from ffmpeg's stderr.
    """
    argv = _argv(args)
    log.debug("ffmpeg: %s", shlex.join(argv))
    # stderr goes to a temp file, not a pipe: a chatty ffmpeg must never block on a full pipe.
    import tempfile
    with tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                    stdout=subprocess.PIPE if stdout else subprocess.DEVNULL,
                                    stderr=err)
        except FileNotFoundError as exc:
            raise FFmpegError(f"cannot run ffmpeg at {argv[0]}: {exc.strerror}") from exc
        _widen(proc.stdin)
        _widen(proc.stdout)
        try:
            yield proc
        except BrokenPipeError:
            code = proc.poll()
            if code is None or code <= 0:      # still running, or killed: the caller's error
                proc.kill()
                proc.wait()
                raise
            err.seek(0)
            raise FFmpegError(failure(what, code, err.read()), path=path) from None
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None and not pipe.closed:
                    try:
                        pipe.close()
                    except BrokenPipeError:
                        pass
        code = proc.wait()
        if code != 0:
            err.seek(0)
            raise FFmpegError(failure(what, code, err.read()), path=path)


def decode(path: str | Path, *, sample_rate: int, channels: int,
           chunk_frames: int = CHUNK_FRAMES, filters: str | None = None,
           start: float | None = None, duration: float | None = None) -> Iterator[np.ndarray]:
    """Stream an audio file as float32 chunks of shape (frames, channels).

    Memory stays flat whatever the file's length; the ffmpeg process is killed if the
    caller stops iterating early.
    """
    args: list[str] = ["-v", "error"]
    if start is not None:
        args += ["-ss", f"{start:.6f}"]
    if duration is not None:
        args += ["-t", f"{duration:.6f}"]
    args += ["-i", str(path), "-map", "0:a:0", "-vn", "-sn", "-dn"]
    if filters:
        args += ["-af", filters]
    args += ["-f", "f32le", "-acodec", "pcm_f32le", "-ac", str(channels),
             "-ar", str(sample_rate), "pipe:1"]
    with popen(args, what="decoding", path=path, stdout=True) as proc:
        assert proc.stdout is not None
        yield from read_pcm(proc.stdout, channels, chunk_frames)


def read_pcm(pipe: BinaryIO, channels: int,
             chunk_frames: int = CHUNK_FRAMES) -> Iterator[np.ndarray]:
    """Read float32 little-endian PCM from a pipe as (frames, channels) chunks until EOF."""
    import numpy as np
    frame_bytes = 4 * channels
    while True:
        # Read straight into a new array: one copy from the kernel, none in Python.
        out = np.empty((chunk_frames, channels), dtype="<f4")
        view = memoryview(out).cast("B")
        got = 0
        while got < len(view):
            n = pipe.readinto(view[got:])
            if not n:
                break
            got += n
        if got >= frame_bytes:
            yield out[:got // frame_bytes]
        if got < len(view):      # end of stream (a trailing partial frame is dropped)
            return
