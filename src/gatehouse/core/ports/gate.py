"""Ports of the gate: its audit log and state store, the repository it merges in, the flake oracle."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


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
