"""The layout as the code has it: layers imported downward only, stages apart, no cycles.

docs/architecture.md draws the same layers; a module added in a new place must be given
a layer here, which is the moment to decide where it belongs.
"""
from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

import pytest

TOOLKIT = Path(__file__).resolve().parent.parent / "toolkit"

#: Lowest first. A module may import its own layer and the ones below, never above.
LAYERS: list[tuple[str, set[str]]] = [
    ("model", {"toolkit.model", "toolkit.textmodel", "toolkit.p20model", "toolkit.cutmodel",
               "toolkit.delivermodel", "toolkit.audiomodel",
               "toolkit.errors"}),
    ("bottom", {"toolkit.codec", "toolkit.fsutil", "toolkit.environ", "toolkit.redact",
                "toolkit.http", "toolkit.urls",
                "toolkit.ffmpeg"}),
    ("standards", {"toolkit.standards"}),
    ("store", {"toolkit.store"}),
    ("config", {"toolkit.config"}),
    ("stages", {"toolkit.audio", "toolkit.text", "toolkit.tags", "toolkit.site", "toolkit.feed",
                "toolkit.publish", "toolkit.clips", "toolkit.deliver"}),
    ("build", {"toolkit.episode_build", "toolkit.pipeline", "toolkit.crosscheck",
               "toolkit.public", "toolkit.runner", "toolkit.steps", "toolkit.clipping",
               "toolkit.cluster", "toolkit.delivery"}),
    ("show", {"toolkit.migrate", "toolkit.showlife", "toolkit.api"}),
    ("cli", {"toolkit.cli", "toolkit.commands", "toolkit.__main__"}),
]
STAGES = {"toolkit.audio", "toolkit.text", "toolkit.tags", "toolkit.site", "toolkit.feed",
          "toolkit.publish", "toolkit.clips", "toolkit.deliver"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in TOOLKIT.rglob("*.py"):
        name = ".".join(path.relative_to(TOOLKIT.parent).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = path
    return out


MODULES = _modules()


def _group(module: str) -> str:
    """The layer table's key for a module: its package, or itself at the top level."""
    parts = module.split(".")
    return ".".join(parts[:2])


def _layer(module: str) -> int:
    for i, (_, members) in enumerate(LAYERS):
        if _group(module) in members or module in members:
            return i
    raise AssertionError(f"{module} has no layer in tests/test_architecture.py")


def _imports(module: str, *, top_level_only: bool) -> set[str]:
    """podkit modules `module` imports (function-level imports too unless top_level_only)."""
    tree = ast.parse(MODULES[module].read_text("utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.split(".")[0] == "toolkit":
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in MODULES else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "toolkit"}
    found.discard(module)
    return found


def test_every_module_has_a_layer():
    for module in MODULES:
        if module != "toolkit":
            _layer(module)


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m != "toolkit"))
def test_imports_go_down_and_stages_stay_apart(module):
    mine = _layer(module)
    for dep in _imports(module, top_level_only=False):
        if dep in ("toolkit",):      # __version__ only
            continue
        assert _layer(dep) <= mine, f"{module} ({LAYERS[mine][0]}) imports {dep} " \
                                    f"({LAYERS[_layer(dep)][0]}), a higher layer"
        if _group(module) in STAGES and _group(dep) in STAGES:
            assert _group(dep) == _group(module), f"stage {module} reaches into {dep}"


def test_no_import_cycles_at_module_level():
    graph = defaultdict(set)
    for module in MODULES:
        graph[module] = {d for d in _imports(module, top_level_only=True) if d in MODULES
                         and d != "toolkit"}
    state: dict[str, int] = {}
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 5000))

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            assert state.get(nxt) != 1, "import cycle: " + " -> ".join(
                path[path.index(nxt):] + [node, nxt] if nxt in path else [node, nxt])
            if nxt not in state:
                visit(nxt, path + [node])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])


def test_the_model_imports_only_the_standard_library():
    for module in ("toolkit.model", "toolkit.textmodel", "toolkit.p20model", "toolkit.cutmodel",
                   "toolkit.delivermodel", "toolkit.audiomodel",
                   "toolkit.errors"):
        tree = ast.parse(MODULES[module].read_text("utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or name in (
                    "toolkit.textmodel", "toolkit.p20model", "toolkit.cutmodel",
                    "toolkit.model", "toolkit.delivermodel", "toolkit.audiomodel"), \
                    f"{module} imports {name}"


def test_no_module_over_400_lines():
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text("utf-8").splitlines())) > 400}
    assert not long, long


