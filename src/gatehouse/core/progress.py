"""How a running pipeline progresses: GitLab's job-ordering and ``when`` semantics, pure.

Given the planned pipeline and the state of every job, :func:`advance` says
which jobs start now, which are skipped (and why), which wait for a person
(``manual``) and which wait for a timer (``delayed``). The engine calls it
after every event; it never looks at a clock or a process.

A job is *ready* once all its predecessors are final:

- without ``needs``: every job of an earlier stage (stage order);
- with ``needs``: only the needed jobs (a DAG; ``needs: []`` starts at once).

Predecessors that count as *succeeded*: success, a failure that is allowed
(``warning``), and a non-blocking manual job nobody started (GitLab counts
those as success for later stages). A failed or canceled job counts as
*failed*; a skipped one as neither. Then ``when`` decides:

============  ===========================================================
on_success    run when no predecessor failed (and none was skipped, for ``needs``)
on_failure    run when at least one predecessor failed
always        run
manual        like on_success, then wait for a person (``--manual`` starts it)
delayed       like on_success, then wait ``start_in``
============  ===========================================================

A *blocking* manual job (``allow_failure: false``, e.g. from ``rules: - when:
manual``) that nobody starts holds every later stage: those jobs are skipped
as "blocked" and the pipeline ends ``blocked``. A job that ``needs`` a manual
job nobody started is skipped likewise.

Retries (:func:`should_retry`) follow GitLab's auto-retry: within ``max``,
when the failure reason is in ``retry:when`` (``always`` matches any) AND,
if ``retry:exit_codes`` is given, the exit code is in it. A canceled attempt
is never retried.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from gatehouse.core.model import PlannedJob, PlannedPipeline, Retry
from gatehouse.core.ports import JobStatus, PipelineStatus

_OK = frozenset({JobStatus.SUCCESS, JobStatus.WARNING})
_FAILED = frozenset({JobStatus.FAILED, JobStatus.CANCELED})


@dataclass(frozen=True, slots=True)
class JobState:
    """What the engine knows about one job (its latest attempt)."""

    status: JobStatus = JobStatus.CREATED
    attempt: int = 1
    exit_code: int | None = None
    failure_reason: str | None = None
    note: str | None = None  # why it was skipped, or what it waits for


@dataclass(frozen=True, slots=True)
class Advance:
    """The decisions for one step."""

    start: tuple[str, ...] = ()
    skip: tuple[tuple[str, str], ...] = ()
    manual: tuple[tuple[str, str], ...] = ()
    delay: tuple[tuple[str, str], ...] = ()  # (job, start_in)


@dataclass(frozen=True, slots=True)
class RunScope:
    """Which jobs this run covers and which manual jobs a person asked to start."""

    selected: frozenset[str]
    start_manual: frozenset[str] = frozenset()
    fail_fast: bool = False
    delays_elapsed: frozenset[str] = field(default_factory=frozenset)


def predecessors(
    job: PlannedJob, pipeline: PlannedPipeline, selected: Collection[str]
) -> list[str]:
    if job.needs is not None:
        return [n.job for n in job.needs if n.job in selected]
    return [j.name for j in pipeline.jobs if j.stage_index < job.stage_index and j.name in selected]


def _is_final_for_successors(state: JobState) -> bool:
    if state.status.is_final:
        return True
    # A non-blocking manual job nobody started lets later stages go on.
    return state.status is JobStatus.MANUAL


def advance(pipeline: PlannedPipeline, states: Mapping[str, JobState], scope: RunScope) -> Advance:
    """Decide what happens next to every job still in ``created``."""
    by_name = {j.name: j for j in pipeline.jobs}
    failed_somewhere = any(
        states[n].status is JobStatus.FAILED for n in scope.selected if n in states
    )
    start: list[str] = []
    skip: list[tuple[str, str]] = []
    manual: list[tuple[str, str]] = []
    delay: list[tuple[str, str]] = []
    for job in pipeline.jobs:
        name = job.name
        if name not in scope.selected:
            continue
        state = states.get(name, JobState())
        if state.status is not JobStatus.CREATED:
            continue
        if scope.fail_fast and failed_somewhere:
            skip.append((name, "skipped: --fail-fast after a failure"))
            continue
        preds = predecessors(job, pipeline, scope.selected)
        pending = [p for p in preds if not _is_final_for_successors(states.get(p, JobState()))]
        if pending:
            continue
        blocked = [
            p
            for p in preds
            if states.get(p, JobState()).status is JobStatus.MANUAL
            and (by_name[p].blocking_manual or job.needs is not None)
        ]
        if blocked:
            skip.append(
                (name, f"blocked: waits for manual job {blocked[0]!r}, which was not started")
            )
            continue
        pred_states = [states.get(p, JobState()).status for p in preds]
        any_failed = any(s in _FAILED for s in pred_states)
        all_ok = all(s in _OK or s is JobStatus.MANUAL for s in pred_states)
        if job.needs is None:
            # In stage order a skipped earlier job does not stop later stages.
            all_ok = not any_failed
        when = job.when
        if when == "always":
            start.append(name)
        elif when == "on_failure":
            if any_failed:
                start.append(name)
            else:
                skip.append((name, "skipped: when: on_failure, and nothing failed"))
        elif not all_ok:
            first = next((p for p in preds if states.get(p, JobState()).status not in _OK), None)
            skip.append(
                (
                    name,
                    f"skipped: {first!r} did not succeed"
                    if first
                    else "skipped: an earlier job failed",
                )
            )
        elif when == "manual":
            if name in scope.start_manual:
                start.append(name)
            else:
                manual.append((name, "manual: start it with --manual or by naming it"))
        elif when == "delayed" and name not in scope.delays_elapsed:
            delay.append((name, job.start_in or "0"))
        else:
            start.append(name)
    return Advance(tuple(start), tuple(skip), tuple(manual), tuple(delay))


def should_retry(
    retry: Retry, attempt: int, failure_reason: str | None, exit_code: int | None
) -> bool:
    """GitLab's auto-retry rule for a failed attempt number ``attempt`` (1-based)."""
    if failure_reason is None or failure_reason == "canceled":
        return False
    if attempt > retry.max:
        return False
    if "always" not in retry.when and failure_reason not in retry.when:
        return False
    return not (retry.exit_codes and (exit_code is None or exit_code not in retry.exit_codes))


