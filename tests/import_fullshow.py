"""A whole show as a host publishes it, for the moving-in tests: 15 items with iTunes and
Podcasting 2.0 tags over two named seasons, a video bonus, soundbites, value-for-value
recipients (channel and item), a trailer, location, podroll and txt, plus tags podkit
does not carry. Written here (shapes from the podcastindex namespace docs), served with
its media by the local server of `import_hosts`.

The audio is what hosts serve: mastered elsewhere, quieter than Apple's -16 LUFS (about
-20), some episodes 64 kbps mono, the others 128 kbps stereo.
"""
from __future__ import annotations

import datetime as dt
import email.utils
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from conftest import make_cover
from import_hosts import NS, Server
from mutagen.id3 import ID3, TIT2

from toolkit import ffmpeg

SHOW_GUID = "5f1e2c34-6a7b-5c8d-9e0f-123456789abc"
NODE = "03ae9f91a0cb8ff43840e3c322c4c61f019d8c1c3cea15a25cfc425ac605e61a4a"
GUEST_NODE = "02d5c1bf8b940dc9cadca86d1b0a3c37fbe39cee4c7e839e33bef9174531d27f52"
ITEMS = 15
VIDEO_ITEM = 9                  # the bonus: a video/mp4 enclosure
MONO_ITEMS = {1, 2, 3, 4, 5}    # season 1 was recorded at 64 kbps mono
#: Tags the feed has that podkit does not carry: import must name each.
UNMAPPED_CHANNEL = ("googleplay:description", "podcast:updateFrequency", "itunes:subtitle")
UNMAPPED_ITEM = ("podcast:socialInteract", "itunes:author")


@dataclass
class FullShow:
    """The feed on the server and what it promises."""

    url: str
    guids: list[str]
    files: dict[str, bytes] = field(default_factory=dict)   # guid -> enclosure bytes
    trailer_url: str = ""


def _mp3(path: Path, *, mono: bool) -> Path:
    ffmpeg.run(["-v", "error", "-f", "lavfi", "-i", "sine=frequency=330:sample_rate=44100:"
                "duration=2", "-ac", "1" if mono else "2",
                "-c:a", "libmp3lame", "-b:a", "64k" if mono else "128k", "-y", str(path)],
               what="a host's MP3")
    return path


def _video(path: Path) -> Path:
    ffmpeg.run(["-v", "error", "-f", "lavfi", "-i", "color=c=navy:s=160x120:d=2:r=10",
                "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=2",
                "-c:v", "mpeg4", "-c:a", "aac", "-b:a", "64k", "-shortest", "-y", str(path)],
               what="a host's video bonus")
    return path