#: What starts a program, by module: every name of `subprocess`; these of the others.
PROGRAM_STARTERS: dict[str, set[str] | None] = {
    "subprocess": None,                             # None: the whole module
    "os": {"system", "popen", "posix_spawn", "posix_spawnp", "fork", "forkpty", "execl",
           "execle", "execlp", "execlpe", "execv", "execve", "execvp", "execvpe", "spawnl",
           "spawnle", "spawnlp", "spawnlpe", "spawnv", "spawnve", "spawnvp", "spawnvpe"},
    "pty": {"spawn", "fork"},
    "asyncio": {"create_subprocess_exec", "create_subprocess_shell"},
    "multiprocessing": None, "concurrent.futures.process": None,
    "concurrent.futures": {"ProcessPoolExecutor"},
}
#: Worker processes of podkit's own Python (the -j build), not programs: the runner only.
WORKER_MODULES = {"multiprocessing", "concurrent.futures.process", "concurrent.futures"}


def process_starters(source: str, *, workers_allowed: bool = False) -> list[str]:
    """Where `source` starts a process, read from its syntax tree: imports of `subprocess`
    under any name, `from os import system`, `os.posix_spawn(...)` through any alias of os...
    (a string search for "subprocess.Popen(" missed `from subprocess import Popen`)."""
    def forbidden(module: str, name: str | None) -> bool:
        if workers_allowed and module in WORKER_MODULES:
            return False
        names = PROGRAM_STARTERS.get(module, set())
        return names is None or (name is not None and name in names)

    found, aliases = [], {}                         # local name -> module it is bound to
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if forbidden(a.name, None):
                    found.append(f"line {node.lineno}: import {a.name}")
                aliases[a.asname or a.name.split(".")[0]] = a.asname and a.name or \
                    a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                if forbidden(node.module, a.name) or forbidden(f"{node.module}.{a.name}", None):
                    found.append(f"line {node.lineno}: from {node.module} import {a.name}")
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            base = _dotted(node.value, aliases)
            if base and forbidden(base, node.attr):
                found.append(f"line {node.lineno}: {base}.{node.attr}")
    return found


def _dotted(node: ast.expr, aliases: dict[str, str]) -> str | None:
    """The module an expression names (`sp` -> "subprocess", `concurrent.futures`), if any."""
    if isinstance(node, ast.Name):
        return aliases.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value, aliases)
        return f"{base}.{node.attr}" if base else None
    return None


@pytest.mark.parametrize("source", [
    "import subprocess\nsubprocess.run(['ls'])",
    "import subprocess as sp\nsp.check_output(['ls'])",
    "from subprocess import Popen\nPopen(['ls'])",
    "from subprocess import run as go",
    "import os\nos.system('ls')",
    "import os as o\no.posix_spawn('/bin/ls', ['ls'], {})",
    "from os import execv",
    "import os\nos.spawnlp(os.P_WAIT, 'ls', 'ls')",
    "import asyncio\nasyncio.create_subprocess_exec('ls')",
    "import pty\npty.spawn('ls')",
    "import multiprocessing as mp\nmp.Process(target=print).start()",
    "from concurrent.futures import ProcessPoolExecutor",
    "import concurrent.futures\nconcurrent.futures.ProcessPoolExecutor()",
])
def test_the_process_rule_catches_every_spelling(source):
    assert process_starters(source), source


def test_the_process_rule_leaves_other_os_calls_alone():
    assert process_starters("import os\nos.path.join('a')\nos.replace('a', 'b')\n"
                            "from concurrent.futures import ThreadPoolExecutor") == []
    assert process_starters("import multiprocessing as mp\nmp.get_context('fork')",
                            workers_allowed=True) == []


def test_only_the_chokepoint_starts_a_program():
    """Every program (ffmpeg, ffprobe) starts in toolkit/ffmpeg.py, where its deadline,
    logging and errors live; the runner alone starts podkit's own worker processes."""
    for module, path in MODULES.items():
        if module == "toolkit.ffmpeg":
            continue
        found = process_starters(path.read_text("utf-8"),
                                 workers_allowed=module == "toolkit.runner")
        assert not found, f"{module} starts a process itself ({'; '.join(found)}); " \
                          "go through toolkit.ffmpeg"


#: Client libraries that open outbound connections; boto3 lives in publish/s3 (its own factory).
HTTP_CLIENTS = {"urllib.request", "http.client", "urllib3", "requests", "httpx", "aiohttp"}


def test_only_the_http_chokepoint_makes_requests():
    for module, path in MODULES.items():
        if module == "toolkit.http":
            continue
        found = set()
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        assert not found & HTTP_CLIENTS, \
            f"{module} imports {sorted(found & HTTP_CLIENTS)}; go through toolkit.http"
