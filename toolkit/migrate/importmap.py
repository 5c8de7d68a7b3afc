"""How another host's channel and items map onto podkit's files (for `podkit import`).

Each function turns what `importfeed` read into the TOML tables `feeds/<id>.toml` and
`episode.toml` hold, appending a note for everything podkit's rules would refuse
(an http:// link, an unknown category, a date out of range...) instead of writing it:
the imported show then loads, and the producer sees what to look at.

Show notes stay HTML: sanitized with the notes' own allow-list (toolkit.site.markup) and
written as one raw HTML block (`<div>` ... `</div>`, no blank line inside), which
CommonMark passes through untouched; so `notes_file = "notes.html"` renders exactly that
HTML, and converting it to Markdown (lossy) is never needed.
"""
from __future__ import annotations

import html
import os
import re
from typing import Any

from toolkit.config.show import EMAIL_RE, MAX_DESCRIPTION_BYTES, MEDIUMS
from toolkit.http import display_url
from toolkit.migrate.importfeed import Channel, Item, Link, Person
from toolkit.model import podcast_guid
from toolkit.site import markup
from toolkit.standards import categories, stdcheck

#: podcast:transcript types podkit reads, by the file extension they are saved under.
TRANSCRIPT_TYPES = {"text/vtt": "vtt", "application/x-subrip": "srt", "application/srt": "srt",
                    "text/srt": "srt", "application/x-srt": "srt", "application/json": "json",
                    "text/plain": "txt"}
_AUDIO_TYPES = {"audio/mpeg": ".mp3", "audio/mp3": ".mp3", "audio/mpeg3": ".mp3",
                "audio/x-mpeg": ".mp3", "audio/x-m4a": ".m4a", "audio/m4a": ".m4a",
                "audio/mp4": ".m4a", "audio/aac": ".m4a", "audio/ogg": ".ogg",
                "audio/opus": ".opus", "audio/flac": ".flac", "audio/x-flac": ".flac",
                "audio/wav": ".wav", "audio/x-wav": ".wav"}


def _https(url: str | None) -> bool:
    return bool(url) and url.startswith("https://") and url.isascii() and \
        not any(c.isspace() for c in url) and "@" not in url.split("/")[2]  # type: ignore[union-attr]


def audio_name(enclosure: Link) -> str | None:
    """The file name an enclosure is saved under (audio.mp3...), None when it is not audio."""
    ext = _AUDIO_TYPES.get(enclosure.type.split(";")[0].strip().lower())
    if ext is None and not enclosure.type.lower().startswith("video/"):
        suffix = os.path.splitext(enclosure.url.split("?")[0].split("#")[0])[1].lower()
        ext = suffix if suffix in set(_AUDIO_TYPES.values()) | {".aac", ".aif", ".aiff"} else None
    return f"audio{ext}" if ext else None


def notes_html(source_html: str) -> str:
    """An item's description as sanitized HTML in one CommonMark raw block (see the module doc)."""
    if re.search(r"<[a-zA-Z!/]", source_html):
        clean = markup.clean_content(source_html)
    else:  # plain text (some hosts): paragraphs at blank lines, line breaks kept
        paras = [p.strip() for p in re.split(r"\n\s*\n", source_html) if p.strip()]
        clean = "\n".join("<p>" + html.escape(p, quote=False).replace("\n", "<br>") + "</p>"
                          for p in paras)
    # A blank line would end the raw block and let Markdown read the rest: inside <pre>
    # newlines become character references, elsewhere blank lines are only whitespace.
    clean = re.sub(r"<pre>(.*?)</pre>", lambda m: "<pre>" + m.group(1).replace("\n", "&#10;")
                   + "</pre>", clean, flags=re.S)
    clean = re.sub(r"\n[ \t]*(?:\n[ \t]*)+", "\n", clean).strip()
    return f"<div>\n{clean}\n</div>\n" if clean else ""


def _persons(persons: tuple[Person, ...], where: str, notes: list[str]) -> list[dict[str, str]]:
    out = []
    for p in persons:
        entry = {"name": p.name, "role": p.role, "group": p.group}
        for key, value in (("img", p.img), ("href", p.href)):
            if value and _https(value):
                entry[key] = value
            elif value:
                notes.append(f"{where}: podcast:person {p.name!r}: {key} {value!r} is not an "
                             "https:// URL: left out")
        out.append(entry)
    return out


