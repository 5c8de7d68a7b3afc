"""The show's life from the command line: `podkit init`, `podkit status`, `podkit release`.

Thin like the rest of toolkit.cli (which registers these commands): parse options, call
one library function (toolkit.showlife.showinit, toolkit.showlife.status, toolkit.showlife.golive), print.
"""
from __future__ import annotations

import json
from pathlib import Path

import click

from toolkit.commands.context import Context, cluster_target, pass_ctx


def _parse_time(text: str):  # noqa: ANN202 - a datetime
    from toolkit.pipeline import parse_time
    return parse_time(text, "--now")


@click.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--title", help="The show's title (required).")
@click.option("--author", help="Who makes it: itunes:author and the owner's name (required).")
@click.option("--email", help="The owner's email, for Apple and podcast:locked (required).")
@click.option("--base-url", help="The public https:// URL the published show is served under "
                                 "(required), e.g. https://media.example.org/my-show/.")
@click.option("--id", "feed_id", help="The feed id: feeds/<id>.toml (default: from the title).")
@click.option("--language", default="en", show_default=True, help="BCP 47 language tag.")
@click.option("--category", default="Society & Culture", show_default=True,
              help="Apple category, 'Category' or 'Category > Subcategory'.")
@click.option("--description", help="The show's description (default: '<title>, a podcast by <author>.').")
@click.option("--link", help="The show's website (default: the base URL, where its page is published).")
@click.option("--explicit/--clean", default=False, show_default=True, help="Explicit content.")
@click.option("-i", "--interactive", is_flag=True, help="Ask for each value (defaults from the options).")
@pass_ctx
def init(c: Context, directory: Path | None, title: str | None, author: str | None,
         email: str | None, base_url: str | None, feed_id: str | None, language: str,
         category: str, description: str | None, link: str | None, explicit: bool,
         interactive: bool) -> None:
    """Start a show in DIRECTORY (default: --root): a commented feed, a placeholder cover,
    templates/README.md, .gitignore and a Makefile. Never overwrites a file.
    """
    from toolkit import Project
    from toolkit.errors import ConfigError
    from toolkit.model import slugify
    from toolkit.showlife.showinit import ShowSettings
    folder = (directory or c.root).resolve()
    if interactive:
        title = click.prompt("Title", default=title)
        author = click.prompt("Author", default=author)
        email = click.prompt("Owner email", default=email)
        base_url = click.prompt("Public base URL (https://...)", default=base_url)
        feed_id = click.prompt("Feed id", default=feed_id or slugify(title or "") or None)
        language = click.prompt("Language", default=language)
        category = click.prompt("Apple category", default=category)
        explicit = click.confirm("Explicit?", default=explicit)
    missing = [f"--{n}" for n, v in (("title", title), ("author", author), ("email", email),
                                     ("base-url", base_url)) if not v]
    if missing:
        raise ConfigError(f"missing {', '.join(missing)} (or use --interactive)", field="init")
    settings = ShowSettings(title=title, author=author, email=email, base_url=base_url,  # type: ignore[arg-type]
                            feed_id=feed_id, language=language, category=category,
                            description=description, link=link, explicit=explicit)
    for path in Project.init(folder, settings)[1]:
        c.say(f"wrote {path}")
    c.say("next: podkit new SLUG --audio FILE, then podkit check / build / feed / publish "
          "(or make release)", fg="green")


@click.command()
@click.option("--feed", "feed_id", help="Only this feed.")
@click.option("--now", "now_text", metavar="ISO-DATETIME",
              help="Pretend it is this time (default: now; or PODKIT_NOW).")
@click.option("--json", "as_json", is_flag=True, help="The rows and totals as JSON.")
@click.option("--remote", is_flag=True,
              help="Ask an S3 target what it holds (LIST requests only); a local folder is always compared.")
