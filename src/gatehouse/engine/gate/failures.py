"""What a gate build's failure was: the voting jobs that failed, their tests, a line of their log.

The gate only blames *voting* jobs: a job with ``allow_failure`` ends as
``warning`` and never fails an item (the migration-test debate's point:
"allowed to fail" stays visible in the pipeline, it just does not gate).
For each failed voting job the failure names:

- the failing tests, where the results database has them (the tests of the
  job's build ``gatehouse:j<job id>``, docs/results.md; superseded attempts
  and expected failures do not count, :func:`gatehouse.core.results.verdict_status`);
- a detail for people: the last line the job printed (its commands' echo
  lines skipped), else gatehouse's verdict line;
- for the flake oracle, a longer excerpt of the log's end (:func:`log_excerpt`),
  which known-issue log patterns are matched against.

A pipeline that did not pass although no voting job failed (a blocking
manual job, nothing to run, canceled by something other than the gate) is a
failure of the pseudo-job ``(pipeline)``, so nothing lands untested.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from gatehouse.core.gate import JobFailure
from gatehouse.core.ports import JobRecord, JobStatus, PipelineRecord, PipelineStatus, ResultsStore
from gatehouse.core.results import Status, verdict_status

LogTail = Callable[[str], Sequence[tuple[str, str]]]
"""A job log's last lines as ``(kind, text)``: kind ``O`` for the job's output, ``G`` for gatehouse's."""

PIPELINE = "(pipeline)"
EXCERPT_LIMIT = 16 * 1024  # KCIDB's log_excerpt is at most 16 KiB
_FAILING = frozenset({Status.FAIL, Status.ERROR})


def job_build_id(job_id: int) -> str:
    """The results-model build of one of our job attempts (docs/results.md)."""
    return f"gatehouse:j{job_id}"


def failing_tests(results: ResultsStore, job_id: int) -> tuple[str, ...]:
    names = [
        test.path or test.id
        for test in results.tests_of_build(job_build_id(job_id))
        if verdict_status(test) in _FAILING
    ]
    return tuple(dict.fromkeys(names))


def failure_detail(lines: Sequence[tuple[str, str]]) -> str:
    """The last thing the job said, for a one-line summary."""
    for kind, text in reversed(lines):
        line = text.strip()
        if kind == "O" and line and not line.startswith("$ "):
            return line[:200]
    for kind, text in reversed(lines):
        if kind == "G" and text.strip():
            return text.strip()[:200]
    return ""


def log_excerpt(lines: Sequence[tuple[str, str]], limit: int = EXCERPT_LIMIT) -> str:
    """The end of the job's output, at most ``limit`` characters, whole lines."""
    kept: list[str] = []
    size = 0
    for _, text in reversed(lines):
        size += len(text) + 1
        if size > limit:
            break
        kept.append(text)
    return "\n".join(reversed(kept))


def job_failure(job: JobRecord, *, results: ResultsStore, read_log: LogTail) -> JobFailure:
    lines = read_log(job.log_path) if job.log_path else ()
    detail = failure_detail(lines)
    if not detail:
        detail = f"{job.failure_reason or 'failed'}" + (
            f" (exit code {job.exit_code})" if job.exit_code is not None else ""
        )
    return JobFailure(job.name, failing_tests(results, job.id), detail)


def voting_failures(jobs: Sequence[JobRecord]) -> list[JobRecord]:
    """The latest attempts of voting jobs that failed, in the pipeline's order."""
    return [
        job
        for job in jobs
        if not job.retried and job.status is JobStatus.FAILED and not job.allow_failure
    ]


def pipeline_failures(
    record: PipelineRecord,
    jobs: Sequence[JobRecord],
    *,
    results: ResultsStore,
    read_log: LogTail,
) -> tuple[JobFailure, ...]:
    """The failures of a finished gate pipeline; empty when it passed."""
    failed = [job_failure(job, results=results, read_log=read_log) for job in voting_failures(jobs)]
    if failed:
        return tuple(failed)
    if record.status is PipelineStatus.SUCCESS:
        return ()
    waiting = [j.name for j in jobs if j.status is JobStatus.MANUAL and not j.allow_failure]
    why = f"pipeline {record.status.value}"
    if waiting:
        why += f": blocking manual job(s) {', '.join(waiting)} were not run"
    return (JobFailure(PIPELINE, (), why),)