def show_table(ch: Channel, source: str, *, base_url: str, feed_url: str, artwork: str | None,
               notes: list[str]) -> dict[str, Any]:
    """The `feeds/<id>.toml` table of an imported channel, its keys in the feed TOML's
    order; each field podkit would refuse is noted, and replaced or left out."""
    t: dict[str, Any] = {"title": ch.title, "description": _description(ch, notes),
                         "link": _link(ch, base_url, notes), "language": _language(ch, notes),
                         "author": ch.author or ch.owner_name or ch.title}
    if ch.explicit is None:
        notes.append("channel: itunes:explicit: missing or unreadable; false written")
    t["explicit"] = bool(ch.explicit)
    if ch.type in ("episodic", "serial"):
        t["type"] = ch.type
    t["categories"] = _categories(ch, notes)
    if artwork:
        t["artwork"] = artwork
    t["base_url"], t["feed_url"] = base_url, feed_url
    t.update(_optional(ch))
    t["owner"] = _owner(ch, t["author"], notes)
    t["podcast"] = _podcast(ch, source, notes)
    funding = [{"url": url, "label": label} for url, label in ch.funding if _https(url)]
    if funding:
        t["funding"] = funding
    if ch.persons:
        t["persons"] = _persons(ch.persons, "channel", notes)
    return t


def _description(ch: Channel, notes: list[str]) -> str:
    """The channel's description (the title when empty), cut to what Apple takes."""
    description = ch.description or ch.title
    if not ch.description:
        notes.append("channel: description: empty in the feed; the title is used")
    fitted = stdcheck.fit_description(description, MAX_DESCRIPTION_BYTES)
    if fitted != description:           # measured as published (HTML), as check does
        description = fitted
        notes.append(f"channel: description: cut to Apple's {MAX_DESCRIPTION_BYTES} bytes")
    return description


def _link(ch: Channel, base_url: str, notes: list[str]) -> str:
    """The channel's link as https:// (base_url when it has none usable)."""
    link = ch.link
    if link and link.startswith("http://"):
        notes.append(f"channel: link: {link!r} is http://; written as https:// (check it works)")
        link = "https://" + link[len("http://"):]
    if not _https(link):
        notes.append(f"channel: link: {ch.link!r} is not a usable https:// URL; base_url used")
        link = base_url
    return link


def _language(ch: Channel, notes: list[str]) -> str:
    """The channel's language if it is a BCP 47 tag, else "en" (noted)."""
    language = ch.language
    if not language or stdcheck.language_problem(language):
        notes.append(f"channel: language: {language!r} is not a BCP 47 tag; \"en\" written, "
                     "correct it")
        language = "en"
    return language


def _categories(ch: Channel, notes: list[str]) -> list[str]:
    """The Apple categories podkit accepts, as "Name > Sub"; the others noted."""
    cats = []
    for name, sub in ch.categories:
        problem = categories.check_category(name, sub)
        if problem:
            notes.append(f"channel: itunes:category: {problem}: left out")
        else:
            cats.append(f"{name} > {sub}" if sub else name)
    if not cats:
        notes.append("channel: itunes:category: none usable; add categories = [...] before "
                     "building")
    return cats


def _optional(ch: Channel) -> dict[str, Any]:
    """The keys written only when the feed has them: copyright, license, keywords, medium."""
    t: dict[str, Any] = {}
    for key, value in (("copyright", ch.copyright), ("license", ch.license)):
        if value:
            t[key] = value
    if ch.keywords:
        t["keywords"] = list(ch.keywords)
    if ch.medium and ch.medium.removesuffix("L") in MEDIUMS:
        t["medium"] = ch.medium
    return t


def _owner(ch: Channel, author: str, notes: list[str]) -> dict[str, str]:
    """`[owner]`: a name (the author's when the feed has none) and a valid email, if any."""
    owner: dict[str, str] = {"name": ch.owner_name or author}
    if ch.owner_email and EMAIL_RE.match(ch.owner_email):
        owner["email"] = ch.owner_email
    else:
        notes.append("channel: itunes:owner: no email address in the feed; add [owner] email "
                     "before building")
    return owner


