"""Corpus: cover and episode art that Apple Podcasts would reject, caught by `podkit check`
(Pillow reads the header: what the file is, not what its name says), refused by `build`
and `feed` when the bytes are not the format the name promises, and reported by
`podkit validate` against the built files when only Apple's size and colour rules fail.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from corpus_support import (EP_TOML, FEED, Case, Line, corpus_base, corpus_built,  # noqa: F401
                            edit, prepend, run_case)

ONE = "1 problem(s)"
SITE_FEED = "build/site/test-radio/feed.xml"


def cover(size: tuple[int, int] = (1400, 1400), mode: str = "RGB", fmt: str = "JPEG",
          name: str = "test-radio.jpg"):
    """Replace the show's cover by an image of this size, mode and real format, named `name`."""
    def plant(root: Path) -> None:
        fill = {"RGB": "navy", "CMYK": (200, 40, 0, 10), "RGBA": (0, 0, 128, 128)}[mode]
        Image.new(mode, size, fill).save(root / "feeds" / name, fmt)
        if name != "test-radio.jpg":
            (root / "feeds" / "test-radio.jpg").unlink()
            edit(root / FEED, '"test-radio.jpg"', f'"{name}"')
    return plant


def episode_art(size: tuple[int, int] = (1400, 1400), fmt: str = "PNG", name: str = "art.png"):
    def plant(root: Path) -> None:
        Image.new("RGB", size, "darkred").save(root / "episodes/first-episode" / name, fmt)
        prepend(root / EP_TOML, f'art = "{name}"\n')
    return plant


CASES = [
    Case("art-too-small", "a 600x600 cover", cover((600, 600)), "error",
         Line(FEED, "artwork", ("600x600", "1400 to 3000 px")), summary=ONE, process=True),
    Case("art-too-large", "a 3200x3200 cover", cover((3200, 3200)), "error",
         Line(FEED, "artwork", ("3200x3200", "1400 to 3000 px")), summary=ONE),
    Case("art-not-square", "a 1600x1400 cover", cover((1600, 1400)), "error",
         Line(FEED, "artwork", ("1600x1400", "must be square")), summary=ONE),
    Case("art-cmyk", "a CMYK JPEG cover", cover(mode="CMYK"), "error",
         Line(FEED, "artwork", ("colour mode CMYK", "must be RGB")), summary=ONE),
    Case("art-webp-as-png", "a WebP cover named .png", cover(fmt="WEBP", name="test-radio.png"),
         "error naming what the bytes are",
         Line(FEED, "artwork", ("test-radio.png is WEBP data but named .png", "must be PNG")),
         summary=ONE, process=True),
    Case("art-png-as-jpg", "a PNG cover named .jpg", cover(fmt="PNG"), "error",
         Line(FEED, "artwork", ("PNG data but named .jpg",)), summary=ONE),
    Case("art-gif", "a cover named .gif", cover(fmt="GIF", mode="RGB", name="test-radio.gif"),
         "error at load (by extension)",
         Line(FEED, "artwork", ("must be a .jpg or .png file",)), summary=ONE),
    Case("ep-art-webp-as-png", "episode art: WebP named .png", episode_art(fmt="WEBP"),
         "error", Line(EP_TOML, "art", ("art.png is WEBP data but named .png",)), summary=ONE,
         process=True),
    Case("ep-art-small", "episode art 300x300", episode_art((300, 300)), "error",
         Line(EP_TOML, "art", ("300x300", "1400 to 3000 px")), summary=ONE),
    # ---- the later stages ------------------------------------------------------------------------
    Case("build-webp-cover", "`podkit build` after the cover became WebP named .png",
         cover(fmt="WEBP", name="test-radio.png"),
         "refused before anything is copied (the .png URL would serve WebP)",
         Line("feeds/test-radio.toml", "artwork", ("WEBP data but named .png",), prefix="podkit: ",
              absolute=True), command=("build",), built=True, process=True),
    Case("feed-webp-cover", "`podkit feed` after the cover became WebP named .png",
         cover(fmt="WEBP", name="test-radio.png"), "refused; the previous feed stays",
         Line("feeds/test-radio.toml", "artwork", ("WEBP data but named .png",), prefix="podkit: ",
              absolute=True), command=("feed",), built=True),
    Case("build-webp-episode-art", "`podkit build` with WebP episode art named .png",
         episode_art(fmt="WEBP"), "the episode fails (tagging reads the bytes); the last good build stays",
         Line("episodes/first-episode/art.png", "art", ("is a WEBP image; use JPEG or PNG",),
              prefix="failed first-episode: ", absolute=True),
         command=("build",), built=True, summary="podkit: 1 of 1 episode(s) failed"),
    Case("validate-small-cover", "a 600x600 cover through build and feed, then `podkit validate`",
         cover((600, 600)), "build and feed write it (check is the gate); validate reports it",
         Line(SITE_FEED, "apple.image.size", ("600x600", "1400 to 3000 px"), absolute=True,
              stream="stdout"),
         command=("validate",), built=True, before=(("build",), ("feed",)),
         summary="podkit: 1 error(s), 0 warning(s)",
         checked="the cover in build/site is the 600 px file"),
    Case("validate-cmyk-cover", "a CMYK cover through build and feed, then `podkit validate`",
         cover(mode="CMYK"), "validate reports it",
         Line(SITE_FEED, "apple.image.rgb", ("is CMYK",), absolute=True, stream="stdout"),
         command=("validate",), built=True, before=(("build",), ("feed",)),
         summary="podkit: 1 error(s), 0 warning(s)"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_art_case(case: Case, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    base = request.getfixturevalue("corpus_built" if case.built else "corpus_base")
    root, _ = run_case(case, base, tmp_path)
    if case.id == "validate-small-cover":
        (published,) = [p for p in (root / "build/site/test-radio").glob("test-radio-*.jpg")]
        with Image.open(published) as im:
            assert im.size == (600, 600)
