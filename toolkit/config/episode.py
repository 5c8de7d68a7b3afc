"""Reads and validates an episode folder (`episodes/<slug>/episode.toml`) into a `model.Episode`.

Every problem is collected so `podkit check` can list them all. Loading only looks at
files (existence, readability, UTF-8, a WAV's header: truncated or over 4 GiB); whether
an audio file really holds audio is checked by `toolkit.crosscheck`, which runs ffmpeg.
"""
from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

from toolkit import fsutil
from toolkit.config import cutconf, moments, p20conf, presets, speechconf
from toolkit.config.show import display, read_encoding, read_loudness, read_persons
from toolkit.config.tomlread import NOT_XML_RE, Table, parse_toml
from toolkit.errors import Problem, ProblemsError, Severity
from toolkit.model import (
    AudioPart,
    EncodingSettings,
    Episode,
    EpisodeType,
    LoudnessTarget,
    Show,
    TranscriptFormat,
    TranscriptSource,
    episode_guid,
    is_slug,
)
from toolkit.standards import artwork, stdcheck, wavheader

EPISODE_FILE = "episode.toml"
#: Transcript formats by file extension, when `format` is not given.
TRANSCRIPT_EXT = {".txt": TranscriptFormat.TEXT, ".srt": TranscriptFormat.SRT,
                  ".vtt": TranscriptFormat.VTT, ".json": TranscriptFormat.JSON}
AUDIO_EXT = {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".aif", ".aiff",
             ".mp4", ".m4v", ".mov"}      # video: its sound track (or published as delivered)


def _audio_file(t: Table, key: str, base: Path) -> Path | None:
    path = t.file(key, base, required=True)
    if path is not None and path.suffix.lower() not in AUDIO_EXT:
        t.error(key, f"{path.name}: not an audio file extension ({', '.join(sorted(AUDIO_EXT))})")
        return None
    if path is not None and path.stat().st_size == 0:
        t.error(key, f"{path.name} is empty (0 bytes)")
        return None
    # ffmpeg would quietly decode a cut or size-wrapped WAV to less audio than it should.
    bad_header = wavheader.problem(path) if path is not None else None
    if bad_header:
        t.error(key, bad_header)
        return None
    return path


def _parts(t: Table, base: Path) -> tuple[AudioPart, ...]:
    has_audio, has_parts = t.has("audio"), t.has("parts")
    if has_audio and has_parts:
        t.error("audio", "give either audio = \"file\" or [[parts]], not both")
    if not has_audio and not has_parts:
        t.error("audio", "missing (required): audio = \"file\" or [[parts]]")
        return ()
    if has_audio:
        path = _audio_file(t, "audio", base)
        return (AudioPart(path=path),) if path else ()
    parts = []
    tables = list(t.tables("parts"))
    if not tables:
        t.error("parts", "list at least one part")
    for i, p in enumerate(tables):
        path = _audio_file(p, "file", base)
        gain = p.number("gain", default=0.0, minimum=-60.0, maximum=30.0)
        gap = p.time("gap")
        crossfade = p.time("crossfade")
        if gap and crossfade:
            p.error("crossfade", "give gap or crossfade, not both")
        if crossfade and i == 0:
            p.error("crossfade", "the first part has nothing to crossfade with")
        bed = p.file("bed", base)
        part = AudioPart(path=path or base, title=p.text("title"), gain_db=gain or 0.0,
                         gap_s=gap or 0.0, crossfade_s=crossfade or 0.0,
                         trim_silence=bool(p.flag("trim_silence", default=False)), bed=bed,
                         bed_gain_db=p.number("bed_gain", default=-18.0, minimum=-60.0,
                                              maximum=0.0) or -18.0,
                         chapter=bool(p.flag("chapter", default=True)),
                         processing=speechconf.read(p), level_re_speech=_level(p),
                         cuts=p.strings("cuts"))
        if p.has("cuts") and not part.cuts:
            p.error("cuts", 'name the cuts this part is in (e.g. ["air"]), or leave cuts out')
        p.finish()
        if path is not None:
            parts.append(part)
    return tuple(parts)


