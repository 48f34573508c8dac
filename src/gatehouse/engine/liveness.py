"""Telling a running pipeline from one whose process died.

While a :class:`~gatehouse.engine.runner.PipelineRunner` runs pipeline N it
holds an exclusive ``flock`` on ``<data dir>/locks/pipeline-N.lock``; the
kernel drops the lock when the process ends, however it ends. A pipeline the
store says is still running but whose lock is free was interrupted (killed,
machine rebooted): :func:`settle_interrupted` records it, and its unfinished
jobs, as canceled with the reason ``interrupted``, so that every later reader
sees what really finished.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

from gatehouse.core.ports import JobStatus, PipelineRecord, PipelineStatus, RunStore

_UNFINISHED = (JobStatus.CREATED, JobStatus.PENDING, JobStatus.RUNNING)


def _lock_path(data_dir: Path, pipeline_id: int) -> Path:
    return data_dir / "locks" / f"pipeline-{pipeline_id}.lock"


@contextlib.contextmanager
def hold(data_dir: Path, pipeline_id: int) -> Iterator[None]:
    """Hold pipeline ``pipeline_id``'s liveness lock for the duration of the block."""
    path = _lock_path(data_dir, pipeline_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def is_alive(data_dir: Path, pipeline_id: int) -> bool:
    """Whether some process still holds the pipeline's lock."""
    path = _lock_path(data_dir, pipeline_id)
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


# A pipeline younger than this may be between its creation and its lock.
_GRACE = 10.0


def settle_interrupted(
    store: RunStore,
    data_dir: Path,
    project_dir: str,
    *,
    now: float | None = None,
    grace: float = _GRACE,
) -> list[PipelineRecord]:
    """Record pipelines left running by a dead process as canceled; return them."""
    settled = []
    when = time.time() if now is None else now
    for pipeline in store.list_pipelines(limit=50, project_dir=project_dir):
        if pipeline.status not in (PipelineStatus.RUNNING, PipelineStatus.CREATED):
            continue
        if when - pipeline.created_at < grace:
            continue
        if is_alive(data_dir, pipeline.id):
            continue
        for job in store.list_jobs(pipeline.id):
            if job.status in _UNFINISHED:
                store.update_job(
                    job.id,
                    status=JobStatus.CANCELED,
                    failure_reason="interrupted",
                    finished_at=when,
                )
        settled.append(
            store.update_pipeline(pipeline.id, status=PipelineStatus.CANCELED, finished_at=when)
        )
    return settled


# ---------------------------------------------------------------------------- cancel requests
#
# Another process (``gatehouse cancel``, or a newer pipeline auto-canceling an
# older one) asks a running pipeline to cancel by writing
# ``<data dir>/cancel/pipeline-N.json``; the runner polls for it
# (``run.cancel_poll``) and deletes it once applied. ``{"jobs": null}`` cancels
# the whole pipeline; ``{"jobs": [names]}`` only those jobs.


def _cancel_path(data_dir: Path, pipeline_id: int) -> Path:
    return data_dir / "cancel" / f"pipeline-{pipeline_id}.json"


def request_cancel(
    data_dir: Path, pipeline_id: int, jobs: list[str] | None = None, *, force: bool = False
) -> None:
    """Ask the process running pipeline ``pipeline_id`` to cancel it (or some of its jobs)."""
    path = _cancel_path(data_dir, pipeline_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"jobs": jobs, "force": force}))
    os.replace(tmp, path)


def take_cancel_request(data_dir: Path, pipeline_id: int) -> tuple[list[str] | None, bool] | None:
    """The pending request for a pipeline, removed once read: (jobs or None for all, force)."""
    path = _cancel_path(data_dir, pipeline_id)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        data = {"jobs": None, "force": False}
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    jobs = data.get("jobs")
    return (list(jobs) if isinstance(jobs, list) else None), bool(data.get("force"))
