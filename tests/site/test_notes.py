"""Show notes, pages and templates (toolkit/site/notes.py, toolkit/site/markup.py).

HTML is checked by parsing it (html5lib in strict mode: any HTML5 parse error fails),
then walking the real element tree, not by searching strings.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import tomllib
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import html5lib
import pytest
from notes_support import CHAPTERS, KST, make_episode, make_show

from toolkit import model
from toolkit.errors import PodkitError
from toolkit.site import notes
from toolkit.site.markup import CONTENT_TAGS, DESCRIPTION_TAGS, render_notes

REPO = Path(__file__).resolve().parents[2]
NS = "{http://www.w3.org/1999/xhtml}"

# Each of these must come out of every renderer with nothing that can run.
ATTACKS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<img src=\"https://ok.example/a.png\" onload=\"alert(1)\">",
    "<svg onload=alert(1)><circle r=1 /></svg>",
    "<style>body{background:url(javascript:alert(1))}</style>",
    "<p style=\"background:url(javascript:alert(1))\">styled</p>",
    "<a href=\"javascript:alert(1)\">js</a>",
    "<a href=\"JaVaScRiPt:alert(1)\">mixed case</a>",
    "<a href=\"jav&#x09;ascript:alert(1)\">tab entity</a>",
    "<a href=\" javascript:alert(1)\">leading space</a>",
    "<a href=\"vbscript:msgbox(1)\">vb</a>",
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">data</a>",
    "[md link](javascript:alert(1))",
    "<javascript:alert(1)>",
    "[ref]\n\n[ref]: javascript:alert(1)",
    "<iframe src=\"https://evil.example/\"></iframe>",
    "<object data=\"https://evil.example/x.swf\"></object>",
    "<form action=\"javascript:alert(1)\"><button>go</button></form>",
    "<div onclick=\"alert(1)\" onmouseover=\"alert(2)\">handlers</div>",
    "<a href=\"https://ok.example/\" onclick=\"alert(1)\">ok link</a>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    "]]><script>alert(1)</script><![CDATA[",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    "<base href=\"https://evil.example/\">",
]

SWALLOWING = {ATTACKS[21], ATTACKS[22]}


def parse(html: str, fragment: bool = True):
    """Parse strictly: a parse error raises. Returns the element tree's root."""
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=True)
    return parser.parseFragment(html) if fragment else parser.parse(html)


def elements(root) -> list:
    return [e for e in root.iter() if isinstance(e.tag, str)]


def tag(e) -> str:
    return e.tag.replace(NS, "")


def assert_inert(root, *, scripts_allowed: int = 0) -> None:
    """No script/style elements beyond the template's own, no on* handlers, no bad URL schemes."""
    els = elements(root)
    assert sum(tag(e) == "script" for e in els) == scripts_allowed
    for e in els:
        for name, value in e.attrib.items():
            assert not name.lower().startswith("on"), f"<{tag(e)} {name}=...> survived"
            if name in ("href", "src", "action", "data", "formaction", "cite"):
                scheme = urlsplit(value.strip()).scheme.lower()
                assert scheme in ("", "http", "https", "mailto"), f"<{tag(e)} {name}={value!r}>"
            assert name != "style" or tag(e) != "p", "style attribute survived"
        assert tag(e) not in ("iframe", "object", "embed", "form", "svg", "math", "base", "button")
        if tag(e) == "meta":
            assert e.get("http-equiv", "").lower() != "refresh"


# ---- Markdown and sanitizing ----------------------------------------------------------------

@pytest.mark.parametrize("attack", ATTACKS)
def test_no_attack_survives_into_description_or_content(attack):
    md = f"Before.\n\n{attack}\n\nAfter [a link](https://www.example.org/?a=1&b=2)."
    html = render_notes(md)
    for out in html:
        root = parse(out)
        assert_inert(root)
        assert "]]>" not in out  # safe inside a CDATA section
        assert "alert" not in " ".join(e.get("href", "") + e.get("src", "") for e in elements(root))
    desc = parse(html.description)
    assert {tag(e) for e in elements(desc)} - {"DOCUMENT_FRAGMENT"} <= DESCRIPTION_TAGS
    for e in elements(desc):
        assert set(e.attrib) <= ({"href"} if tag(e) == "a" else set())
    assert {tag(e) for e in elements(parse(html.content))} - {"DOCUMENT_FRAGMENT"} <= CONTENT_TAGS
    # The ordinary text and link around the attack come through (an unclosed raw-text
    # element such as <style> legitimately swallows the rest of its HTML block).
    assert html.description.startswith("<p>Before.</p>")
    if attack not in SWALLOWING:
        assert "After" in html.description and 'href="https://www.example.org/?a=1&amp;b=2"' in html.description


