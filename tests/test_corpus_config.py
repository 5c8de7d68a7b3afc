"""Corpus: bad episode.toml and feed files, paths, slugs, duplicates, files that are not what
their name says. Each row runs the real `podkit` in a child process (see corpus_support).

Most rows run `podkit check` on an unbuilt show: the problem is one line
`path: field: message`, then the summary `podkit: 1 problem(s) in <root>`, exit status 1,
the sources untouched and nothing written.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from corpus_support import (  # noqa: F401
    EP,
    EP_TOML,
    FEED,
    Case,
    Line,
    corpus_base,
    corpus_built,
    edit,
    podkit,
    prepend,
    run_case,
    sources_hash,
    transcript,
)
from PIL import Image

from toolkit.crosscheck import load_catalog

ONE = "1 problem(s)"
SRT = ("1\n00:00:00,000 --> 00:00:02,000\nHost: Hello.\n\n"
       "2\n00:00:02,500 --> 00:00:04,500\nGuest: Hi.\n")


def twin(root: Path, *, number: int = 2, guid: str | None = None) -> Path:
    """A second, valid episode beside the first (same audio), dated a week later."""
    shutil.copytree(root / EP, root / "episodes" / "second")
    toml = root / "episodes" / "second" / "episode.toml"
    edit(toml, 'title = "First episode"', 'title = "Second episode"')
    edit(toml, "2024-05-01", "2024-05-08")
    edit(toml, "number = 1", f"number = {number}")
    if guid:
        prepend(toml, f'guid = "{guid}"\n')
        prepend(root / EP_TOML, f'guid = "{guid}"\n')
    return toml


def _not_echoed(run, secret: str) -> None:
    assert secret not in run.stdout + run.stderr


def _second_feed(root: Path, publish: str) -> None:
    """feeds/a-second.toml: the fixture's feed under another id and URL, plus `publish`."""
    text = (root / FEED).read_text().replace("/test-radio/", "/a-second/")
    (root / "feeds" / "a-second.toml").write_text(text + "\n" + publish)


def publish_dir(case_id: str, directory: str, what: str, words: str, *,
                command: tuple[str, ...] = ("check",), built: bool = False, summary: str | None = ONE,
                prefix: str = "",
                outcome: str = "refused at load (publishing wrote into the sources)") -> Case:
    """A `[publish] directory` that overlaps the sources: refused at load, nothing written."""
    def plant(root: Path) -> None:
        (root / FEED).write_text((root / FEED).read_text() + f'\n[publish]\ndirectory = "{directory}"\n')
    return Case(case_id, f'`[publish] directory = "{directory}"`: {what}', plant, outcome,
                Line(FEED, "publish.directory", (words,), prefix=prefix), command=command,
                built=built, summary=summary)


def slug_folder(name: str):
    def plant(root: Path) -> None:
        twin(root)
        (root / "episodes" / "second").rename(root / "episodes" / name)
    return plant


def chapter_img(value: str):
    def plant(root: Path) -> None:
        (root / "secret.jpg").write_bytes(b"\xff\xd8\xff\xe0 a private file outside the episode")
        with open(root / EP_TOML, "a", encoding="utf-8") as f:
            f.write(f'\n[[chapters]]\nstart = 0\ntitle = "Intro"\nimg = "{value}"\n')
    return plant


def symlinked_part(root: Path) -> None:
    shutil.copy(root / EP / "intro.flac", root / "outside.flac")
    os.symlink(root / "outside.flac", root / EP / "linked.flac")
    edit(root / EP_TOML, '"intro.flac"', '"linked.flac"')


def symlinked_notes(root: Path) -> None:
    (root / "private.md").write_text("not for publishing")
    os.symlink(root / "private.md", root / EP / "notes.md")
    edit(root / EP_TOML, 'notes = "Some *notes* with [a link](https://www.example.org/)."',
         'notes_file = "notes.md"')


def bom_and_crlf(root: Path) -> None:
    for rel in (FEED, EP_TOML):
        data = (root / rel).read_bytes()
        (root / rel).write_bytes(b"\xef\xbb\xbf" + data.replace(b"\n", b"\r\n"))


