"""`podkit deliver`: send the built cuts to the stations each feed names (thin over toolkit.Project)."""
from __future__ import annotations

import click

from toolkit.commands.context import Context, pass_ctx


@click.command("deliver")
@click.argument("slugs", nargs=-1)
@click.option("--feed", "feed_id", help="Only this feed.")
@click.option("--force", is_flag=True,
              help="Send every file again, even where the target holds the same bytes or the "
                   "station already imported it.")
@click.option("-n", "--dry-run", is_flag=True, help="Say what would be sent; send nothing.")
@pass_ctx
def deliver(c: Context, slugs: tuple[str, ...], feed_id: str | None, force: bool,
            dry_run: bool) -> None:
    """Send each built cut (e.g. the air WAV) to the targets its feed declares in
    [[delivery]] tables: a watch folder, an SFTP server or an S3 bucket.

    A file appears at the target only whole and verified (temporary name, then rename);
    what the target already holds is not sent again. Drafts are delivered only when
    named. Every delivery is logged in build/deliver/<feed>.json and shown by `podkit
    status`. Exit 1 with one line naming the target when anything fails.
    """
    reports = c.project.deliver(*slugs, feed=feed_id, force=force, dry_run=dry_run,
                                on_line=c.say)
    if not reports:
        c.say("nothing to deliver: no feed declares a [[delivery]] target for these episodes")


COMMANDS = (deliver,)
