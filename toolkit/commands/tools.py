"""Release, inspection and import commands: validate, publish, preview, loudness, cue,
transcript, import. Thin like the rest of toolkit.cli (which registers them): parse
options, call one library function, print.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from toolkit import redact
from toolkit.commands.context import Context, pass_ctx
from toolkit.errors import PodkitError

if TYPE_CHECKING:
    from toolkit.public import RenditionLoudness


@click.command()
@click.argument("sources", nargs=-1)
@click.option("--feed", "feed_id", help="Our own feed to check (default: all of ours).")
@click.option("--json", "as_json", is_flag=True, help="Findings as JSON.")
@click.option("--deadline", type=click.FloatRange(min=0.01), default=30.0, show_default=True,
              envvar="PODKIT_FETCH_DEADLINE", metavar="SECONDS",
              help="Give up on a URL that has not fully arrived after this long "
                   "(or PODKIT_FETCH_DEADLINE).")
@pass_ctx
def validate(c: Context, sources: tuple[str, ...], feed_id: str | None, as_json: bool,
             deadline: float) -> None:
    """Check feeds against RSS 2.0, Apple and Podcasting 2.0 rules.

    Without SOURCES, checks our own built feed(s), also against the built files
    (artwork, enclosure sizes, durations). SOURCES may be any feed files or URLs,
    in any encoding (the one used is in --json and at -v).
    Each finding names the rule, item and field; errors give exit status 1.
    """
    from toolkit.feed import validate as rules
    checked = [rules.check_source(s, deadline=deadline) for s in sources]
    loud: list = []
    if sources:
        findings = [f for ch in checked for f in ch.findings]
    else:
        findings = c.project.validate(feed=feed_id, loudness=loud)
    if as_json:
        click.echo(rules.findings_json(findings, checked, loudness=[vars(r) for r in loud]))
    else:
        for line in rules.format_findings(findings):
            click.echo(line)
    errors = sum(f.severity.value == "error" for f in findings)
    if errors:
        raise PodkitError(f"{errors} error(s), {len(findings) - errors} warning(s)")
    if not as_json:
        c.say(f"ok: no errors, {len(findings)} warning(s)", fg="green")
        if loud:
            c.say(_loudness_line(loud))


def _loudness_line(rows: list[RenditionLoudness]) -> str:
    """One line for every built audio file's loudness, grouped by kind (MP3, AAC, OPUS, and
    each named cut such as AIR), each group against its own target; passthrough files apart,
    "as delivered", with what would master them."""
    lines = []
    for delivered in (False, True):
        group = [r for r in rows if r.as_delivered is delivered]
        parts = []
        for kind in dict.fromkeys(r.kind for r in group):
            mine = [r for r in group if r.kind == kind]
            lo, hi = min(r.integrated for r in mine), max(r.integrated for r in mine)
            # "-16/-19 LUFS, <= -1 dBTP": stereo and mono targets of one kind share a ceiling.
            ceilings = sorted({r.ceiling for r in mine})
            aim = "; ".join(
                "/".join(f"{t:g}" for t in sorted({r.target for r in mine if r.ceiling == c},
                                                   reverse=True)) + f" LUFS, <= {c:g} dBTP"
                for c in ceilings)
            parts.append(f"{len(mine)} {kind.upper()} {lo:.1f} to {hi:.1f} LUFS, true peak "
                         f"<= {max(r.true_peak for r in mine):.1f} dBTP"
                         + ("" if delivered else f" (target {aim})"))
        if parts and delivered:
            # Only an MP3 can be re-mastered; a video bonus stays as its subscribers have it.
            aims = "/".join(f"{t:g}" for t in sorted({r.target for r in group}, reverse=True))
            advice = (f"; set [encoding] remaster = true in the feed to master the MP3s to "
                      f"{aims} LUFS (docs/migrate.md)" if any(r.kind == "mp3" for r in group)
                      else " (published as delivered: remaster applies to MP3s only)")
            lines.append(f"loudness as delivered (passthrough): {'; '.join(parts)}{advice}")
        elif parts:
            lines.append(f"loudness as built: {'; '.join(parts)}")
    return "\n".join(lines)


@click.command()
@click.option("--feed", "feed_id", help="Only this feed.")
@click.option("--dry-run", is_flag=True, help="Print the plan (upload, skip, delete, why); change nothing.")
@click.option("--delete", is_flag=True,
              help="Also remove objects podkit published before that are no longer built.")
@pass_ctx
def publish(c: Context, feed_id: str | None, dry_run: bool, delete: bool) -> None:
    """Upload what changed to the feed's target: media first, then pages, the feed last.

    Credentials come from boto3's standard chain (environment, profiles), never from
    feeds/*.toml. If anything fails the feed is not uploaded, so listeners never see
    an episode whose audio is missing. Once a changed feed is up, the WebSub hub and
    podping named in [publish] are told (a failure there is a warning, exit status 0).
    """
    from toolkit.commands.display import TransferProgress
    bar = TransferProgress(enabled=not c.quiet and not dry_run)
    try:
        reports = c.project.publish(feed=feed_id, dry_run=dry_run, delete=delete, progress=bar)
    finally:
        bar.close()
    for report in reports:
        for line in report.summary_lines():
            c.say(line)
        for notice in report.notices:  # the feed is up: a failure here is only a warning
            if notice.ok:
                c.say(notice.line())
            else:
                click.echo(redact.scrub(notice.line(c.root)), err=True)


@click.command()
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
    import threading

    from toolkit.publish import preview as server_mod
    show, folder = c.project.preview_folder(feed=feed_id, published=published)
    server = server_mod.make_server(folder, host, port, base_url=show.base_url,
                                    enclosure_prefix=show.enclosure_prefix)
    c.say(f"serving {folder} on {server.url}")
    c.say(f"subscribe to {server.url.rstrip('/')}/feed.xml (Ctrl-C to stop)")
    # The server runs in a daemon thread and the main thread only waits: Ctrl-C then lands
    # here, never inside the server's accept loop or a request, and a request stuck in a
    # slow client cannot keep the process alive after it.
    thread = threading.Thread(target=server.serve_forever, name="preview", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.5)
    except KeyboardInterrupt:
        c.say("stopped")
    finally:
        server.shutdown()
        server.server_close()


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Results as JSON.")
@pass_ctx
def loudness(c: Context, files: tuple[Path, ...], as_json: bool) -> None:
    """Measure integrated loudness, LRA, true peak, sample peak and duration of audio files.

    BS.1770-4 / EBU R128 measurement, for QC before air. A file that cannot be measured
    is listed with its error and the exit status is 1.
    """
    import json

    from toolkit.audio import loudness as meter
    from toolkit.commands.display import table
    from toolkit.model import clock
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
                     f"{st.sample_peak:.1f}", clock(st.duration)])
    if as_json:
        click.echo(json.dumps({"files": out, "errors": errors}, indent=2))
    elif rows:
        c.say(table(rows, ["file", "LUFS", "LRA", "dBTP", "peak dBFS", "duration"]))
    for e in errors:
        click.echo(e, err=True)
    if errors:
        raise PodkitError(f"{len(errors)} file(s) could not be measured")


@click.command()
@click.argument("slugs", nargs=-1)
@click.option("--feed", "feed_id", help="Only episodes of this feed.")
@pass_ctx
def cue(c: Context, slugs: tuple[str, ...], feed_id: str | None) -> None:
    """Write radio cue sheets (cue.txt and cue.csv) for built episodes.

    Programme, segment, duration, parts, in- and out-cue, loudness; one CSV for all
    selected episodes in build/reports/<feed>/cue.csv.
    """
    for path in c.project.cue(*slugs, feed=feed_id):
        c.say(f"wrote {path}")


@click.command("transcript")
@click.argument("slug")
@click.option("--lines", "shown", type=click.IntRange(0, 10_000), default=5, show_default=True,
              help="How many kept lines to print.")
@pass_ctx
def transcript_cmd(c: Context, slug: str, shown: int) -> None:
    """Show what the drop rules remove from an episode's plain-text transcripts, without building.

    Prints every dropped line (and the rule that drops it: drop_lines, drop_until,
    drop_matching) and the first kept lines, each numbered as drop_lines counts: lines
    that hold text, blank lines skipped. Copy those numbers into drop_lines.
    """
    from toolkit.config.episode import load_episode
    from toolkit.config.show import display
    from toolkit.model import TranscriptFormat
    from toolkit.text import transcript
    episode = load_episode(c.root, slug, None)  # type: ignore[arg-type]  # no feed needed
    if not episode.transcripts:
        raise PodkitError("lists no [[transcripts]]", path=display(episode.path, c.root),
                          field="transcripts")
    for src in episode.transcripts:
        shown_path = display(src.path, c.root)
        if src.format is not TranscriptFormat.TEXT:
            c.say(f"{shown_path}: {src.format.value}: drop rules do not apply; nothing dropped")
            continue
        p = transcript.preview_drops(src)
        rules = [f"drop_lines = {list(src.drop_lines)}"]
        if src.drop_until is not None:
            rules.append(f"drop_until = {src.drop_until!r}")
        if src.drop_matching:
            rules.append(f"drop_matching = {list(src.drop_matching)}")
        c.say(f"{shown_path}: {', '.join(rules)}")
        c.say(f"dropped ({len(p.dropped)}; numbers count lines of text, as drop_lines does):")
        for n, rule, text in p.dropped:
            c.say(f"  {n:>5}  {_short(text)}" + (f"  ({rule})" if rule != "drop_lines" else ""))
        c.say(f"kept (first {min(shown, len(p.kept))} of {len(p.kept)} lines of text):")
        for n, text in p.kept[:shown]:
            c.say(f"  {n:>5}  {_short(text)}")


@click.command("import")
@click.argument("source", metavar="FEED_URL|FILE")
@click.option("--base-url", required=True, metavar="URL",
              help="Where the show will be served from now on (https://, a folder URL).")
@click.option("--feed", "feed_id", help="The feed id to create (default: from the title).")
@click.option("--feed-url", metavar="URL", help="The new feed's URL (default: BASE_URL/feed.xml).")
@click.option("--no-media", is_flag=True,
              help="Metadata first (transcripts and chapters too); a later run without it "
                   "downloads the audio that is missing.")
@click.option("--allow-private-hosts", is_flag=True,
              help="Let the feed and its links be on this machine or a private network "
                   "(refused by default; link-local addresses always are).")
@pass_ctx
def import_cmd(c: Context, source: str, base_url: str, feed_id: str | None,
               feed_url: str | None, no_media: bool, allow_private_hosts: bool) -> None:
    """Move an existing podcast in from another host: feeds/ and episodes/ from its feed.

    Every item keeps its guid and date; MP3s are published as they are (no second
    encode). Re-running updates and never duplicates. A private feed's token (query or
    user:password@) is never stored: pass the full URL again on each run. See docs/migrate.md.
    """
    tty = sys.stderr.isatty() and not c.quiet

    def progress(what: str, done: int, total: int | None) -> None:
        if tty:
            of = f" of {total / 1e6:.1f}" if total else ""
            click.echo(f"\r{what}: {done / 1e6:.1f}{of} MB\033[K", err=True, nl=False)

    report = c.project.import_feed(source, base_url=base_url, feed_id=feed_id,
                                   feed_url=feed_url, media=not no_media, progress=progress,
                                   allow_private_hosts=allow_private_hosts)
    if tty:
        click.echo("\r\033[K", err=True, nl=False)
    for line in report.downloaded:
        c.say(f"downloaded {line}")
    c.say(f"{report.feed_file.relative_to(c.root) if report.feed_file.is_relative_to(c.root) else report.feed_file}: "
          f"{len(report.created)} episode(s) created, {len(report.updated)} updated, "
          f"{len(report.unchanged)} unchanged"
          + (f", {len(report.waiting)} waiting for their audio (run again without --no-media)"
             if report.waiting else ""))
    for note in report.notes:
        click.echo(f"not mapped: {note}", err=True)
    for failure in report.failures:
        click.echo(f"failed {failure}", err=True)
    for name in report.support_files:
        c.say(f"wrote {name} (the targets `podkit init` writes)")
    for item in report.left:
        click.echo(f"left {item}", err=True)
    if report.left:
        raise PodkitError(f"{len(report.left)} item(s) of the old feed not imported (listed "
                          "above): move them by hand or they vanish for subscribers")
    if report.failures:
        raise PodkitError(f"{len(report.failures)} download(s) failed; run the same command "
                          "again to resume them")


def _short(text: str, width: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 3] + "..."

COMMANDS = [validate, publish, preview, loudness, cue, transcript_cmd, import_cmd]
