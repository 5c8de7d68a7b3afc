"""The chapters step: the episode's own chapters, else one per titled part, as JSON."""
from __future__ import annotations

from toolkit.errors import MediaError
from toolkit.fsutil import write_text
from toolkit.standards import artwork
from toolkit.standards.contenttypes import CHAPTERS_TYPE
from toolkit.steps.base import Context, Step, copy_addressed
from toolkit.store.parts import ChaptersPart


class Chapters(Step):
    """Resolve the chapters and write chapters.json (with their pictures) when there are any."""

    name = "chapters"
    part_type = ChaptersPart
    topic = "chapters"

    def run(self, ctx: Context) -> ChaptersPart:
        """The chapters as published, and their file."""
        from toolkit.text import chapters
        episode, folder = ctx.episode, ctx.folder
        chs = chapters.resolve(episode, ctx.audio.chapters, ctx.audio.duration)
        if not chs:
            return ChaptersPart()

        def img_url(img: str) -> str:
            for problem in artwork.format_problems(episode.dir / img):  # a clear message
                i = next(i for i, c in enumerate(episode.chapters) if c.img == img)
                raise MediaError(problem, path=episode.path, field=f"chapters[{i}].img")
            return folder.url(copy_addressed(episode.dir / img, ctx.work, "chapter"))
        path = ctx.work / "chapters.json"
        write_text(path, chapters.to_json(chs, base_url_for_img=img_url))
        return ChaptersPart(chapters=chs, file=folder.media(path, CHAPTERS_TYPE))