def test_description_keeps_structure_apple_allows():
    md = ("# Heading\n\nA *para* with a [link](https://x.example/p) and `code`.  \nNext line.\n\n"
          "1. one\n2. two\n\n- a\n- b\n\n> quoted\n\n    preformatted\n\n"
          "Mail [us](mailto:show@example.org).")
    html = render_notes(md)
    root = parse(html.description)
    assert [tag(e) for e in elements(root)][1:] == [
        "p", "p", "a", "ol", "li", "li", "ul", "li", "li", "p", "p", "p", "a"]
    assert root[0].text == "Heading"  # the heading became a paragraph, not loose text
    content = parse(html.content)
    tags = [tag(e) for e in elements(content)]
    assert "h2" in tags and "h1" not in tags  # the page's h1 is the episode title
    assert {"em", "code", "br", "blockquote", "pre", "ol", "ul"} <= set(tags)


def test_relative_links_are_dropped_or_resolved_against_the_page():
    md = "[previous](../earlier/) and ![pic](art.png)"
    plain = render_notes(md)
    assert "href" not in plain.description and "<img" not in plain.content
    assert "previous" in plain.description
    based = render_notes(md, base_url="https://media.example.org/korea-az/episodes/x/index.html")
    assert 'href="https://media.example.org/korea-az/episodes/earlier/"' in based.description
    assert 'src="https://media.example.org/korea-az/episodes/x/art.png"' in based.content


# ---- notes.md and notes.html ----------------------------------------------------------------

def test_episode_notes_list_chapter_timestamps(tmp_path):
    ep = make_episode()
    got = notes.episode_notes(ep, tuple(reversed(CHAPTERS)), None)
    assert got.markdown.startswith("Dr Seo explains **why** the talks stalled.")
    lines = got.markdown.splitlines()
    i = lines.index("## Chapters")
    # Sorted by start, toc=false left out, h:mm:ss past one hour, Markdown in titles escaped.
    assert lines[i + 2:] == ["- 00:00 Intro", "- 00:01 Analysis", r"- 1:02:05 Late \<b\>news\</b\>"]
    desc = parse(got.description_html)
    items = [e.text for e in elements(desc) if tag(e) == "li"]
    assert items[-3:] == ["00:00 Intro", "00:01 Analysis", "1:02:05 Late <b>news</b>"]
    written = notes.write_notes(tmp_path, got)
    assert sorted(p.name for p in written) == ["notes.html", "notes.md"]
    assert (tmp_path / "notes.html").read_text("utf-8") == got.description_html + "\n"
    assert notes.write_notes(tmp_path, got) == []  # unchanged: nothing rewritten
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_timestamp():
    assert [notes.timestamp(s) for s in (0, 59.99, 75.5, 3599, 3600, 36000.2)] == [
        "00:00", "00:59", "01:15", "59:59", "1:00:00", "10:00:00"]


# ---- pages -------------------------------------------------------------------------------------

def page_for(ep: model.Episode, **changes: object) -> notes.PageData:
    slug = ep.slug
    page = notes.PageData(
        episode=ep, audio=f"https://media.example.org/korea-az/episodes/{slug}/{slug}-0123456789ab.mp3",
        duration=754.4, audio_size=12_345_678, chapters=CHAPTERS,
        notes_html=render_notes(ep.notes).content,
        transcript_html=f"<section class=\"transcript\"><p data-start=\"0\"><span class=\"speaker\">Host</span> "
                        f"Hello from {slug}.</p></section>",
        transcripts=(notes.Link("WebVTT", f"episodes/{slug}/transcript.vtt", "text/vtt"),),
        cover="korea-az-cafe1234.jpg", chapters_file=f"episodes/{slug}/chapters.json")
    return replace(page, **changes)  # type: ignore[arg-type]


