"""The catalogue: every feed and episode of a show folder, loaded once per command.

    cat = catalog.load(root)              # shows, episodes, problems; no media opened
    inputs = cat.inputs(episode)          # what a build of it reads, by name -> hash
    rec = cat.record(episode)             # its build record, or None
    cat.is_current(episode, rec)          # the one answer to "rebuild?" every command asks
    why = cat.stale(episode, rec)         # what changed since that build ([] = current)

Commands load the catalogue once and hand it (or the picklable records taken from it)
to the stages; worker processes never load it again. Input hashes come from a
persistent `HashCache`, so a no-op command over 2,000 episodes stats files instead of
reading them.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

from toolkit import __version__, codec
from toolkit.config import catmemo
from toolkit.config.episode import episode_folders, read_episode
from toolkit.config.show import display, load_shows
from toolkit.errors import NotBuiltError, Problem, Severity
from toolkit.model import ENGINE_VERSION, Episode, Show, ShowType
from toolkit.store import promote, record
from toolkit.store.hashcache import HashCache
from toolkit.store.layout import Layout


@dataclass
class Catalog:
    """Everything defined in a show folder, and what is wrong with it."""

    root: Path
    shows: dict[str, Show] = field(default_factory=dict)
    episodes: list[Episode] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    hashes: HashCache = field(default_factory=lambda: HashCache(None))
    _inputs: dict[str, record.Inputs] = field(default_factory=dict, repr=False)
    _show_digest: dict[str, str] = field(default_factory=dict, repr=False)
    _templates_digest: dict[str, str] = field(default_factory=dict, repr=False)
    _episode_digest: dict[str, str] = field(default_factory=dict, repr=False)  # from the memo
    _folders: dict[str, Path] = field(default_factory=dict, repr=False)  # feed -> its episodes

    @property
    def errors(self) -> list[Problem]:
        """The problems that fail a check."""
        return [p for p in self.problems if p.severity is Severity.ERROR]

    @property
    def layout(self) -> Layout:
        """Where this show folder's files are."""
        return Layout(self.root)

    def episodes_of(self, feed: str) -> list[Episode]:
        """The valid episodes of one feed, oldest first."""
        return sorted((e for e in self.episodes if e.feed == feed), key=lambda e: (e.date, e.slug))

    # ---- inputs and records -----------------------------------------------------------

    def show_digest(self, show: Show) -> str:
        """A hash of everything in the feed's definition an episode build uses.

        The publish target, the enclosure prefix and the delivery targets are left out:
        moving the bucket, adding analytics or a station changes no built file.
        """
        if show.id not in self._show_digest:
            data = codec.dump(replace(show, publish=type(show.publish)(), enclosure_prefix=None,
                                      delivery=()), base=self.root)
            data["artwork"] = self.hashes.sha256(show.artwork)
            self._show_digest[show.id] = _digest(data)
        return self._show_digest[show.id]

    def templates_digest(self, show: Show) -> str:
        """A hash of the show's template overrides ('' when it has none); once per command:
        every episode's inputs include it (a show made by `podkit init` has a templates/
        folder, which was walked again for each of its 2,000 episodes)."""
        if show.templates is None:
            return ""
        if show.id not in self._templates_digest:
            files = sorted(p for p in show.templates.rglob("*") if p.is_file())
            self._templates_digest[show.id] = _digest(
                {p.relative_to(show.templates).as_posix(): self.hashes.sha256(p) for p in files})
        return self._templates_digest[show.id]

    def inputs(self, ep: Episode) -> record.Inputs:
        """What a build of `ep` reads: each file's SHA-256, the show, templates, podkit."""
        if ep.slug in self._inputs:
            return self._inputs[ep.slug]
        show = self.shows[ep.feed]
        files: list[Path] = []
        for part in ep.parts:
            files += [part.path] + ([part.bed] if part.bed else [])
        files += [t.path for t in ep.transcripts]
        if ep.art:
            files.append(ep.art)
        files += [ep.dir / c.img for c in ep.chapters if c.img and "://" not in c.img]
        out = record.Inputs(
            podkit=f"{__version__}; record {record.VERSION}; engine {ENGINE_VERSION}",
            feed=self.show_digest(show), templates=self.templates_digest(show),
            # The episode as loaded (notes files included), not episode.toml's bytes: a
            # stale episode can then be told by the fields that changed.
            episode=self._episode_digest.get(ep.slug) or _digest(codec.dump(ep, base=self.root)),
            files={display(path, self.root): self.hashes.sha256(path) for path in files})
        self._inputs[ep.slug] = out
        return out

    def episode_folder(self, ep: Episode) -> Path:
        """The stage folder an episode is built into."""
        # One path join per episode, not the layout's five: commands over 2,000 episodes
        # ask for every folder at least once.
        parent = self._folders.get(ep.feed)
        if parent is not None:
            return parent / ep.slug
        folder = self.layout.episode_stage(ep.feed, ep.slug)
        self._folders[ep.feed] = folder.parent
        return folder

    def record(self, ep: Episode) -> record.EpisodeRecord | None:
        """The episode's build record; None when it was never built (or the record is unusable)."""
        try:
            return self.load_record(ep)
        except NotBuiltError:
            return None

    def load_record(self, ep: Episode) -> record.EpisodeRecord:
        """The episode's build record; NotBuiltError saying why there is none.

        Read fast (toolkit.store.record): when the record was built from the episode as
        loaded now, the catalogue's episode stands for its snapshot.
        """
        folder = self.episode_folder(ep)
        if not (folder / record.RECORD_FILE).exists():
            promote.recover(folder)     # a promotion cut short: the previous build comes back
        same = (self.inputs(ep).episode, ep) if ep.feed in self.shows else None
        return record.load(folder, root=self.root, slug=ep.slug, same=same)

    def is_current(self, ep: Episode, rec: record.EpisodeRecord | None) -> bool:
        """True when `rec` is what a build of `ep` would make now: the question every
        command asks (build skips it, feed and status trust it)."""
        return rec is not None and not self.stale(ep, rec)

    def stale(self, ep: Episode, rec: record.EpisodeRecord) -> list[str]:
        """What changed since `rec` was built: fields, files, 'feeds/x.toml', built audio
        gone... ([] = current)."""
        then, now = rec.inputs, self.inputs(ep)
        changed = []
        for key in then.changed(now):
            if key == "episode":
                old, new = codec.dump(rec.episode, base=self.root), codec.dump(ep, base=self.root)
                fields = [k for k in new if new[k] != old.get(k)]
                # No field differs: podkit now reads the same file into a different shape.
                changed.append(f"{display(ep.path, self.root)} "
                               f"({', '.join(fields) or 'as read by this podkit version'})")
            else:
                changed.append({"podkit": "podkit version", "feed": f"feeds/{ep.feed}.toml",
                                "templates": "templates/"}.get(key, key))
        # The built audio must still be there (a producer may have cleaned the stage).
        missing = [m.path for m in (rec.audio, *rec.extra_audio) if not os.path.isfile(m.path)]
        if missing:
            changed.append(f"built audio missing ({', '.join(p.name for p in missing)})")
        return changed

    def save(self) -> None:
        """Persist what was learnt (the hash cache)."""
        self.hashes.save()