def _podcast(ch: Channel, source: str, notes: list[str]) -> dict[str, Any]:
    """`[podcast]`: the guid pinned (the show's identity must survive the move), locked kept."""
    import uuid
    out: dict[str, Any] = {}
    guid = None
    if ch.guid:
        try:
            guid = str(uuid.UUID(ch.guid))
        except ValueError:
            notes.append(f"channel: podcast:guid: {ch.guid!r} is not a UUID")
    if guid is None:
        # The guid apps would derive for the old feed: from its own address.
        old = ch.self_url or (source if source.startswith(("http://", "https://")) else None)
        if old:
            guid = podcast_guid(old)
            notes.append(f"channel: podcast:guid: none in the feed; derived from "
                         f"{display_url(old)} "
                         "(the old feed's address) and pinned")
        else:
            notes.append("channel: podcast:guid: none in the feed and no feed address "
                         "(atom:link rel=self) to derive it from; the new feed_url's is used")
    if guid:
        out["guid"] = guid
    if ch.locked is not None:
        out["locked"] = ch.locked
    if ch.locked_owner and EMAIL_RE.match(ch.locked_owner):
        out["locked_owner"] = ch.locked_owner
    if ch.new_feed_url:
        notes.append(f"channel: itunes:new-feed-url: the feed says the show moved to "
                     f"{ch.new_feed_url}: import from there if that is newer")
    return out


def episode_table(item: Item, feed_id: str, *, audio_name: str, notes_file: str | None,
                  transcripts: list[dict[str, str]], chapters: list[dict[str, Any]],
                  art: str | None, notes: list[str]) -> dict[str, Any]:
    """The `episode.toml` table of an imported item."""
    where = f"item {item.guid}"
    assert item.date is not None
    title = item.title or f"Episode of {item.date:%Y-%m-%d}"
    t: dict[str, Any] = {"feed": feed_id, "title": title, "date": item.date, "guid": item.guid}
    problem = stdcheck.date_problem(item.date)
    if problem:
        notes.append(f"{where}: pubDate: {item.date.isoformat()}: {problem}")
    for key, value in (("number", item.number), ("season", item.season)):
        if value is not None:
            t[key] = value
    if item.type != "full":
        t["type"] = item.type
    if item.explicit is not None:
        t["explicit"] = item.explicit
    if item.summary:
        t["summary"] = item.summary
    if notes_file:
        t["notes_file"] = notes_file
    t["audio"] = audio_name
    if audio_name.endswith(".mp3"):
        t["passthrough"] = True         # mastered already: never encoded a second time
        t["keep_tags"] = True           # published byte for byte: same length, same file
    if art:
        t["art"] = art
    if transcripts:
        t["transcripts"] = transcripts
    if chapters:
        t["chapters"] = chapters
    if item.persons:
        t["persons"] = _persons(item.persons, where, notes)
    return t


def chapters_table(data: object, guid: str, notes: list[str]) -> list[dict[str, Any]]:
    """Podcast Index chapters JSON as `[[chapters]]` tables (what podkit refuses is left out)."""
    if data is None:
        return []
    where = f"item {guid}: podcast:chapters"
    raw = data.get("chapters") if isinstance(data, dict) else None
    if not isinstance(raw, list):
        notes.append(f"{where}: no \"chapters\" list in the JSON: left out")
        return []
    out: list[dict[str, Any]] = []
    for i, c in enumerate(raw):
        start = c.get("startTime") if isinstance(c, dict) else None
        if not isinstance(start, (int, float)) or isinstance(start, bool) or start < 0 or \
                (out and start <= out[-1]["start"]):
            notes.append(f"{where}[{i}]: startTime {start!r} is not a time after the previous "
                         "chapter: left out")
            continue
        title = c.get("title") if isinstance(c.get("title"), str) and c["title"].strip() \
            else f"Chapter {len(out) + 1}"
        entry: dict[str, Any] = {"start": float(start), "title": " ".join(title.split())}
        for key in ("url", "img"):
            value = c.get(key)
            if isinstance(value, str) and _https(value):
                entry[key] = value
            elif value:
                notes.append(f"{where}[{i}]: {key} {value!r} is not an https:// URL: left out")
        if c.get("toc") is False:
            entry["toc"] = False
        out.append(entry)
    return out
