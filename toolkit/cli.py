"""The `podkit` command: a thin click layer over toolkit.pipeline.

Commands parse options, call one library function, and print. Every PodkitError
becomes one clean line on stderr and exit code 1; the traceback only with -v.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from toolkit import __version__
from toolkit.errors import PodkitError

log = logging.getLogger("toolkit")


class Context:
    """What the global options set, handed to every command."""

    def __init__(self, root: Path, verbose: int, quiet: bool) -> None:
        self.root = root
        self.verbose = verbose
        self.quiet = quiet

    def say(self, message: str = "", **style: object) -> None:
        """Print to stdout unless -q."""
        if not self.quiet:
            click.secho(message, **style)  # type: ignore[arg-type]


pass_ctx = click.make_pass_decorator(Context)


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.DEBUG if verbose >= 1 else logging.ERROR if quiet else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="podkit")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="The show's folder (holding feeds/, episodes/, templates/).")
@click.option("-v", "--verbose", count=True, help="Log every step and show tracebacks.")
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
    from toolkit import ffmpeg
    from importlib import metadata
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
    from toolkit.check import load_catalog
    cat = load_catalog(c.root, probe_media=not no_media)
    for problem in cat.problems:
        click.echo(str(problem), err=problem.severity.value == "error")
    if cat.errors:
        raise PodkitError(f"{len(cat.errors)} problem(s) in {c.root}")
    c.say(f"ok: {len(cat.shows)} feed(s), {len(cat.episodes)} episode(s)"
          + (f", {len(cat.problems)} warning(s)" if cat.problems else ""), fg="green")


@cli.command()
@click.argument("slug")
@click.option("--feed", "feed_id", help="The feed the episode belongs to (default: the only one).")
@click.option("--title", default=None, help="The episode's title.")
@pass_ctx
def new(c: Context, slug: str, feed_id: str | None, title: str | None) -> None:
    """Create episodes/SLUG/ with an episode.toml to fill in."""
    from toolkit.scaffold import new_episode
    path = new_episode(c.root, slug, feed_id=feed_id, title=title)
    c.say(f"created {path}: add the audio, then run `podkit check`")


@cli.command()
@click.argument("slugs", nargs=-1)
@click.option("--feed", "feed_id", help="Only episodes of this feed.")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Episodes built in parallel processes.")
@click.option("--id3", "id3_version", type=click.Choice(["3", "4"]), default="3", show_default=True,
              help="ID3 version: 2.3 plays everywhere (car stereos, Windows); 2.4 is newer.")
@pass_ctx
def build(c: Context, slugs: tuple[str, ...], feed_id: str | None, jobs: int,
          id3_version: str) -> None:
    """Build episodes: audio, tags, transcripts, chapters, notes and pages.

    Audio is rebuilt only when its inputs change (content hashes, not dates). A failing
    episode does not stop the others; they are listed at the end and the exit status is 1.
    """
    from toolkit import pipeline
    from toolkit.clidisplay import EpisodeProgress
    _, episodes = pipeline.select(c.root, slugs, feed_id)
    display = EpisodeProgress([e.slug for e in episodes], enabled=not c.quiet)
    results = pipeline.build(c.root, slugs, feed_id, jobs=jobs, progress=display,
                             settings=pipeline.BuildSettings(id3_version=int(id3_version)))
    failed = [r for r in results if not r.ok]
    for r in results:
        if r.ok:
            v = r.value
            c.say(f"built {v['slug']}: {_clock(v['duration'])}, {v['integrated']:.1f} LUFS, "
                  f"{v['true_peak']:.1f} dBTP, {v['size'] / 1e6:.1f} MB"
                  + (" (audio unchanged)" if v["cached"] else ""))
            if v.get("overrun"):
                click.echo(f"episodes/{v['slug']}/episode.toml: max_duration: warning: "
                           f"{v['overrun']}", err=True)
    for r in failed:
        click.echo(f"failed {r.key}: {r.error}", err=True)
    if failed:
        raise PodkitError(f"{len(failed)} of {len(results)} episode(s) failed")


def _clock(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m // 60}:{m % 60:02d}:{s:02d}" if m >= 60 else f"{m}:{s:02d}"


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
    from toolkit import pipeline, release
    when = _parse_now(now_text) if now_text else pipeline.now()
    for r in release.write_feed(c.root, feed_id, now=when):
        c.say(f"{'wrote' if r.changed else 'unchanged'} {r.path}: {len(r.included)} episode(s)"
              + (f", {len(r.waiting)} scheduled ({', '.join(r.waiting)})" if r.waiting else "")
              + (f", {len(r.drafts)} draft(s)" if r.drafts else ""))


def _parse_now(text: str):  # noqa: ANN202 - returns datetime
    import datetime as dt
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"not an ISO date-time: {text!r}", param_hint="--now") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


@cli.command()
@click.argument("sources", nargs=-1)
@click.option("--feed", "feed_id", help="Our own feed to check (default: all of ours).")
@click.option("--json", "as_json", is_flag=True, help="Findings as JSON.")
@pass_ctx
def validate(c: Context, sources: tuple[str, ...], feed_id: str | None, as_json: bool) -> None:
    """Check feeds against RSS 2.0, Apple and Podcasting 2.0 rules.

    Without SOURCES, checks our own built feed(s), also against the built files
    (artwork, enclosure sizes, durations). SOURCES may be any feed files or URLs.
    Each finding names the rule, item and field; errors give exit status 1.
    """
    from toolkit import release, validate as rules
    if sources:
        findings = [f for s in sources for f in rules.validate_source(s)]
    else:
        findings = release.validate_own(c.root, feed_id)
    if as_json:
        click.echo(rules.findings_json(findings))
    else:
        for line in rules.format_findings(findings):
            click.echo(line)
    errors = sum(f.severity.value == "error" for f in findings)
    if errors:
        raise PodkitError(f"{errors} error(s), {len(findings) - errors} warning(s)")
    if not as_json:
        c.say(f"ok: no errors, {len(findings)} warning(s)", fg="green")


@cli.command()
@click.option("--feed", "feed_id", help="Only this feed.")
@click.option("--dry-run", is_flag=True, help="Print the plan (upload, skip, delete, why); change nothing.")
@click.option("--delete", is_flag=True,
              help="Also remove objects podkit published before that are no longer built.")
@pass_ctx
def publish(c: Context, feed_id: str | None, dry_run: bool, delete: bool) -> None:
    """Upload what changed to the feed's target: media first, then pages, the feed last.

    Credentials come from boto3's standard chain (environment, profiles), never from
    feeds/*.toml. If anything fails the feed is not uploaded, so listeners never see
    an episode whose audio is missing.
    """
    from toolkit import release
    from toolkit.clidisplay import TransferProgress
    bar = TransferProgress(enabled=not c.quiet and not dry_run)
    try:
        reports = release.publish_show(c.root, feed_id, dry_run=dry_run, delete=delete,
                                       progress=bar)
    finally:
        bar.close()
    for report in reports:
        for line in report.summary_lines():
            c.say(line)


@cli.command()
@click.option("--feed", "feed_id", help="The feed to serve.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 to subscribe from a phone on this network).")
@click.option("--port", default=8000, show_default=True, help="Port to listen on.")
@click.option("--published", is_flag=True,
              help="Serve the copy last published to the local target, not the build.")
@pass_ctx
def preview(c: Context, feed_id: str | None, host: str, port: int, published: bool) -> None:
    """Serve the built show (what `podkit feed` selected) over HTTP, with HEAD and byte
    ranges as podcast apps need; --published serves the last local publish instead.

    The feed's URLs are rewritten to point at this server. Ctrl-C stops it.
    """
    from toolkit import preview as server_mod, release
    show, folder = release.preview_folder(c.root, feed_id, published=published)
    server = server_mod.make_server(folder, host, port, base_url=show.base_url)
    c.say(f"serving {folder} on {server.url}")
    c.say(f"subscribe to {server.url.rstrip('/')}/feed.xml (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        c.say("stopped")
    finally:
        server.shutdown()


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Results as JSON.")
@pass_ctx
def loudness(c: Context, files: tuple[Path, ...], as_json: bool) -> None:
    """Measure integrated loudness, LRA, true peak, sample peak and duration of audio files.

    BS.1770-4 / EBU R128 measurement, for QC before air. A file that cannot be measured
    is listed with its error and the exit status is 1.
    """
    import json
    from toolkit import loudness as meter
    from toolkit.clidisplay import table
    rows, out, errors = [], [], []
    for path in files:
        try:
            st = meter.measure_file(path)
        except PodkitError as exc:
            errors.append(str(exc))
            continue
        out.append({"file": str(path), "integrated_lufs": round(st.integrated, 2),
                    "lra_lu": round(st.lra, 2), "true_peak_dbtp": round(st.true_peak, 2),
                    "sample_peak_dbfs": round(st.sample_peak, 2), "duration_s": round(st.duration, 3)})
        rows.append([path.name, f"{st.integrated:.1f}", f"{st.lra:.1f}", f"{st.true_peak:.1f}",
                     f"{st.sample_peak:.1f}", _clock(st.duration)])
    if as_json:
        click.echo(json.dumps({"files": out, "errors": errors}, indent=2))
    elif rows:
        c.say(table(rows, ["file", "LUFS", "LRA", "dBTP", "peak dBFS", "duration"]))
    for e in errors:
        click.echo(e, err=True)
    if errors:
        raise PodkitError(f"{len(errors)} file(s) could not be measured")


@cli.command()
@click.argument("slugs", nargs=-1)
@click.option("--feed", "feed_id", help="Only episodes of this feed.")
@pass_ctx
def cue(c: Context, slugs: tuple[str, ...], feed_id: str | None) -> None:
    """Write radio cue sheets (cue.txt and cue.csv) for built episodes.

    Programme, segment, duration, parts, in- and out-cue, loudness; one CSV for all
    selected episodes in build/reports/<feed>/cue.csv.
    """
    from toolkit import pipeline
    for path in pipeline.write_cues(c.root, slugs, feed_id):
        c.say(f"wrote {path}")


def main() -> None:
    """Entry point: run the CLI, turning PodkitError into one line and exit code 1."""
    verbose = any(a in ("-v", "--verbose") or (a.startswith("-v") and set(a[1:]) == {"v"})
                  for a in sys.argv[1:])
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
        click.echo(f"podkit: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)


