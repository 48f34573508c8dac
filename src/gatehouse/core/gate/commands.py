"""Commands: what the gate asks the driver to do. The state machine performs none of it.

The driver executes commands in the order given and answers some with
events (see :mod:`gatehouse.core.gate.events`):

====================================  ==============================================
command                               answered by
====================================  ==============================================
:class:`BuildSpeculativeCommit`       SpeculativeCommitBuilt / SpeculativeCommitConflicted
:class:`ReleaseSpeculativeCommit`     nothing (drop the temporary ref)
:class:`StartBuild`                   JobFailed (optional, early), then BuildFinished
:class:`CancelBuild`                  nothing (later answers for it are ignored)
:class:`ClassifyFailure`              FailureClassified
:class:`Land`                         Landed / TargetMoved / LandRefused
:class:`Report`                       nothing (tell the change's owner)
:class:`RecordAudit`                  nothing (append to the audit log)
====================================  ==============================================
"""

from __future__ import annotations

from dataclasses import dataclass

from gatehouse.core.gate.model import AuditRecord, Change, JobFailure, OutcomeKind


@dataclass(frozen=True, slots=True)
class BuildSpeculativeCommit:
    """Merge ``changes`` one after another onto ``base``; pin the result under ``request``."""

    request: int
    item: int
    base: str
    changes: tuple[Change, ...]


@dataclass(frozen=True, slots=True)
class ReleaseSpeculativeCommit:
    """The commit made for ``request`` is no longer needed: drop its temporary ref.

    ``item`` is None when the answer came after its item was re-tested or left.
    """

    request: int
    item: int | None
    commit: str


@dataclass(frozen=True, slots=True)
class StartBuild:
    """Run the pipeline (``jobs`` None) or only ``jobs`` (a flaky retry) on ``commit``.

    ``base`` is what the commit was built on and ``changes`` what it adds,
    so the driver can give the pipeline a merge-request context (changed
    files for ``rules: changes``).
    """

    build: int
    item: int
    commit: str
    base: str
    changes: tuple[Change, ...]
    jobs: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class CancelBuild:
    build: int
    item: int


@dataclass(frozen=True, slots=True)
class ClassifyFailure:
    """Ask the flake oracle whether this voting-job failure is a known flake."""

    request: int
    item: int
    build: int
    commit: str
    base: str
    changes: tuple[str, ...]
    failure: JobFailure


@dataclass(frozen=True, slots=True)
class Land:
    """Fast-forward ``target`` from exactly ``expected_tip`` to exactly ``commit``.

    Compare-and-swap: if the target is not at ``expected_tip`` nothing is
    changed and the answer is TargetMoved. ``tree`` is the tree that was
    tested; the driver refuses to land a commit with another tree.
    """

    request: int
    item: int
    target: str
    commit: str
    tree: str
    expected_tip: str
    changes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Report:
    """Tell the owners of ``changes`` how their item left the queue."""

    item: int
    changes: tuple[str, ...]
    outcome: OutcomeKind
    detail: str
    commit: str | None = None


@dataclass(frozen=True, slots=True)
class RecordAudit:
    record: AuditRecord


Command = (
    BuildSpeculativeCommit
    | ReleaseSpeculativeCommit
    | StartBuild
    | CancelBuild
    | ClassifyFailure
    | Land
    | Report
    | RecordAudit
)
