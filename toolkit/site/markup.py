"""Show notes Markdown to HTML, and the sanitizing every piece of episode HTML goes through.

Notes are written by producers (and often pasted from a broadcaster's website), so
whatever they hold is treated as untrusted: Markdown is rendered by markdown-it-py
with raw HTML allowed, and the result is cleaned by nh3 (the Rust `ammonia` sanitizer)
against an allow-list. Nothing that can run code survives: no `script`/`style`
elements (their content is dropped too), no event-handler attributes, and link and
image URLs only with the schemes http, https and mailto.

Three allow-lists:
- DESCRIPTION: what Apple Podcasts accepts in an item's `<description>`: p ol ul li a(href).
- CONTENT: a wider, still inert set for `<content:encoded>` and the web pages.
- TRANSCRIPT: CONTENT plus the structure a rendered transcript uses (section, span,
  time, class/id/lang and data-* attributes).
"""
from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, NamedTuple

import nh3

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

#: Link and image URL schemes that may survive; everything else (javascript:, data:,
#: vbscript:, file:...) loses its attribute.
URL_SCHEMES = frozenset({"http", "https", "mailto"})

DESCRIPTION_TAGS = frozenset({"p", "ol", "ul", "li", "a"})
CONTENT_TAGS = frozenset({
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i", "u", "s",
    "del", "ins", "mark", "small", "sub", "sup", "code", "pre", "kbd", "blockquote", "q", "cite",
    "abbr", "ul", "ol", "li", "dl", "dt", "dd", "a", "img", "figure", "figcaption",
    "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption",
})
TRANSCRIPT_TAGS = CONTENT_TAGS | {"section", "article", "div", "span", "time"}

#: Tags removed together with everything inside them (not just unwrapped).
DROP_WITH_CONTENT = frozenset({"script", "style", "template", "iframe", "object", "embed",
                               "noscript", "svg", "math", "textarea", "select", "button"})

_CONTENT_ATTRS = {
    "a": {"href", "title", "hreflang"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start", "reversed"},
    "th": {"colspan", "rowspan", "scope"},
    "td": {"colspan", "rowspan"},
    "abbr": {"title"},
    "q": {"cite"},
    "blockquote": {"cite"},
}
_TRANSCRIPT_ATTRS = {**_CONTENT_ATTRS, "*": {"class", "id", "lang", "dir", "title"},
                     "time": {"datetime"}}



@functools.cache
def _markdown() -> MarkdownIt:
    # CommonMark plus tables and strikethrough; raw HTML is allowed because nh3 cleans it,
    # and producers pasting from a website expect a <br> or a link to come through.
    # Made (and markdown-it imported) on first use: `podkit feed` renders pages from the
    # records' HTML and never needs it.
    from markdown_it import MarkdownIt
    md = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    return md


class NotesHTML(NamedTuple):
    """Rendered show notes: `description` for the feed's <description> and notes.html
    (Apple's p/ol/ul/li/a only), `content` for <content:encoded> and the web pages."""

    description: str
    content: str


def _relative(base_url: str | None) -> object:
    # A feed reader has no base for a relative link: resolve it against the episode's
    # public URL when one is known, else drop it rather than ship a dead link.
    return ("rewrite_with_base", base_url) if base_url else "deny"


def clean_content(html: str, base_url: str | None = None) -> str:
    """Sanitize HTML to the CONTENT allow-list (feed <content:encoded>, web pages)."""
    out = nh3.clean(html, tags=set(CONTENT_TAGS), clean_content_tags=set(DROP_WITH_CONTENT),
                    attributes={k: set(v) for k, v in _CONTENT_ATTRS.items()},
                    url_schemes=set(URL_SCHEMES), url_relative=_relative(base_url),
                    strip_comments=True)
    # The page's <h1> is the episode title: a heading inside the notes starts one level lower.
    out = re.sub(r"<(/?)h1>", r"<\1h2>", out)
    return _tidy(out)


def clean_description(html: str, base_url: str | None = None) -> str:
    """Sanitize HTML to Apple's description set: p, ol, ul, li and a with an http(s)/mailto href."""
    # Headings and preformatted blocks become paragraphs (Apple would show their text run
    # into the next paragraph); line breaks become spaces. Input is already clean HTML.
    html = clean_content(html, base_url)
    html = re.sub(r"<(/?)(?:h[1-6]|pre)>", r"<\1p>", html)
    html = re.sub(r"<br\s*/?>", " ", html)
    out = nh3.clean(html, tags=set(DESCRIPTION_TAGS), clean_content_tags=set(DROP_WITH_CONTENT),
                    attributes={"a": {"href"}}, url_schemes=set(URL_SCHEMES),
                    url_relative=_relative(base_url), link_rel=None, strip_comments=True)
    return _tidy(out, collapse=True)


def _tidy(html: str, collapse: bool = False) -> str:
    # What cleaning leaves behind: links whose URL was refused, images without a source,
    # and the blank lines of stripped blocks.
    html = re.sub(r"<a(?: rel=\"[^\"]*\")?>(.*?)</a>", r"\1", html, flags=re.S)
    html = re.sub(r"<img(?: [\w-]+=\"[^\"]*\")*>",
                  lambda m: m.group(0) if " src=" in m.group(0) else "", html)
    # HTML5 requires alt on every image: an empty one marks it decorative.
    html = re.sub(r"<img(?![^>]* alt=)", '<img alt=""', html)
    if collapse:  # not for content: blank lines inside <pre> are the producer's
        html = re.sub(r"\n[ \t]*(?:\n[ \t]*)+", "\n", html)
    return html.strip()


def clean_transcript(html: str) -> str:
    """Sanitize a rendered transcript fragment (keeps its structure, classes and data-* cues)."""
    out = nh3.clean(html, tags=set(TRANSCRIPT_TAGS), clean_content_tags=set(DROP_WITH_CONTENT),
                    attributes={k: set(v) for k, v in _TRANSCRIPT_ATTRS.items()},
                    generic_attribute_prefixes={"data-"}, url_schemes=set(URL_SCHEMES),
                    url_relative="deny", strip_comments=True)
    return _tidy(out)


def markdown_html(markdown: str) -> str:
    """Markdown to (unsanitized) HTML; callers always pass the result through a clean_* function."""
    return _markdown().render(markdown)


def render_notes(markdown: str, base_url: str | None = None) -> NotesHTML:
    """Render show notes Markdown to sanitized HTML for the feed and the pages.

    `base_url` (the episode page's public URL) resolves relative links; without it
    relative links are dropped. The result never contains `]]>`, so it is safe inside
    a CDATA section too.
    """
    html = markdown_html(markdown)
    return NotesHTML(description=clean_description(html, base_url),
                     content=clean_content(html, base_url))
