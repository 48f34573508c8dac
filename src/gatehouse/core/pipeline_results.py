"""Our own pipelines in the results model: pipeline → checkout, job attempt → build.

The mapping (documented in ``docs/results.md``), pure so that it is tested
without running anything:

- a pipeline is a **checkout** ``gatehouse:p<pipeline id>`` of origin
  ``gatehouse``: the commit (none outside git), the branch (or the tag, in
  ``git_commit_tags``), the tree = the project's name, the start time; when
  it finishes, ``origin_builds_finish_time`` and ``origin_tests_finish_time``
  (KCIDB's latency markers) and ``misc.pipeline_status``;
- a job attempt is a **build** ``gatehouse:j<job id>`` (a retry is a new
  job record, so a new build; the superseded one gets ``misc.retried``).
  ``config_name`` is the job's name, so two jobs running the same tests stay
  apart in reports.

Build status, from the attempt's end (KCIDB's three layers: FAIL blames the
code, ERROR the test, MISS the harness):

========================================  ===========================================
attempt                                   status
========================================  ===========================================
success                                   PASS
failed: script failure (non-zero exit)    FAIL
failed: job timeout                       ERROR (as meson's TIMEOUT), ``misc.failure_reason``
failed: runner, scheduler, missing        MISS: the harness failed, not the code
artifacts (unmet prerequisites), API,
data integrity, stuck, unknown
warning (failed, ``allow_failure``)       the same as failed, with ``misc.allowed_failure``
canceled                                  no status (unknown): a person stopped it
========================================  ===========================================

``allow_failure`` decides whether the pipeline fails; it does not change
what happened. The results database keeps the truth, so "allowed to fail"
never becomes "nobody looks": an allowed failure is a FAIL like any other in
triage, compare and flakes, and only ``misc.allowed_failure`` says that the
pipeline did not gate on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from gatehouse.core.model import PipelineContext
from gatehouse.core.ports import JobRecord, JobStatus, PipelineRecord
from gatehouse.core.results import MISC_TAGS, Build, Checkout, Status

ORIGIN = "gatehouse"
_NO_COMMIT = "0" * 40

# failure_reason (GitLab's retry:when words) -> status, for failed attempts.
_FAILURE_STATUS: Mapping[str, Status] = {
    "script_failure": Status.FAIL,
    "job_execution_timeout": Status.ERROR,
    "runner_system_failure": Status.MISS,
    "unmet_prerequisites": Status.MISS,
    "stuck_or_timeout_failure": Status.MISS,
    "api_failure": Status.MISS,
    "scheduler_failure": Status.MISS,
    "data_integrity_failure": Status.MISS,
    "unknown_failure": Status.MISS,
}


def checkout_id(pipeline_id: int) -> str:
    return f"{ORIGIN}:p{pipeline_id}"


def build_id(job_id: int) -> str:
    return f"{ORIGIN}:j{job_id}"


def iso(seconds: float | None) -> str | None:
    """A time as KCIDB writes it (ISO 8601, UTC)."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def pipeline_checkout(
    record: PipelineRecord, context: PipelineContext, *, working_tree: bool
) -> Checkout:
    """The checkout a pipeline is, at its start.

    ``working_tree``: the jobs ran on the working tree (uncommitted changes
    included), so the commit is only where the tree started from; reports
    that compare commits should know (``misc.working_tree``).
    """
    sha = record.sha if record.sha and record.sha != _NO_COMMIT else None
    misc: dict[str, Any] = {
        "pipeline_id": record.id,
        "event": record.event,
        "source": record.source,
        "project_dir": record.project_dir,
    }
    if working_tree:
        misc["working_tree"] = True
    title = context.commit_message.partition("\n")[0] if context.commit_message else None
    return Checkout(
        id=checkout_id(record.id),
        origin=ORIGIN,
        tree_name=context.project_name,
        git_commit_hash=sha,
        git_commit_message=title or None,
        git_repository_branch=None if context.is_tag else record.ref,
        git_commit_tags=(record.ref,) if context.is_tag else None,
        start_time=iso(record.started_at or record.created_at),
        misc=misc,
    )


def finished_checkout(record: PipelineRecord) -> Checkout:
    """What a finished pipeline adds to its checkout (merged by id onto the first one)."""
    finished = iso(record.finished_at)
    return Checkout(
        id=checkout_id(record.id),
        origin=ORIGIN,
        origin_builds_finish_time=finished,
        origin_tests_finish_time=finished,
        misc={"pipeline_status": record.status.value},
    )


def build_status(record: JobRecord) -> Status | None:
    """The build status of an attempt that ended (see the table in the module doc)."""
    if record.status is JobStatus.SUCCESS:
        return Status.PASS
    if record.status in (JobStatus.FAILED, JobStatus.WARNING):
        reason = record.failure_reason or "script_failure"
        return _FAILURE_STATUS.get(reason, Status.MISS)
    return None


def job_build(
    record: JobRecord,
    *,
    tags: tuple[str, ...] = (),
    architecture: str | None = None,
    log_url: str | None = None,
    log_excerpt: str | None = None,
) -> Build:
    """The build a finished job attempt is."""
    status = build_status(record)
    duration = (
        record.finished_at - record.started_at
        if record.finished_at is not None and record.started_at is not None
        else None
    )
    misc: dict[str, Any] = {
        "job_id": record.id,
        "job": record.name,
        "stage": record.stage,
        "attempt": record.attempt,
        "job_status": record.status.value,
    }
    if record.exit_code is not None:
        misc["exit_code"] = record.exit_code
    if record.failure_reason:
        misc["failure_reason"] = record.failure_reason
    if record.allow_failure:
        misc["allowed_failure"] = True
    if tags:
        misc[MISC_TAGS] = list(tags)
    if record.coverage is not None:
        misc["coverage"] = record.coverage
    if record.log_truncated:
        misc["log_truncated"] = True
    comment = f"{record.name}: {record.status.value}"
    if record.failure_reason and status is not Status.PASS:
        comment += f" ({record.failure_reason})"
    return Build(
        id=build_id(record.id),
        origin=ORIGIN,
        checkout_id=checkout_id(record.pipeline_id),
        status=status,
        architecture=architecture,
        config_name=record.name,
        start_time=iso(record.started_at),
        duration=duration,
        log_url=log_url,
        log_excerpt=log_excerpt if status is not None and status.is_failure else None,
        comment=comment,
        misc=misc,
    )


def superseded_build(job_id: int, pipeline_id: int) -> Build:
    """What a retry adds to the attempt it replaces (merged by id)."""
    return Build(
        id=build_id(job_id),
        origin=ORIGIN,
        checkout_id=checkout_id(pipeline_id),
        misc={"retried": True},
    )
