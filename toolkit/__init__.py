"""podkit: from raw recording to a normalized, tagged MP3 in listeners' podcast apps."""

__version__ = "0.1.0"