def test_episode_page_is_valid_html5_with_player_chapters_and_relative_links():
    show, ep = make_show(), make_episode()
    html = notes.render_episode_page(show, page_for(ep), None)
    assert html == notes.render_episode_page(show, page_for(ep), None)  # deterministic
    root = parse(html, fragment=False)
    els = elements(root)
    assert_inert(root, scripts_allowed=1)
    assert root.get("lang") == "en"
    audio = [e for e in els if tag(e) == "audio"]
    assert len(audio) == 1 and audio[0].get("src") == "hanoi-summit-0123456789ab.mp3"
    chapter_links = [e for e in els if tag(e) == "a" and e.get("data-start") is not None]
    assert [(a.get("data-start"), a.get("href"), a.text) for a in chapter_links] == [
        ("0", "hanoi-summit-0123456789ab.mp3#t=0", "Intro"),
        ("1.5", "hanoi-summit-0123456789ab.mp3#t=1.5", "Analysis"),
        ("3725", "hanoi-summit-0123456789ab.mp3#t=3725", "Late <b>news</b>")]  # escaped text
    assert all(a.get("data-player") == audio[0].get("id") for a in chapter_links)
    hrefs = {e.text: e.get("href") for e in els if tag(e) == "a"}
    assert hrefs["Korean Peninsula A to Z"] == "../../index.html"
    assert hrefs["WebVTT"] == "transcript.vtt" and hrefs["Chapters (JSON)"] == "chapters.json"
    assert hrefs["RSS feed"] == "../../feed.xml"
    cover = [e for e in els if tag(e) == "img"]
    assert cover[0].get("src") == "../../korea-az-cafe1234.jpg"
    feed_field = [e for e in els if tag(e) == "input"][0]
    assert feed_field.get("value") == "https://media.example.org/korea-az/feed.xml"
    text = "".join(root.itertext())
    for app in ("Apple Podcasts", "Overcast", "AntennaPod", "Any other app"):
        assert app in text
    assert "Hello from hanoi-summit." in text and "why" in text
    assert any(e.get("data-start") == "0" and tag(e) == "p" for e in els)  # transcript cues kept


def test_inline_script_is_the_only_one_and_allowed_by_its_csp_hash():
    html = notes.render_episode_page(make_show(), page_for(make_episode()), None)
    script = re.search(r"<script>(.*?)</script>", html, re.S).group(1)
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}';" in csp.replace("&#39;", "'")
    assert "default-src 'none'" in csp


BAD_URLS = ["javascript:alert(1)", " JavaScript:alert(1)", "java\tscript:alert(1)",
            "\x01javascript:alert(1)", "javascript\n:alert(1)", "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox(1)"]


def test_notes_attacks_do_not_reach_the_pages():
    for i, attack in enumerate(ATTACKS):
        bad_url = BAD_URLS[i % len(BAD_URLS)]  # every bad URL meets several attacks
        show = make_show(link=bad_url)
        ep = make_episode(notes=f"Intro.\n\n{attack}", title=f"Title {attack}", summary=attack)
        page = page_for(ep, notes_html=render_notes(ep.notes).content + attack,  # unsanitized too
                        transcript_html=f"<p>said</p>{attack}",
                        chapters=(model.Chapter(0, attack, url=bad_url),),
                        downloads=(notes.Link("AAC", bad_url),))
        for html in (notes.render_episode_page(show, page, None), notes.render_index(show, [page], None)):
            assert_inert(parse(html, fragment=False), scripts_allowed=1)


def test_safe_url():
    for bad in BAD_URLS + ["//evil.example/x"]:
        assert notes.safe_url(bad) == "", bad
    for good in ("https://x.example/a?b=1", "mailto:a@b.example", "../x.html", "#t=3", "x.mp3"):
        assert notes.safe_url(good) == good


def test_guests_and_funding_links():
    show = make_show(funding=(model.Funding("https://www.example.org/support", "Support us"),
                              model.Funding("javascript:alert(1)", "Bad")))
    ep = make_episode(persons=(model.Person("Dr Ji-hoon Seo", "guest", href="https://x.example/seo"),
                               model.Person("Claire <Host>", "host", href="javascript:alert(1)")))
    root = parse(notes.render_episode_page(show, page_for(ep), None), fragment=False)
    people = [e for e in elements(root) if e.get("class") == "people"][0]
    assert "".join(people.itertext()) == "With Dr Ji-hoon Seo (guest), Claire <Host> (host)"
    assert [a.get("href") for a in people] == ["https://x.example/seo"]
    links = {e.text: e.get("href") for e in elements(root) if tag(e) == "a"}
    assert links["Support us"] == "https://www.example.org/support" and "Bad" not in links


def test_absolute_urls_outside_the_site_stay_absolute():
    ep = make_episode()
    page = page_for(ep, audio="https://cdn.example.net/x.mp3", cover=None, transcripts=())
    root = parse(notes.render_episode_page(make_show(), page, None), fragment=False)
    assert [e.get("src") for e in elements(root) if tag(e) == "audio"] == ["https://cdn.example.net/x.mp3"]
    assert not [e for e in elements(root) if tag(e) == "img"]


