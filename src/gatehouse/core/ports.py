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
- :class:`ResultsTransaction` several result batches stored as one transaction
- :class:`Repository`    the gate's git: speculative merges, pins, compare-and-swap landing
- :class:`FlakeOracle`   the gate asks it whether a failed job is a known flake
- :class:`AuditLog`      the gate's append-only audit log
- :class:`GateStore`     the gate's persisted state, its inbox, its builds' pipelines
- :class:`JobReportParser` a job's test report (JUnit) → that job's tests
- :class:`Clock`         time, so that scenario tests can use a fake one
- :class:`PatternMatcherEngine` / :class:`PatternMatcher`  many log regexes scanned at once
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

from gatehouse.core.results import Build, Checkout, Incident, Issue, ResultsBatch, Test

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


@dataclass(frozen=True, slots=True)
class TestRun:
    """One stored test result with the context that flake detection and triage compare.

    ``received_at`` is when gatehouse last received the test (its
    ``_timestamp``); the rest comes from its build and checkout when those are
    known (KCIDB allows a test to arrive before them).
    """

    __test__ = False  # not a pytest test class

    test: Test
    received_at: float
    checkout_id: str | None = None
    git_commit_hash: str | None = None
    tree_name: str | None = None
    git_repository_branch: str | None = None
    architecture: str | None = None
    config_name: str | None = None
    compiler: str | None = None


@dataclass(frozen=True, slots=True)
class BuildRun:
    """One stored build with when it was received and its checkout's commit, tree and branch."""

    build: Build
    received_at: float
    git_commit_hash: str | None = None
    tree_name: str | None = None
    git_repository_branch: str | None = None


@dataclass(frozen=True, slots=True)
class IncidentSighting:
    """Where an incident was seen: the incident with its result's context (``issue show``).

    ``received_at`` is when gatehouse last received the incident (its
    ``_timestamp``); the rest comes from the test or build it points at and
    that build's checkout, when those are known.
    """

    incident: Incident
    received_at: float
    test_path: str | None = None
    origin: str | None = None
    checkout_id: str | None = None
    git_commit_hash: str | None = None
    tree_name: str | None = None
    git_repository_branch: str | None = None
    architecture: str | None = None


class ResultsTransaction(Protocol):
    """One open results transaction: several batches stored atomically, and reads that see them.

    Opened with :meth:`ResultsStore.transaction`; it commits when the
    ``with`` block ends and rolls back entirely if the block raises, so a
    file streamed in many batches is stored whole or not at all. Reads
    return the objects as stored now, merges of this transaction included.
    """

    def submit(self, batch: ResultsBatch) -> None: ...

    def get_tests(self, test_ids: Sequence[str]) -> Sequence[Test]: ...

    def get_builds(self, build_ids: Sequence[str]) -> Sequence[Build]: ...

    def get_checkouts(self, checkout_ids: Sequence[str]) -> Sequence[Checkout]: ...