@pass_ctx
def status(c: Context, feed_id: str | None, now_text: str | None, as_json: bool,
           remote: bool) -> None:
    """One line per episode: number, date, state (draft, scheduled, not built, stale and
    what changed, built, published, differs from published), duration, loudness, true
    peak, limiting; then totals. Reads build records; builds and writes nothing.
    """
    from toolkit.commands.display import table
    from toolkit.model import clock
    when = _parse_time(now_text) if now_text else None
    report = c.project.status(feed=feed_id, now=when, remote=remote)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=1, ensure_ascii=False))
        return
    with_cuts = any(r.cuts for r in report.rows)     # the column only where a show has cuts
    rows = [[r.slug, "" if r.number is None else str(r.number),
             r.date.strftime("%Y-%m-%d %H:%M") if r.date else "",
             r.state.value + (f" ({r.detail})" if r.detail else ""),
             clock(r.duration) if r.duration is not None else "",
             f"{r.integrated:.1f}" if r.integrated is not None else "",
             f"{r.true_peak:.1f}" if r.true_peak is not None else "",
             "heavy" if r.limiting else ""] + ([r.cuts_text] if with_cuts else [])
            for r in report.rows]
    headers = ["episode", "no.", "date", "state", "duration", "LUFS", "dBTP", "limiting"]
    headers += ["cuts"] if with_cuts else []
    if len({r.feed for r in report.rows}) > 1:
        # Two feeds: the same slug or number may be in both, so say whose each row is.
        headers.insert(1, "feed")
        for row, r in zip(rows, report.rows):
            row.insert(1, r.feed or "?")
    if any(r.delivery for r in report.rows):    # only shows that deliver to a station
        headers.append("delivery")
        rows = [row + [r.delivery] for row, r in zip(rows, report.rows)]
    if rows:
        c.say(table(rows, headers))
    totals = ", ".join(f"{n} {state}" for state, n in report.totals.items())
    c.say(f"{len(report.rows)} episode(s): {totals or 'none'}; {clock(report.duration)} built")
    for feed in report.unknown_remote:
        c.say(f"{feed}: S3 target not asked; `podkit status --remote` compares it")
    from toolkit.commands.display import echo_warnings
    echo_warnings([f"episodes/{r.slug}: audio: warning: {r.limiting}"
                   for r in report.rows if r.limiting])


@click.command("release")
@click.option("--feed", "feed_id", help="Only this feed.")
@click.option("--now", "now_text", metavar="ISO-DATETIME",
              help="Pretend it is this time (default: now; or PODKIT_NOW): scheduled episodes "
                   "dated up to then go live.")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Episodes built in parallel processes.")
@click.option("--executor", type=click.Choice(["local", "dask"]), default=None,
              help="Build on local processes (default) or a Dask cluster (docs/scale.md).")
@click.option("--scheduler", metavar="ADDRESS", help="The Dask scheduler (implies dask).")
@click.option("--worker-root", metavar="PATH",
              help="Where the Dask workers see this show folder, if not at the same path.")
@pass_ctx
def release_cmd(c: Context, feed_id: str | None, now_text: str | None, jobs: int,
                executor: str | None, scheduler: str | None, worker_root: str | None) -> None:
    """Check, build, feed, validate and publish in one go (for cron and CI).

    Each step runs only if the one before passed: when any fails, nothing is published,
    the failing step and its problems are printed and the exit status is 1. Run it daily
    and scheduled episodes go live on their date (docs/scheduling.md).
    """
    from toolkit.showlife import golive
    when = _parse_time(now_text) if now_text else None
    try:
        result = c.project.release(feed=feed_id, now=when, jobs=jobs, on_step=c.say,
                                   cluster=cluster_target(executor, scheduler, worker_root))
    except golive.ReleaseError as exc:
        for line in exc.lines:      # the step's problems, then main() prints the one summary
            click.echo(line, err=True)
        raise
    from toolkit.commands.display import echo_warnings
    echo_warnings(result.warnings)


COMMANDS = (init, status, release_cmd)
