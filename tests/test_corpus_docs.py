"""docs/corpus.md holds the table the corpus tests define (tests/corpus_table.py renders it)."""
from __future__ import annotations

import corpus_table


def test_docs_corpus_table_is_current() -> None:
    assert corpus_table.current() == corpus_table.render(), (
        "docs/corpus.md is out of date: run .venv/bin/python tests/corpus_table.py --write")


def test_every_row_id_is_unique() -> None:
    ids = [line.split("|")[1].strip() for _, lines in corpus_table.rows() for line in lines]
    assert len(ids) == len(set(ids)) and len(ids) >= 30