def _digest(data: object) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False,
                                     default=str).encode()).hexdigest()


def load(root: Path) -> Catalog:
    """Read and cross-check every feed and episode under `root` (files are not opened as media)."""
    layout = Layout(root)
    cat = Catalog(root=root, hashes=HashCache(layout.build / "cache" / "hashes.json"))
    defined = load_shows(root, cat.problems)
    cat.shows = {k: v for k, v in defined.items() if v is not None}
    folders = episode_folders(root)
    if not folders:
        cat.problems.append(Problem("episodes", "folder", "no episode folders found",
                                    Severity.WARNING))
    # Episodes whose folder is as it was last time come from the memo (build/ must exist:
    # a show that was never built gets nothing written).
    memo = catmemo.Memo(layout.build / "cache" / "catalogue.json" if layout.build.is_dir()
                        else None, root)
    # What an episode's loading takes from its feed: that it exists, its guid (item guids
    # derive from it), its preset (the episode's loudness starts from it) and its named cuts
    # (an episode's [cuts.x] keys override the feed's). Not the publish target, which the
    # environment may change from one command to the next.
    shows_digest = _digest({k: [v.guid, codec.dump(v.preset), codec.dump(v.cuts)] if v else None
                            for k, v in defined.items()})
    for folder in folders:
        hit = memo.get(folder, shows_digest)
        if hit is not None:
            cat.episodes.append(hit[0])
            cat.problems.extend(hit[1])
            cat._episode_digest[hit[0].slug] = hit[2]
            continue
        before = len(cat.problems)
        ep = read_episode(folder, root, cat.problems, defined)
        if ep is not None:
            cat.episodes.append(ep)
            mine = cat.problems[before:]
            if not any(p.severity is Severity.ERROR for p in mine):
                digest = _digest(codec.dump(ep, base=root))
                cat._episode_digest[ep.slug] = digest
                memo.put(folder, shows_digest, ep, mine, digest)
    memo.save()
    _cross_check(cat)
    return cat


def _cross_check(cat: Catalog) -> None:
    """Duplicates within a feed, and rules that span a feed and its episodes."""
    by_guid: dict[tuple[str, str], list[Episode]] = defaultdict(list)
    by_number: dict[tuple[str, int | None, int], list[Episode]] = defaultdict(list)
    by_slug: dict[str, list[Episode]] = defaultdict(list)
    for ep in cat.episodes:
        by_guid[(ep.feed, ep.guid)].append(ep)
        by_slug[ep.slug.lower()].append(ep)
        if ep.number is not None:
            by_number[(ep.feed, ep.season, ep.number)].append(ep)
        show = cat.shows.get(ep.feed)
        if show and show.type is ShowType.SERIAL and ep.number is None:
            cat.problems.append(Problem(display(ep.path, cat.root), "number",
                                        f"feed {ep.feed!r} is serial: every episode needs a number"))
    for (feed, guid), eps in by_guid.items():
        for ep in eps[1:]:
            cat.problems.append(Problem(display(ep.path, cat.root), "guid",
                                        f"duplicate guid {guid} (also {eps[0].slug}) in feed {feed!r}"))
    for (feed, season, number), eps in by_number.items():
        for ep in eps[1:]:
            where = f"season {season} " if season else ""
            cat.problems.append(Problem(display(ep.path, cat.root), "number",
                                        f"duplicate episode number {number} in {where}feed "
                                        f"{feed!r} (also {eps[0].slug})"))
    for slug, eps in by_slug.items():
        for ep in eps[1:]:
            cat.problems.append(Problem(display(ep.path, cat.root), "slug",
                                        f"duplicate slug {slug} (also {eps[0].dir.name})"))
