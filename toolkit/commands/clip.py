"""`podkit clip`: a one-off video clip of a built episode (toolkit.clipping)."""
from __future__ import annotations

import click

from toolkit.commands.context import Context, pass_ctx
from toolkit.errors import PodkitError


def _seconds(text: str, option: str) -> float:
    """'83.5', '1:23.5' or '0:01:23' as seconds; a clear error naming the option."""
    from toolkit.config.tomlread import parse_time
    try:
        value = parse_time(float(text))
    except ValueError:
        value = parse_time(text)
    if value is None:
        raise PodkitError(f"{option} {text!r}: give seconds or [h:]mm:ss, e.g. 83.5 or 1:23.5")
    return value


@click.command()
@click.argument("slug")
@click.option("--start", required=True, help="Where the clip starts: seconds or [h:]mm:ss.")
@click.option("--duration", required=True, help="How long it runs (5 to 90 s).")
@click.option("--shape", type=click.Choice(["square", "vertical", "landscape"]),
              default="square", show_default=True,
              help="1080x1080, 1080x1920 (stories, shorts) or 1920x1080.")
@pass_ctx
def clip(c: Context, slug: str, start: str, duration: str, shape: str) -> None:
    """Render a video clip of a built episode: its art, titles, a moving waveform and
    word-timed captions, cut from the mastered MP3. Written to build/reports/<feed>/<slug>/;
    a clip to publish belongs in the episode's [[soundbites]].
    """
    out, captioned = c.project.clip(slug, _seconds(start, "--start"),
                                    _seconds(duration, "--duration"), shape=shape)
    c.say(f"wrote {out}" + ("" if captioned else " (no captions: no timed transcript covers it)"))


COMMANDS = (clip,)
