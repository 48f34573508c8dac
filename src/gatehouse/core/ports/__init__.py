"""Ports: the small typed interfaces through which the core and the engine reach the world.

Each port has a real adapter (processes, git, SQLite/PostgreSQL, the file
system) and an in-memory one that ships in the package and passes the same
contract tests (``tests/contracts/``). The data exchanged across ports are
frozen dataclasses defined beside them, so adapters never import each other.
One module per area (project, jobs, runs, results_store, gate, patterns);
this package re-exports every name.

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

from gatehouse.core.ports.gate import (
    AuditEntry,
    AuditLine,
    AuditLog,
    FlakeOracle,
    FlakeQuery,
    FlakeVerdict,
    GateBuildLink,
    GateRequest,
    GateStore,
    LandOutcome,
    LandResult,
    MergeConflict,
    MergeResult,
    Repository,
    StoredGate,
)
from gatehouse.core.ports.jobs import (
    ArtifactFile,
    ArtifactManifest,
    ArtifactSpec,
    ArtifactStore,
    BlobRef,
    CancelToken,
    Executor,
    FailureReason,
    JobOutcome,
    JobQueue,
    JobReportParser,
    JobRequest,
    WorkEvent,
    WorkItem,
    WorkspaceSource,
)
from gatehouse.core.ports.patterns import (
    PatternMatcher,
    PatternMatcherEngine,
)
from gatehouse.core.ports.project import (
    Clock,
    ProjectFiles,
)
from gatehouse.core.ports.results_store import (
    BuildRun,
    IncidentSighting,
    ResultsStore,
    ResultsTransaction,
    TestRun,
)
from gatehouse.core.ports.runs import (
    JOB_MUTABLE_FIELDS,
    PIPELINE_MUTABLE_FIELDS,
    ArtifactSetRecord,
    JobRecord,
    JobStatus,
    PipelineRecord,
    PipelineStatus,
    RunStore,
)

__all__ = [
    "JOB_MUTABLE_FIELDS",
    "PIPELINE_MUTABLE_FIELDS",
    "ArtifactFile",
    "ArtifactManifest",
    "ArtifactSetRecord",
    "ArtifactSpec",
    "ArtifactStore",
    "AuditEntry",
    "AuditLine",
    "AuditLog",
    "BlobRef",
    "BuildRun",
    "CancelToken",
    "Clock",
    "Executor",
    "FailureReason",
    "FlakeOracle",
    "FlakeQuery",
    "FlakeVerdict",
    "GateBuildLink",
    "GateRequest",
    "GateStore",
    "IncidentSighting",
    "JobOutcome",
    "JobQueue",
    "JobRecord",
    "JobReportParser",
    "JobRequest",
    "JobStatus",
    "LandOutcome",
    "LandResult",
    "MergeConflict",
    "MergeResult",
    "PatternMatcher",
    "PatternMatcherEngine",
    "PipelineRecord",
    "PipelineStatus",
    "ProjectFiles",
    "Repository",
    "ResultsStore",
    "ResultsTransaction",
    "RunStore",
    "StoredGate",
    "TestRun",
    "WorkEvent",
    "WorkItem",
    "WorkspaceSource",
]
