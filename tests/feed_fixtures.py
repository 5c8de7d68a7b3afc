"""Hand-made model objects for the feed and validate tests (no files unless asked)."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from toolkit import model
from toolkit.config import presets

FEED_URL = "https://media.example.org/korea-az/feed.xml"
BASE_URL = "https://media.example.org/korea-az/"
KST = timezone(timedelta(hours=9))
T0 = datetime(2019, 3, 7, 18, 0, tzinfo=KST)


def make_show(root: Path, **changes: object) -> model.Show:
    """A complete show like the documented example feed."""
    preset = presets.get("podcast")
    show = model.Show(
        id="korea-az", path=root / "feeds" / "korea-az.toml",
        title="Korean Peninsula A to Z",
        description="A weekly English-language programme about the two Koreas.",
        link="https://www.example.org/korea-a-to-z/", language="en",
        author="Example Public Radio",
        owner=model.Owner("Example Public Radio", "podcasts@example.org"),
        categories=(model.Category("News", "Politics"), model.Category("Government")),
        explicit=False, artwork=root / "feeds" / "korea-az.jpg",
        base_url=BASE_URL, feed_url=FEED_URL, preset=preset,  # type: ignore[arg-type]
        publish=model.PublishTarget(),
        copyright="© 2019 Example Public Radio", license="CC-BY-4.0",
        guid=model.podcast_guid(FEED_URL), locked=True, locked_owner="podcasts@example.org",
        funding=(model.Funding("https://www.example.org/support", "Support the programme"),),
        persons=(model.Person("Jane Host", href="https://www.example.org/people/jane-host"),),
    )
    return replace(show, **changes)  # type: ignore[arg-type]


def make_episode(root: Path, slug: str, n: int, *, date: datetime | None = None,
                 size: int = 123_456, duration: float | None = 61.4,
                 audio_path: Path | None = None, **changes: object) -> model.BuiltEpisode:
    """A built episode numbered n, dated n weeks after T0 unless `date` is given."""
    d = root / "episodes" / slug
    ep = model.Episode(
        slug=slug, dir=d, path=d / "episode.toml", feed="korea-az",
        title=f"Episode {n}: {slug}", date=date or T0 + timedelta(weeks=n), parts=(),
        guid=model.episode_guid(model.podcast_guid(FEED_URL), slug), number=n, season=1,
        summary=f"Summary of {slug}.", season_name="2019", episode_display=f"Ep {n}",
        persons=(model.Person("Dr Min Analyst", role="guest"),),
        soundbites=(model.Soundbite(start=3.5, duration=30, title="The question"),),
    )
    ep = replace(ep, **{k: v for k, v in changes.items() if hasattr(ep, k)})
    site = f"{BASE_URL}episodes/{slug}/"
    audio = model.MediaFile(path=audio_path or d / f"{slug}.mp3", url=f"{site}{slug}-0123456789ab.mp3",
                            mime="audio/mpeg", size=size, sha256="0" * 64, duration=duration)
    be = model.BuiltEpisode(
        episode=ep, audio=audio,
        transcripts=(
            model.MediaFile(d / "transcript.vtt", f"{site}transcript.vtt", "text/vtt", 100, "0" * 64,
                            language="en", rel="captions"),
            model.MediaFile(d / "transcript.txt", f"{site}transcript.txt", "text/plain", 100, "0" * 64,
                            language="en"),
        ),
        chapters_file=model.MediaFile(d / "chapters.json", f"{site}chapters.json",
                                      "application/json+chapters", 50, "0" * 64),
        page_url=site, image_url=None,
        description_html=f"<p>Summary of <a href=\"https://example.org/{slug}\">{slug}</a>.</p>",
        content_html=f"<p>Full notes of {slug}.</p><h2>Links</h2><ul><li>one</li></ul>",
    )
    return replace(be, **{k: v for k, v in changes.items() if hasattr(be, k)})


def make_mp3(path: Path, seconds: float = 2.0) -> Path:
    """A real, tiny MP3 (a sine tone) written by ffmpeg."""
    from toolkit import ffmpeg
    path.parent.mkdir(parents=True, exist_ok=True)
    ffmpeg.run(["-v", "error", "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
                "-ac", "1", "-ar", "22050", "-c:a", "libmp3lame", "-b:a", "32k", str(path)],
               what="test mp3", path=path)
    return path


def make_art(path: Path, size: tuple[int, int] = (1400, 1400), mode: str = "RGB",
             fmt: str | None = None) -> Path:
    """An artwork file; `fmt` lets a test write e.g. WebP data under a .png name."""
    from PIL import Image
    path.parent.mkdir(parents=True, exist_ok=True)
    colour = {"RGB": (200, 30, 30), "CMYK": (0, 200, 200, 0), "RGBA": (1, 2, 3, 100),
              "L": 128}[mode]
    Image.new(mode, size, colour).save(path, format=fmt or
                                        {".jpg": "JPEG", ".png": "PNG"}[path.suffix])
    return path


CHAPTERS = '{"version": "1.2.0", "chapters": [{"startTime": 0, "title": "Intro"}, ' \
           '{"startTime": 1, "title": "Analysis"}]}'
VTT = "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n<v Jane Host>Hello.\n"


def make_site(root: Path, mp3: Path, slugs: tuple[str, ...] = ("hanoi-summit", "second")
              ) -> tuple[model.Show, list[model.BuiltEpisode], str, Path]:
    """A built site folder (layout.py's shape) with real files; returns show, episodes, cover URL, site."""
    import shutil

    from toolkit import ffmpeg, fsutil
    from toolkit.store import layout
    lay = layout.Layout(root)
    site = lay.site("korea-az")
    show = make_show(root)
    cover = make_art(site / "cover-0123456789ab.jpg")
    cover_url = layout.url_for(BASE_URL, layout.site_key(site, cover))
    duration = ffmpeg.probe(mp3).duration
    built = []
    for n, slug in enumerate(slugs, 1):
        d = site / "episodes" / slug
        d.mkdir(parents=True, exist_ok=True)
        sha = fsutil.sha256_file(mp3)
        audio = d / layout.media_name(slug, sha, "mp3")
        shutil.copyfile(mp3, audio)
        (d / "transcript.vtt").write_text(VTT, "utf-8")
        (d / "transcript.txt").write_text("Jane Host: Hello.\n", "utf-8")
        (d / "chapters.json").write_text(CHAPTERS, "utf-8")

        def media(p: Path, mime: str, **kw: object) -> model.MediaFile:
            return model.MediaFile(p, layout.url_for(BASE_URL, layout.site_key(site, p)), mime,
                                   p.stat().st_size, fsutil.sha256_file(p), **kw)  # type: ignore[arg-type]
        be = make_episode(root, slug, n)
        built.append(replace(
            be, audio=media(audio, "audio/mpeg", duration=duration),
            transcripts=(media(d / "transcript.vtt", "text/vtt", language="en", rel="captions"),
                         media(d / "transcript.txt", "text/plain", language="en")),
            chapters_file=media(d / "chapters.json", "application/json+chapters")))
    return show, built, cover_url, site
