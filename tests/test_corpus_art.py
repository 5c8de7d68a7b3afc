"""Corpus: cover and episode art that Apple Podcasts would reject, caught by `podkit check`
(Pillow reads the header: what the file is, not what its name says), refused by `build`
and `feed` when the bytes are not the format the name promises, and reported by
`podkit validate` against the built files when only Apple's size and colour rules fail.
"""
from __future__ import annotations

import random
import struct
import zlib
from pathlib import Path

import pytest
from corpus_support import (  # noqa: F401
    EP_TOML,
    FEED,
    Case,
    Line,
    corpus_base,
    corpus_built,
    edit,
    prepend,
    run_case,
)
from PIL import Image

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


def bomb_png(width: int = 20000, height: int = 20000) -> bytes:
    """A PNG header claiming width x height RGB pixels (400 million by default), no real data:
    enough for Pillow to refuse it at open."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


def bomb_cover(root: Path) -> None:
    (root / "feeds" / "test-radio.png").write_bytes(bomb_png())
    edit(root / FEED, '"test-radio.jpg"', '"test-radio.png"')


def bomb_in_site(root: Path) -> None:
    (cover,) = (root / "build/site/test-radio").glob("test-radio-*.jpg")
    cover.unlink()  # a hard link into the stage: replace, never write through
    cover.write_bytes(bomb_png(10000, 10000))  # 100 Mpx: Pillow would only warn


def trailing_data(size: int):
    """A planter: the valid 1400 px cover followed by zeros up to `size` bytes (sparse)."""
    def plant(root: Path) -> None:
        with open(root / "feeds" / "test-radio.jpg", "r+b") as f:
            f.truncate(size)
    return plant


def chapter_bomb(root: Path) -> None:
    """A chapter picture claiming 9400x9400 pixels (88 megapixels): Pillow does not even warn."""
    (root / "episodes/first-episode/ch.png").write_bytes(bomb_png(9400, 9400))
    with open(root / EP_TOML, "a", encoding="utf-8") as f:
        f.write('\n[[chapters]]\nstart = 0\ntitle = "Intro"\nimg = "ch.png"\n')


def noisy_cover(root: Path) -> None:
    """A valid 1400 px cover of random pixels: a JPEG of over 512 KiB."""
    rng = random.Random(1)
    Image.frombytes("RGB", (1400, 1400), rng.randbytes(1400 * 1400 * 3)).save(
        root / "feeds" / "test-radio.jpg", "JPEG", quality=95)


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
    Case("art-bomb", "a PNG cover claiming 20000x20000 pixels (a decompression bomb)",
         bomb_cover, "error (was a DecompressionBombError traceback in check, build and feed)",
         Line(FEED, "artwork", ("too large to open safely", "400 megapixels")), summary=ONE,
         process=True),
    Case("ep-art-bomb", "episode art claiming 20000x20000 pixels",
         lambda r: ((r / "episodes/first-episode/art.png").write_bytes(bomb_png()),
                    prepend(r / EP_TOML, 'art = "art.png"\n')),
         "error", Line(EP_TOML, "art", ("too large to open safely",)), summary=ONE),
    Case("art-trailing-data", "a valid 1400 px JPEG cover followed by 200 MB of data",
         trailing_data(200 << 20), "error (was accepted: a build read all 200 MB)",
         Line(FEED, "artwork", ("test-radio.jpg is 200 MiB", "at most 16 MiB")), summary=ONE,
         process=True),
    Case("chapter-img-88mp", "a chapter picture of 9400x9400 pixels (88 megapixels)",
         chapter_bomb, "error (was accepted: one build used 1.09 GB)",
         Line(EP_TOML, "chapters[0].img", ("88 megapixels", "at most 25 megapixels")),
         summary=ONE),
    Case("art-over-512k", "a valid cover of random pixels, over 512 KiB",
         noisy_cover, "valid, with a warning (hosts and apps ask for at most 512 KiB)",
         Line(FEED, "artwork", ("KiB", "at most 512 KiB"), warning=True, stream="stdout"),
         exit=0),
    # ---- the later stages ------------------------------------------------------------------------
    Case("build-art-trailing-data", "`podkit build` with the 200 MB cover",
         trailing_data(200 << 20), "refused before anything is read or copied",
         Line("feeds/test-radio.toml", "artwork", ("200 MiB", "at most 16 MiB"), prefix="podkit: ",
              absolute=True), command=("build",), built=True),
    Case("build-chapter-img-88mp", "`podkit build` with the 88-megapixel chapter picture",
         chapter_bomb, "the episode fails before the picture is read or published; the last good "
         "build stays",
         Line(EP_TOML, "chapters[0].img", ("ch.png is 9400x9400", "88 megapixels"),
              prefix="failed first-episode: ", absolute=True),
         command=("build",), built=True, summary="podkit: 1 of 1 episode(s) failed"),
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
    Case("build-bomb-cover", "`podkit build` with the 400-megapixel PNG cover", bomb_cover,
         "refused before anything is copied",
         Line("feeds/test-radio.toml", "artwork", ("too large to open safely",), prefix="podkit: ",
              absolute=True), command=("build",), built=True),
    Case("validate-bomb-in-site", "`podkit validate` with a 100-megapixel cover in the site "
         "(Pillow only warns there)", bomb_in_site, "a finding, not a traceback",
         Line(SITE_FEED, "apple.image.file", ("too large to open safely",), absolute=True,
              stream="stdout"), command=("validate",), built=True,
         summary="podkit: 1 error(s), 0 warning(s)"),
    Case("validate-cmyk-cover", "a CMYK cover through build and feed, then `podkit validate`",
         cover(mode="CMYK"), "validate reports it",
         Line(SITE_FEED, "apple.image.rgb", ("colour mode CMYK",), absolute=True, stream="stdout"),
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


def test_tag_pictures_are_bounded_before_decoding(tmp_path: Path) -> None:
    """The tagger's own bounds (episode art reaches it without check's size rules): an
    88-megapixel header and a file over 16 MiB are refused before any pixel is decoded."""
    from toolkit.errors import MediaError
    from toolkit.tags import pictures
    big = tmp_path / "big.png"
    big.write_bytes(bomb_png(9400, 9400))
    with pytest.raises(MediaError, match="88 megapixels") as err:
        pictures.picture(big, field="art")
    assert err.value.field == "art" and err.value.path == str(big)
    padded = tmp_path / "padded.jpg"
    Image.new("RGB", (1400, 1400), "navy").save(padded, "JPEG")
    with open(padded, "r+b") as f:
        f.truncate(17 << 20)
    with pytest.raises(MediaError, match="larger than 16 MiB"):
        pictures.picture(padded, field="artwork")
