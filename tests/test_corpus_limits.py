"""Corpus: inputs at and past the limits of the loaders, and files that are not regular files.

URLs with no host or with a password in them, dates and languages that `podkit validate`
would reject, TOML and JSON built to exhaust the parsers (deep nesting, 5,000-digit
numbers), names too long for the file system, symlink loops, FIFOs and folders where a
file belongs, and text sources over their size cap. Each is one line naming the file
and the field, exit status 1, no traceback, the sources untouched (see corpus_support).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from corpus_support import (  # noqa: F401
    EP,
    EP_TOML,
    FEED,
    Case,
    Line,
    Run,
    corpus_base,
    corpus_built,
    edit,
    prepend,
    run_case,
    transcript,
)

ONE = "1 problem(s)"
PASSWORD = "s3cr3t-pw"


def fifo(rel: str):
    """A planter: the file at `rel` replaced by a FIFO (nothing ever writes into it)."""
    def plant(root: Path) -> None:
        (root / rel).unlink(missing_ok=True)
        os.mkfifo(root / rel)
    return plant


def folder(rel: str):
    """A planter: the file at `rel` replaced by an empty folder of the same name."""
    def plant(root: Path) -> None:
        (root / rel).unlink(missing_ok=True)
        (root / rel).mkdir()
    return plant


def listed_transcript(name: str, make):  # type: ignore[no-untyped-def]
    """A planter: a transcript entry `name` in the episode TOML, its file made by `make`."""
    def plant(root: Path) -> None:
        make(root / EP / name)
        with open(root / EP_TOML, "a", encoding="utf-8") as f:
            f.write(f'\n[[transcripts]]\nfile = "{name}"\nlanguage = "en"\nalign = false\n')
    return plant


def notes_file(make):  # type: ignore[no-untyped-def]
    def plant(root: Path) -> None:
        make(root / EP / "notes.md")
        edit(root / EP_TOML, 'notes = "Some *notes* with [a link](https://www.example.org/)."',
             'notes_file = "notes.md"')
    return plant


def symlink_loop(root: Path) -> None:
    os.symlink("loop.flac", root / EP / "loop.flac")
    edit(root / EP_TOML, '"intro.flac"', '"loop.flac"')


def sparse(size: int):  # type: ignore[no-untyped-def]
    """A maker: a file of `size` bytes of which only the first line is written (sparse)."""
    def make(path: Path) -> None:
        with open(path, "wb") as f:
            f.write(b"Host: Hello.\n")
            f.truncate(size)
    return make


def password_not_echoed(root: Path, run: Run) -> None:
    assert PASSWORD not in run.stdout + run.stderr, run


def json_segments(*segments: str) -> bytes:
    return ('{"version": "1.0.0", "segments": [' + ", ".join(segments) + "]}").encode()


def no_problem(root: Path, run: Run) -> None:
    assert "ok: 1 feed(s), 1 episode(s)" in run.stdout, run


def cue_sheet_written(root: Path, run: Run) -> None:
    sheet = (root / "build/reports/test-radio/first-episode/cue.txt").read_text("utf-8")
    assert "Hello there" in sheet and "the last words" in sheet, sheet


CASES = [
    # ---- URLs ---------------------------------------------------------------------------------
    Case("base-url-no-host", '`base_url = "https:///x/"` (no host)',
         lambda r: edit(r / FEED, '"https://media.example.org/test-radio/"', '"https:///x/"'),
         "error (passed check, feed, validate and publish)",
         Line(FEED, "base_url", ("no host name",)), summary=ONE),
    Case("base-url-password", "`base_url` with `user:password@` in it",
         lambda r: edit(r / FEED, '"https://media.example.org/test-radio/"',
                        f'"https://editor:{PASSWORD}@media.example.org/test-radio/"'),
         "error; the password is not echoed (was written into the feed, pages and ID3 tags)",
         Line(FEED, "base_url", ("user name or password",)), summary=ONE,
         verify=password_not_echoed, checked="the password appears in no output"),
    Case("feed-url-password", "`feed_url` with `user:password@` in it",
         lambda r: edit(r / FEED, '"https://media.example.org/test-radio/feed.xml"',
                        f'"https://editor:{PASSWORD}@media.example.org/test-radio/feed.xml"'),
         "error; the password is not echoed", Line(FEED, "feed_url", ("user name or password",)),
         summary=ONE, verify=password_not_echoed, checked="the password appears in no output"),
    # ---- what validate would reject later ----------------------------------------------------------
    Case("date-year-1", "`date = 0001-05-01T09:00:00+09:00`",
         lambda r: edit(r / EP_TOML, "2024-05-01T09:00:00+09:00", "0001-05-01T09:00:00+09:00"),
         "error at check (validate rejected the pubDate only after build and feed)",
         Line(EP_TOML, "date", ("year 1", "1900 to 9999", "RFC 2822")), summary=ONE),
    Case("language-invalid", '`language = "xx-invalid"` in the feed',
         lambda r: edit(r / FEED, 'language = "en"', 'language = "xx-invalid"'),
         "error at check, as validate says of the feed",
         Line(FEED, "language", ("'xx-invalid'", "BCP 47")), summary=ONE),
    # ---- parsers pushed to their limits ---------------------------------------------------------
    Case("toml-deep-nesting", "episode.toml with an array nested 3,000 deep",
         lambda r: prepend(r / EP_TOML, "deep = " + "[" * 3000 + "]" * 3000 + "\n"),
         "error (was a RecursionError traceback)",
         Line(EP_TOML, "toml", ("nested too deeply",)), summary=ONE, process=True),
    Case("toml-5000-digits", "episode.toml with an integer of 5,000 digits",
         lambda r: edit(r / EP_TOML, "number = 1", "number = 1" + "0" * 4999),
         "error naming the line (was a ValueError traceback)",
         Line(EP_TOML, "toml", ("line 4", "5000 digits")), summary=ONE),
    Case("transcript-json-deep", "a JSON transcript nested 100,000 deep",
         transcript("t.json", b"[" * 100_000 + b"]" * 100_000),
         "error (was a RecursionError traceback)",
         Line(f"{EP}/t.json", "json", ("nested too deeply",)), summary=ONE, process=True),
    Case("transcript-json-5000-digits", "a JSON transcript whose startTime has 5,000 digits",
         transcript("t.json", json_segments('{"startTime": 1' + "0" * 4999 + ', "body": "Hi"}')),
         "error (was a ValueError traceback)",
         Line(f"{EP}/t.json", "json", ("5000 digits",)), summary=ONE),
    Case("part-symlink-loop", "a part that is a symlink to itself", symlink_loop,
         "error (was a RuntimeError traceback)",
         Line(EP_TOML, "parts[0].file", ("'loop.flac'", "symlink loop")), summary=ONE),
    Case("part-name-300", "a part file name of 300 characters",
         lambda r: edit(r / EP_TOML, '"intro.flac"', '"' + "a" * 295 + '.flac"'),
         "error (was an ENAMETOOLONG traceback)",
         Line(EP_TOML, "parts[0].file", ("name too long",)), summary=ONE),
    # ---- not regular files --------------------------------------------------------------------------
    Case("fifo-feed-toml", "a FIFO named `feeds/other.toml`", fifo("feeds/other.toml"),
         "error; never opened (check hung forever)",
         Line("feeds/other.toml", "file", ("not a regular file (a FIFO)",)), summary=ONE,
         process=True),
    Case("folder-feed-toml", "a folder named `feeds/other.toml`", folder("feeds/other.toml"),
         "error", Line("feeds/other.toml", "file", ("is a folder",)), summary=ONE),
    Case("fifo-episode-toml", "an episode.toml that is a FIFO", fifo(EP_TOML),
         "error; never opened", Line(EP_TOML, "file", ("not a regular file (a FIFO)",)),
         summary=ONE, process=True),
    Case("fifo-audio", "a part that is a FIFO", fifo(f"{EP}/intro.flac"),
         "error (was 'file not found'); never opened",
         Line(EP_TOML, "parts[0].file", ("intro.flac", "not a regular file (a FIFO)")),
         summary=ONE, process=True),
    Case("folder-audio", "a part that is a folder", folder(f"{EP}/intro.flac"),
         "error (was 'file not found')",
         Line(EP_TOML, "parts[0].file", ("intro.flac", "is a folder")), summary=ONE),
    Case("fifo-transcript", "a transcript that is a FIFO",
         listed_transcript("t.txt", os.mkfifo), "error; never opened",
         Line(EP_TOML, "transcripts[0].file", ("t.txt", "not a regular file (a FIFO)")),
         summary=ONE, process=True),
    Case("folder-notes", "a `notes_file` that is a folder", notes_file(Path.mkdir),
         "error (was 'file not found')", Line(EP_TOML, "notes_file", ("notes.md", "is a folder")),
         summary=ONE),
    Case("fifo-cover", "a cover that is a FIFO", fifo("feeds/test-radio.jpg"),
         "error; never opened",
         Line(FEED, "artwork", ("test-radio.jpg", "not a regular file (a FIFO)")), summary=ONE,
         process=True),
    # ---- size caps on text sources --------------------------------------------------------------
    Case("toml-over-cap", "an episode.toml of 2 MB (a pasted log in a comment)",
         lambda r: prepend(r / EP_TOML, ("# " + "x" * 98 + "\n") * 20_000),
         "error naming the cap", Line(EP_TOML, "file", ("larger than 1 MiB",)), summary=ONE),
    Case("notes-over-cap", "a `notes_file` of 2 MB", notes_file(sparse(2 << 20)),
         "error naming the cap", Line(EP_TOML, "notes_file", ("larger than 1 MiB",)),
         summary=ONE),
    Case("transcript-over-cap", "a transcript of 40 MB", listed_transcript("t.txt", sparse(40 << 20)),
         "error naming the cap", Line(f"{EP}/t.txt", "file", ("larger than 32 MiB",)),
         summary=ONE),
    # ---- JSON transcripts without endTime ----------------------------------------------------------
    Case("transcript-json-no-last-end", "a JSON transcript whose last segment has no endTime "
         "(allowed), then `podkit cue`",
         transcript("t.json", json_segments('{"startTime": 0, "endTime": 1, "body": "Hello there"}',
                                            '{"startTime": 1.5, "body": "and the last words"}')),
         "valid: check passes, build and the cue sheet use the audio's end (the cue step failed)",
         command=("cue",), before=(("check",), ("build",)), exit=0, verify=cue_sheet_written,
         checked="cue.txt holds the first and the last words", process=True),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_limits_case(case: Case, corpus_base: Path, tmp_path: Path) -> None:
    run_case(case, corpus_base, tmp_path)


def test_forty_thousand_segments_without_end_times_check(corpus_base: Path, tmp_path: Path) -> None:
    """40,000 segments with no endTime: check finishes (it was quadratic: 25 s) and passes."""
    # Every 0.1 ms: all inside the show's 5 s of audio, which check now measures too.
    segments = [{"startTime": i * 0.0001, "body": f"word {i}"} for i in range(40_000)]
    data = json.dumps({"version": "1.0.0", "segments": segments}).encode()
    case = Case("json-40k", "", transcript("t.json", data), "", exit=0, verify=no_problem)
    run_case(case, corpus_base, tmp_path)
