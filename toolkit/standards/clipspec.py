"""What a shareable video clip may be: its length bounds and frame shapes (issue 27).

Shared by the episode loader (which refuses a soundbite that cannot become a clip) and the
clip renderer (toolkit.clips), so the two agree.
"""
from __future__ import annotations

#: Shortest and longest clip, seconds. 5 s is the shortest useful promo; 90 s is the
#: tightest of the common social platforms' limits for a feed video posted without a
#: long-upload path (Instagram reels 90 s; X 140 s; TikTok and YouTube Shorts 60 s to
#: 3 min), so a clip made by podkit posts everywhere.
CLIP_MIN_S = 5.0
CLIP_MAX_S = 90.0

#: Frame shapes and their sizes (pixels): square by default (feeds), vertical for stories
#: and shorts, landscape for video sites.
CLIP_SHAPES = {"square": (1080, 1080), "vertical": (1080, 1920), "landscape": (1920, 1080)}