def loads_like_the_original(root: Path, run) -> None:
    """A BOM and CRLF change nothing: same titles, same date, same parts as the plain files."""
    cat = load_catalog(root, probe_media=False)
    (ep,) = cat.episodes
    assert (ep.title, ep.date.isoformat(), [p.path.name for p in ep.parts]) == \
        ("First episode", "2024-05-01T09:00:00+09:00", ["intro.flac", "body.flac"])
    assert cat.shows["test-radio"].title == "Test Radio Hour"
    assert "ok: 1 feed(s), 1 episode(s)" in run.stdout


def text_wav(root: Path) -> None:
    (root / EP / "intro.wav").write_text("RIFF? No: the producer saved the script as .wav\n")
    edit(root / EP_TOML, '"intro.flac"', '"intro.wav"')


def only_one_episode(run) -> None:
    assert "ok: 1 feed(s), 1 episode(s)" in run.stdout, run


def secret_not_echoed(root: Path, run) -> None:
    assert "wJalrXUtnFEMI" not in run.stdout + run.stderr


def new_slug(slug: str, process: bool = False) -> Case:
    return Case(f"new-{slug}", f"`podkit new {slug!r}`", lambda root: None,
                "refused before anything is created", Line("", "slug", (repr(slug), "not a valid slug"),
                                                           prefix="podkit: "),
                command=("new", slug), verify=nothing_created,
                checked="no folder created anywhere under or beside the show", process=process)


def nothing_created(root: Path, run) -> None:
    assert sorted(p.name for p in (root / "episodes").iterdir()) == ["first-episode"]
    assert sorted(p.name for p in root.parent.iterdir()) == ["show"]


