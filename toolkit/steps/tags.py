"""The tags step: tag a copy of each cached master; content-addressed names."""
from __future__ import annotations

import os
import shutil

from toolkit.model import MediaFile
from toolkit.standards import renditions
from toolkit.steps.base import Context, Step, link_or_copy
from toolkit.store.layout import media_name
from toolkit.store.parts import TaggedPart


class Tags(Step):
    """Every rendition tagged (ID3, MP4, Vorbis comments) and named by its hash."""

    name = "tags"
    part_type = TaggedPart
    topic = "tags"

    def run(self, ctx: Context) -> TaggedPart:
        """The published audio files, the MP3 first; the broadcast deliverable to the reports."""
        from toolkit.fsutil import sha256_file
        from toolkit.tags import tagging
        from toolkit.text import transcript
        ctx.progress("tagging", 0.0)
        show, episode, slug, work = ctx.show, ctx.episode, ctx.episode.slug, ctx.work
        texts = ctx.texts
        tag_args = dict(chapters=ctx.part("chapters").chapters, page_url=ctx.page_url,
                        feed_url=show.feed_url,
                        transcript_text=transcript.plain_text(texts[0]) if texts else None,
                        transcript_language=texts[0].language if texts else None)
        built: list[MediaFile] = []
        for kind, master_file in ctx.audio.files.items():   # the MP3 first: it is the enclosure
            fmt = renditions.get(kind)
            if not fmt.in_feed:  # the broadcast deliverable is for the station, not the feed
                link_or_copy(master_file, ctx.reports / f"{slug}-broadcast.{fmt.ext}")
                continue
            ext, mime = fmt.ext, fmt.mime
            if episode.keep_tags:  # passthrough, byte for byte: the listeners' file stays theirs
                from toolkit.audio.passthrough import delivered_format
                ext, mime = delivered_format(master_file, ext, mime)  # a video stays video/mp4
                tagged = work / f".tagging.{ext}"
                shutil.copyfile(master_file, tagged)
            else:
                tagged = tagging.tag_audio(master_file, show, episode,
                                           out=work / f".tagging.{fmt.ext}",
                                           v2_version=ctx.job.settings.id3_version, **tag_args)
            placed = work / media_name(slug, sha256_file(tagged), ext)
            os.replace(tagged, placed)
            built.append(ctx.folder.media(placed, mime, ctx.audio.duration))
        return TaggedPart(audio=built[0], extra=tuple(built[1:]))
