"""Ports: the small typed interfaces through which the core and the engine reach the world.

Each port has a real adapter (processes, git, SQLite/PostgreSQL, the file
system) and an in-memory one that ships in the package and passes the same
contract tests (``tests/contracts/``). The data exchanged across ports are
frozen dataclasses defined here, so adapters never import each other.

Ports defined here:

- :class:`ProjectFiles`  read a project's files (working tree, a git commit, memory)
- :class:`Executor`      run one job attempt in a clean workspace
- :class:`ArtifactStore` content-addressed blobs
- :class:`RunStore`      pipelines, jobs, attempts, artifacts, logs (engine state)
- :class:`ResultsStore`  the results model (checkouts, builds, tests, issues, incidents)
- :class:`Clock`         time, so that scenario tests can use a fake one
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

from gatehouse.core.results import ResultsBatch

# --------------------------------------------------------------------------- files


class ProjectFiles(Protocol):
    """A project's files, addressed by repository-relative POSIX paths (no ``./``)."""

    def read_text(self, path: str) -> str | None:
        """The file's text, or ``None`` when it does not exist."""
        ...

    def list_files(self) -> Sequence[str]:
        """Every file of the project (used for wildcards, ``rules:exists``)."""
        ...


# --------------------------------------------------------------------------- clock


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch (wall clock)."""
        ...

    def monotonic(self) -> float:
        """A monotonic time for measuring durations."""
        ...


# --------------------------------------------------------------------------- jobs


class FailureReason(enum.Enum):
    """Why an attempt failed, in GitLab's ``retry:when`` vocabulary."""

    SCRIPT_FAILURE = "script_failure"
    JOB_EXECUTION_TIMEOUT = "job_execution_timeout"
    RUNNER_SYSTEM_FAILURE = "runner_system_failure"
    UNMET_PREREQUISITES = "unmet_prerequisites"  # e.g. a needed artifact is missing
    STUCK_OR_TIMEOUT_FAILURE = "stuck_or_timeout_failure"
    API_FAILURE = "api_failure"
    SCHEDULER_FAILURE = "scheduler_failure"
    DATA_INTEGRITY_FAILURE = "data_integrity_failure"
    UNKNOWN_FAILURE = "unknown_failure"
    CANCELED = "canceled"  # not a retry class: the attempt was canceled


@dataclass(frozen=True, slots=True)
class BlobRef:
    """A stored blob: its SHA-256 (hex) and size in bytes."""

    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class ArtifactFile:
    """One file of an artifact set: repository-relative path, blob, POSIX mode."""

    path: str
    blob: BlobRef
    mode: int = 0o644


@dataclass(frozen=True, slots=True)
class ArtifactManifest:
    """The files one job attempt produced as artifacts (or as a report)."""

    files: tuple[ArtifactFile, ...] = ()

    @property
    def size(self) -> int:
        return sum(f.blob.size for f in self.files)


@dataclass(frozen=True, slots=True)
class ArtifactSpec:
    """What to collect after a job: GitLab's ``artifacts:`` resolved for one job."""

    paths: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    untracked: bool = False
    when: str = "on_success"  # on_success | on_failure | always
    name: str = "artifacts"
    expire_in: float | None = None  # seconds; None = never expires
    reports: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # e.g. {"junit": (...)}


@dataclass(frozen=True, slots=True)
class WorkspaceSource:
    """Where a job's workspace comes from.

    ``commit`` ``None`` means the working tree as it is now, including
    uncommitted changes to tracked files; otherwise the tree of that commit.

    ``snapshot_dir`` names a pipeline-wide snapshot of that tree taken once
    (``gatehouse.executors.workspace.Workspaces.snapshot``) so that every job
    of a pipeline sees the same files even while the user edits the working
    tree. It is a path on the machine that runs the executor; ``None`` makes
    the executor copy the tree for this one job.
    """

    project_dir: str
    commit: str | None = None
    snapshot_dir: str | None = None