CASES = [
    # ---- TOML itself ----------------------------------------------------------------------------
    Case("toml-syntax", "episode.toml with an unterminated string",
         lambda r: edit(r / EP_TOML, 'title = "First episode"', 'title = "First episode'),
         "error with line and column", Line(EP_TOML, "toml", ("syntax error", "line 2")),
         summary=ONE, process=True),
    Case("toml-syntax-feed", "feed TOML with a key and no value",
         lambda r: prepend(r / FEED, "medium =\n"),
         "error with line and column", Line(FEED, "toml", ("syntax error", "line 1")), summary=ONE),
    Case("toml-latin1", "episode.toml saved as Latin-1 (é as one byte)",
         lambda r: (r / EP_TOML).write_bytes((r / EP_TOML).read_bytes().replace(
             b'"First episode"', 'Premi\u00e8re'.join(['"', '"']).encode("latin-1"))),
         "error naming byte, line and column",
         Line(EP_TOML, "file", ("not UTF-8", "byte 0xE8 at line 2, column 15")), summary=ONE),
    Case("toml-bom-crlf", "feed and episode TOML with a UTF-8 BOM and CRLF line ends (Notepad)",
         bom_and_crlf, "valid: loads exactly like the plain files", exit=0,
         verify=loads_like_the_original, checked="titles, date and parts read back"),
    Case("unknown-key", "a typo at the top level (`titel`)",
         lambda r: prepend(r / EP_TOML, 'titel = "typo"\n'),
         "error with a suggestion", Line(EP_TOML, "titel", ("unknown key", "did you mean 'title'")),
         summary=ONE, process=True),
    Case("unknown-key-summary", "a typo of a longer key (`sumary`: a letter missing)",
         lambda r: prepend(r / EP_TOML, 'sumary = "typo"\n'),
         "error with a suggestion (was none: the old check compared letters position by "
         "position)", Line(EP_TOML, "sumary", ("unknown key", "did you mean 'summary'")),
         summary=ONE),
    Case("unknown-key-part", "a typo inside `[[parts]]` (`gian`)",
         lambda r: edit(r / EP_TOML, "gap = 0.5", "gap = 0.5\ngian = 2"),
         "error naming the table", Line(EP_TOML, "parts[1].gian", ("unknown key", "'gain'")),
         summary=ONE),
    Case("unknown-key-feed", "an unsupported key in the feed's `[owner]`",
         lambda r: edit(r / FEED, 'email = "podcasts@example.org"',
                        'email = "podcasts@example.org"\nphone = "+82 2 000"'),
         "error naming the table", Line(FEED, "owner.phone", ("unknown key",)), summary=ONE),
    Case("wrong-type-int", '`number = "one"`',
         lambda r: edit(r / EP_TOML, "number = 1", 'number = "one"'),
         "error naming the type", Line(EP_TOML, "number", ("must be an integer", "'one'")),
         summary=ONE),
    Case("wrong-type-bool", '`explicit = "yes"` in the feed',
         lambda r: edit(r / FEED, "explicit = false", 'explicit = "yes"'),
         "error naming the type", Line(FEED, "explicit", ("true or false",)), summary=ONE),
    Case("wrong-type-float", '`gain = "loud"` in a part',
         lambda r: edit(r / EP_TOML, "gap = 0.5", 'gap = 0.5\ngain = "loud"'),
         "error naming the type", Line(EP_TOML, "parts[1].gain", ("must be a number",)),
         summary=ONE),
    Case("zero-number", "`number = 0`",
         lambda r: edit(r / EP_TOML, "number = 1", "number = 0"),
         "error", Line(EP_TOML, "number", ("positive integer",)), summary=ONE),
    Case("nan-time", "`gap = nan` (TOML has nan and inf)",
         lambda r: edit(r / EP_TOML, "gap = 0.5", "gap = nan"),
         "error (NaN passed every bound before)", Line(EP_TOML, "parts[1].gap", ("nan",)),
         summary=ONE),
    Case("huge-number", "`gain = ` a 400-digit integer",
         lambda r: edit(r / EP_TOML, "gap = 0.5", "gap = 0.5\ngain = 1" + "0" * 400),
         "error (was an OverflowError traceback)",
         Line(EP_TOML, "parts[1].gain", ("out of range", "401 digits")), summary=ONE),
    Case("naive-date", "a date-time without time zone",
         lambda r: edit(r / EP_TOML, "2024-05-01T09:00:00+09:00", "2024-05-01T09:00:00"),
         "error with an example", Line(EP_TOML, "date", ("no time zone", "+09:00")), summary=ONE, process=True),
    Case("date-only", "a date without time",
         lambda r: edit(r / EP_TOML, "2024-05-01T09:00:00+09:00", "2024-05-01"),
         "error with an example", Line(EP_TOML, "date", ("needs a time and a time zone",)),
         summary=ONE),
    Case("date-text", 'a date as free text ("May 1st")',
         lambda r: edit(r / EP_TOML, "2024-05-01T09:00:00+09:00", '"May 1st"'),
         "error with an example", Line(EP_TOML, "date", ("not a date-time", "'May 1st'")),
         summary=ONE),
    Case("empty-episode-toml", "a zero-byte episode.toml",
         lambda r: (r / EP_TOML).write_bytes(b""),
         "one line per missing required key (feed, title, date, audio)",
         Line(EP_TOML, "feed", ("missing (required)",)), summary=ONE.replace("1", "4"),
         extra_lines=3, checked="the three other lines name title, date and audio"),
    Case("control-char-title", 'a title with the TOML escape "\\u0001"',
         lambda r: edit(r / EP_TOML, 'title = "First episode"', 'title = "Kim\\u0001s speech"'),
         "error naming the character and its position (never silently dropped)",
         Line(EP_TOML, "title", ("U+0001", "character 4", "XML cannot carry")), summary=ONE, process=True),
    Case("c1-control-title", "a title holding U+0092 (Windows-1252 text decoded as Latin-1)",
         lambda r: edit(r / EP_TOML, 'title = "First episode"', 'title = "Kim\u0092s speech"'),
         "error suggesting the character meant (’)",
         Line(EP_TOML, "title", ("U+0092", "character 4", "'’'")), summary=ONE),
    Case("nonchar-feed-title", "a feed title holding U+FFFE",
         lambda r: edit(r / FEED, 'title = "Test Radio Hour"', 'title = "Test \\uFFFE Radio"'),
         "error naming the character", Line(FEED, "title", ("U+FFFE", "character 6")), summary=ONE),
    Case("control-char-keyword", "an ANSI escape in a keyword",
         lambda r: prepend(r / EP_TOML, 'keywords = ["ok", "red\\u001b[31m"]\n'),
         "error naming the list item", Line(EP_TOML, "keywords[1]", ("U+001B",)), summary=ONE),
    # ---- slugs ------------------------------------------------------------------------------------
    Case("slug-spaces", "an episode folder named `Bad Slug`", slug_folder("Bad Slug"),
         "error naming the folder", Line("episodes/Bad Slug", "slug", ("lowercase ASCII",)),
         summary=ONE),
    Case("slug-non-ascii", "an episode folder named `épisode-한국`", slug_folder("épisode-한국"),
         "error naming the folder", Line("episodes/épisode-한국", "slug", ("lowercase ASCII",)),
         summary=ONE, process=True),
    Case("slug-newline", "an episode folder whose name holds a newline", slug_folder("bad\nname"),
         "error on one line (the newline shown as \\n)",
         Line("episodes/bad\\nname", "slug", ("lowercase ASCII",)), summary=ONE),
    Case("slug-dots", "an episode folder named `...` (and one named `_archive`)",
         lambda r: [shutil.copytree(r / EP, r / "episodes" / name) for name in ("...", "_archive")],
         "valid: dot and underscore folders are skipped, as documented", exit=0,
         verify=lambda r, run: only_one_episode(run), checked="check reports 1 episode"),
    Case("new-title-control", "`podkit new second --title $'a\\x7fb'` (a DEL in the title)",
         lambda root: None, "refused before anything is created (it wrote an episode.toml "
         "that check then refused)",
         Line("", "--title", ("U+007F", "XML cannot carry"), prefix="podkit: "),
         command=("new", "second", "--title", "a\x7fb"), verify=nothing_created,
         checked="no folder created anywhere under or beside the show"),
    new_slug("../evil", process=True),
    new_slug("two words"),
    new_slug("épisode"),
    new_slug("/tmp/abs"),
    # ---- paths that leave the episode folder --------------------------------------------------------
    Case("part-dotdot", 'a part `file = "../../feeds/test-radio.jpg"`',
         lambda r: edit(r / EP_TOML, '"intro.flac"', '"../../feeds/test-radio.jpg"'),
         "refused", Line(EP_TOML, "parts[0].file", ("must be a path inside first-episode/",)),
         summary=ONE),
    Case("part-absolute", 'a part `file = "/etc/passwd"`',
         lambda r: edit(r / EP_TOML, '"intro.flac"', '"/etc/passwd"'),
         "refused", Line(EP_TOML, "parts[0].file", ("must be a path inside", "not absolute")),
         summary=ONE),
    Case("part-symlink", "a part that is a symlink to a file outside the show's episode folder",
         symlinked_part, "refused",
         Line(EP_TOML, "parts[0].file", ("points outside first-episode/", "symlink")), summary=ONE, process=True),
    Case("notes-symlink", "`notes_file` a symlink to a private file", symlinked_notes, "refused",
         Line(EP_TOML, "notes_file", ("points outside",)), summary=ONE),
    Case("chapter-img-dotdot", 'a chapter `img = "../../secret.jpg"`',
         chapter_img("../../secret.jpg"),
         "refused (was copied into the published site)",
         Line(EP_TOML, "chapters[0].img", ("must be a path inside",)), summary=ONE, process=True),
    Case("chapter-img-absolute", 'a chapter `img = "/etc/hostname"`', chapter_img("/etc/hostname"),
         "refused (was copied into the published site)",
         Line(EP_TOML, "chapters[0].img", ("not absolute",)), summary=ONE),
    Case("chapter-img-http", 'a chapter `img = "javascript:alert(1)"`',
         chapter_img("javascript:alert(1)"), "refused: only https:// URLs or local pictures",
         Line(EP_TOML, "chapters[0].img", ("https://",)), summary=ONE),
    Case("credentials-in-feed", "an AWS secret key pasted into the feed's `[publish]`",
         lambda r: (r / FEED).write_text((r / FEED).read_text() + '\n[publish]\ntarget = "s3"\n'
                                         'bucket = "b"\naws_secret_access_key = "wJalrXUtnFEMI/K7MDENG"\n'),
         "error: podkit takes credentials only from boto3's chain; the value is not echoed",
         Line(FEED, "publish.aws_secret_access_key", ("unknown key",)), summary=ONE,
         verify=secret_not_echoed,
         checked="the secret appears in no output"),
    # ---- a local publish target inside the sources ----------------------------------------------
    publish_dir("publish-dir-dot", ".", "the show folder itself", "is the show folder or holds it"),
    publish_dir("publish-dir-parent", "..", "the folder above the show",
                "is the show folder or holds it"),
    publish_dir("publish-dir-episode", "episodes/first-episode/www", "a folder inside an episode",
                "inside the show's episodes/ folder"),
    publish_dir("publish-dir-templates", "templates", "the templates folder",
                "inside the show's templates/ folder"),
    publish_dir("publish-dir-site", "build/site", "the build's site folder (holds the site)",
                "overlaps the built site",
                outcome="refused at load (each publish would copy the site into itself)"),
    publish_dir("publish-dir-dot-publish", ".", "the show folder, through `podkit publish`",
                "is the show folder or holds it", command=("publish",), summary=None,
                prefix="podkit: "),
    Case("base-url-query", "`base_url` with a query string (`.../test-radio/?v=1`)",
         lambda r: edit(r / FEED, 'test-radio/"\nfeed_url', 'test-radio/?v=1"\nfeed_url'),
         "error (every enclosure URL came out as `...?v=1/episodes/...`; only validate noticed)",
         Line(FEED, "base_url", ("without '?' or '#'",)), summary=ONE),
    Case("enclosure-prefix-http", '`enclosure_prefix = "http://op3.dev/e/"` (not https)',
         lambda r: prepend(r / FEED, 'enclosure_prefix = "http://op3.dev/e/"\n'),
         "error (apps would fetch every episode through a clear-text redirect)",
         Line(FEED, "enclosure_prefix", ("must be an https:// URL",)), summary=ONE),
    Case("enclosure-prefix-no-slash", '`enclosure_prefix = "https://op3.dev/e"` (no final `/`)',
         lambda r: prepend(r / FEED, 'enclosure_prefix = "https://op3.dev/e"\n'),
         "error (the file's URL would be glued to the prefix's last segment)",
         Line(FEED, "enclosure_prefix", ("must end with '/'",)), summary=ONE),
    Case("enclosure-prefix-query", '`enclosure_prefix = "https://t.example.net/r?id=7/"`',
         lambda r: prepend(r / FEED, 'enclosure_prefix = "https://t.example.net/r?id=7/"\n'),
         "error (the query would swallow the file's URL)",
         Line(FEED, "enclosure_prefix", ("must not hold a query or fragment",)), summary=ONE),
    Case("websub-hub-http", '`[publish] websub_hub = "http://hub.example.net/"` (not https)',
         lambda r: (r / FEED).write_text((r / FEED).read_text() + '\n[publish]\n'
                                         'websub_hub = "http://hub.example.net/"\n'),
         "error (http:// only for a hub on 127.0.0.1)",
         Line(FEED, "publish.websub_hub", ("must be an https:// URL",)), summary=ONE),
    Case("podping-url-credentials", "`[publish] podping_url` with `user:password@`",
         lambda r: (r / FEED).write_text((r / FEED).read_text() + '\n[publish]\n'
                                         'podping_url = "https://me:pw@podping.example.net/"\n'),
         "error; the URL is not echoed (the token goes in PODKIT_PODPING_TOKEN)",
         Line(FEED, "publish.podping_url", ("user name or password",)), summary=ONE),
    Case("websub-hub-loopback-credentials",
         '`[publish] websub_hub = "http://user:SECRET@127.0.0.1/hub"` (a local hub with credentials)',
         lambda r: (r / FEED).write_text((r / FEED).read_text() + '\n[publish]\n'
                                         'websub_hub = "http://user:SECRET@127.0.0.1/hub"\n'),
         "error (the hub is named in the published feed); the URL is not echoed",
         Line(FEED, "publish.websub_hub", ("user name or password",)), summary=ONE,
         verify=lambda r, run: _not_echoed(run, "SECRET")),
    Case("s3-prefix-traversal", '`[publish] prefix = "shows/../other/"` on an S3 target',
         lambda r: (r / FEED).write_text((r / FEED).read_text() + '\n[publish]\ntarget = "s3"\n'
                                         'bucket = "b"\nprefix = "shows/../other/"\n'),
         "error (a URL resolves `..`: the keys would land in another show's folder)",
         Line(FEED, "publish.prefix", ("'.' or '..' segments",)), summary=ONE),
    Case("feeds-share-a-target", "a second feed with the same `[publish] directory` as the first",
         lambda r: _second_feed(r, '[publish]\ndirectory = "build/public/test-radio"\n'),
         "error on the later feed, naming both files (feed.xml, pages and --delete would clash)",
         Line(FEED, "publish.directory", ("same publish target as feeds/a-second.toml",)),
         summary=ONE),
    # ---- duplicates and the feed's people ------------------------------------------------------------
    Case("duplicate-guid", "two episodes with the same `guid`",
         lambda r: twin(r, guid="same-guid"),
         "error on the second", Line("episodes/second/episode.toml", "guid",
                                     ("duplicate guid same-guid", "also first-episode")),
         summary=ONE),
    Case("duplicate-number", "two episodes numbered 1 in season 1", lambda r: twin(r, number=1),
         "error on the second", Line("episodes/second/episode.toml", "number",
                                     ("duplicate episode number 1", "season 1")), summary=ONE),
    Case("owner-no-email", "a feed whose `[owner]` has no email",
         lambda r: edit(r / FEED, 'email = "podcasts@example.org"\n', ""),
         "error (Apple needs it)", Line(FEED, "owner.email", ("missing (required)",)), summary=ONE),
    Case("no-owner", "a feed without `[owner]`",
         lambda r: edit(r / FEED, '[owner]\nname = "Example Radio"\nemail = "podcasts@example.org"\n',
                        ""),
         "error", Line(FEED, "owner", ("missing (required)", "name and email")), summary=ONE),
    # ---- files that are not what they say ----------------------------------------------------------
    Case("zero-byte-audio", "a zero-byte part", lambda r: (r / EP / "intro.flac").write_bytes(b""),
         "error at load", Line(EP_TOML, "parts[0].file", ("intro.flac is empty (0 bytes)",)),
         summary=ONE),
    Case("text-as-wav", "a text file named `.wav` given as audio", text_wav,
         "error from the ffmpeg probe",
         Line(EP_TOML, "parts[0].file", ("intro.wav", "not a readable audio file")), summary=ONE, process=True),
    Case("zero-byte-artwork", "a zero-byte cover",
         lambda r: (r / "feeds" / "test-radio.jpg").write_bytes(b""),
         "error", Line(FEED, "artwork", ("test-radio.jpg is not a readable image",)), summary=ONE),
    Case("zero-byte-transcript", "a zero-byte `.vtt` transcript", transcript("t.vtt", b""),
         "error", Line(f"{EP}/t.vtt", "file", ("is empty (0 bytes)",)), summary=ONE),
    Case("transcript-latin1", "a `.txt` transcript in Latin-1",
         transcript("t.txt", "Host: Welcome to the café.\n".encode("latin-1")),
         "error naming byte, line and column (no guessing of code pages)",
         Line(f"{EP}/t.txt", "byte 24", ("not valid UTF-8", "line 1, column 25", "save the file as UTF-8")),
         summary=ONE, process=True),
    Case("transcript-utf16-no-bom", "a `.txt` transcript in UTF-16 without BOM",
         transcript("t.txt", "Host: Hello.\n".encode("utf-16-le")),
         "error", Line(f"{EP}/t.txt", "byte 1", ("NUL bytes", "UTF-16 without a byte-order mark")),
         summary=ONE),
    Case("transcript-bad-timing", "an `.srt` whose second cue has no timing line",
         transcript("t.srt", SRT.replace("00:00:02,500 --> 00:00:04,500", "half past two").encode()),
         "error naming cue and line", Line(f"{EP}/t.srt", "cue 2", ("line 6", "half past two")),
         summary=ONE),
    Case("transcript-json-negative", "a Podcast Index JSON transcript with startTime -1",
         transcript("t.json", b'{"version": "1.0.0", "segments": [{"startTime": -1, '
                              b'"endTime": 2, "body": "Hello"}]}'),
         "error (was a ValueError traceback)",
         Line(f"{EP}/t.json", "cue 1 at -1 s", ("negative time",)), summary=ONE),
    Case("transcript-json-nan", "a JSON transcript with startTime NaN",
         transcript("t.json", b'{"version": "1.0.0", "segments": [{"startTime": NaN, '
                              b'"body": "Hello"}]}'),
         "error", Line(f"{EP}/t.json", "segments[0].startTime", ("must be a number of seconds",)),
         summary=ONE),
    Case("transcript-backwards", "an `.srt` whose times go backwards",
         transcript("t.srt", SRT.replace("00:00:02,500 --> 00:00:04,500",
                                         "00:00:01,000 --> 00:00:01,500").replace(
             "00:00:00,000 --> 00:00:02,000", "00:00:03,000 --> 00:00:04,000").encode()),
         "error naming cue and time", Line(f"{EP}/t.srt", "cue 2 at 00:01.000", ("backwards",)),
         summary=ONE),
    # ---- speech processing (docs/processing.md) ---------------------------------------------
    Case("processing-unknown-step", '`processing = ["denoise", "dereverb"]` in an episode',
         lambda r: prepend(r / EP_TOML, 'processing = ["denoise", "dereverb"]\n'),
         "error naming the step and the choices",
         Line(EP_TOML, "processing", ("unknown step 'dereverb'", "highpass, dehum, denoise, level")),
         summary=ONE),
    Case("processing-unknown-preset", '`processing = "auphonic"` in the feed',
         lambda r: prepend(r / FEED, 'processing = "auphonic"\n'),
         "error naming the choices", Line(FEED, "processing", ("unknown processing 'auphonic'",
                                                               '"speech"')), summary=ONE),
    Case("processing-hum-hz", "a part's `processing = { steps = [\"dehum\"], hum_hz = 55 }`",
         lambda r: edit(r / EP_TOML, "gap = 0.5",
                        'gap = 0.5\nprocessing = { steps = ["dehum"], hum_hz = 55 }'),
         "error naming the table", Line(EP_TOML, "parts[1].processing.hum_hz", ("must be 50 or 60",)),
         summary=ONE),
    Case("encoding-wav-bits-8", "`[encoding] wav_bits = 8` in the feed",
         lambda r: (r / FEED).write_text((r / FEED).read_text() + "\n[encoding]\nwav_bits = 8\n"),
         "refused at check (it passed, then the encoder failed with `KeyError: 8`)",
         Line(FEED, "encoding.wav_bits", ("must be 16, 24 or 32",)), summary=ONE),
    Case("processing-typo", "`[processing]` with a typo (`denoise = 12`)",
         lambda r: (r / EP_TOML).write_text((r / EP_TOML).read_text().replace(
             "[[parts]]", "[processing]\npreset = \"speech\"\ndenoise = 12\n\n[[parts]]", 1)),
         "error with a suggestion", Line(EP_TOML, "processing.denoise", ("unknown key",)),
         summary=ONE),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_config_case(case: Case, corpus_base: Path, tmp_path: Path) -> None:
    run_case(case, corpus_base, tmp_path)


BUILD_CASES = [
    Case("build-toml-syntax", "`podkit build` after a syntax error in a built episode",
         lambda r: edit(r / EP_TOML, 'title = "First episode"', 'title = "First episode'),
         "the episode is listed as failed; the last good build stays",
         Line(EP_TOML, "toml", ("syntax error",), prefix="failed first-episode: "),
         command=("build",), built=True, process=True, summary="podkit: 1 of 1 episode(s) failed"),
    Case("build-chapter-img-leak", "`podkit build` with a chapter img outside the folder",
         chapter_img("../../secret.jpg"), "refused before any file is copied",
         Line(EP_TOML, "chapters[0].img", ("must be a path inside",), prefix="failed first-episode: "),
         command=("build",), built=True, process=True, summary="podkit: 1 of 1 episode(s) failed",
         checked="build/ byte-identical, the secret bytes nowhere under build/"),
    Case("feed-toml-syntax", "`podkit feed` after a syntax error in a built episode",
         lambda r: edit(r / EP_TOML, 'title = "First episode"', 'title = "First episode'),
         "refused: the episode no longer silently drops out of the public feed",
         Line(EP_TOML, "toml", ("syntax error",), prefix="podkit: "), command=("feed",), built=True, process=True,
         summary="build/site: no feed written", checked="build/ byte-identical (feed still lists it)"),
    Case("feed-duplicate-number", "`podkit feed` with a second episode numbered 1",
         lambda r: twin(r, number=1),
         "refused (was written and passed validate)",
         Line("episodes/second/episode.toml", "number", ("duplicate episode number 1",),
              prefix="podkit: "), command=("feed",), built=True, process=True,
         summary="build/site: no feed written"),
    Case("feed-duplicate-guid", "`podkit feed` with two episodes sharing a guid",
         lambda r: twin(r, guid="same-guid"),
         "refused", Line("episodes/second/episode.toml", "guid", ("duplicate guid",),
                         prefix="podkit: "), command=("feed",), built=True, process=True,
         summary="build/site: no feed written"),
]


@pytest.mark.parametrize("case", BUILD_CASES, ids=lambda c: c.id)
def test_build_case(case: Case, corpus_built: Path, tmp_path: Path) -> None:
    root, _ = run_case(case, corpus_built, tmp_path)
    secret = b"a private file outside the episode"
    assert not any(secret in p.read_bytes() for p in (root / "build").rglob("*") if p.is_file())


def test_new_with_a_good_slug_still_works(corpus_base: Path, tmp_path: Path) -> None:
    """The refusals above are not a broken command: a valid slug is created and checks."""
    root = tmp_path / "show"
    shutil.copytree(corpus_base, root)
    before = sources_hash(root)
    run = podkit(root, "new", "2024-05-interview")
    assert run.rc == 0 and run.stderr == "", run
    created = sources_hash(root).keys() - before.keys()
    assert created == {"episodes/2024-05-interview/episode.toml"}
    assert 'feed = "test-radio"' in (root / "episodes/2024-05-interview/episode.toml").read_text()


def test_an_image_that_is_not_one_as_chapter_img(corpus_base: Path, tmp_path: Path) -> None:
    root = tmp_path / "show"
    shutil.copytree(corpus_base, root)
    Image.new("RGB", (64, 64)).save(root / EP / "ch.jpg", "WEBP")
    with open(root / EP_TOML, "a", encoding="utf-8") as f:
        f.write('\n[[chapters]]\nstart = 0\ntitle = "Intro"\nimg = "ch.jpg"\n')
    run = podkit(root, "check")
    assert run.rc == 1 and run.err_lines[0] == (
        f"{EP_TOML}: chapters[0].img: ch.jpg is WEBP data but named .jpg (must be JPEG)"), run


def test_traceback_only_with_verbose(corpus_base: Path, tmp_path: Path) -> None:
    """The other side of the one-line promise: -v shows where the error came from."""
    root = tmp_path / "show"
    shutil.copytree(corpus_base, root)
    run = podkit(root, "-v", "new", "../evil")
    assert run.rc == 1 and "Traceback (most recent call last)" in run.stderr, run
    assert run.err_lines[-1].startswith("podkit: slug: '../evil' is not a valid slug"), run