def _transcripts(t: Table, base: Path) -> tuple[TranscriptSource, ...]:
    out = []
    for tt in t.tables("transcripts"):
        path = tt.file("file", base, required=True)
        fmt_text = tt.text("format")
        fmt = None
        if fmt_text:
            try:
                fmt = TranscriptFormat(fmt_text)
            except ValueError:
                tt.error("format", f"must be text, srt, vtt or json, not {fmt_text!r}")
        elif path is not None:
            fmt = TRANSCRIPT_EXT.get(path.suffix.lower())
            if fmt is None:
                tt.error("file", f"{path.name}: unknown transcript type; name it .txt, .srt, "
                                 ".vtt or .json, or set format")
        if fmt is TranscriptFormat.HTML:
            tt.error("format", "html is an output format; give text, srt, vtt or json")
            fmt = None
        language = tt.text("language")
        language_problem = stdcheck.language_problem(language) if language else None
        if language_problem:
            tt.error("language", language_problem)
        drops = []
        for i, v in enumerate(tt.get("drop_lines", list, default=[])):
            if isinstance(v, int) and not isinstance(v, bool) and v != 0:
                drops.append(v)
            else:
                tt.error(f"drop_lines[{i}]", "must be a line number (1-based; negative counts "
                                             "from the end)")
        until = tt.get("drop_until", str)       # not stripped: a space in a pattern counts
        if until is not None and _pattern_problem(until):
            tt.error("drop_until", _pattern_problem(until))
        matching = []
        for i, v in enumerate(tt.get("drop_matching", list, default=[])):
            problem = _pattern_problem(v) if isinstance(v, str) else "must be a pattern (a string)"
            if problem:
                tt.error(f"drop_matching[{i}]", problem)
            else:
                matching.append(v)
        # Timing a plain-text transcript against the audio (toolkit.text.align) is on by default.
        align = tt.get("align", bool, default=True)
        tt.finish()
        if path is not None and fmt is not None:
            out.append(TranscriptSource(path, fmt, language, tuple(drops), until or None,
                                        tuple(matching), align=align))
    return tuple(out)


_LEVEL_RE = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*LU\s*$")


def _level(p: Table) -> float | None:
    """A part's `level = "-6 LU"`: its loudness relative to the speech (a music part)."""
    value = p.get("level", object)
    if value is None:
        return None
    m = _LEVEL_RE.match(value) if isinstance(value, str) else None
    number = float(m.group(1)) if m else None
    if number is None or not -40.0 <= number <= 10.0:
        p.error("level", f"must be a level relative to the speech from \"-40 LU\" to \"+10 LU\", "
                         f"e.g. \"-6 LU\", not {value!r}")
        return None
    return number


def _pattern_problem(pattern: str) -> str | None:
    """Why `pattern` is no usable drop rule (a regular expression), or None."""
    if not pattern.strip():
        return "must not be empty (it would match every line)"
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"not a regular expression: {exc}"
    return None


def _notes(t: Table, base: Path) -> str:
    inline = t.get("notes", str)
    path = t.file("notes_file", base)
    if inline is not None and t.has("notes_file"):
        t.error("notes", "give notes or notes_file, not both")
    if path is None:
        return _xml_text(t, "notes", inline or "").strip()
    try:
        raw = fsutil.read_source(path, fsutil.MAX_NOTES_BYTES)
    except fsutil.SourceError as exc:
        t.error("notes_file", f"{path.name} {exc.message}")
        return ""
    try:
        return _xml_text(t, "notes_file", raw.decode("utf-8-sig"), f"{path.name}: ").strip()
    except UnicodeDecodeError as exc:
        t.error("notes_file", f"{path.name} is not UTF-8 (bad byte at offset {exc.start})")
        return ""


