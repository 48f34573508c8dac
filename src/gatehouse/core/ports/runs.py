"""The engine's state port: :class:`RunStore` (pipelines, job attempts, artifact sets)."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from gatehouse.core.ports.jobs import ArtifactManifest


class JobStatus(enum.Enum):
    """A job attempt's state, in GitLab's words plus ``warning`` for allowed failures."""

    CREATED = "created"  # planned, waiting for its needs
    PENDING = "pending"  # ready, queued for an executor
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    WARNING = "warning"  # failed, but allowed to fail
    CANCELED = "canceled"
    SKIPPED = "skipped"  # not run: its `when` did not hold after earlier results
    MANUAL = "manual"  # waits for a person to start it

    @property
    def is_final(self) -> bool:
        return self in _FINAL


_FINAL = frozenset(
    {JobStatus.SUCCESS, JobStatus.FAILED, JobStatus.WARNING, JobStatus.CANCELED, JobStatus.SKIPPED}
)


class PipelineStatus(enum.Enum):
    CREATED = "created"
    RUNNING = "running"
    SUCCESS = "success"  # includes "passed with warnings"
    FAILED = "failed"
    CANCELED = "canceled"
    SKIPPED = "skipped"  # nothing to run
    BLOCKED = "blocked"  # waits on a blocking manual job

    @property
    def is_final(self) -> bool:
        return self in {
            PipelineStatus.SUCCESS,
            PipelineStatus.FAILED,
            PipelineStatus.CANCELED,
            PipelineStatus.SKIPPED,
        }


@dataclass(frozen=True, slots=True)
class PipelineRecord:
    id: int
    project_dir: str
    ref: str
    sha: str | None
    event: str
    status: PipelineStatus
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    source: str = "local"  # local | gate | api …
    plan: Mapping[str, Any] | None = None  # the planned pipeline as JSON (see docs/plan-json.md)
    variables: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class JobRecord:
    """One attempt of one job. Retries are new records; attempts are never overwritten."""

    id: int
    pipeline_id: int
    name: str
    stage: str
    attempt: int
    status: JobStatus
    allow_failure: bool = False
    when: str = "on_success"
    executor: str | None = None
    created_at: float | None = None
    queued_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    exit_code: int | None = None
    failure_reason: str | None = None
    log_path: str | None = None
    log_bytes: int = 0
    log_truncated: bool = False
    coverage: float | None = None
    retried: bool = False  # a later attempt replaced this one


@dataclass(frozen=True, slots=True)
class ArtifactSetRecord:
    job_id: int
    kind: str  # "archive" for artifacts:paths, or a report type such as "junit"
    name: str
    expire_at: float | None
    manifest: ArtifactManifest


class RunStore(Protocol):
    """Engine state: pipelines, job attempts and their artifacts.

    Every call is its own transaction; transitions are persisted as they
    happen, so a restarted process can tell what finished.

    ``update_pipeline`` and ``update_job`` accept only the fields that change
    during a run (listed in :data:`PIPELINE_MUTABLE_FIELDS` and
    :data:`JOB_MUTABLE_FIELDS`); naming any other field is a ``TypeError``
    (a programming error), and an unknown id is a ``StorageError``.
    """

    def create_pipeline(
        self,
        *,
        project_dir: str,
        ref: str,
        sha: str | None,
        event: str,
        created_at: float,
        source: str = "local",
        plan: Mapping[str, Any] | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> PipelineRecord: ...

    def update_pipeline(self, pipeline_id: int, **changes: Any) -> PipelineRecord: ...

    def get_pipeline(self, pipeline_id: int) -> PipelineRecord | None: ...

    def list_pipelines(
        self, *, limit: int = 20, project_dir: str | None = None
    ) -> Sequence[PipelineRecord]:
        """The newest pipelines first."""
        ...

    def create_job(
        self,
        *,
        pipeline_id: int,
        name: str,
        stage: str,
        attempt: int = 1,
        status: JobStatus = JobStatus.CREATED,
        allow_failure: bool = False,
        when: str = "on_success",
        created_at: float | None = None,
    ) -> JobRecord:
        """Record one attempt; creating attempt N marks earlier attempts ``retried``.

        An attempt that already exists (same pipeline, name and attempt) is
        never overwritten: that is a ``StorageError``, as is an unknown pipeline.
        """
        ...

    def update_job(self, job_id: int, **changes: Any) -> JobRecord: ...

    def get_job(self, job_id: int) -> JobRecord | None: ...

    def list_jobs(self, pipeline_id: int, *, include_retried: bool = True) -> Sequence[JobRecord]:
        """The pipeline's attempts in creation order."""
        ...

    def add_artifacts(self, record: ArtifactSetRecord) -> None:
        """Store one artifact set; a second set of the same (job, kind) is a ``StorageError``."""
        ...

    def list_artifacts(self, job_id: int) -> Sequence[ArtifactSetRecord]: ...

    def expired_artifacts(self, now: float) -> Sequence[ArtifactSetRecord]:
        """Sets whose ``expire_at`` is at or before ``now`` (never those without expiry)."""
        ...

    def delete_artifacts(self, job_id: int, kind: str) -> None: ...

    def referenced_blobs(self) -> set[str]:
        """Every blob sha256 still referenced by a stored artifact set (for gc)."""
        ...


PIPELINE_MUTABLE_FIELDS = frozenset(
    {"status", "sha", "started_at", "finished_at", "plan", "variables"}
)
JOB_MUTABLE_FIELDS = frozenset(
    {
        "status",
        "executor",
        "queued_at",
        "started_at",
        "finished_at",
        "exit_code",
        "failure_reason",
        "log_path",
        "log_bytes",
        "log_truncated",
        "coverage",
        "retried",
    }
)