def test_index_lists_episodes_newest_first_without_drafts():
    show = make_show()
    eps = [make_episode("first", title="First", date=dt.datetime(2019, 3, 1, tzinfo=KST)),
           make_episode("third", title="Third", date=dt.datetime(2019, 3, 21, tzinfo=KST)),
           make_episode("second", title="Second", date=dt.datetime(2019, 3, 14, tzinfo=KST)),
           make_episode("draft", title="Draft", date=dt.datetime(2019, 4, 1, tzinfo=KST), draft=True)]
    pages = [page_for(e) for e in eps]
    html = notes.render_index(show, pages, None, cover="korea-az-cafe1234.jpg")
    assert html == notes.render_index(show, list(reversed(pages)), None, cover="korea-az-cafe1234.jpg")
    root = parse(html, fragment=False)
    els = elements(root)
    titles = [(a.text, a.get("href")) for e in els if tag(e) == "h3" for a in e if tag(a) == "a"]
    assert titles == [("Third", "episodes/third/index.html"), ("Second", "episodes/second/index.html"),
                      ("First", "episodes/first/index.html")]
    players = [e for e in els if tag(e) == "audio"]
    assert [p.get("src") for p in players] == [f"episodes/{s}/{s}-0123456789ab.mp3"
                                               for s in ("third", "second", "first")]
    assert [p.get("preload") for p in players] == ["metadata", "none", "none"]
    text = "".join(root.itertext())
    # The newest episode carries its transcript; the others link to theirs.
    assert "Hello from third." in text and "Hello from second." not in text
    assert any(e.get("href") == "episodes/second/index.html#transcript" for e in els)
    assert [e.get("src") for e in els if tag(e) == "img"] == ["korea-az-cafe1234.jpg"]
    assert any(e.get("href") == "feed.xml" for e in els)


# ---- templates: overrides, strictness, escaping --------------------------------------------

def test_show_templates_override_defaults(tmp_path):
    show, ep = make_show(), make_episode()
    (tmp_path / "notes.md.j2").write_text("Custom {{ episode.title }} & {{ chapters|length }} chapters\n")
    (tmp_path / "subscribe.html.j2").write_text("<p id=\"sub\">Find us in {{ show.title }}</p>\n")
    (tmp_path / "episode.html.j2").write_text(
        '{% extends "default/episode.html.j2" %}{% block title %}Custom: {{ item.episode.title }}{% endblock %}')
    got = notes.episode_notes(ep, CHAPTERS, tmp_path)
    assert got.markdown == "Custom Hanoi summit ends without a deal & 3 chapters\n"  # not HTML-escaped
    root = parse(notes.render_episode_page(show, page_for(ep), tmp_path), fragment=False)
    els = elements(root)
    assert [e.text for e in els if tag(e) == "title"] == ["Custom: Hanoi summit ends without a deal"]
    assert [e.text for e in els if e.get("id") == "sub"] == ["Find us in Korean Peninsula A to Z"]
    assert any(tag(e) == "audio" for e in els)  # the rest is still the default page
    # Without the folder, the defaults again.
    assert "Custom" not in notes.render_episode_page(show, page_for(ep), None)


def test_autoescape_in_html_templates(tmp_path):
    ep = make_episode(title="Q&A <i>live</i>")
    html = notes.render_episode_page(make_show(), page_for(ep), None)
    assert "<h1>Q&amp;A &lt;i&gt;live&lt;/i&gt;</h1>" in html


def test_undefined_values_and_syntax_errors_name_the_template(tmp_path):
    (tmp_path / "episode.html.j2").write_text("<p>\n{{ item.episode.no_such_field }}</p>\n")
    with pytest.raises(PodkitError) as err:
        notes.render_episode_page(make_show(), page_for(make_episode()), tmp_path)
    msg = str(err.value)
    assert "episode.html.j2" in msg and "line 2" in msg and "no_such_field" in msg
    (tmp_path / "index.html.j2").write_text("<p>{% if %}</p>")
    with pytest.raises(PodkitError) as err:
        notes.render_index(make_show(), [], tmp_path)
    assert "index.html.j2" in str(err.value) and "line 1" in str(err.value)
    assert "\n" not in str(err.value)


# ---- the episode scaffold ------------------------------------------------------------------

