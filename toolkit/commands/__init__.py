"""The CLI's command groups beside cli.py: show life (init, status, release), tools, display."""