def _xml_text(t: Table, key: str, text: str, where: str = "") -> str:
    """Notes without the characters XML cannot carry, so the pages and the feed say the same.

    Pasted notes do hold them (a page break from a word processor, NEL from old converters):
    page breaks and NEL become line breaks, the rest is removed, with a warning.
    """
    first = NOT_XML_RE.search(text)
    if first is None:
        return text
    cleaned, count = NOT_XML_RE.subn(lambda m: "\n" if m.group() in "\x0b\x0c\x85" else "", text)
    line = text.count("\n", 0, first.start()) + 1
    col = first.start() - (text.rfind("\n", 0, first.start()) + 1) + 1
    t.warn(key, f"{where}removed {count} character(s) XML cannot carry (the first, "
                f"U+{ord(first.group()):04X}, at line {line}, column {col})")
    return cleaned


def read_episode(folder: Path, root: Path, problems: list[Problem],
                 shows: dict[str, Show | None] | None = None) -> Episode | None:
    """Read one episode folder, appending every problem; None if it cannot be used.

    With `shows` given (feed id -> Show, or None for a feed file that is itself invalid),
    the feed it names must exist and the guid is derived from it.
    """
    # Long on purpose: one pass over episode.toml in the order docs/formats.md documents the
    # keys, collecting every problem instead of stopping at the first.
    path = folder / EPISODE_FILE
    shown = display(path, root)
    slug = folder.name
    before = sum(p.severity is Severity.ERROR for p in problems)
    if not is_slug(slug):
        problems.append(Problem(display(folder, root), "slug", f"{slug!r} must be lowercase "
                                "ASCII letters, digits and single hyphens (it becomes a URL)"))
    if not path.exists() and not path.is_symlink():
        problems.append(Problem(shown, "file", "missing: every episode folder needs an episode.toml"))
        return None
    data = parse_toml(path, problems, shown)
    if data is None:
        return None
    t = Table(data, shown, problems)
    feed = t.text("feed", required=True)
    show = None
    if feed and shows is not None:
        show = shows.get(feed)
        if feed not in shows:  # an invalid feed file reports its own problems
            t.error("feed", f"no feed {feed!r} (feeds/{feed}.toml does not exist)")
    title = t.text("title", required=True)
    date = t.datetime("date", required=True)
    date_problem = stdcheck.date_problem(date) if date else None
    if date_problem:  # the bound validate applies to the pubDate
        t.error("date", f"{date.isoformat()}: {date_problem}")  # type: ignore[union-attr]
        date = None
    number = t.integer("number", positive=True)
    season = t.integer("season", positive=True)
    ep_type = t.choice("type", EpisodeType, EpisodeType.FULL)
    summary = t.text("summary", default="") or ""
    notes = _notes(t, folder)
    explicit = t.flag("explicit")
    guid = t.text("guid")
    if guid is not None and not guid:
        t.error("guid", "must not be empty (leave it out to derive a stable guid)")
    keywords = t.strings("keywords")
    art = t.file("art", folder)
    if art is not None and art.suffix.lower() not in (".jpg", ".jpeg", ".png"):
        t.error("art", "must be a .jpg or .png file")
    elif art is not None and (warning := artwork.size_warning(art)):
        t.warn("art", warning)
    draft = bool(t.flag("draft", default=False))
    max_duration = t.time("max_duration")
    all_parts = _parts(t, folder)
    top = cutconf.episode_top(t)
    cuts = cutconf.episode_cuts(t, show.cuts if show else (), top, all_parts)
    parts = tuple(p for p in all_parts if not p.cuts or "podcast" in p.cuts)
    if all_parts and not parts:
        t.error("parts", 'no part is in the podcast cut (every part has cuts without "podcast")')
    transcripts = _transcripts(t, folder)
    chapters = moments.chapters(t, folder)
    persons = read_persons(t, "persons")
    soundbites = moments.soundbites(t)
    loud = t.table("loudness")
    loudness = _episode_loudness(read_loudness(loud), show) if loud else None
    enc = t.table("encoding")
    enc_values = read_encoding(enc) if enc else {}
    encoding = _episode_encoding(enc_values, show) if enc else None
    processing = speechconf.read(t)
    fields: dict[str, object] = {k: t.text(k) for k in ("season_name", "episode_display",
                                                         "programme", "segment")}
    fields.update(p20conf.read_item(t))
    passthrough, keep_tags = _passthrough(t, parts, loudness is not None)
    if passthrough and encoding is not None and "remaster" not in enc_values:
        # `remaster` is the one [encoding] key a passthrough episode uses (docs/migrate.md).
        t.warn("encoding", "ignored with passthrough = true: the file is published as "
                           "delivered (remaster = true re-masters it)")
        encoding = None
    t.finish()

    if sum(p.severity is Severity.ERROR for p in problems) > before or (shows is not None
                                                                          and show is None):
        return None
    if not guid:
        guid = episode_guid(show.guid, slug) if show else str(uuid.uuid5(uuid.NAMESPACE_URL, slug))
    assert title and date and feed
    return Episode(slug=slug, dir=folder, path=path, feed=feed, title=title, date=date,
                   parts=parts, guid=guid, number=number, season=season, type=ep_type,
                   summary=summary, notes=notes, explicit=explicit, transcripts=transcripts,
                   chapters=chapters, persons=persons, keywords=keywords, art=art, draft=draft,
                   max_duration=max_duration, soundbites=soundbites,
                   loudness=loudness, encoding=encoding, passthrough=passthrough,
                   keep_tags=keep_tags, processing=processing, cuts=cuts,
                   all_parts=all_parts if parts != all_parts else (), **fields)


