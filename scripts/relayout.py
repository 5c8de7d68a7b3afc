"""Move toolkit's flat modules into subpackages and rewrite every reference (issue 14).

    python scripts/relayout.py --move     # git mv + rewrite (once)
    python scripts/relayout.py            # rewrite references only (after merging a branch
                                          # written against the flat layout)

Kept in scripts/ so a branch made before the move can be brought over with the same rules.
"""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: old flat module -> new dotted path under toolkit (the last part is the new module name).
MOVES = {
    # config: reading the show folder into the model
    "config": "environ", "tomlread": "config.tomlread", "show": "config.show",
    "episode": "config.episode", "check": "crosscheck", "catalog": "config.catalog",
    "catmemo": "config.catmemo", "presets": "config.presets", 
    "speechconf": "config.speechconf",
    # standards: what outside specs and services say, shared by loading and validation
    "contenttypes": "standards.contenttypes", "categories": "standards.categories",
    "stdcheck": "standards.stdcheck", "artwork": "standards.artwork",
    "wavheader": "standards.wavheader", "prefix": "standards.prefix",
    "renditions": "standards.renditions",
    # showlife: starting a show, new episodes, where things stand, releasing
    "showinit": "showlife.showinit", "scaffold": "showlife.scaffold",
    "status": "showlife.status", "golive": "showlife.golive",
    # audio: parts to measured masters
    "sources": "audio.sources", "assemble": "audio.assemble",
    "loudness": "audio.loudness", "truepeak": "audio.truepeak", "normalize": "audio.normalize",
    "calibrate": "audio.calibrate", "encode": "audio.encode", "master": "audio.master",
    "qc": "audio.qc", "processing": "audio.processing", "speech": "audio.speech",
    "speechlevel": "audio.speechlevel", "passthrough": "audio.passthrough",
    # text: transcripts, chapters, markup, alignment
    "transcript": "text.transcript", "transcript_read": "text.transcript_read",
    "transcript_write": "text.transcript_write", "chapters": "text.chapters",
    "align": "text.align", "align_text": "text.align_text", "align_window": "text.align_window",
    "g2p": "text.g2p",
    # tags: mutagen
    "tag": "tags.id3", "tag_mp4": "tags.mp4", "tag_art": "tags.pictures",
    "tag_opus": "tags.opus",
    # site: jinja2 pages and documents for people
    "notes": "site.notes", "pages": "site.pages", "templating": "site.templating",
    "cue": "site.cue", "markup": "site.markup",
    # feed: feedgen, rules, validation, reading other feeds
    "feed": "feed.rss", "feedrules": "feed.rules", "itemrules": "feed.itemrules",
    "feedfiles": "feed.builtfiles", "feedread": "feed.foreign", "feedfetch": "feed.fetch",
    "validate": "feed.validate", "findings": "feed.findings",
    # publish: boto3, local folder, preview, pings
    "publish": "publish.sync", "publish_plan": "publish.plan", "publish_s3": "publish.s3",
    "publish_local": "publish.local", "publish_hashes": "publish.hashes",
    "notify": "publish.notify", "preview": "publish.preview",
    # migrate: another host's podcast into episodes/ and feeds/
    "importer": "migrate.importer", "importfeed": "migrate.importfeed",
    "importmap": "migrate.importmap", "download": "migrate.download",
    # store: where builds live on disk, the build record, transactional promotion, memos
    "layout": "store.layout", "record": "store.record", "promote": "store.promote",
    "hashcache": "store.hashcache",
    # commands: the CLI's command groups (cli.py stays on top)
    "cli_show": "commands.show", "cli_tools": "commands.tools", "clidisplay": "commands.display",
}
PACKAGES = sorted({v.split(".")[0] for v in MOVES.values() if "." in v})
NEW = {v for v in MOVES.values()}


def _git(*args: str) -> None:
    subprocess.run(["git", *args], cwd=ROOT, check=True)


def move() -> None:
    for pkg in PACKAGES:
        (ROOT / "toolkit" / pkg).mkdir(exist_ok=True)
    for old, new in MOVES.items():
        src = ROOT / "toolkit" / f"{old}.py"
        if src.exists():
            _git("mv", str(src), str(ROOT / "toolkit" / (new.replace(".", "/") + ".py")))


_DOTTED = re.compile(r"\btoolkit([./])(\w+)\b(?:\.py\b)?")


def rewrite_dotted(text: str) -> str:
    """toolkit.old -> toolkit.pkg.new and toolkit/old.py -> toolkit/pkg/new.py (once only)."""
    def sub(m: re.Match[str]) -> str:
        sep, name = m.group(1), m.group(2)
        if name not in MOVES:
            return m.group(0)
        tail = text[m.end():m.end() + 60]
        new = MOVES[name]
        pkg, _, mod = new.rpartition(".")
        if (ROOT / "toolkit" / name).is_dir() and not new.startswith(f"{name}."):
            return m.group(0)          # toolkit.config: now a package (the old module moved)
        nxt = re.match(r"[./](\w+)", tail)
        if (ROOT / "toolkit" / name).is_dir() and (
                nxt is None or (ROOT / "toolkit" / name / f"{nxt.group(1)}.py").exists()):
            return m.group(0)          # toolkit.feed.rss or `from toolkit.feed import`: done
        if sep == "/":
            if m.group(0).endswith(".py"):
                return f"toolkit/{new.replace('.', '/')}.py"
            return m.group(0)
        return f"toolkit.{new}"
    return _DOTTED.sub(sub, text)


