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


