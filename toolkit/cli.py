"""The `podkit` command: a thin click layer over the library API, toolkit.Project (api.py).

Commands parse options, call one library function, and print. Every PodkitError
becomes one clean line on stderr and exit code 1; the traceback only with -v.
"""
from __future__ import annotations

import gc
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from toolkit import __version__, environ, redact
from toolkit.commands.context import Context, cluster_target, pass_ctx
from toolkit.errors import PodkitError

if TYPE_CHECKING:
    from toolkit.episode_build import BuildSummary

log = logging.getLogger("toolkit")




#: Libraries whose debug logs (thousands of lines for one publish) show only at -vv.
CHATTY = ("botocore", "boto3", "s3transfer", "urllib3")


def _quiet_libraries(record: logging.LogRecord) -> bool:
    """At -v: podkit's debug lines, but only warnings and errors from the chatty libraries."""
    return record.levelno >= logging.WARNING or record.name.split(".")[0] not in CHATTY


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.DEBUG if verbose >= 1 else logging.ERROR if quiet else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    # Every line this handler writes, tracebacks and botocore's header dumps included, is
    # scrubbed of the secrets known now (the environment's) and registered later.
    # (Every command's output passes it, so the environment's 1-3 character "secrets", a
    # test value like AWS_SECRET_ACCESS_KEY=x, would garble ordinary lines; a publish still
    # registers the credentials it uses, whatever their length.)
    redact.register(*environ.secrets(), min_length=4)
    handler.setFormatter(redact.RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
    if verbose < 2:
        # A filter on our handler, not levels on their loggers: nothing global is changed
        # for whoever else logs in this process (tests, an embedding program).
        handler.addFilter(_quiet_libraries)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", handlers=[handler])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="podkit")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="The show's folder (holding feeds/, episodes/, templates/).")
@click.option("-v", "--verbose", count=True,
              help="Log every step and show tracebacks; -vv adds boto3's and urllib3's debug logs.")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors.")
@click.pass_context
def cli(ctx: click.Context, root: Path, verbose: int, quiet: bool) -> None:
    """podkit: build, tag, feed and publish podcast episodes."""
    _setup_logging(verbose, quiet)
    ctx.obj = Context(root.resolve(), verbose, quiet)


@cli.command()
@pass_ctx
def doctor(c: Context) -> None:
    """Show which ffmpeg podkit uses and the versions of its key libraries."""
    from importlib import metadata

    from toolkit import ffmpeg
    fi = ffmpeg.info()
    c.say(f"ffmpeg       {fi.path}")
    c.say(f"  source     {fi.source}")
    c.say(f"  version    {fi.version}")
    c.say(f"  libmp3lame {'yes' if fi.has_libmp3lame else 'NO: MP3 encoding will fail'}")
    c.say(f"python       {sys.version.split()[0]}")
    for dist in ("pydub", "mutagen", "feedgen", "jinja2", "click", "boto3", "numpy", "scipy",
                 "imageio-ffmpeg"):
        try:
            c.say(f"{dist:<12} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            c.say(f"{dist:<12} not installed", fg="red")
    if not fi.has_libmp3lame:
        raise PodkitError("this ffmpeg cannot encode MP3 (no libmp3lame)", path=fi.path)


@cli.command()
@click.option("--no-media", is_flag=True, help="Skip opening audio and image files (faster).")
@pass_ctx
def check(c: Context, no_media: bool) -> None:
    """Validate every feed and episode; list all problems; write nothing.

    Each problem is one line, `path: field: message`. Exit status 1 if any is an error.
    """
    from toolkit.commands.display import echo_warnings
    checked = c.project.check(probe_media=not no_media)
    errors = list(dict.fromkeys(str(p) for p in checked.problems if p.severity.value == "error"))
    for line in errors:
        click.echo(line, err=True)
    # Each warning once (two checks of one file may find the same thing), and counted;
    # on stdout, as check has always listed them (errors go to stderr).
    warned = echo_warnings([str(p) for p in checked.problems if p.severity.value != "error"],
                           err=False)
    if checked.errors:
        raise PodkitError(f"{len(errors)} problem(s) in {c.root}"
                          + (f", {warned} warning(s)" if warned else ""))
    c.say(f"ok: {checked.feeds} feed(s), {checked.episodes} episode(s)"
          + (f", {warned} warning(s)" if warned else ""), fg="green")


@cli.command()
@click.argument("slug")
@click.option("--feed", "feed_id", help="The feed the episode belongs to (default: the only one).")
@click.option("--title", default=None, help="The episode's title.")
@click.option("--audio", "audio", multiple=True, type=click.Path(path_type=Path),
              help="The episode's audio: copied into episodes/SLUG/ (the original is only read); "
                   "repeat it for ordered parts (intro, interview...), each a chapter.")
@click.option("--bed", type=click.Path(path_type=Path),
              help="A music bed, copied in and played (ducked) under the first part.")
@click.option("--transcript", "transcripts", multiple=True,
              type=click.Path(path_type=Path),
              help="A transcript (.txt, .srt, .vtt, .json) copied beside the audio; repeatable.")
@click.option("--date", "date_text", metavar="ISO-DATETIME",
              help="Publication date with time zone (default: now); a later date schedules it.")
@click.option("--draft/--no-draft", default=True, show_default=True,
              help="--no-draft: the episode goes in the feed on its date without editing.")
@pass_ctx
def new(c: Context, slug: str, feed_id: str | None, title: str | None, audio: tuple[Path, ...],
        bed: Path | None, transcripts: tuple[Path, ...], date_text: str | None,
        draft: bool) -> None:
    """Create episodes/SLUG/ with an episode.toml to fill in (and its audio, with --audio).

    Several --audio make ordered parts; in a show with seasons the episode is numbered
    within the current season.
    """
    date = _parse_date(date_text) if date_text else None
    path = c.project.new_episode(slug, feed_id=feed_id, title=title, audio=audio,
                                 transcripts=transcripts, date=date, draft=draft, bed=bed)
    c.say(f"created {path}: " + ("run `podkit check`" if audio else
                                 "add the audio, then run `podkit check`"))


def _parse_date(text: str):  # noqa: ANN202 - returns datetime
    import datetime as dt
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"not an ISO date-time: {text!r}", param_hint="--date") from None
    if value.tzinfo is None:
        raise click.BadParameter(f"{text!r} needs a time zone, e.g. 2025-06-01T09:00:00+02:00",
                                 param_hint="--date")
    return value


@cli.command()
@click.argument("slugs", nargs=-1)
@click.option("--feed", "feed_id", help="Only episodes of this feed.")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Episodes built in parallel processes.")
@click.option("--id3", "id3_version", type=click.Choice(["3", "4"]), default="3", show_default=True,
              help="ID3 version: 2.3 plays everywhere (car stereos, Windows); 2.4 is newer.")
@click.option("--force", is_flag=True,
              help="Rebuild even episodes whose record says nothing changed (a new ffmpeg).")
@click.option("--executor", type=click.Choice(["local", "dask"]), default=None,
              help="Where episodes are built: local processes (default, -j) or a Dask "
                   "cluster (needs --scheduler or PODKIT_DASK_SCHEDULER; docs/scale.md).")
@click.option("--scheduler", metavar="ADDRESS",
              help="The Dask scheduler, e.g. tcp://10.0.0.5:8786 (implies --executor dask).")
@click.option("--worker-root", metavar="PATH",
              help="Where the Dask workers see this show folder, if not at the same path.")
@pass_ctx
def build(c: Context, slugs: tuple[str, ...], feed_id: str | None, jobs: int,
          id3_version: str, force: bool, executor: str | None, scheduler: str | None,
          worker_root: str | None) -> None:
    """Build episodes: audio, tags, transcripts, chapters, notes and pages.

    An episode whose inputs (content hashes, not dates) match its last build is left as
    it is; audio is re-encoded only when its own inputs change. A failing episode does
    not stop the others and leaves its previous build as it was; failures are listed at
    the end and the exit status is 1.
    """
    from toolkit.commands.display import EpisodeProgress
    display = EpisodeProgress([e.slug for e in c.project.select(*slugs, feed=feed_id)],
                              enabled=not c.quiet)
    target = cluster_target(executor, scheduler, worker_root)
    try:
        results = c.project.build(*slugs, feed=feed_id, jobs=jobs, force=force,
                                  id3_version=int(id3_version), progress=display,
                                  cluster=target)
    finally:
        display.close()
    failed = [r for r in results if not r.ok]
    built = [r.summary for r in results if r.summary is not None and not r.summary.unchanged]
    for s in built:
        c.say(_build_line(s))
    # Each warning once: every episode's steps' warnings (kept in the record, so an unchanged
    # build shows its first build's again) and its slot's.
    warned = [line for r in results if r.summary is not None for line in r.summary.warning_lines()]
    from toolkit.commands.display import echo_warnings
    echo_warnings(warned)
    unchanged = len(results) - len(failed) - len(built)
    if unchanged:
        c.say(f"unchanged: {unchanged} episode(s) already built from the same inputs")
    for r in failed:
        click.echo(f"failed {r.slug}: {r.error}", err=True)
    if failed:
        raise PodkitError(f"{len(failed)} of {len(results)} episode(s) failed")


@cli.command("align")
@click.argument("slugs", nargs=-1, required=True)
@click.option("--feed", "feed_id", help="Only episodes of this feed.")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Episodes built at once (where a build is needed).")
@pass_ctx
def align_cmd(c: Context, slugs: tuple[str, ...], feed_id: str | None, jobs: int) -> None:
    """Time plain-text transcripts against the built audio and report how it went.

    Alignment is part of the build (the timed VTT, SRT and JSON and the record come
    from it): episodes whose build is not current are built first. Exit 1 when a
    transcript's audio does not match its text.
    """
    from toolkit.commands.display import EpisodeProgress
    from toolkit.model import AlignStatus
    mismatched = 0
    # On a terminal the search's progress is drawn: a long programme takes a while.
    display = EpisodeProgress([e.slug for e in c.project.select(*slugs, feed=feed_id)],
                              enabled=not c.quiet)
    aligned = c.project.align(*slugs, feed=feed_id, jobs=jobs, progress=display)
    display.close()
    for slug, reports in aligned:
        if not reports:
            c.say(f"{slug}: no plain-text transcript to align")
        for a in reports:
            line = f"{slug}: {a.source.name}: {a.status.value}"
            if a.status is AlignStatus.ALIGNED:
                line += (f": {a.words} words in {a.sentences} timed cues ({a.guessed} pronounced "
                         f"by eSpeak NG, {a.interpolated} interpolated)")
            elif a.message:
                line += f": {a.message}"
            if a.status is AlignStatus.MISMATCH:
                mismatched += 1
                click.echo(line, err=True)
            else:
                c.say(line)
    if mismatched:
        raise PodkitError(f"{mismatched} transcript(s) do not match their audio (published untimed)")


def _build_line(v: BuildSummary) -> str:
    from toolkit.model import clock
    # Each rendition as measured on its own file (MP3, AAC, OPUS, WAV: toolkit.standards.renditions keys).
    loud = ", ".join(f"{kind.upper()} {lufs:.1f} LUFS {tp:.1f} dBTP"
                     for kind, lufs, tp in v.renditions) or \
        f"{v.integrated:.1f} LUFS, {v.true_peak:.1f} dBTP"
    if v.as_delivered:  # passthrough: the old host's master, measured, not a target missed
        loud += " as delivered"
    loud += "".join(f"; {line}" for line in v.cuts)       # each named cut on its own target
    return (f"built {v.slug}: {clock(v.duration)}, {loud}, {v.size / 1e6:.1f} MB"
            + (" (audio unchanged)" if v.cached else ""))



@cli.command()
@click.option("--feed", "feed_id", help="Only this feed.")
@click.option("--now", "now_text", metavar="ISO-DATETIME",
              help="Pretend it is this time (default: now; or PODKIT_NOW). Scheduled episodes "
                   "dated later stay out.")
@pass_ctx
def feed(c: Context, feed_id: str | None, now_text: str | None) -> None:
    """Write feed.xml and the index page from the built episodes (never touches audio).

    Drafts and episodes dated in the future stay out until their time.
    """
    from toolkit import pipeline
    when = pipeline.parse_time(now_text, "--now") if now_text else None
    for r in c.project.feed(feed=feed_id, now=when):
        c.say(f"{'wrote' if r.changed else 'unchanged'} {r.path}: {len(r.included)} episode(s)"
              + (f", {len(r.waiting)} scheduled ({', '.join(r.waiting)})" if r.waiting else "")
              + (f", {len(r.drafts)} draft(s)" if r.drafts else ""))


# Inspection, import, init, status, release, clip and deliver commands live in their own
# modules (commands/tools.py, show.py, clip.py, deliver.py), registered here.
from toolkit.commands.clip import COMMANDS as _CLIP_COMMANDS  # noqa: E402
from toolkit.commands.deliver import COMMANDS as _DELIVER_COMMANDS  # noqa: E402
from toolkit.commands.show import COMMANDS as _SHOW_COMMANDS  # noqa: E402
from toolkit.commands.tools import COMMANDS as _TOOL_COMMANDS  # noqa: E402

for _command in (*_TOOL_COMMANDS, *_SHOW_COMMANDS, *_CLIP_COMMANDS, *_DELIVER_COMMANDS):
    cli.add_command(_command)


#: Allocations between two young-generation collections (Python's default: 700), net of
#: those freed: a command over a 2,000-episode catalogue grows by ~250,000 live objects it
#: keeps to the end, and at 50,000 each pass re-scanned them for nothing (5 passes, 35 ms
#: of a `podkit feed`). A long command (publish, a big build) still gets its passes.
GC_THRESHOLD = 500_000


def main() -> None:
    """Entry point: run the CLI, turning PodkitError into one line and exit code 1."""
    verbose = any(a in ("-v", "--verbose") or (a.startswith("-v") and set(a[1:]) == {"v"})
                  for a in sys.argv[1:])
    # A command lives seconds and keeps what it reads (2,000 records, the catalogue) to the
    # end: the cyclic collector's frequent passes over those objects cost ~10 % of a
    # `podkit feed` and free nothing. Rarer passes, the modules loaded so far frozen;
    # restored on the way out (tests call main() in their own process).
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 50, 100)
    try:
        _main(verbose)
    finally:
        # Frozen first: back at the default threshold, the next allocation would otherwise
        # make a young-generation pass over everything the command allocated (15 ms of a
        # `podkit feed`, on its way out).
        gc.freeze()
        gc.set_threshold(*threshold)
        gc.unfreeze()


def _main(verbose: bool) -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except PodkitError as exc:
        if verbose:
            log.exception("podkit error")
        click.echo(redact.scrub(f"podkit: {exc}"), err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except Exception:
        # A bug: the traceback is what a report needs, but never with a secret in it.
        import traceback
        click.echo(redact.scrub(traceback.format_exc()).rstrip(), err=True)
        sys.exit(1)


