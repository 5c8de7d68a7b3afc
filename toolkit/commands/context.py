"""What every podkit command shares: the global options' context and small formatting."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from toolkit import redact

if TYPE_CHECKING:
    from toolkit.api import Project
    from toolkit.cluster import ClusterTarget


class Context:
    """What the global options set, handed to every command."""

    def __init__(self, root: Path, verbose: int, quiet: bool) -> None:
        self.root = root
        self.verbose = verbose
        self.quiet = quiet
        self._project: Project | None = None

    @property
    def project(self) -> Project:
        """The show folder as the library sees it (toolkit.Project), made on first use."""
        if self._project is None:
            from toolkit.api import Project
            self._project = Project(self.root)
        return self._project

    def say(self, message: str = "", **style: object) -> None:
        """Print to stdout unless -q."""
        if not self.quiet:
            click.secho(redact.scrub(message), **style)  # type: ignore[arg-type]


pass_ctx = click.make_pass_decorator(Context)


def cluster_target(executor: str | None, scheduler: str | None,
                   worker_root: str | None) -> ClusterTarget | None:
    """Where `build`/`release` run their episodes: None (local processes) or a Dask cluster.

    The options win; PODKIT_DASK_SCHEDULER (and PODKIT_DASK_WORKER_ROOT) set the cluster
    for CI and cron, and `--executor local` overrides them.
    """
    from toolkit import environ
    if executor == "local":
        return None
    address = scheduler or environ.dask_scheduler()
    if executor == "dask" and not address:
        raise click.UsageError("--executor dask needs --scheduler ADDRESS "
                               "(or PODKIT_DASK_SCHEDULER)")
    if not address:
        return None
    from toolkit.cluster import ClusterTarget
    return ClusterTarget(address, worker_root or environ.dask_worker_root())
