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
    ("model", {"toolkit.model", "toolkit.textmodel", "toolkit.errors"}),
    ("bottom", {"toolkit.codec", "toolkit.fsutil", "toolkit.environ", "toolkit.redact",
                "toolkit.ffmpeg"}),
    ("standards", {"toolkit.standards"}),
    ("store", {"toolkit.store"}),
    ("config", {"toolkit.config"}),
    ("stages", {"toolkit.audio", "toolkit.text", "toolkit.tags", "toolkit.site", "toolkit.feed",
                "toolkit.publish"}),
    ("build", {"toolkit.episode_build", "toolkit.pipeline", "toolkit.crosscheck",
               "toolkit.deliver", "toolkit.runner", "toolkit.steps"}),
    ("show", {"toolkit.migrate", "toolkit.showlife", "toolkit.api"}),
    ("cli", {"toolkit.cli", "toolkit.commands", "toolkit.__main__"}),
]
STAGES = {"toolkit.audio", "toolkit.text", "toolkit.tags", "toolkit.site", "toolkit.feed",
          "toolkit.publish"}


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
    for module in ("toolkit.model", "toolkit.textmodel", "toolkit.errors"):
        tree = ast.parse(MODULES[module].read_text("utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or name in (
                    "toolkit.textmodel", "toolkit.model"), f"{module} imports {name}"


def test_no_module_over_400_lines():
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text("utf-8").splitlines())) > 400}
    assert not long, long


def test_only_the_chokepoint_starts_ffmpeg():
    for module, path in MODULES.items():
        if module == "toolkit.ffmpeg":
            continue
        text = path.read_text("utf-8")
        assert "subprocess.Popen(" not in text and "subprocess.run(" not in text, \
            f"{module} starts a process itself; go through toolkit.ffmpeg"
