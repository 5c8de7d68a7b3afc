"""The corpus as a Markdown table, from the rows the corpus tests run (so it cannot drift).

    .venv/bin/python tests/corpus_table.py           # print the table
    .venv/bin/python tests/corpus_table.py --write   # refresh it in docs/corpus.md

tests/test_corpus_docs.py fails when docs/corpus.md holds another table than this.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus_support import REPO, Case, Row  # noqa: E402

DOC = REPO / "docs" / "corpus.md"
START, END = "<!-- corpus-table:start -->", "<!-- corpus-table:end -->"
#: (section title, test module, row lists in it)
SECTIONS = [
    ("Feed and episode files, paths, slugs, duplicates, media at check", "test_corpus_config",
     ("CASES", "BUILD_CASES")),
    ("Limits, non-regular files, what check and validate must agree on", "test_corpus_limits",
     ("CASES",)),
    ("Artwork", "test_corpus_art", ("CASES",)),
    ("Untrusted text, transcripts, cue sheets", "test_corpus_text", ("CASES",)),
    ("Audio files: broken, silent, unusual, hostile (`podkit build`)", "test_corpus_audio",
     ("CASES",)),
    ("Faults: S3, a full disk, file modes", "test_corpus_faults", ("ROWS",)),
    ("Faults: ffmpeg killed, Ctrl-C during `build -j 2`", "test_corpus_audio_faults", ("ROWS",)),
    ("podkit preview", "test_corpus_preview", ("ROWS",)),
    ("Fuzzing", "test_corpus_fuzz", ("ROWS",)),
    ("Other people's feeds: encodings, non-files, slow servers (`podkit validate`)",
     "test_corpus_feeds", ("ROWS",)),
    ("Starting and releasing a show (`podkit init`, `new`, `release`)", "test_corpus_showlife",
     ("ROWS",)),
    ("Moving a show in: passthrough MP3s, `podkit import`", "test_corpus_import",
     ("CASES", "ROWS")),
    ("Hostile feeds to import, outbound HTTP (`podkit import`, notify)",
     "test_corpus_hostile_import", ("ROWS",)),
    ("Publishing beside other shows, killed publishes, secrets", "test_corpus_publish", ("ROWS",)),
]


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def _outcome(case: Case) -> str:
    status = f"exit {case.exit}" + (" (warning)" if case.exit == 0 and case.line else "")
    if case.line is None:
        return f"{status}: {case.outcome}"
    ln = case.line
    where = ": ".join(p for p in (ln.path, ln.field) if p)
    words = " … ".join(ln.words)
    return f"{status}: {case.outcome}; `{ln.prefix}{where}: … {words}`"


def rows() -> list[tuple[str, list[str]]]:
    """(section, Markdown rows) for every corpus row, in the order the tests define them."""
    import importlib
    out = []
    for title, module_name, names in SECTIONS:
        module = importlib.import_module(module_name)
        lines = []
        for name in names:
            for row in getattr(module, name):
                if isinstance(row, Case):
                    command = " ; ".join("podkit " + " ".join(s) for s in (*row.before, row.command))
                    lines.append(f"| {row.id} | {_cell(row.what)} | `{_cell(command)}` | "
                                 f"{_cell(_outcome(row))} | {_cell(row.how)} |")
                else:
                    assert isinstance(row, Row)
                    lines.append(f"| {row.id} | {_cell(row.what)} | | {_cell(row.outcome)} | "
                                 f"{_cell(row.how)} |")
        out.append((title, lines))
    return out


def render() -> str:
    """The table section of docs/corpus.md, markers included."""
    parts = [START]
    total = 0
    for title, lines in rows():
        total += len(lines)
        parts += ["", f"### {title}", "", "| case | input | command | outcome | how checked |",
                  "|---|---|---|---|---|", *lines]
    parts += ["", f"{total} rows.", END]
    return "\n".join(parts)


def current() -> str:
    """The table section as docs/corpus.md holds it now."""
    text = DOC.read_text("utf-8")
    return text[text.index(START):text.index(END) + len(END)]


if __name__ == "__main__":
    if "--write" in sys.argv:
        text = DOC.read_text("utf-8")
        DOC.write_text(text.replace(current(), render()), "utf-8")
    else:
        print(render())