class ResultsStore(Protocol):
    """The results model, stored with merge-by-ID semantics.

    ``submit`` is one transaction: either the whole batch is stored or nothing.
    Resubmitting an object merges it onto the stored one as
    :func:`gatehouse.core.results.merge_fields` does, ordered by
    ``received_at``: the later-received submission wins field by field, a
    field once known never reverts to unknown, and ``misc`` merges key by key.
    ``transaction`` stores several batches as one transaction (a large file
    streamed in chunks). Lists of objects by id come back in id order;
    unknown ids are left out.
    """

    def submit(self, batch: ResultsBatch, *, received_at: float) -> None: ...

    def transaction(self, *, received_at: float) -> AbstractContextManager[ResultsTransaction]:
        """A write transaction in which every submission is stamped ``received_at``."""
        ...

    def get_checkout(self, checkout_id: str) -> Checkout | None: ...

    def get_build(self, build_id: str) -> Build | None: ...

    def get_test(self, test_id: str) -> Test | None: ...

    def get_tests(self, test_ids: Sequence[str]) -> Sequence[Test]: ...

    def get_builds(self, build_ids: Sequence[str]) -> Sequence[Build]: ...

    def get_checkouts(self, checkout_ids: Sequence[str]) -> Sequence[Checkout]: ...

    def get_issue(self, issue_id: str, version: int | None = None) -> Issue | None:
        """One version of an issue; its latest version when ``version`` is ``None``."""
        ...

    def get_incident(self, incident_id: str) -> Incident | None: ...

    def checkouts_by_commit(self, git_commit_hash: str) -> Sequence[Checkout]: ...

    def checkouts_by_commit_prefix(self, prefix: str) -> Sequence[Checkout]:
        """Checkouts whose commit hash starts with ``prefix`` (lowercase hex), by id."""
        ...

    def builds_of_checkout(self, checkout_id: str) -> Sequence[Build]: ...

    def tests_of_build(self, build_id: str) -> Sequence[Test]: ...

    def tests_of_checkout(self, checkout_id: str) -> Sequence[Test]: ...

    def test_status_counts(self, build_ids: Sequence[str]) -> Mapping[str, Mapping[str, int]]:
        """Per build, how many of its tests have each status (``""``: unknown)."""
        ...

    def test_history(self, path: str, *, limit: int = 50) -> Sequence[TestRun]:
        """The last ``limit`` results of one test path, newest (last received) first."""
        ...

    def failing_tests_since(self, since: float) -> Sequence[TestRun]:
        """Tests with status FAIL, ERROR or MISS received at or after ``since``, oldest first."""
        ...

    def failing_builds_since(self, since: float) -> Sequence[BuildRun]:
        """Builds with status FAIL, ERROR or MISS received at or after ``since``, oldest first."""
        ...

    def list_issues(self) -> Sequence[Issue]:
        """The latest version of every issue, by id."""
        ...

    def issue_versions(self, issue_id: str) -> Sequence[Issue]:
        """Every stored version of one issue, oldest first."""
        ...

    def incidents_of_issue(
        self, issue_id: str, version: int | None = None
    ) -> Sequence[Incident]: ...

    def incidents_of_test(self, test_id: str) -> Sequence[Incident]: ...

    def incidents_of_build(self, build_id: str) -> Sequence[Incident]: ...

    def incident_sightings(self, issue_id: str) -> Sequence[IncidentSighting]:
        """The incidents of every version of an issue with their context, oldest first."""
        ...


# --------------------------------------------------------------------------- audit


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the gate's audit log: what a queue did to an item, and when."""

    id: int
    queue: str
    time: float
    action: str
    item: str
    detail: Mapping[str, Any] = field(default_factory=dict)


