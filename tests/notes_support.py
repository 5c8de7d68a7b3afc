"""Model objects for the notes, pages and cue-sheet tests (no I/O)."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

from toolkit import model
from toolkit.config import presets

KST = dt.timezone(dt.timedelta(hours=9))


def make_show(root: Path = Path("/show"), **changes: object) -> model.Show:
    """A valid Show like the sample's, rooted at `root`."""
    show = model.Show(
        id="korea-az", path=root / "feeds" / "korea-az.toml", title="Korean Peninsula A to Z",
        description="A weekly English-language programme about the two Koreas.\n\n"
                    "Analysis & context, every Thursday.",
        link="https://www.example.org/korea-a-to-z/", language="en",
        author="Example Public Radio", owner=model.Owner("Example Public Radio", "podcasts@example.org"),
        categories=(model.Category("News", "Politics"),), explicit=False,
        artwork=root / "feeds" / "korea-az.jpg",
        base_url="https://media.example.org/korea-az/",
        feed_url="https://media.example.org/korea-az/feed.xml",
        preset=presets.get("podcast"), publish=model.PublishTarget(),
        copyright="© 2019 Example Public Radio")
    return replace(show, **changes)  # type: ignore[arg-type]


def make_episode(slug: str = "hanoi-summit", root: Path = Path("/show"), **changes: object) -> model.Episode:
    """A valid Episode of the show above."""
    folder = root / "episodes" / slug
    episode = model.Episode(
        slug=slug, dir=folder, path=folder / "episode.toml", feed="korea-az",
        title="Hanoi summit ends without a deal",
        date=dt.datetime(2019, 3, 7, 18, 0, tzinfo=KST),
        parts=(model.AudioPart(folder / "intro.wav", "Intro"), model.AudioPart(folder / "body.wav", "Analysis")),
        guid=f"guid-{slug}", number=1, season=1,
        summary="Why the second North Korea-U.S. summit ended early.",
        notes="Dr Seo explains **why** the talks stalled.\n\n"
              "- [Hanbit Institute](https://www.example.org/hanbit)\n- Yongbyon\n",
        programme="Korean Peninsula A to Z", segment="Korea, Today and Tomorrow",
        max_duration=900.0)
    return replace(episode, **changes)  # type: ignore[arg-type]


CHAPTERS = (model.Chapter(0.0, "Intro"), model.Chapter(1.5, "Analysis"),
            model.Chapter(2.25, "Hidden", toc=False), model.Chapter(3725.0, "Late <b>news</b>"))
