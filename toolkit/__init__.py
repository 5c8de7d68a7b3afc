"""podkit: from raw recording to a normalized, tagged MP3 in listeners' podcast apps.

The library API is `toolkit.Project` (see docs/api.md); the `podkit` command is a thin
layer over the same functions.
"""

from toolkit import environ as _environ

__version__ = "0.1.0"

# Before anything imports numpy (see environ.single_threaded_blas for why).
_environ.single_threaded_blas()

__all__ = ["BuildResult", "Project", "__version__"]


def __getattr__(name: str) -> object:
    # Imported on first use: `import toolkit` (every CLI start) stays light.
    if name in ("Project", "BuildResult"):
        from toolkit import api
        return getattr(api, name)
    raise AttributeError(f"module 'toolkit' has no attribute {name!r}")
