"""What people read: show notes and web pages (jinja2, markup), radio cue sheets."""