def _passthrough(t: Table, parts: tuple[AudioPart, ...], has_loudness: bool) -> tuple[bool, bool]:
    """The `passthrough` and `keep_tags` keys: an already mastered MP3 published as it is.

    Only one plain MP3 qualifies: anything to assemble, trim or level needs the engine,
    and any other format would need an encode (the build checks the codec itself).
    """
    passthrough = bool(t.flag("passthrough", default=False))
    keep_tags = bool(t.flag("keep_tags", default=False))
    if keep_tags and not passthrough:
        t.error("keep_tags", "only with passthrough = true (a mastered MP3 published as it is)")
    if not passthrough:
        return False, False
    if t.has("parts"):
        t.error("passthrough", "needs one MP3 given as audio = \"file.mp3\" (parts are "
                               "assembled and encoded: leave passthrough out)")
    elif parts and parts[0].path.suffix.lower() != ".mp3" and not keep_tags:
        # Only an MP3 gets podkit's tags in front of unchanged frames; any other file
        # (an imported video bonus, say) is published as delivered, byte for byte.
        t.error("passthrough", f"needs one MP3 ({parts[0].path.name} is not): any other file "
                               "is published as delivered only with keep_tags = true (or leave "
                               "passthrough out to encode it)")
    if has_loudness:
        t.warn("loudness", "ignored with passthrough = true: the MP3 is published as mastered")
    return passthrough, keep_tags


def _episode_loudness(values: dict[str, object], show: Show | None) -> LoudnessTarget:
    base = show.preset.loudness if show else LoudnessTarget(integrated=-16.0)
    kw = {k: v for k, v in values.items() if k != "levelling"}
    from dataclasses import replace
    return replace(base, **kw)  # type: ignore[arg-type]


def _episode_encoding(values: dict[str, object], show: Show | None) -> EncodingSettings:
    """The show's encoding with an episode's [encoding] values on top (e.g. `renditions`)."""
    base = show.preset if show else presets.get("podcast")
    return presets.apply_overrides(base, {}, values).encoding


def episode_folders(root: Path) -> list[Path]:
    """Every episode folder under `root/episodes`, sorted by name."""
    folder = root / "episodes"
    if not folder.is_dir():
        return []
    # One listing, no stat per entry (its type comes with it): 2,000 folders per command.
    with os.scandir(folder) as entries:
        names = [e.name for e in entries if not e.name.startswith((".", "_")) and e.is_dir()]
    return [folder / name for name in sorted(names)]


def load_episode(root: Path, slug: str, shows: dict[str, Show | None]) -> Episode:
    """One episode by slug; ProblemsError listing its problems if it is invalid."""
    problems: list[Problem] = []
    ep = read_episode(root / "episodes" / slug, root, problems, shows)
    if ep is None:
        raise ProblemsError(problems or [Problem(f"episodes/{slug}", "slug", "no such episode")])
    return ep
