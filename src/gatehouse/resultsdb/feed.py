"""The engine's results feed: our own pipelines, stored in the results model as they run.

:class:`PipelineResultsFeed` implements the engine's
:class:`~gatehouse.engine.observer.ResultsReporter` port. The engine calls it
after each transition is persisted; it maps the run with
:mod:`gatehouse.core.pipeline_results` (pipeline → checkout, job attempt →
build) and adds the tests of each job's ``artifacts:reports:junit`` files,
read from the artifact store and parsed by
:func:`gatehouse.ingest.parse_job_report` (a report the job left unreadable
becomes one MISS test, never an exception).

Each finished attempt is one submission (one transaction): its build, its
tests, the superseded attempt's ``retried`` mark, and the incidents triage
found in the attempt's failures (the known issues are compiled once, at the
first failure: a green run pays nothing for triage). A failed build gets the tail of its job log as
``log_excerpt`` (the end is where a failure shows; KCIDB's 16 KiB cap).

Reporting must never stop a pipeline: a storage error or anything else that
goes wrong here is handed to ``on_problem`` (the command prints it) and the
run goes on.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gatehouse.core import pipeline_results as mapping
from gatehouse.core.model import PlannedJob, PlannedPipeline
from gatehouse.core.ports import (
    ArtifactStore,
    JobOutcome,
    JobRecord,
    PipelineRecord,
    ResultsStore,
)
from gatehouse.core.result_context import ResultContext
from gatehouse.core.results import Build, Checkout, Incident, ResultsBatch, Test
from gatehouse.resultsdb.contexts import runner_tags

if TYPE_CHECKING:  # triage is imported at the first failure, not at start-up
    from gatehouse.core.triage import Triager

EXCERPT_CHARS = 16384
# A job log line starts with its UTC time and a kind letter (docs/executors.md).
_LOG_PREFIX = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z [A-Z] ", re.MULTILINE)


def log_tail(path: str | None, limit: int = EXCERPT_CHARS) -> str | None:
    """The last lines of a job log as text, without the per-line prefixes."""
    if not path:
        return None
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 2 * limit))
            data = handle.read()
    except OSError:
        return None
    if size > len(data):
        data = data.partition(b"\n")[2]  # drop the cut first line
    text = _LOG_PREFIX.sub(b"", data).decode("utf-8", "replace").rstrip("\n")
    return text[-limit:] or None


@dataclass
class PipelineResultsFeed:
    """Stores a pipeline run in the results model; the engine's ResultsReporter."""

    results: ResultsStore
    blobs: ArtifactStore | None
    architecture: str | None = None
    working_tree: bool = False
    triager: Triager | None = None  # default: compiled from the store at the first failure
    clock: Callable[[], float] = time.time
    on_problem: Callable[[str], None] | None = None
    _attempts: dict[tuple[int, str], int] = field(default_factory=dict)
    _compiled: bool = False
    _checkouts: dict[int, Checkout] = field(default_factory=dict)

    # ------------------------------------------------------------------ the port

    def pipeline_started(self, record: PipelineRecord, pipeline: PlannedPipeline) -> None:
        checkout = mapping.pipeline_checkout(
            record, pipeline.context, working_tree=self.working_tree
        )
        self._checkouts[record.id] = checkout
        self._submit(ResultsBatch(checkouts=(checkout,)), f"pipeline {record.id}")

    def job_finished(self, record: JobRecord, job: PlannedJob, outcome: JobOutcome | None) -> None:
        where = f"job {record.name} (#{record.id})"
        try:
            batch = self._job_batch(record, job, outcome)
        except Exception as exc:  # noqa: BLE001 - reporting must not stop the pipeline
            self._problem(f"{where}: {type(exc).__name__}: {exc}")
            return
        self._submit(batch, where)

    def pipeline_finished(self, record: PipelineRecord) -> None:
        checkout = mapping.finished_checkout(record)
        self._submit(ResultsBatch(checkouts=(checkout,)), f"pipeline {record.id}")

    # ------------------------------------------------------------------ parts

    def _job_batch(
        self, record: JobRecord, job: PlannedJob, outcome: JobOutcome | None
    ) -> ResultsBatch:
        build = mapping.job_build(
            record,
            tags=tuple(job.tags),
            architecture=self.architecture,
            log_url=_file_url(record.log_path),
            log_excerpt=log_tail(record.log_path),
        )
        builds = [build]
        previous = self._attempts.get((record.pipeline_id, record.name))
        if previous is not None and previous != record.id:
            builds.append(mapping.superseded_build(previous, record.pipeline_id))
        self._attempts[(record.pipeline_id, record.name)] = record.id
        tests = list(self._report_tests(record, outcome))
        incidents = self._triage(build, tests, self._checkouts.get(record.pipeline_id))
        return ResultsBatch(builds=tuple(builds), tests=tuple(tests), incidents=incidents)

    def _report_tests(self, record: JobRecord, outcome: JobOutcome | None) -> Iterable[Test]:
        if outcome is None or self.blobs is None:
            return
        from gatehouse.ingest import parse_job_report

        manifest = outcome.reports.get("junit")
        for file in manifest.files if manifest is not None else ():
            with self.blobs.open(file.blob) as stream:
                batch = parse_job_report(
                    stream,
                    name=file.path,
                    job_id=record.id,
                    on_warning=lambda d: self._problem(d.render()),
                )
            yield from batch.tests

    def _known_issues(self) -> Triager | None:
        """The triager, compiled once, when first needed: a green run pays nothing for it."""
        if self.triager is None and not self._compiled:
            self._compiled = True
            if self.results.list_issues():
                from datetime import UTC, datetime

                from gatehouse.resultsdb.known import compile_triager

                self.triager, problems = compile_triager(
                    self.results, now=datetime.fromtimestamp(self.clock(), UTC)
                )
                for d in problems:
                    self._problem(d.render())
        return self.triager

    def _triage(
        self, build: Build, tests: list[Test], checkout: Checkout | None
    ) -> tuple[Incident, ...]:
        failing_build = build.status is not None and build.status.is_failure
        if not failing_build and not any(t.status and t.status.is_failure for t in tests):
            return ()
        triager = self._known_issues()
        if triager is None:
            return ()
        tags = runner_tags(build)
        failing: list[ResultContext] = [
            ResultContext(build=build, test=t, checkout=checkout, tags=tags)
            for t in tests
            if t.status is not None and t.status.is_failure
        ]
        if failing_build:
            failing.append(ResultContext(build=build, checkout=checkout, tags=tags))
        return triager.triage(failing).incidents

    def _submit(self, batch: ResultsBatch, where: str) -> None:
        try:
            self.results.submit(batch, received_at=self.clock())
        except Exception as exc:  # noqa: BLE001 - reporting must not stop the pipeline
            self._problem(f"{where}: results not stored: {exc}")

    def _problem(self, message: str) -> None:
        if self.on_problem is not None:
            self.on_problem(message)


def _file_url(path: str | None) -> str | None:
    return None if not path else "file://" + os.path.abspath(path)
