"""Language tags: the common ones are answered without langcodes, and always as it would."""
from __future__ import annotations

import subprocess
import sys

import langcodes
import pytest

from toolkit.standards import stdcheck


def _spellings(tag: str) -> set[str]:
    parts = tag.split("-")
    canonical = "-".join([parts[0]] + [p.upper() if len(p) == 2 else p.title() for p in parts[1:]])
    return {tag, tag.upper(), tag.title(), canonical}


@pytest.mark.parametrize("tag", sorted(stdcheck.COMMON_LANGUAGES))
def test_every_common_tag_is_one_langcodes_accepts(tag: str) -> None:
    assert tag == tag.lower()
    for spelling in _spellings(tag):
        assert langcodes.tag_is_valid(spelling), spelling
        assert stdcheck.language_problem(spelling) is None, spelling


@pytest.mark.parametrize("tag", ["xx-invalid", "en_US", "english", "en-", "jp", "zz", ""])
def test_other_tags_still_go_to_the_registry(tag: str) -> None:
    assert stdcheck.language_problem(tag) is not None


@pytest.mark.parametrize("tag", ["haw", "mi-NZ", "sr-Latn", "yue-Hant-HK"])
def test_uncommon_valid_tags_are_accepted(tag: str) -> None:
    assert tag.lower() not in stdcheck.COMMON_LANGUAGES
    assert stdcheck.language_problem(tag) is None


def test_a_show_in_a_common_language_loads_without_the_registry(tmp_path) -> None:  # noqa: ANN001
    # langcodes' registry costs every command ~25 ms to import; loading a show in English
    # (what every command does first) must not need it.
    code = ("import sys; from toolkit.standards import stdcheck; "
            "assert stdcheck.language_problem('en-US') is None; "
            "print('langcodes' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
