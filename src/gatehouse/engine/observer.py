"""Observers: how the engine tells the outside (a terminal, a web page, a test) what happens.

The engine calls these hooks synchronously from its loop, after the change
is persisted; they must be quick and must not raise.
"""

from __future__ import annotations

from typing import Protocol

from gatehouse.core.model import PlannedJob, PlannedPipeline
from gatehouse.core.ports import JobOutcome, JobRecord, PipelineRecord


class Observer(Protocol):
    def pipeline_started(self, record: PipelineRecord, jobs: list[PlannedJob]) -> None: ...

    def job_started(self, job: PlannedJob, record: JobRecord) -> None: ...

    def job_finished(self, job: PlannedJob, record: JobRecord, note: str | None) -> None: ...

    def job_note(self, job: PlannedJob, note: str) -> None: ...

    def pipeline_finished(self, record: PipelineRecord) -> None: ...


class ResultsReporter(Protocol):
    """Feeds a run into the results model (pipeline → checkout, job → build, reports → tests).

    Called by the engine after each transition is persisted; failures to
    report are the reporter's to handle (they must not stop the pipeline).
    """

    def pipeline_started(self, record: PipelineRecord, pipeline: PlannedPipeline) -> None: ...

    def job_finished(
        self, record: JobRecord, job: PlannedJob, outcome: JobOutcome | None
    ) -> None: ...

    def pipeline_finished(self, record: PipelineRecord) -> None: ...


class NullObserver:
    """Ignores everything (library use, tests)."""

    def pipeline_started(self, record: PipelineRecord, jobs: list[PlannedJob]) -> None:
        pass

    def job_started(self, job: PlannedJob, record: JobRecord) -> None:
        pass

    def job_finished(self, job: PlannedJob, record: JobRecord, note: str | None) -> None:
        pass

    def job_note(self, job: PlannedJob, note: str) -> None:
        pass

    def pipeline_finished(self, record: PipelineRecord) -> None:
        pass


class RecordingObserver(NullObserver):
    """Keeps every call, in order (tests)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    def job_started(self, job: PlannedJob, record: JobRecord) -> None:
        self.events.append(("started", job.name, str(record.attempt)))

    def job_finished(self, job: PlannedJob, record: JobRecord, note: str | None) -> None:
        self.events.append(("finished", job.name, record.status.value))

    def job_note(self, job: PlannedJob, note: str) -> None:
        self.events.append(("note", job.name, note))
