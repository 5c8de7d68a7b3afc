"""Text: transcripts in and out, chapters, forced alignment of plain-text transcripts."""
