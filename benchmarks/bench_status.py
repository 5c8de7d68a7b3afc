"""`podkit status` over a daily show's back catalogue: target <= 1 s for 2,000 episodes.

    .venv/bin/python benchmarks/bench_status.py [--episodes 2000] [--dir DIR]

Building 2,000 episodes takes most of an hour, so the records are faked: the first
episode is really built (bench_catalogue's generator), then every other episode gets a
copy of its built files (hard links) and a record of its own, made with the library from
the catalogue (its own episode snapshot and input hashes, so it reads as current, not
stale). The local publish target gets hard links of every file, so status compares all
2,000 episodes with it. Then the real `podkit status` runs in a child process, three times;
the best wall time is the figure (the machine is shared: the load average is printed).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_catalogue import generate, load, podkit  # noqa: E402

TARGET_S = 1.0


def fake_records(root: Path) -> None:
    """Give every episode the first one's built files and audio cache under its own names,
    and a record of its own."""
    from toolkit.config import catalog
    from toolkit.store import record
    cat = catalog.load(root)
    first, *others = sorted(cat.episodes, key=lambda e: e.slug)
    src_folder = cat.episode_folder(first)
    src_cache = cat.layout.cache(first.feed, first.slug)
    template = cat.load_record(first)
    for ep in others:
        # The audio cache too, as a real build leaves it: a retitled episode then takes its
        # audio from the cache, as it would after a real build (its sources are the same
        # bytes, so the cache key is the same), instead of building it.
        cache = cat.layout.cache(ep.feed, ep.slug)
        cache.mkdir(parents=True, exist_ok=True)
        for path in src_cache.iterdir():
            if path.is_file() and path.name.startswith(f"{first.slug}-"):
                os.link(path, cache / path.name.replace(first.slug, ep.slug, 1))
        folder = cat.episode_folder(ep)
        folder.mkdir(parents=True, exist_ok=True)
        renamed = {}
        for path in src_folder.iterdir():
            name = path.name.replace(first.slug, ep.slug)
            if path.is_file() and not name.startswith("."):
                os.link(path, folder / name)
                renamed[path] = folder / name

        def moved(m):  # noqa: ANN001, ANN202
            path = renamed.get(Path(m.path), Path(m.path))
            return dataclasses.replace(m, path=path, url=m.url.replace(first.slug, ep.slug))
        parts = dict(template.steps)
        parts["tags"] = dataclasses.replace(parts["tags"], audio=moved(template.audio),
                                            extra=tuple(moved(m) for m in template.extra_audio))
        if "transcripts" in parts:
            parts["transcripts"] = dataclasses.replace(
                parts["transcripts"], files=tuple(moved(t) for t in template.transcripts))
        if template.chapters_file:
            parts["chapters"] = dataclasses.replace(parts["chapters"],
                                                    file=moved(template.chapters_file))
        if "page" in parts:
            parts["page"] = dataclasses.replace(
                parts["page"], url=template.page_url.replace(first.slug, ep.slug))
        rec = record.EpisodeRecord(template.version, ep, cat.inputs(ep), parts, template.warnings)
        record.save(folder, rec, root=root)
    cat.save()


def publish_all(root: Path, feed: str) -> None:
    """Hard-link the whole stage into the local target and list every episode in its feed."""
    from toolkit.config import catalog
    cat = catalog.load(root)
    stage, public = cat.layout.stage(feed), cat.layout.public(feed)
    urls = []
    for path in stage.rglob("*"):
        if path.is_file() and not path.name.startswith("."):
            dst = public / path.relative_to(stage)
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, dst)
    for ep in cat.episodes:
        urls.append(cat.load_record(ep).audio.url)
    items = "".join(f'<item><enclosure url="{u}" length="1" type="audio/mpeg"/></item>' for u in urls)
    (public / "feed.xml").write_text(f"<rss><channel>{items}</channel></rss>")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=2000)
    parser.add_argument("--dir", type=Path)
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="podkit-status-"))
    root = work / "show"
    try:
        generate(root, args.episodes)
        podkit(root, "build", "day-0001")
        fake_records(root)
        publish_all(root, "daily")
        podkit(root, "status")                       # warms the hash memo, as any command would
        times = [podkit(root, "status", "--now", "2030-01-01T00:00:00+00:00")[0] for _ in range(3)]
        _, _, err = podkit(root, "-v", "status", "--json")
        best = min(times)
        print(f"status, {args.episodes} episodes: best {best:.2f} s of "
              f"{', '.join(f'{t:.2f}' for t in times)} (target <= {TARGET_S} s; load {load()})")
        sys.exit(0 if best <= TARGET_S else 1)
    finally:
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