def _media(folder: Path) -> dict[int, bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    bases = {m: _mp3(folder / f"base-{m}.mp3", mono=m) for m in (True, False)}
    out = {}
    for n in range(1, ITEMS + 1):
        if n == VIDEO_ITEM:
            out[n] = _video(folder / "bonus.mp4").read_bytes()
            continue
        path = folder / f"ep{n}.mp3"
        shutil.copyfile(bases[n in MONO_ITEMS], path)
        tags = ID3()
        tags.add(TIT2(encoding=3, text=f"Allotment episode {n}"))
        tags.save(path)
        out[n] = path.read_bytes()
    return out


def _rfc(d: dt.datetime) -> str:
    return email.utils.format_datetime(d)


def build(server: Server, tmp: Path) -> FullShow:
    """Publish the show's feed, cover, media and trailer on `server`."""
    media = _media(tmp / "media")
    server.add("/show/cover.jpg", make_cover(tmp / "cover.jpg", 1400).read_bytes(), "image/jpeg")
    start = dt.datetime(2023, 3, 6, 7, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    items, guids, files = [], [], {}
    for n in range(1, ITEMS + 1):
        season, number = (1, n) if n <= 7 else (2, n - 7)
        guid = f"allotment-{n:03d}"
        date = start + dt.timedelta(days=7 * n)
        video = n == VIDEO_ITEM
        url = server.add(f"/show/media/ep{n}.{'mp4' if video else 'mp3'}", media[n],
                         "video/mp4" if video else "audio/mpeg")
        guids.append(guid)
        files[guid] = media[n]
        kind = "bonus" if video else "full"
        numbered = "" if video else (f"<itunes:episode>{number}</itunes:episode>"
                                     f'<podcast:episode display="Ep. {season}.{number}">'
                                     f"{number}</podcast:episode>")
        value = (f'<podcast:value type="lightning" method="keysend" suggested="0.00000010000">'
                 f'<podcast:valueRecipient name="Host" type="node" address="{NODE}" split="50"/>'
                 f'<podcast:valueRecipient name="Guest {n}" type="node" address="{GUEST_NODE}" '
                 'split="50"/></podcast:value>' if n in (6, 12) else "")
        soundbite = (f'<podcast:soundbite startTime="0.5" duration="15.0">The slugs of week {n}'
                     "</podcast:soundbite>" if n % 3 == 0 else "")
        location = ('<podcast:location geo="geo:52.2053,0.1218" osm="R295355">Cambridge'
                    "</podcast:location>" if n == 10 else "")
        txt = ('<podcast:txt purpose="release">recorded live</podcast:txt>' if n == 11 else "")
        # Only itunes:summary describes these (no description, no subtitle): a host that
        # writes its notes there must not leave the index page blank.
        desc = (f"<itunes:summary>Week {n} on the plot: beans, &amp; slugs.</itunes:summary>"
                if n % 2 else
                f"<description><![CDATA[<p>Week {n}: <b>compost</b>.</p>]]></description>"
                f"<itunes:subtitle>Compost, week {n}</itunes:subtitle>")
        items.append(
            f"<item><title>{escape(f'Allotment {n}: the plot thickens')}</title>"
            f'<guid isPermaLink="false">{guid}</guid><pubDate>{_rfc(date)}</pubDate>{desc}'
            f'<enclosure url={quoteattr(url)} length="{len(media[n])}" '
            f'type="{"video/mp4" if video else "audio/mpeg"}"/>'
            f"<itunes:duration>00:00:02</itunes:duration>{numbered}"
            f"<itunes:season>{season}</itunes:season>"
            f'<podcast:season name="{"Spring digging" if season == 1 else "Autumn harvest"}">'
            f"{season}</podcast:season><itunes:episodeType>{kind}</itunes:episodeType>"
            "<itunes:explicit>false</itunes:explicit><itunes:author>Ann Gardener</itunes:author>"
            '<podcast:socialInteract protocol="disabled"/>'
            f"{value}{soundbite}{location}{txt}</item>")
    trailer = server.add("/show/trailer.mp3", media[1], "audio/mpeg")
    xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" {NS} '
           'xmlns:googleplay="http://www.google.com/schemas/play-podcasts/1.0"><channel>'
           "<title>The Allotment Hour</title>"
           f'<atom:link href="{server.base}/show/feed.xml" rel="self" type="application/rss+xml"/>'
           "<link>https://allotment.example.org/</link><language>en-gb</language>"
           "<description>Two gardeners and a plot.</description>"
           "<googleplay:description>Two gardeners.</googleplay:description>"
           "<itunes:subtitle>Gardening</itunes:subtitle>"
           "<itunes:author>Ann Gardener</itunes:author>"
           "<itunes:owner><itunes:name>Ann Gardener</itunes:name>"
           "<itunes:email>ann@allotment.example.org</itunes:email></itunes:owner>"
           f'<itunes:image href="{server.base}/show/cover.jpg"/>'
           '<itunes:category text="Leisure"><itunes:category text="Home &amp; Garden"/>'
           "</itunes:category><itunes:explicit>false</itunes:explicit>"
           f"<itunes:type>episodic</itunes:type><podcast:guid>{SHOW_GUID}</podcast:guid>"
           '<podcast:locked owner="ann@allotment.example.org">yes</podcast:locked>'
           '<podcast:updateFrequency rrule="FREQ=WEEKLY">Weekly</podcast:updateFrequency>'
           '<podcast:value type="lightning" method="keysend" suggested="0.00000005000">'
           f'<podcast:valueRecipient name="Ann" type="node" address="{NODE}" split="90"/>'
           f'<podcast:valueRecipient name="Podcast Index" type="node" address="{GUEST_NODE}" '
           'split="10" fee="true"/></podcast:value>'
           f'<podcast:trailer pubdate="{_rfc(start)}" url="https://allotment.example.org/'
           f'trailer.mp3" length="{len(media[1])}" type="audio/mpeg" season="2">Season two '
           "is coming</podcast:trailer>"
           '<podcast:location geo="geo:52.2053,0.1218" osm="R295355">Cambridge, UK'
           "</podcast:location>"
           "<podcast:podroll><podcast:remoteItem feedGuid=\"917393e3-1b1e-5cef-ace4-"
           'edaa54e1f810" feedUrl="https://other.example.org/feed.xml"/></podcast:podroll>'
           '<podcast:txt purpose="verify">S6lpp-7ZCn8-dZfGc-OoyVG</podcast:txt>'
           + "".join(reversed(items)) + "</channel></rss>\n")
    url = server.add("/show/feed.xml", xml.encode("utf-8"), "application/rss+xml")
    return FullShow(url, guids, files, trailer)
