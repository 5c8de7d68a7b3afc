"""The corpus of bad and unusual inputs: how a case is written down, run and judged.

Every case plants one mistake (or one oddity) in a copy of a small valid show, runs the
real `podkit` command in a child process (`python -m toolkit --root <show> ...`, forked
from a warm interpreter: tests/zygote.py) and judges what a producer would see:

- the exit status (non-zero for an error, zero where the output is still right);
- stderr: exactly the expected line naming the file and the field (or byte/cue/time
  position), no traceback, nothing else but the one-line summary `podkit: ...`;
- the sources byte for byte unchanged (every file outside build/ hashed before and after);
- no output that looks finished but is not: no temp files left in build/ (dot files
  included: atomic writes clean up after themselves), and with `keeps_outputs`, build/
  byte for byte as the last good run left it.

`Case` rows also carry the words of the table in docs/corpus.md (see corpus_table.py).
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import re
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import zygote
from conftest import write_show

REPO = Path(__file__).resolve().parent.parent
EP = "episodes/first-episode"
EP_TOML = f"{EP}/episode.toml"
FEED = "feeds/test-radio.toml"
#: `podkit build` progress lines on a non-terminal stderr ('first-episode: encode').
PROGRESS_RE = re.compile(r"^[a-z0-9-]+: [a-z ]+(?: \(\d+\.\d s\))?$")


@dataclass(frozen=True)
class Run:
    """What one `podkit` process did."""

    args: tuple[str, ...]
    rc: int
    stdout: str
    stderr: str

    @property
    def err_lines(self) -> list[str]:
        """Non-empty stderr lines."""
        return [ln for ln in self.stderr.splitlines() if ln.strip()]

    def __str__(self) -> str:  # shown by failing asserts
        return (f"podkit {' '.join(self.args)} -> {self.rc}\n--- stdout\n{self.stdout}"
                f"--- stderr\n{self.stderr}")


def podkit(root: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120,
           cwd: Path | None = None) -> Run:
    """Run `python -m toolkit --root root args...` in a child process, as a producer would
    (forked from a warm interpreter: tests/zygote.py)."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1",
                "COLUMNS": "200", **(env or {})}
    argv = ("--root", str(root), *args)
    proc = zygote.run(argv, env=full_env, timeout=timeout, cwd=cwd or root.parent)
    return Run(argv, proc.returncode, proc.stdout, proc.stderr)


def podkit_inprocess(root: Path, *args: str, cwd: Path | None = None,
                     env: dict[str, str] | None = None, unset: tuple[str, ...] = ()) -> Run:
    """The same command through `toolkit.cli.main()` in this process (about 20x quicker).

    stdout and stderr are captured as the real process would write them, logging included
    (the CLI's own logging setup runs against an empty root logger, restored afterwards).
    `env` is set and `unset` removed for the command only (what podkit reads when it runs:
    credentials, PODKIT_NOW; not what modules read on import, such as PODKIT_FFMPEG).
    """
    from toolkit import cli
    argv = ("--root", str(root), *args)
    out, err = io.StringIO(), io.StringIO()
    root_log = logging.getLogger()
    saved = root_log.handlers[:], root_log.level
    root_log.handlers = []
    old_cwd, old_argv = os.getcwd(), sys.argv
    old_env = {k: os.environ.get(k) for k in (*(env or {}), *unset)}
    for k in unset:
        os.environ.pop(k, None)
    os.environ.update(env or {})
    rc = 0
    try:
        os.chdir(cwd or root.parent)
        sys.argv = ["podkit", *argv]
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                cli.main()
            except SystemExit as exc:
                rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        sys.argv = old_argv
        os.chdir(old_cwd)
        root_log.handlers = saved[0]
        root_log.setLevel(saved[1])
    return Run(argv, rc, out.getvalue(), err.getvalue())


#: Files larger than this (the sparse 4 GiB WAV) are hashed by size, first and last MiB.
BIG_FILE = 64 * 1024 * 1024