def _names(tree: ast.AST) -> set[str]:
    """Every identifier the code binds or reads (strings and comments do not count)."""
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            out.add(node.id)
        elif isinstance(node, ast.arg):
            out.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, ast.alias):
            out.add((node.asname or node.name).split(".")[0])
    return out


def _bound_elsewhere(tree: ast.AST, name: str) -> bool:
    """Whether `name` is bound in the file other than by an import (a variable, a parameter)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, (ast.Store, ast.Del)):
            return True
        if isinstance(node, ast.arg) and node.arg == name:
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return True
    return False


def rewrite_imports(path: Path, text: str) -> str:
    """`from toolkit import a, b` with moved modules -> one import per package."""
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    edits: list[tuple[int, int, str]] = []
    renames: dict[str, str] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.ImportFrom) and node.module == "toolkit" and node.level == 0):
            continue
        if not any(a.name in MOVES for a in node.names):
            continue
        groups: dict[str, list[str]] = {}
        for a in node.names:
            if a.name in MOVES:
                pkg, _, mod = MOVES[a.name].rpartition(".")
                bound = a.asname or a.name
                if a.asname is None and mod != a.name:
                    if _bound_elsewhere(tree, a.name) or mod in _names(tree):
                        entry = f"{mod} as {a.name}"          # keep the name the code uses
                        print(f"{path}: kept {a.name!r} as an alias of {pkg}.{mod}")
                    else:
                        entry = mod
                        renames[a.name] = mod
                else:
                    entry = mod if a.asname is None else f"{mod} as {bound}"
                groups.setdefault(f"toolkit.{pkg}" if pkg else "toolkit", []).append(entry)
            else:
                groups.setdefault("toolkit", []).append(
                    a.name if a.asname is None else f"{a.name} as {a.asname}")
        indent = re.match(r"\s*", lines[node.lineno - 1]).group(0)
        out = []
        for mod in sorted(groups, key=lambda m: (m != "toolkit", m)):
            names = ", ".join(groups[mod])
            line = f"{indent}from {mod} import {names}"
            if len(line) > 99:
                line = f"{indent}from {mod} import (\n" + "".join(
                    f"{indent}    {n},\n" for n in groups[mod]) + f"{indent})"
            out.append(line)
        comment = ""
        last = lines[node.end_lineno - 1]
        if "#" in last[node.end_col_offset:]:
            comment = "  " + last[node.end_col_offset:].strip()
        edits.append((node.lineno - 1, node.end_lineno, "\n".join(out) + comment + "\n"))
    for start, end, new in sorted(edits, reverse=True):
        lines[start:end] = [new]
    text = "".join(lines)
    if renames:
        tree = ast.parse(text)
        spots = [(n.lineno, n.col_offset, n.id) for n in ast.walk(tree)
                 if isinstance(n, ast.Name) and n.id in renames]
        lines = text.splitlines(keepends=True)
        for ln, col, name in sorted(spots, reverse=True):
            s = lines[ln - 1]
            lines[ln - 1] = s[:col] + renames[name] + s[col + len(name):]
        text = "".join(lines)
        # monkeypatch.setattr(module, ...) and strings stay correct: they use the object.
    return text


def rewrite_import_lines(text: str) -> str:
    """`from toolkit import a, b` lines the AST did not see (inside strings, in docs)."""
    def sub(m: re.Match[str]) -> str:
        indent, names = m.group(1), [n.strip() for n in m.group(2).split(",")]
        if not any(n.split(" as ")[0] in MOVES for n in names):
            return m.group(0)
        groups: dict[str, list[str]] = {}
        for n in names:
            base, _, alias = n.partition(" as ")
            if base in MOVES:
                pkg, _, mod = MOVES[base].rpartition(".")
                entry = mod if mod == base and not alias else f"{mod} as {alias or base}"
                groups.setdefault(f"toolkit.{pkg}" if pkg else "toolkit", []).append(entry)
            else:
                groups.setdefault("toolkit", []).append(n)
        return "\n".join(f"{indent}from {k} import {', '.join(v)}" for k, v in groups.items())
    return re.sub(r"^([ \t]*)from toolkit import ([\w ,]+)$", sub, text, flags=re.M)


def rewrite_doc_names(text: str) -> str:
    """`feedrules.py` -> `feed/rules.py` in prose."""
    return re.sub(r"`(\w+)\.py", lambda m: "`" + MOVES[m.group(1)].replace(".", "/") + ".py"
                  if m.group(1) in MOVES else m.group(0), text)


def main() -> None:
    if "--move" in sys.argv:
        move()
    files = [p for d in ("toolkit", "tests", "benchmarks", "scripts") for p in (ROOT / d).rglob("*.py")
             if p.name != "relayout.py"]
    for p in files:
        text = p.read_text("utf-8")
        new = rewrite_dotted(text)
        try:
            new = rewrite_imports(p, new)
        except SyntaxError as exc:
            print(f"{p}: {exc}")
        new = rewrite_import_lines(new)
        if new != text:
            p.write_text(new, "utf-8")
    for p in [*(ROOT / "docs").rglob("*.md"), ROOT / "README.md", ROOT / "Makefile",
              ROOT / "pyproject.toml", *(ROOT / "benchmarks").glob("*.md"), ROOT / ".ci" / "run"]:
        if p.exists():
            text = p.read_text("utf-8")
            new = rewrite_doc_names(rewrite_import_lines(rewrite_dotted(text)))
            if new != text:
                p.write_text(new, "utf-8")


if __name__ == "__main__":
    main()
