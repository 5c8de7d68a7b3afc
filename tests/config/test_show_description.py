"""`podkit check` measures the show description as the feed publishes it (HTML paragraphs,
`&`, `<`, `>` escaped), so a description check accepts never fails validate's 4000 bytes."""
from __future__ import annotations

import re
from pathlib import Path

from toolkit.config import catalog


def _with_description(root: Path, text: str) -> list[str]:
    toml = root / "feeds" / "test-radio.toml"
    body = re.sub(r'(?m)^description = .*$', f'description = "{text}"', toml.read_text("utf-8"),
                  count=1)
    toml.write_text(body, "utf-8")
    return [str(p) for p in catalog.load(root).errors]


def test_a_description_over_4000_bytes_once_escaped_is_refused(show_root: Path) -> None:
    errors = _with_description(show_root, "R&D " * 900)       # 3,600 bytes, 7,200 published
    assert any("description: is 7206 bytes as published" in e for e in errors), errors


def test_a_plain_description_under_the_limit_passes(show_root: Path) -> None:
    assert _with_description(show_root, "Radio " * 600) == []   # 3,600 bytes, 3,606 published
