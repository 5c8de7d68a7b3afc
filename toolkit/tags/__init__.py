"""Tags in the audio files (mutagen): ID3 on MP3, iTunes atoms on MP4, Vorbis comments on
Opus (tagging.py picks by format), pictures for all of them."""
