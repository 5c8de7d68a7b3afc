"""The notes and page steps: show notes (feed text, notes.md) and the episode's pages."""
from __future__ import annotations

from toolkit.steps.base import Context, Step, copy_addressed
from toolkit.store.parts import ClipsPart, NotesPart, PagePart


class Notes(Step):
    """The episode's notes as the feed carries them; notes.md into the reports."""

    name = "notes"
    part_type = NotesPart
    topic = "notes"

    def run(self, ctx: Context) -> NotesPart:
        """Render the notes (description, content:encoded) and write notes.md."""
        from toolkit.site import notes     # jinja2, markdown: only a build needs them
        ctx.progress("pages", 0.0)
        ep_notes = notes.episode_notes(ctx.episode, ctx.part("chapters").chapters,
                                       ctx.show.templates, page_url=ctx.page_url)
        notes.write_notes(ctx.reports, ep_notes)
        return NotesPart(description_html=ep_notes.description_html,
                         content_html=ep_notes.content_html)


class Page(Step):
    """The episode page and its embeddable player; the episode art beside them."""

    name = "page"
    part_type = PagePart
    topic = "page"

    def run(self, ctx: Context) -> PagePart:
        """Write index.html and embed.html into the work folder."""
        from toolkit.site import notes
        from toolkit.site.pages import page_data, page_notes
        show, episode, folder = ctx.show, ctx.episode, ctx.folder
        art_url = folder.url(copy_addressed(episode.art, ctx.work, "art")) if episode.art else None
        chapters, tagged = ctx.part("chapters"), ctx.part("tags")
        notes_html = page_notes(episode, ctx.page_url)
        page = page_data(show, episode, tagged.audio, chapters.chapters,
                         ctx.part("transcripts").files, chapters.file, tagged.extra,
                         notes_html, ctx.transcript_html, art_url or ctx.job.cover,
                         ctx.part("clips", ClipsPart()).clips)
        notes.write_page(ctx.work / "index.html", notes.render_episode_page(show, page, show.templates))
        notes.write_page(ctx.work / "embed.html", notes.render_embed(show, page, show.templates))
        return PagePart(url=ctx.page_url, image_url=art_url, cover=art_url or ctx.job.cover,
                        notes_html=notes_html)