class AuditLog(Protocol):
    """An append-only log: entries are added, never changed or removed.

    Ids increase in append order, so ``after_id`` pages through the log and a
    follower can resume where it stopped.
    """

    def append_audit(
        self,
        *,
        queue: str,
        time: float,
        action: str,
        item: str,
        detail: Mapping[str, Any] | None = None,
    ) -> AuditEntry: ...

    def list_audit(
        self,
        *,
        queue: str | None = None,
        item: str | None = None,
        after_id: int = 0,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> Sequence[AuditEntry]: ...


# --------------------------------------------------------------------------- the gate's state


@dataclass(frozen=True, slots=True)
class StoredGate:
    """A queue's persisted state (the JSON of :mod:`gatehouse.core.gate.codec`) and its version."""

    queue: str
    version: int
    state: Mapping[str, Any]
    updated_at: float


@dataclass(frozen=True, slots=True)
class AuditLine:
    """An audit entry to append together with a saved state (ids are assigned on append)."""

    time: float
    action: str
    item: str
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GateRequest:
    """A request for a queue's driver, posted by another process (enqueue, dequeue, pause …).

    ``outcome`` is None while the request waits; the driver closes it with
    ``"accepted"`` or the reason it was refused.
    """

    id: int
    queue: str
    kind: str
    payload: Mapping[str, Any]
    posted_at: float
    done_at: float | None = None
    outcome: str | None = None

    @property
    def pending(self) -> bool:
        return self.done_at is None


@dataclass(frozen=True, slots=True)
class GateBuildLink:
    """Which pipeline ran one gate build of one queue item."""

    queue: str
    build: int
    item: int
    pipeline_id: int


class GateStore(Protocol):
    """The gate's persisted state, its inbox, and the pipelines of its builds.

    One process drives a queue; :meth:`save_gate` is a compare-and-swap on
    the stored version, so a second driver fails instead of overwriting.
    Saving the state, appending its audit lines (to the :class:`AuditLog`,
    under ``queue``) and closing the inbox requests it consumed is ONE
    transaction: after a crash either all of it happened or none.
    """

    def load_gate(self, queue: str) -> StoredGate | None: ...

    def save_gate(
        self,
        queue: str,
        state: Mapping[str, Any],
        *,
        version: int,
        at: float,
        audit: Sequence[AuditLine] = (),
        done: Sequence[tuple[int, str]] = (),
    ) -> int:
        """Replace the state stored at ``version`` (0: none yet); return the new version.

        ``done`` closes inbox requests as ``(id, outcome)``. A stored version
        other than ``version``, or a request that is not pending, is a
        :class:`gatehouse.errors.GateError` and nothing is written.
        """
        ...

    def post_request(
        self, queue: str, kind: str, payload: Mapping[str, Any], *, at: float
    ) -> GateRequest: ...

    def list_requests(
        self, queue: str, *, pending_only: bool = True, after_id: int = 0
    ) -> Sequence[GateRequest]:
        """Requests in the order they were posted."""
        ...

    def link_build(self, queue: str, *, build: int, item: int, pipeline_id: int) -> None:
        """Record that ``pipeline_id`` runs gate build ``build`` of ``item`` (idempotent)."""
        ...

    def build_links(
        self, queue: str, *, builds: Sequence[int] | None = None, item: int | None = None
    ) -> Sequence[GateBuildLink]:
        """Links of the queue (only those ``builds``, or that ``item``), oldest pipeline first."""
        ...


# --------------------------------------------------------------------------- job queue


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


# --------------------------------------------------------------------------- log patterns


class PatternMatcher(Protocol):
    """A compiled set of log patterns (see :mod:`gatehouse.core.pattern_syntax`).

    One matcher is used by one thread at a time (Hyperscan's scratch space is
    per thread); compile one per worker thread.
    """

    def scan(self, text: str | bytes) -> frozenset[str]:
        """The ids of every pattern that matches somewhere in ``text``.

        ``str`` is scanned as its UTF-8 bytes; ``^`` and ``$`` match at line
        boundaries.
        """
        ...


class PatternMatcherEngine(Protocol):
    """Compiles ``(id, pattern)`` pairs once into a :class:`PatternMatcher`.

    Every pattern is validated against the supported subset first; an
    unsupported one raises :class:`gatehouse.core.pattern_syntax.PatternError`
    (an :class:`gatehouse.errors.InputError`) naming the pattern and column.
    Adapters live in :mod:`gatehouse.matchers` (Hyperscan, RE2 sets, pure Python).
    """

    name: str

    def compile(self, patterns: Sequence[tuple[str, str]]) -> PatternMatcher: ...


# --------------------------------------------------------------------------- version control


@dataclass(frozen=True, slots=True)
class MergeConflict:
    """A speculative merge that did not apply: which change, which files."""

    change: str  # the commit whose merge conflicted
    files: tuple[str, ...]
    message: str = ""


@dataclass(frozen=True, slots=True)
class MergeResult:
    """A speculative merge: the commit and tree made, or the conflict met."""

    commit: str | None
    tree: str | None
    conflict: MergeConflict | None = None

    @property
    def conflicted(self) -> bool:
        return self.conflict is not None


class LandOutcome(enum.Enum):
    LANDED = "landed"  # the branch now points at exactly the tested commit
    TARGET_MOVED = "target-moved"  # the branch was not at the expected tip; nothing changed
    REFUSED = "refused"  # tree mismatch, not a fast-forward, a checkout in the way; nothing changed


@dataclass(frozen=True, slots=True)
class LandResult:
    outcome: LandOutcome
    tip: str | None  # the branch's tip after the attempt (None: the branch does not exist)
    reason: str = ""


class Repository(Protocol):
    """A git repository the gate merges in and lands on.

    Commits are full hex object names. Speculative merges never touch a
    working tree; their results are *pinned* under a private ref namespace
    (``refs/gatehouse/…``) so they survive garbage collection while in use,
    and released when done. A conflict is a result, never an exception;
    real git failures raise :class:`gatehouse.errors.VcsError`.
    """

    def resolve(self, ref: str) -> str:
        """The commit a branch, tag, ref or (abbreviated) commit name points at."""
        ...

    def branch_tip(self, branch: str) -> str | None:
        """The commit ``refs/heads/<branch>`` points at, or None when it does not exist."""
        ...

    def tree_of(self, commit: str) -> str: ...

    def is_ancestor(self, ancestor: str, descendant: str) -> bool: ...

    def merge_base(self, a: str, b: str) -> str | None: ...

    def changed_files(self, old: str, new: str) -> tuple[str, ...]:
        """Paths whose content differs between two commits, sorted."""
        ...

    def speculative_merge(
        self,
        base: str,
        changes: Sequence[str],
        *,
        pin: str,
        titles: Sequence[str] = (),
    ) -> MergeResult:
        """Merge each change commit in turn onto ``base``; pin the result as ``pin``.

        A change already contained in the result is skipped; a result that
        is an ancestor of the change fast-forwards to it; otherwise a merge
        commit (parents: result, change) is written. ``titles`` name the
        changes in merge messages.
        """
        ...

    def release(self, pin: str) -> None:
        """Drop a pin (no error when it does not exist)."""
        ...

    def pins(self) -> tuple[str, ...]: ...

    def land(
        self, branch: str, commit: str, *, expected_tip: str, expected_tree: str
    ) -> LandResult:
        """Fast-forward ``branch`` from exactly ``expected_tip`` to exactly ``commit``.

        Refused (nothing changed) when ``commit``'s tree is not
        ``expected_tree`` or it does not descend from ``expected_tip``;
        TARGET_MOVED (nothing changed) when the branch is elsewhere.
        Idempotent: a branch already at ``commit`` is LANDED, so a landing
        repeated after a crash does not look like a moved target.
        """
        ...


# --------------------------------------------------------------------------- flakes


@dataclass(frozen=True, slots=True)
class FlakeQuery:
    """A voting-job failure the gate wants classified before it blames the change."""

    job: str
    tests: tuple[str, ...]  # failing test names, when known
    detail: str  # a short failure excerpt, for known-issue patterns
    commit: str  # the speculative commit that was tested
    base: str  # the state it was tested on (tip or the item ahead's commit)
    changes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FlakeVerdict:
    flaky: bool
    evidence: str  # why: the known issue matched, the flake rate, the base also failing …
    issue: str | None = None  # the matched known issue, if any


class FlakeOracle(Protocol):
    """Answers the gate's ClassifyFailure: is this failure a known flake?

    The real oracle is the results database (known issues, flake history,
    the same job failing on the base); :class:`gatehouse.core.gate.known_flakes.KnownFlakes`
    is the in-memory one.
    """

    def classify(self, query: FlakeQuery) -> FlakeVerdict: ...


# --------------------------------------------------------------------------- job reports


class JobReportParser(Protocol):
    """Turns one report file of one of our jobs (``artifacts:reports:junit``) into its tests.

    The tests hang off the job's build ``gatehouse:j<job id>``; a report the
    job left unreadable is a MISS test, never an exception (a failed job is a
    result). ``gatehouse.ingest.parse_job_report`` implements it; the engine
    gets it injected so that it never imports an adapter package.
    """

    def __call__(self, stream: IO[bytes], *, name: str, job_id: int) -> ResultsBatch: ...
