"""Ports for running jobs: the executor, the blob store, the job queue, job reports.

The data crossing them: :class:`JobRequest` in, :class:`JobOutcome` out,
artifact manifests of content-addressed blobs, and queue events.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

from gatehouse.core.results import ResultsBatch


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


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One job attempt offered to workers; ``tags`` route it (a worker needs all of them)."""

    request: JobRequest
    tags: tuple[str, ...] = ()
    priority: int = 0


@dataclass(frozen=True, slots=True)
class WorkEvent:
    """What a worker reports about an attempt: ``started`` then ``finished`` (with the outcome)."""

    attempt_id: str
    kind: str  # "started" | "finished"
    at: float
    worker: str | None = None
    outcome: JobOutcome | None = None
    detail: str | None = None  # e.g. why a worker could not run the attempt


class JobQueue(Protocol):
    """Dispatch of job attempts to workers, and their reports back.

    The engine only ever talks to this port, so the in-process queue (the
    embedded default) and a broker-backed one are interchangeable.
    """

    async def submit(self, item: WorkItem) -> None: ...

    async def cancel(self, attempt_id: str, *, force: bool = False) -> None:
        """Cancel a queued or running attempt; it still reports ``finished`` (canceled)."""
        ...

    async def next_event(self) -> WorkEvent: ...

    async def close(self) -> None: ...


class JobReportParser(Protocol):
    """Turns one report file of one of our jobs (``artifacts:reports:junit``) into its tests.

    The tests hang off the job's build ``gatehouse:j<job id>``; a report the
    job left unreadable is a MISS test, never an exception (a failed job is a
    result). ``gatehouse.ingest.parse_job_report`` implements it; the engine
    gets it injected so that it never imports an adapter package.
    """

    def __call__(self, stream: IO[bytes], *, name: str, job_id: int) -> ResultsBatch: ...