def final_status(job: PlannedJob, exit_code: int | None, failure_reason: str | None) -> JobStatus:
    """The status of a finished attempt: success, warning (allowed failure), failed or canceled."""
    if failure_reason is None and exit_code == 0:
        return JobStatus.SUCCESS
    if failure_reason == "canceled":
        return JobStatus.CANCELED
    if job.allow_failure.exit_codes:
        allowed = exit_code is not None and exit_code in job.allow_failure.exit_codes
    else:
        allowed = job.allow_failure.allowed
    return JobStatus.WARNING if allowed else JobStatus.FAILED


def pipeline_status(
    pipeline: PlannedPipeline,
    states: Mapping[str, JobState],
    selected: Collection[str],
    *,
    canceled: bool = False,
) -> PipelineStatus:
    """Roll the jobs' states up into the pipeline's."""
    relevant = [states.get(j.name, JobState()) for j in pipeline.jobs if j.name in selected]
    if not relevant:
        return PipelineStatus.SKIPPED
    if any(s.status in (JobStatus.CREATED, JobStatus.PENDING, JobStatus.RUNNING) for s in relevant):
        return PipelineStatus.RUNNING
    if canceled or any(s.status is JobStatus.CANCELED for s in relevant):
        return PipelineStatus.CANCELED
    if any(s.status is JobStatus.FAILED for s in relevant):
        return PipelineStatus.FAILED
    blocking = [
        j
        for j in pipeline.jobs
        if j.name in selected
        and j.blocking_manual
        and states.get(j.name, JobState()).status is JobStatus.MANUAL
    ]
    if blocking:
        return PipelineStatus.BLOCKED
    if all(s.status in (JobStatus.SKIPPED, JobStatus.MANUAL) for s in relevant):
        return PipelineStatus.SKIPPED
    return PipelineStatus.SUCCESS
