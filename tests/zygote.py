"""`python -m toolkit ...` in a real child process, forked from a warm interpreter.

A fresh `python -m toolkit build` spends about 1.3 s of CPU importing numpy, scipy and the
rest of the build before it does anything; the suite runs over a hundred such commands.
The zygote is one Python process per test worker that has imported podkit's modules
once and does nothing else. Each command is a fork of it, run as `python -m toolkit`
runs (`runpy`, as `__main__`, argv, environment and working folder its own, stdin from
/dev/null) and ended by the interpreter's own exit (atexit handlers, flushes, a
traceback printed if one escapes), with its own pid, exit status, stdout and stderr.

What a fork cannot change falls back to a fresh process: a command whose environment
sets interpreter options (PYTHON* variables other than the zygote's own) is run by
`subprocess.run` as before. Forked commands share the zygote's string hash seed, as
in-process tests do: byte-for-byte checks across processes use fresh ones.
"""
from __future__ import annotations

import atexit
import contextlib
import gc
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _python_vars(env: dict[str, str]) -> dict[str, str]:
    """The interpreter options an environment sets, as far as they change a command: not
    PYTHONDONTWRITEBYTECODE, and not PYTHONPATH naming this checkout (installed editable,
    podkit is found there either way)."""
    return {k: v for k, v in env.items() if k.startswith("PYTHON")
            and k != "PYTHONDONTWRITEBYTECODE" and (k, v) != ("PYTHONPATH", str(REPO))}


class _Zygote:
    """The warm process and the pipes to it (one command at a time)."""

    def __init__(self) -> None:
        self.env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen([sys.executable, __file__], env=self.env, cwd=REPO,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        self.lock = threading.Lock()
        self.folder = Path(tempfile.mkdtemp(prefix="podkit-zygote-"))
        self.count = 0
        self.pending = b""
        if self._line(120) != "ready":
            raise RuntimeError("the podkit zygote did not start")

    def _line(self, timeout: float | None) -> str | None:
        """The next reply line; None at the deadline or if the zygote has gone. Read from
        the pipe itself, not a buffered file: a readline() could hold the next reply in
        its buffer while select() waits on the empty pipe."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self.pending:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not select.select([fd], [], [], left)[0]:
                return None
            data = os.read(fd, 4096)
            if not data:
                return None
            self.pending += data
        line, self.pending = self.pending.split(b"\n", 1)
        return line.decode().strip()

    def run(self, args: list[str], env: dict[str, str], cwd: str,
            timeout: float | None) -> subprocess.CompletedProcess[str]:
        with self.lock:
            self.count += 1
            out, err = (self.folder / f"{self.count}.out"), (self.folder / f"{self.count}.err")
            request = {"args": args, "env": env, "cwd": cwd, "out": str(out), "err": str(err)}
            assert self.proc.stdin is not None
            self.proc.stdin.write((json.dumps(request) + "\n").encode())
            self.proc.stdin.flush()
            pid = self._line(60)
            if pid is None:
                raise RuntimeError("the podkit zygote stopped answering")
            status = self._line(timeout)
            if status is None and self.proc.poll() is None:  # as subprocess.run: kill, raise
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
                self._line(60)
                raise subprocess.TimeoutExpired(["podkit", *args], timeout or 0)
            if status is None:
                raise RuntimeError("the podkit zygote died")
            try:
                return subprocess.CompletedProcess(
                    ["podkit", *args], int(status), out.read_text("utf-8"),
                    err.read_text("utf-8"))
            finally:
                out.unlink(missing_ok=True)
                err.unlink(missing_ok=True)

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        for leftover in self.folder.iterdir():
            leftover.unlink()
        self.folder.rmdir()


_zygote: _Zygote | None = None


def run(args: list[str] | tuple[str, ...], *, env: dict[str, str] | None = None,
        cwd: Path | str | None = None, timeout: float | None = 300
        ) -> subprocess.CompletedProcess[str]:
    """`python -m toolkit *args` with capture_output and text, as `subprocess.run` gives it."""
    global _zygote
    env = dict(os.environ if env is None else env)
    cwd = str(cwd or os.getcwd())
    if _zygote is None or _zygote.proc.poll() is not None:
        _zygote = _Zygote()
        atexit.register(_zygote.close)
    if _python_vars(env) != _python_vars(_zygote.env):   # options a fork cannot change
        return subprocess.run([sys.executable, "-m", "toolkit", *args], capture_output=True,
                              text=True, env=env, cwd=cwd, timeout=timeout)
    return _zygote.run(list(args), env, cwd, timeout)


# ---- the zygote itself (run as a script) ---------------------------------------------------

def _warm() -> None:
    """Import what the commands import (not the Dask cluster, which starts threads)."""
    import importlib
    import pkgutil

    import toolkit
    for mod in pkgutil.walk_packages(toolkit.__path__, "toolkit."):
        if not mod.name.startswith(("toolkit.cluster", "toolkit.__main__")):
            importlib.import_module(mod.name)
    import scipy.signal  # noqa: F401 - loaded lazily by the audio engine


def _child(request: dict, reply: int) -> None:
    """In the fork: become `python -m toolkit <args>`, and end as it ends (never returns)."""
    import runpy
    os.close(reply)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    for fd, path in ((1, request["out"]), (2, request["err"])):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(target, fd)
        os.close(target)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.path[0] = os.getcwd()               # what `python -m` puts first
    sys.argv = ["-m", *request["args"]]
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        runpy.run_module("toolkit", run_name="__main__", alter_sys=True)
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    except BaseException:                   # as the interpreter: the traceback, status 1
        sys.excepthook(*sys.exc_info())
        code = 1
    # The interpreter's own exit without tearing down every module the zygote imported
    # (a second or so of freeing objects a fresh `podkit check` never loaded).
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    threading._shutdown()                   # type: ignore[attr-defined]  # as Py_Finalize:
    atexit._run_exitfuncs()                 # non-daemon threads joined, then atexit
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code & 0xFF)


def _serve() -> None:
    reply = os.dup(1)                       # replies: pid, then exit status, one per line
    _warm()
    assert threading.active_count() == 1, "a zygote must not fork with threads running"
    # Frozen, the imported objects stay out of the commands' collections: a collection
    # would touch, and so copy into the child, every page of the inherited heap.
    gc.collect()
    gc.freeze()
    os.write(reply, b"ready\n")
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request, reply)
        os.write(reply, f"{pid}\n".encode())
        _, status = os.waitpid(pid, 0)
        os.write(reply, f"{os.waitstatus_to_exitcode(status)}\n".encode())


if __name__ == "__main__":
    sys.path[0] = str(REPO)                  # not tests/: the package as installed
    _serve()
