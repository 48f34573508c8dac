"""GitLab's auto-cancel of redundant pipelines: what a newer commit's pipeline cancels.

When a pipeline starts for a new commit on a ref, GitLab cancels the ref's
older pipelines that are still running, according to
``workflow:auto_cancel:on_new_commit``:

- ``conservative`` (the default): cancel the whole older pipeline, unless a
  job with ``interruptible: false`` has already started (a deployment may be
  half done); jobs not yet started count as interruptible;
- ``interruptible``: cancel only the older pipeline's unfinished jobs that are
  ``interruptible: true``; the others go on;
- ``none``: cancel nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MODES = ("conservative", "interruptible", "none")
_STARTED = ("running", "success", "failed", "warning", "canceled")
_UNFINISHED = ("created", "pending", "running", "manual")


@dataclass(frozen=True, slots=True)
class OlderJob:
    name: str
    interruptible: bool
    status: str  # a JobStatus value


@dataclass(frozen=True, slots=True)
class AutoCancel:
    whole: bool = False  # cancel the whole pipeline
    jobs: tuple[str, ...] = ()  # or only these jobs
    reason: str = ""

    @property
    def cancels(self) -> bool:
        return self.whole or bool(self.jobs)


def auto_cancel(mode: str, jobs: Sequence[OlderJob]) -> AutoCancel:
    """What to cancel in an older running pipeline of the same ref."""
    if mode == "none":
        return AutoCancel(reason="workflow:auto_cancel:on_new_commit is none")
    if mode == "interruptible":
        names = tuple(j.name for j in jobs if j.interruptible and j.status in _UNFINISHED)
        return AutoCancel(jobs=names, reason="its interruptible jobs are redundant")
    started = [j.name for j in jobs if not j.interruptible and j.status in _STARTED]
    if started:
        return AutoCancel(reason=f"non-interruptible job {started[0]!r} has started")
    return AutoCancel(whole=True, reason="a newer commit's pipeline supersedes it")
