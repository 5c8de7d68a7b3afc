"""Tags in the audio files (mutagen): ID3 on MP3, iTunes atoms on MP4, pictures for both."""