@dataclass(frozen=True, slots=True)
class JobRequest:
    """Everything an executor needs to run one attempt of one job.

    ``env`` is the complete environment of the job's shell (predefined ``CI_*``
    variables, pipeline, global and job variables, already expanded);
    ``scripts`` is ``before_script`` followed by ``script``, run in one shell;
    ``after_script`` runs in a new shell with its own timeout.

    ``network`` is honoured by executors that can isolate the network (the
    sandbox): ``False`` (the default) means no network; the engine sets it from
    the job variable ``GATEHOUSE_SANDBOX_NETWORK``. ``coverage_regex`` is
    GitLab's ``coverage:`` (``/regex/`` or a bare regex): the last matching log
    line wins, then the first number in the match.
    """

    attempt_id: str  # unique per attempt, e.g. "12/345" (pipeline id / job id)
    job_name: str
    scripts: tuple[str, ...]
    after_script: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    masked: frozenset[str] = frozenset()
    timeout: float = 3600.0
    after_script_timeout: float = 300.0
    source: WorkspaceSource = field(default_factory=lambda: WorkspaceSource("."))
    artifacts_in: tuple[ArtifactManifest, ...] = ()
    artifacts_out: ArtifactSpec | None = None
    network: bool = False
    shell: str = "bash"
    log_path: str = ""
    log_limit: int = 4 * 1024 * 1024
    coverage_regex: str | None = None


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """What happened to one attempt. A failed job is a result, never an exception."""

    exit_code: int | None
    failure_reason: FailureReason | None
    started_at: float
    finished_at: float
    artifacts: ArtifactManifest | None = None
    reports: Mapping[str, ArtifactManifest] = field(default_factory=dict)
    log_bytes: int = 0
    log_truncated: bool = False
    coverage: float | None = None

    @property
    def succeeded(self) -> bool:
        return self.failure_reason is None and self.exit_code == 0


class CancelToken(Protocol):
    def is_set(self) -> bool: ...

    async def wait(self) -> Any: ...


class Executor(Protocol):
    """Runs one job attempt; owns its workspace and processes, and cleans up."""

    name: str

    async def run(self, request: JobRequest, cancel: CancelToken) -> JobOutcome:
        """Run to completion, timeout or cancellation; never raise for a failed job."""
        ...


# --------------------------------------------------------------------------- artifacts


class ArtifactStore(Protocol):
    """Content-addressed blobs: identical content is stored once.

    ``open`` and ``materialize`` raise :class:`gatehouse.errors.StorageError`
    for a blob that is not stored.
    """

    def put_path(self, path: str) -> BlobRef:
        """Store a file's content (streamed, never whole in memory)."""
        ...

    def put_stream(self, stream: IO[bytes]) -> BlobRef: ...

    def adopt(self, path: str) -> BlobRef:
        """Store a file the caller is about to discard, and remove it.

        The fast path for collecting artifacts from a workspace that will be
        deleted: a store on the same file system moves the file in after
        hashing it instead of copying it. ``path`` no longer exists afterwards.
        """
        ...

    def open(self, blob: BlobRef) -> IO[bytes]: ...

    def materialize(self, blob: BlobRef, dest: str, mode: int = 0o644) -> None:
        """Write the blob to ``dest`` as a private copy the job may modify."""
        ...

    def exists(self, blob: BlobRef) -> bool: ...

    def delete(self, sha256: str) -> None: ...

    def list_blobs(self) -> Sequence[BlobRef]: ...


# --------------------------------------------------------------------------- storage


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
    ) -> Sequence[PipelineRecord]: ...

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
    ) -> JobRecord: ...

    def update_job(self, job_id: int, **changes: Any) -> JobRecord: ...

    def get_job(self, job_id: int) -> JobRecord | None: ...

    def list_jobs(
        self, pipeline_id: int, *, include_retried: bool = True
    ) -> Sequence[JobRecord]: ...

    def add_artifacts(self, record: ArtifactSetRecord) -> None: ...

    def list_artifacts(self, job_id: int) -> Sequence[ArtifactSetRecord]: ...

    def expired_artifacts(self, now: float) -> Sequence[ArtifactSetRecord]: ...

    def delete_artifacts(self, job_id: int, kind: str) -> None: ...

    def referenced_blobs(self) -> set[str]:
        """Every blob sha256 still referenced by a stored artifact set (for gc)."""
        ...


class ResultsStore(Protocol):
    """The results model, stored with merge-by-ID semantics.

    ``submit`` is one transaction: either the whole batch is stored or nothing.
    """

    def submit(self, batch: ResultsBatch, *, received_at: float) -> None: ...
