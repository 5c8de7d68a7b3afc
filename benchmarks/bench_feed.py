"""Benchmark: build and validate a 2,000-episode feed from metadata alone (no audio).

    .venv/bin/python benchmarks/bench_feed.py [--episodes 2000] [--repeat 3] [--profile]

Target (issue 5): build + validate <= 2 s together. Times are the best of --repeat
runs; the baseline is a bare `xml.etree.ElementTree.fromstring` of the same bytes,
measured in the same run, so the ratios mean the same on a slower machine.
The build must never touch audio: every MediaFile path points into a folder that
does not exist, and toolkit.ffmpeg is patched to fail if anything calls it.
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from pathlib import Path

from toolkit import ffmpeg, model
from toolkit.config import presets
from toolkit.feed import rss, validate

NOWHERE = Path("/nonexistent/podkit-bench")
BASE = "https://media.example.org/bench/"
FEED_URL = BASE + "feed.xml"
TARGET_S = 2.0


def make_show() -> model.Show:
    """A complete show definition like the documented example."""
    return model.Show(
        id="bench", path=NOWHERE / "feeds" / "bench.toml", title="Benchmark Radio",
        description="A show with a long back catalogue.", link="https://www.example.org/bench/",
        language="en", author="Example Public Radio",
        owner=model.Owner("Example Public Radio", "podcasts@example.org"),
        categories=(model.Category("News", "Politics"),), explicit=False,
        artwork=NOWHERE / "cover.jpg", base_url=BASE, feed_url=FEED_URL,
        preset=presets.get("podcast"), publish=model.PublishTarget(),
        guid=model.podcast_guid(FEED_URL), locked_owner="podcasts@example.org",
        funding=(model.Funding("https://www.example.org/support", "Support us"),),
        persons=(model.Person("Jane Host"),))


def make_episodes(n: int) -> list[model.BuiltEpisode]:
    """n built episodes with realistic notes, transcripts and chapters, from metadata only."""
    show_guid = model.podcast_guid(FEED_URL)
    start = datetime(2010, 1, 4, 18, 0, tzinfo=timezone(timedelta(hours=9)))
    notes = "<p>" + "Analysis of the week's news from the peninsula, with guests. " * 12 + "</p>"
    out = []
    for i in range(1, n + 1):
        slug = f"episode-{i:04d}"
        d = NOWHERE / "episodes" / slug
        site = f"{BASE}episodes/{slug}/"
        ep = model.Episode(
            slug=slug, dir=d, path=d / "episode.toml", feed="bench", title=f"Episode {i}: week {i}",
            date=start + timedelta(days=3 * i), parts=(), guid=model.episode_guid(show_guid, slug),
            number=i, season=1 + i // 100, summary=f"Week {i}.",
            persons=(model.Person("Guest Speaker", role="guest"),),
            soundbites=(model.Soundbite(60.0, 30.0, "Highlight"),))
        mf = lambda name, mime, size, **kw: model.MediaFile(  # noqa: E731
            d / name, site + name, mime, size, "0" * 64, **kw)
        out.append(model.BuiltEpisode(
            episode=ep, audio=mf(f"{slug}-0123456789ab.mp3", "audio/mpeg", 20_000_000 + i,
                                 duration=1500.0 + i),
            transcripts=(mf("transcript.vtt", "text/vtt", 40_000, language="en", rel="captions"),
                         mf("transcript.txt", "text/plain", 30_000, language="en")),
            chapters_file=mf("chapters.json", "application/json+chapters", 800),
            page_url=site, description_html=notes, content_html=notes + "<ul><li>Link</li></ul>"))
    return out


def _forbid_audio() -> None:
    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("the feed build touched audio (called toolkit.ffmpeg)")
    for name in ("run", "popen", "decode", "probe"):
        setattr(ffmpeg, name, refuse)


def best(fn, repeat: int) -> tuple[float, float, object]:
    """Best wall and CPU time of `repeat` calls, and the last result.

    CPU time is printed beside wall time because this machine's cores are shared: a
    wall time far above the CPU time means the run waited for a core, not that it did more.
    """
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return min(walls), min(cpus), result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--profile", action="store_true", help="print the top functions by time")
    args = ap.parse_args()
    _forbid_audio()
    show, eps = make_show(), make_episodes(args.episodes)
    now = datetime(2100, 1, 1, tzinfo=timezone.utc)
    t_build, c_build, data = best(
        lambda: rss.build_feed(show, eps, cover_url=BASE + "cover.jpg", now=now), args.repeat)
    assert isinstance(data, bytes)
    t_val, c_val, findings = best(lambda: validate.validate_feed(data, source="bench"), args.repeat)
    t_base, c_base, _ = best(lambda: ET.fromstring(data), args.repeat)
    assert not findings, validate.format_findings(findings)[:5]
    total = t_build + t_val
    print(f"feed benchmark: {args.episodes} episodes, {len(data) / 1e6:.1f} MB of RSS, "
          f"best of {args.repeat} (wall / CPU)")
    print(f"  baseline  ElementTree parse   {t_base:6.3f} / {c_base:6.3f} s")
    print(f"  build     feed.build_feed     {t_build:6.3f} / {c_build:6.3f} s  "
          f"({c_build / c_base:4.1f}x baseline CPU)")
    print(f"  validate  validate_feed       {t_val:6.3f} / {c_val:6.3f} s  "
          f"({c_val / c_base:4.1f}x baseline CPU)")
    print(f"  total     build + validate    {total:6.3f} / {c_build + c_val:6.3f} s  "
          f"(target <= {TARGET_S} s wall: {'OK' if total <= TARGET_S else 'OVER'})")
    if args.profile:
        prof = cProfile.Profile()
        prof.runcall(lambda: validate.validate_feed(
            rss.build_feed(show, eps, cover_url=BASE + "cover.jpg", now=now), source="bench"))
        pstats.Stats(prof).sort_stats("cumulative").print_stats(20)
    return 0 if total <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
