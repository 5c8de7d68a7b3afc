"""The cuts step: every named cut of an episode (`[cuts.air]`...) as a finished file.

    for cut in episode.cuts:  parts it takes -> audio/cutaudio (own plan, own meter)
        -> reports/<feed>/<slug>/<name>.<ext> (BWF WAV with bext + cart, FLAC or MP2)
        -> CutOutput in the build record (what `validate`, `status`, `cue` and the
           delivery step read)

The cut's file is a station deliverable, never published in the feed or the site: it
lives in the reports folder, promoted with the episode's build. Its audio is cached
under a key made of the parts' content, the cut's settings and the metadata written
into it, so an unchanged episode does no cut work either.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from toolkit import __version__
from toolkit.audio import cutaudio, processing
from toolkit.config import cutconf
from toolkit.cutmodel import Cut, CutOutput, CutsPart
from toolkit.fsutil import sha256_file
from toolkit.model import Episode, Preset, Show
from toolkit.site import cue
from toolkit.standards import bwf
from toolkit.steps.base import Context, Step

log = logging.getLogger(__name__)

_EXT = {"wav": "wav", "flac": "flac", "mp2": "mp2"}


def file_name(cut: Cut, episode: Episode) -> str:
    """The cut's file name from its template (with extension)."""
    stem = cutconf.expand(cut.filename, cart=cart_id(cut, episode), slug=episode.slug,
                          cut=cut.name, title=episode.title, date=episode.date)
    return f"{stem}.{_EXT[cut.format]}"


def cart_id(cut: Cut, episode: Episode) -> str:
    """The AES46 CutID: the cut's or episode's `cart` (a template), else the slug."""
    if not cut.cart:
        return episode.slug[:64]
    return cutconf.expand(cut.cart, cart=None, slug=episode.slug, cut=cut.name,
                          title=episode.title, date=episode.date)[:64]


def originator_reference(episode: Episode, cut: Cut) -> str:
    """Unique and stable per episode and cut (32 ASCII characters at most)."""
    digest = hashlib.sha256(f"{episode.guid}\0{cut.name}".encode()).hexdigest()
    return f"PK{digest[:20].upper()}-{cut.name.upper()}"[:32]


def _mode(channels: int) -> str:
    return {1: "mono", 2: "stereo"}.get(channels, "multichannel")


def _describer(show: Show, episode: Episode, cut: Cut, channels: int, out_cue: str
               ) -> cutaudio.Describe:
    when: datetime = episode.date
    start_date, start_time = when.strftime("%Y-%m-%d"), when.strftime("%H:%M:%S")
    end = cut.kill_date
    end_date, end_time = (end.strftime("%Y-%m-%d"), end.strftime("%H:%M:%S")) if end \
        else ("9999-12-31", "23:59:59")      # open-ended, as AES46 readers expect
    bits = cut.bits

    def describe(timing: cutaudio.Timing, loud: bwf.Loudness) -> tuple[bwf.Bext, bwf.Cart]:
        seconds = when.hour * 3600 + when.minute * 60 + when.second
        bext = bwf.Bext(
            description=f"{show.title}: {episode.title}"[:256],
            originator=(show.author or "podkit")[:32],
            originator_reference=originator_reference(episode, cut),
            date=start_date, time=start_time, time_reference=seconds * cut.sample_rate,
            loudness=loud,
            coding_history=(f"A=PCM,F={cut.sample_rate},W={bits},M={_mode(channels)},"
                            f"T=podkit {__version__};cut {cut.name}",))
        timers = (("AUDs", timing.audio_start), ("AUDe", timing.audio_end),
                  ("INTs", timing.audio_start), ("INTe", timing.intro_end),
                  ("SEGs", timing.segue), ("SEGe", timing.audio_end))
        tag = [f"Cut: {cut.name}", f"Loudness: {loud.integrated:.1f} LUFS, true peak "
               f"{loud.true_peak:.1f} dBTP (target {cut.integrated:g} LUFS)"]
        if cut.slot is not None:
            tag.append(f"Slot: {cue.clock(cut.slot)}")
        c = bwf.Cart(title=episode.title[:64], artist=(cut.artist or show.author)[:64],
                     cut_id=cart_id(cut, episode), client_id=cut.client,
                     category=cut.category, classification=episode.segment or "",
                     out_cue=out_cue[:64], start_date=start_date, start_time=start_time,
                     end_date=end_date, end_time=end_time, producer_app="podkit",
                     producer_version=__version__, level_reference=2 ** (bits - 1),
                     timers=timers, tag_text=tuple(tag))
        return bext, c
    return describe