@pytest.mark.parametrize("templates", [None, REPO / "templates"], ids=["package", "show"])
def test_scaffold_renders_to_a_parseable_episode_toml(templates):
    date = dt.datetime(2019, 3, 14, 18, 0, tzinfo=KST)
    text = notes.render_scaffold(templates, slug="next-week", feed="korea-az", date=date, number=2,
                                 title='Title with "quotes" & more')
    data = tomllib.loads(text)
    assert data["feed"] == "korea-az" and data["date"] == date and data["number"] == 2
    assert data["title"] == 'Title with "quotes" & more'
    assert data["draft"] is True and [p["title"] for p in data["parts"]]
    assert "next-week" in text
    if templates is not None:  # the show's override fills in its radio slot
        assert (data["programme"], data["max_duration"]) == ("Korean Peninsula A to Z", "15:00")
    else:
        assert "programme" not in data
    no_number = tomllib.loads(notes.render_scaffold(templates, slug="x", feed="korea-az", date=date))
    assert "number" not in no_number


def test_scaffold_rejects_bad_slugs():
    with pytest.raises(PodkitError, match="slug"):
        notes.render_scaffold(None, slug="Bad Slug", feed="korea-az",
                              date=dt.datetime(2019, 1, 1, tzinfo=KST))
    with pytest.raises(PodkitError, match="time zone"):
        notes.render_scaffold(None, slug="ok", feed="korea-az", date=dt.datetime(2019, 1, 1))


def test_every_default_template_is_packaged():
    # pyproject's package-data must carry every file in toolkit/templates/.
    text = (REPO / "pyproject.toml").read_text()
    assert '"templates/*"' in text
    assert {p.name for p in notes.DEFAULTS_DIR.iterdir()} >= {
        "base.html.j2", "episode.html.j2", "index.html.j2", "notes.md.j2", "episode.toml.j2"}


def test_images_keep_an_alt_and_lose_without_a_source():
    html = render_notes('<img src="https://x.example/a.png" width="10"> <img src="javascript:1">'
                        ' ![Map](https://x.example/m.png)').content
    imgs = [e for e in elements(parse(html)) if tag(e) == "img"]
    assert [(i.get("src"), i.get("alt")) for i in imgs] == [
        ("https://x.example/a.png", ""), ("https://x.example/m.png", "Map")]


# ---- the embeddable player ---------------------------------------------------------------------

def test_embed_player_is_self_contained_and_its_script_allowed_by_hash():
    ep = make_episode(title='Hanoi "summit" <ends>')
    html = notes.render_embed(make_show(), page_for(ep), None)
    root = html5lib.parse(html, namespaceHTMLElements=False)
    # Every URL the player loads or links is relative: nothing is fetched from elsewhere.
    urls = [(e.tag, a, e.get(a)) for e in root.iter() for a in ("src", "href") if e.get(a)
            and not (e.tag == "link" and e.get("rel") == "canonical")]
    assert sorted(urls) == [("a", "href", "index.html"),
                            ("audio", "src", "hanoi-summit-0123456789ab.mp3"),
                            ("img", "src", "../../korea-az-cafe1234.jpg"),
                            ("link", "href", "../../korea-az-cafe1234.jpg")]   # the icon
    starts = [float(e.get("data-start")) for e in root.iter("button") if e.get("data-start")]
    assert starts == sorted(c.start for c in CHAPTERS if c.toc)   # one button per listed chapter
    assert [e.text for e in root.iter("a")] == [ep.title]      # the title links the episode page
    scripts = list(root.iter("script"))
    assert len(scripts) == 1 and not [s for s in scripts if s.get("src")]
    script = re.search(r"<script>(.*?)</script>", html, re.S).group(1)
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}';" in csp.replace("&#39;", "'")


def test_episode_page_offers_the_iframe_code_to_copy():
    ep = make_episode(title='Hanoi "summit" <ends>')
    html = notes.render_episode_page(make_show(), page_for(ep), None)
    root = html5lib.parse(html, namespaceHTMLElements=False)
    (box,) = [e for e in root.iter("textarea") if "embed-code" in (e.get("class") or "")]
    assert box.get("readonly") is not None
    # The textarea shows the code as text; parsed, it is one iframe of the documented size.
    frame = html5lib.parse(box.text, namespaceHTMLElements=False).find(".//iframe")
    assert frame.get("src") == "https://media.example.org/korea-az/episodes/hanoi-summit/embed.html"
    assert (frame.get("width"), frame.get("height")) == ("600", "200")
    assert frame.get("title") == ep.title
