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


@dataclass(frozen=True, slots=True)
class Graph:
    """The selected jobs and their predecessors, computed once per run rather than per step."""

    jobs: tuple[PlannedJob, ...]
    preds: Mapping[str, tuple[str, ...]]
    by_name: Mapping[str, PlannedJob]

    @classmethod
    def of(cls, pipeline: PlannedPipeline, selected: Collection[str]) -> Graph:
        chosen = tuple(j for j in pipeline.jobs if j.name in selected)
        preds: dict[str, tuple[str, ...]] = {}
        earlier: list[str] = []
        stage_jobs: list[str] = []
        stage = None
        for job in sorted(chosen, key=lambda j: j.stage_index):
            if job.stage_index != stage:
                earlier.extend(stage_jobs)
                stage_jobs = []
                stage = job.stage_index
            if job.needs is not None:
                preds[job.name] = tuple(n.job for n in job.needs if n.job in selected)
            else:
                preds[job.name] = tuple(earlier)
            stage_jobs.append(job.name)
        return cls(chosen, preds, {j.name: j for j in chosen})


def advance(
    pipeline: PlannedPipeline,
    states: Mapping[str, JobState],
    scope: RunScope,
    graph: Graph | None = None,
) -> Advance:
    """Decide what happens next to every job still in ``created``.

    Pass the run's :class:`Graph` (built once) to keep each step linear in the
    number of jobs and edges; without it, it is built here.
    """
    graph = graph or Graph.of(pipeline, scope.selected)
    by_name = graph.by_name
    default = JobState()
    failed_somewhere = scope.fail_fast and any(
        states.get(n, default).status is JobStatus.FAILED for n in by_name
    )
    start: list[str] = []
    skip: list[tuple[str, str]] = []
    manual: list[tuple[str, str]] = []
    delay: list[tuple[str, str]] = []
    for job in graph.jobs:
        name = job.name
        state = states.get(name, default)
        if state.status is not JobStatus.CREATED:
            continue
        if failed_somewhere:
            skip.append((name, "skipped: --fail-fast after a failure"))
            continue
        preds = graph.preds[name]
        pred_states = [states.get(p, default).status for p in preds]
        if any(not (s.is_final or s is JobStatus.MANUAL) for s in pred_states):
            continue
        blocked = [
            p
            for p, s in zip(preds, pred_states, strict=True)
            if s is JobStatus.MANUAL and (by_name[p].blocking_manual or job.needs is not None)
        ]
        if blocked:
            skip.append(
                (name, f"blocked: waits for manual job {blocked[0]!r}, which was not started")
            )
            continue
        any_failed = any(s in _FAILED for s in pred_states)
        if job.needs is None:
            # In stage order a skipped earlier job does not stop later stages.
            all_ok = not any_failed
        else:
            all_ok = all(s in _OK or s is JobStatus.MANUAL for s in pred_states)
        when = job.when
        if when == "always":
            start.append(name)
        elif when == "on_failure":
            if any_failed:
                start.append(name)
            else:
                skip.append((name, "skipped: when: on_failure, and nothing failed"))
        elif not all_ok:
            first = next((p for p, s in zip(preds, pred_states, strict=True) if s not in _OK), None)
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