def build_cuts(show: Show, episode: Episode, preset: Preset, *, reports: Path,
               reports_final: Path, build_root: Path, cache: Path,
               out_cue: str) -> tuple[CutOutput, ...]:
    """Make every cut of `episode` into `reports` (a work folder promoted to
    `reports_final`); the outputs' paths are where they will be, relative to `build_root`."""
    out = []
    for cut in episode.cuts:
        parts = episode.cut_parts(cut.name)
        channels = cut.channels or preset.encoding.channels
        name = file_name(cut, episode)
        describe = _describer(show, episode, cut, channels, out_cue)
        meta = {"show": [show.title, show.author], "episode": [episode.title, episode.guid,
                episode.date.isoformat(), episode.segment], "out_cue": out_cue,
                "version": __version__}
        key = cutaudio.cache_key(cut, parts, channels, meta)
        cached = cache / f"{episode.slug}-cut-{cut.name}-{key[:16]}.{_EXT[cut.format]}"
        made = _cached(cached, key)
        if made is None:
            prep = processing.Prepared(processing.resolved(replace(episode, parts=parts), preset))
            try:
                if prep.active:     # the cut's parts processed at the cut's own rate
                    prep = processing.prepare(replace(episode, parts=parts), preset,
                                              cut.sample_rate, channels, cached)
                made = cutaudio.build_cut(cut, parts, cached, channels=channels, work=cache,
                                          describe=describe, stages=prep.stages)
            finally:
                prep.remove()
            _save(cached, key, made)
        cutaudio.copy_cached(cached, reports / name)
        log.info("%s: %s cut %s: %.2f LUFS, %.2f dBTP, %s", episode.slug, cut.name, name,
                 made.stats.integrated, made.stats.true_peak, cue.clock(made.duration))
        out.append(CutOutput(
            name=cut.name, path=(reports_final / name).relative_to(build_root).as_posix(),
            format=cut.format, sha256=sha256_file(reports / name), size=(reports / name).stat().st_size,
            duration=made.duration, integrated=made.stats.integrated,
            true_peak=made.stats.true_peak, target=cut.integrated, ceiling=cut.true_peak,
            tolerance=cut.tolerance, cart=cart_id(cut, episode) if cut.format == "wav" else None,
            slot=cut.slot, slot_error=made.slot_error, slot_note=made.slot_note))
    return tuple(out)


class Cuts(Step):
    """The named cuts (`[cuts.air]`...): each rendered at its own loudness into the reports."""

    name = "cuts"
    part_type = CutsPart
    topic = "cut"

    def applies(self, ctx: Context) -> bool:
        """Only episodes that declare cuts (a passthrough MP3 has no mix to render from)."""
        return bool(ctx.episode.cuts) and not ctx.episode.passthrough

    def run(self, ctx: Context) -> CutsPart:
        """Build every cut; the out-cue comes from the first transcript."""
        from toolkit.text import transcript
        show, episode, layout = ctx.show, ctx.episode, ctx.layout
        ctx.progress("cuts", 0.0)
        out_cue = cue.cue_words(transcript.plain_text(ctx.texts[0]))[1] if ctx.texts else ""
        preset = replace(show.preset, encoding=episode.encoding or show.preset.encoding)
        return CutsPart(build_cuts(show, episode, preset, reports=ctx.reports,
                                   reports_final=layout.reports(show.id, episode.slug),
                                   build_root=layout.build,
                                   cache=layout.cache(show.id, episode.slug), out_cue=out_cue))

    def warnings(self, part: CutsPart) -> tuple[str, ...]:
        """A cut off its target, and a cut that does not fill its slot."""
        out = []
        for c in part.cuts:
            if not c.on_target:
                out.append(f"{c.name}: {c.integrated:.1f} LUFS / {c.true_peak:.1f} dBTP, target "
                           f"{c.target:g} LUFS ±{c.tolerance:g} LU under {c.ceiling:g} dBTP")
            slot = slot_problem(c)
            if slot:
                out.append(f"{c.name}: {slot}")
        return tuple(out)


def slot_problem(c: CutOutput, tolerance: float = 1.0) -> str | None:
    """Why a built cut does not fill its slot (over: cut off; under: dead air), or None."""
    if c.slot is None or c.slot_error is None or abs(c.slot_error) <= tolerance:
        return None
    how = "over: the end is cut off by the next event" if c.slot_error > 0 else \
        "under: dead air before the next event"
    extra = f" ({c.slot_note})" if c.slot_note else ""
    return (f"runs {cue.clock(c.duration)} in a {cue.clock(c.slot)} slot, "
            f"{abs(c.slot_error):.1f} s {how}{extra}")


def cut_line(c: CutOutput) -> str:
    """A built cut as the build line shows it: 'AIR -23.0 LUFS -4.1 dBTP 9:30 (slot 9:30)'."""
    text = f"{c.name.upper()} {c.integrated:.1f} LUFS {c.true_peak:.1f} dBTP {cue.clock(c.duration)}"
    if c.slot is not None:
        text += f" (slot {cue.clock(c.slot)})"
    return text if c.on_target else text + f" OFF TARGET {c.target:g} LUFS"


def _cached(path: Path, key: str) -> cutaudio.CutAudio | None:
    return cutaudio.load_manifest(path, key)


def _save(path: Path, key: str, made: cutaudio.CutAudio) -> None:
    cutaudio.save_manifest(path, key, made)