def file_hash(path: Path) -> str:
    """sha256 of a file; of its size, first and last MiB if it is over BIG_FILE."""
    size = path.stat().st_size
    if size <= BIG_FILE:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    with open(path, "rb") as f:
        head = f.read(1 << 20)
        f.seek(size - (1 << 20))
        tail = f.read()
    return f"{size}:" + hashlib.sha256(head + tail).hexdigest()


#: podkit's memos of the sources (build/cache/hashes.json: content hashes; catalogue.json:
#: episodes as loaded): they record what was read, even by a run that fails, and are no
#: output (a lost or stale memo only costs a re-read).
HASH_MEMO = ("cache/hashes.json", "cache/catalogue.json")


def tree_hash(folder: Path, *, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """{relative path: sha256} of every file under `folder` (symlinks as their target text;
    big files by `file_hash`)."""
    out = {}
    if not folder.exists():
        return out
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if rel.split("/")[0] in skip or rel.endswith(HASH_MEMO):
            continue
        if p.is_symlink():
            out[rel] = "-> " + os.readlink(p)
        elif p.is_file():
            out[rel] = file_hash(p)
    return out


def sources_hash(root: Path) -> dict[str, str]:
    """Everything a producer wrote (the show folder minus build/)."""
    return tree_hash(root, skip=("build",))


def leftovers(root: Path) -> list[str]:
    """Temp files under build/ (atomic writes must remove theirs, also on failure)."""
    build = root / "build"
    if not build.exists():
        return []
    return sorted(p.relative_to(build).as_posix() for p in build.rglob("*")
                  if p.is_file() and (".part" in p.name or p.name.startswith(".")
                                      or p.name.endswith((".tmp", "~")))
                  and not p.name.startswith(".podkit"))


@dataclass(frozen=True)
class Line:
    """The one line a case expects on stderr: `path: field: ...words...`.

    `path` is the file as shown (relative to the show, or absolute when `absolute`),
    `field` the field or position; `words` must all appear in the message.
    """

    path: str
    field: str | None
    words: tuple[str, ...] = ()
    prefix: str = ""              # what the command puts before it ('failed first-episode: ')
    absolute: bool = False
    warning: bool = False
    stream: str = "stderr"        # validate's findings and check's warnings are on stdout

    def render(self, root: Path) -> str:
        """The start of the line as podkit prints it for the show at `root`."""
        path = str(root / self.path) if self.absolute else self.path
        head = self.prefix + ": ".join(p for p in (path, self.field) if p) + ": "
        return head + ("warning: " if self.warning and not self.prefix.startswith("WARNING")
                       else "")

    def matches(self, line: str, root: Path) -> bool:
        return line.startswith(self.render(root)) and all(w in line for w in self.words)


Step = tuple[str, ...]


@dataclass(frozen=True)
class Row:
    """A corpus row checked by its own test (faults, preview): only its words for the table."""

    id: str
    what: str
    outcome: str
    checked: str
    process: bool = True

    @property
    def how(self) -> str:
        return ("child process; " if self.process else "cli.main() in-process; ") + self.checked


@dataclass(frozen=True)
class Case:
    """One row of the corpus: a planted input, the command, what must come out."""

    id: str
    what: str                                  # the input, for the table
    plant: Callable[[Path], None]              # changes the copy of the show
    outcome: str                               # the behaviour, for the table
    line: Line | None = None                   # the one line expected (None: none expected)
    command: Step = ("check",)
    exit: int = 1
    before: tuple[Step, ...] = ()              # commands run first, each must succeed
    built: bool = False                        # start from a built (build + feed) show
    keeps_outputs: bool = True                 # a failing run leaves build/ byte-identical
    summary: str | None = None                 # expected summary line after it ('podkit: ...')
    verify: Callable[[Path, Run], None] | None = None  # further checks of a correct output
    checked: str = ""                          # how, beyond the generic checks, for the table
    extra_lines: int = 0                       # other expected stderr lines (progress...)
    process: bool = False                      # a real child process, else cli.main() in-process

    @property
    def how(self) -> str:
        """How the row is run and checked, for the table."""
        base = "child process" if self.process else "cli.main() in-process"
        return base + (f"; {self.checked}" if self.checked else "")


def edit(path: Path, old: str, new: str, *, count: int = 1) -> None:
    """Replace `old` by `new` in a text file; fail loudly if `old` is not there."""
    text = path.read_text("utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, count), "utf-8")


def prepend(path: Path, text: str) -> None:
    """Put `text` before the first line of a text file."""
    path.write_text(text + path.read_text("utf-8"), "utf-8")


def transcript(name: str, data: bytes):  # type: ignore[no-untyped-def]
    """A planter: `data` as a transcript file `name` of the corpus episode, listed in its TOML."""
    def plant(root: Path) -> None:
        (root / EP / name).write_bytes(data)
        with open(root / EP_TOML, "a", encoding="utf-8") as f:
            # The corpus's audio is tones, not speech: alignment would only report a mismatch.
            f.write(f'\n[[transcripts]]\nfile = "{name}"\nlanguage = "en"\nalign = false\n')
    return plant


def copy_show(src: Path, dst: Path) -> Path:
    """A copy of a show folder, hard links and symlinks kept as they are."""
    shutil.copytree(src, dst, symlinks=True)
    return dst


def judge(case: Case, root: Path, run: Run, *, sources_before: dict[str, str],
          build_before: dict[str, str]) -> None:
    """The generic checks every case gets (see the module docstring)."""
    assert "Traceback" not in run.stderr + run.stdout, run
    assert run.rc == case.exit, run
    lines = [ln for ln in run.err_lines if not PROGRESS_RE.match(ln)]
    rest = lines
    if case.line is not None:
        pool = lines if case.line.stream == "stderr" else run.stdout.splitlines()
        hits = [ln for ln in pool if case.line.matches(ln, root)]
        assert len(hits) == 1, (case.line.render(root), case.line.words, str(run))
        rest = [ln for ln in lines if ln not in hits]
    if case.summary is not None:
        summary = [ln for ln in rest if case.summary in ln]
        assert len(summary) == 1, (case.summary, str(run))
        rest = [ln for ln in rest if ln not in summary]
    assert len(rest) <= case.extra_lines, (rest, str(run))
    assert sources_hash(root) == sources_before, "sources changed"
    assert leftovers(root) == [], leftovers(root)
    if case.exit != 0 and case.keeps_outputs:
        assert tree_hash(root / "build") == build_before, "build/ changed on a failed run"


# ---- fixtures ----------------------------------------------------------------------------------

# Test modules import these fixtures by name; pytest would make one session fixture per
# importing module, so the folder itself is made once per process here.
_made: dict[str, Path] = {}


@pytest.fixture(scope="session")
def corpus_base(tmp_path_factory: pytest.TempPathFactory, _media_cache: Path) -> Path:
    """The valid show every case starts from (conftest's show: two FLAC parts, a cover)."""
    if "base" not in _made:
        _made["base"] = write_show(tmp_path_factory.mktemp("corpus") / "show", _media_cache)
    return _made["base"]


@pytest.fixture(scope="session")
def corpus_built(built_show: Path) -> Path:
    """The same show after a build and `podkit feed` (conftest's `built_show`, never changed:
    every case works on a copy): the last good build a failing run must leave alone."""
    return built_show


def run_case(case: Case, base: Path, tmp_path: Path) -> tuple[Path, Run]:
    """Copy `base`, plant the case, run its commands, apply the generic checks."""
    root = copy_show(base, tmp_path / "show")
    case.plant(root)
    runner = podkit if case.process else podkit_inprocess
    for step in case.before:
        run = runner(root, *step)
        assert run.rc == 0, run
    sources, build = sources_hash(root), tree_hash(root / "build")
    run = runner(root, *case.command)
    judge(case, root, run, sources_before=sources, build_before=build)
    if case.verify is not None:
        case.verify(root, run)
    return root, run
