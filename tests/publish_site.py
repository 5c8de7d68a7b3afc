"""A built site, as `layout.Layout.site(feed)` holds it, generated for the publish tests.

Media bytes are pseudo-random from a seed (publishing cares about bytes, not sound), file
names are content-addressed like `layout.media_name`, and the feed is real RSS with the
iTunes and Podcasting 2.0 namespaces, built with ElementTree.
"""
from __future__ import annotations

import hashlib
import json
import random
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

from toolkit.store.layout import media_name, url_for

BASE_URL = "https://media.example.org/korea-az/"
ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST = "https://podcastindex.org/namespace/1.0"
MiB = 1024 * 1024


def audio(seed: int, size: int) -> bytes:
    """Deterministic pseudo-random bytes standing in for an MP3."""
    return random.Random(seed).randbytes(size)


def _write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


def make_site(site: Path, episodes: dict[str, bytes], *, base_url: str = BASE_URL,
              cover: bytes = b"\xff\xd8\xff\xe0 fake jpeg cover \xff\xd9") -> dict[str, str]:
    """(Re)build a site folder from scratch; return {slug: media key}."""
    if site.exists():
        shutil.rmtree(site)
    ET.register_namespace("itunes", ITUNES)
    ET.register_namespace("podcast", PODCAST)
    cover_key = media_name("cover", hashlib.sha256(cover).hexdigest(), "jpg")
    _write(site / cover_key, cover)
    rss = ET.Element("rss", {"version": "2.0"})
    channel = ET.SubElement(rss, "channel")
    ET.SubElement(channel, "title").text = "Korean Peninsula A to Z"
    ET.SubElement(channel, "link").text = "https://www.example.org/korea-a-to-z/"
    ET.SubElement(channel, "description").text = "A weekly programme."
    ET.SubElement(channel, f"{{{ITUNES}}}image", {"href": url_for(base_url, cover_key)})
    keys = {}
    links = []
    for slug, data in sorted(episodes.items()):
        key = f"episodes/{slug}/" + media_name(slug, hashlib.sha256(data).hexdigest(), "mp3")
        keys[slug] = key
        _write(site / key, data)
        _write(site / f"episodes/{slug}/transcript.vtt", f"WEBVTT\n\n00:00.000 --> 00:02.000\n<v Host>{slug}\n")
        _write(site / f"episodes/{slug}/chapters.json",
               json.dumps({"version": "1.2.0", "chapters": [{"startTime": 0, "title": slug}]}))
        _write(site / f"episodes/{slug}/index.html",
               f'<html><body><a href="{url_for(base_url, key)}">{slug}</a></body></html>\n')
        links.append(f'<li><a href="{url_for(base_url, f"episodes/{slug}/")}">{slug}</a></li>')
        item = ET.SubElement(channel, "item")
        ET.SubElement(item, "title").text = slug
        ET.SubElement(item, "guid", {"isPermaLink": "false"}).text = slug
        ET.SubElement(item, "enclosure", {"url": url_for(base_url, key), "length": str(len(data)),
                                          "type": "audio/mpeg"})
        ET.SubElement(item, f"{{{PODCAST}}}transcript", {
            "url": url_for(base_url, f"episodes/{slug}/transcript.vtt"), "type": "text/vtt"})
        ET.SubElement(item, f"{{{PODCAST}}}chapters", {
            "url": url_for(base_url, f"episodes/{slug}/chapters.json"),
            "type": "application/json+chapters"})
    _write(site / "index.html", "<html><body><ul>" + "".join(links) + "</ul></body></html>\n")
    _write(site / "feed.xml", ET.tostring(rss, encoding="utf-8", xml_declaration=True))
    return keys
