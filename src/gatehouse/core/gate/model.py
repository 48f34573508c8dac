"""The gate's data: changes, queue items (cars), failures, outcomes and the state itself.

Everything here is a frozen dataclass so a state can be compared, stored and
replayed; :mod:`gatehouse.core.gate.machine` makes new states from old ones.
An item's *phase* is derived from its fields (:func:`phase`) rather than
stored, so the fields can never disagree with it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from gatehouse.core.gate.settings import GateSettings


class Priority(enum.Enum):
    """Where an enqueued change goes: the tail, after running builds, or the head."""

    NORMAL = "normal"
    EXPEDITE = "expedite"  # after the items whose builds already run: nothing restarts
    PREEMPT = "preempt"  # to the head: everything behind restarts, and the cost is recorded


@dataclass(frozen=True, slots=True)
class Change:
    """One change to merge: a person-facing id (branch, MR number) and its head commit.

    The commit is resolved once, at enqueue, so that a later push to the
    branch cannot change what the gate tests and lands.
    """

    id: str
    commit: str


@dataclass(frozen=True, slots=True)
class JobFailure:
    """A voting job that failed: its name, the failing tests if known, a short detail."""

    job: str
    tests: tuple[str, ...] = ()
    detail: str = ""

    def describe(self) -> str:
        text = f"job {self.job}"
        if self.tests:
            shown = ", ".join(self.tests[:3]) + (" …" if len(self.tests) > 3 else "")
            text += f" (tests {shown})"
        if self.detail:
            text += f": {self.detail}"
        return text


class FailureKind(enum.Enum):
    JOBS = "jobs"  # voting jobs failed on the item's speculative commit
    CONFLICT = "conflict"  # the speculative merge conflicted
    PRESUMED = "presumed"  # bisection: its prefix is one that already failed as a whole car


@dataclass(frozen=True, slots=True)
class Failure:
    """Why an item is failing, with the evidence a person needs to act on it."""

    kind: FailureKind
    jobs: tuple[JobFailure, ...] = ()
    files: tuple[str, ...] = ()  # conflicting files
    change: str | None = None  # the change that conflicted, when known
    evidence: tuple[str, ...] = ()  # flake classifications, the car a presumption came from …

    def describe(self) -> str:
        if self.kind is FailureKind.CONFLICT:
            who = f"{self.change} " if self.change else ""
            files = ", ".join(self.files) if self.files else "unknown files"
            return f"{who}conflicts with the changes ahead of it in {files}"
        jobs = "; ".join(job.describe() for job in self.jobs) or "the pipeline failed"
        if self.kind is FailureKind.PRESUMED:
            return f"presumed failing: {jobs}"
        return f"failed: {jobs}"


@dataclass(frozen=True, slots=True)
class Build:
    """A pipeline run on an item's speculative commit, or a retry of some of its jobs."""

    id: int
    jobs: tuple[str, ...] | None  # None: the whole pipeline; a tuple: a retry of these jobs
    started_at: float


@dataclass(frozen=True, slots=True)
class FailureCheck:
    """A voting-job failure under review: being classified, or being retried as a flake."""

    failure: JobFailure
    request: int | None = None  # the ClassifyFailure in flight
    retry_build: int | None = None  # the retry build in flight
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Presumption:
    """A bisection piece whose speculative state already failed as part of a whole car.

    ``changes`` is the set of changes on top of the target tip that the failed
    car was tested with (landed changes are removed as they land). While the
    piece's own stack is exactly that set it is failing without a build;
    as soon as the stack differs (something ahead failed) it is tested.
    """

    changes: frozenset[str]
    car: int
    failure: Failure


@dataclass(frozen=True, slots=True)
class Item:
    """One queue entry (a car): one or more changes tested and landed together.

    ``parent`` is the item this one is tested on top of (``None``: the target
    tip). ``base_commit`` is the commit the speculative merge was built on,
    recorded when it was requested, so a change of base is noticed and the
    item is re-tested.
    """

    id: int
    changes: tuple[Change, ...]
    priority: Priority
    enqueued_at: float
    parent: int | None = None
    spec_request: int | None = None  # the BuildSpeculativeCommit that made (or makes) `commit`
    base_commit: str | None = None
    commit: str | None = None
    tree: str | None = None
    builds: tuple[Build, ...] = ()
    pipeline_done: bool = False  # the whole-pipeline build of this generation finished
    checks: tuple[FailureCheck, ...] = ()
    seen: frozenset[tuple[int, str]] = frozenset()  # (build, job) failures already handled
    retries: tuple[tuple[str, int], ...] = ()  # flaky retries used per job in this generation
    failure: Failure | None = None
    presumed: Presumption | None = None
    landing: int | None = None  # the Land request in flight
    generation: int = 0  # how many times the item was reset (re-parented, re-tested)
    split_of: int | None = None  # the car this piece was split from

    @property
    def change_ids(self) -> tuple[str, ...]:
        return tuple(change.id for change in self.changes)

    @property
    def label(self) -> str:
        return "+".join(self.change_ids)

    @property
    def merging(self) -> bool:
        """Its speculative commit is being built."""
        return self.spec_request is not None and self.commit is None and self.failure is None

    @property
    def started(self) -> bool:
        """Anything was done for it in this generation (a merge, a build, a verdict)."""
        return (
            self.spec_request is not None
            or bool(self.builds)
            or self.failure is not None
            or self.landing is not None
        )

    @property
    def passed(self) -> bool:
        """Every voting job passed on its speculative commit (retries included)."""
        return (
            self.commit is not None
            and self.pipeline_done
            and self.failure is None
            and not self.checks
            and not self.builds
        )

    def retries_of(self, job: str) -> int:
        return dict(self.retries).get(job, 0)


class Phase(enum.Enum):
    WAITING = "waiting"  # nothing started (outside the window, or its base is not built yet)
    MERGING = "merging"  # its speculative commit is being built
    TESTING = "testing"  # its pipeline (or a retry of a flaky job) runs
    PASSED = "passed"  # all voting jobs passed; lands when it reaches the head
    FAILING = "failing"  # its own failure; reported when it reaches the head
    LANDING = "landing"  # the fast-forward of the target is in flight


def phase(item: Item) -> Phase:
    if item.landing is not None:
        return Phase.LANDING
    if item.failure is not None:
        return Phase.FAILING
    if item.passed:
        return Phase.PASSED
    if item.merging:
        return Phase.MERGING
    if item.commit is not None:
        return Phase.TESTING
    return Phase.WAITING


class OutcomeKind(enum.Enum):
    MERGED = "merged"
    FAILED = "failed"
    CONFLICT = "conflict"
    DEQUEUED = "dequeued"


@dataclass(frozen=True, slots=True)
class Outcome:
    """How an item left the queue; kept (bounded) so `gate status` can explain it."""

    kind: OutcomeKind
    item: int
    changes: tuple[str, ...]
    at: float
    detail: str
    commit: str | None = None


class AuditAction(enum.Enum):
    """Every queue action, for the append-only audit log (docs/gate.md lists them)."""

    ENQUEUE = "enqueue"
    EXPEDITE = "expedite"
    PREEMPT = "preempt"
    PROMOTE = "promote"
    START = "start"  # a build of the item's speculative commit started
    REPARENT = "reparent"  # tested on a new base because an item ahead failed or left
    RESTART = "restart"  # re-tested on the same parent (its base commit changed)
    RETRY = "retry"  # a failed job matched a known flake and is retried alone
    RETRY_PASSED = "retry-passed"
    FAIL = "fail"
    CONFLICT = "conflict"
    SPLIT = "split"  # a failed car was split into cumulative prefixes
    LAND = "land"  # the fast-forward was requested
    MERGE = "merge"  # the target now points at the item's tested commit
    REPORT = "report"  # a failing item reached the head and left the queue
    DEQUEUE = "dequeue"
    PAUSE = "pause"
    RESUME = "resume"
    TARGET_MOVED = "target-moved"
    LAND_REFUSED = "land-refused"


AuditValue = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One line of the append-only gate log."""

    at: float
    action: AuditAction
    item: int | None
    changes: tuple[str, ...]
    detail: str
    fields: Mapping[str, AuditValue] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "at": self.at,
            "action": self.action.value,
            "item": self.item,
            "changes": list(self.changes),
            "detail": self.detail,
            **dict(self.fields.items()),
        }


@dataclass(frozen=True, slots=True)
class GateState:
    """The whole merge queue: settings, target tip, window, items head first, history.

    ``next_id`` numbers items, requests and builds alike, so every answer
    event names exactly one question and a stale answer is recognised.
    """

    settings: GateSettings
    tip: str
    window: int
    queue: tuple[Item, ...] = ()
    next_id: int = 1
    now: float = 0.0
    paused: str | None = None
    consecutive_failures: int = 0
    recent: tuple[Outcome, ...] = ()

    def item(self, item_id: int) -> Item | None:
        for item in self.queue:
            if item.id == item_id:
                return item
        return None

    def item_of_change(self, change_id: str) -> Item | None:
        for item in self.queue:
            if change_id in item.change_ids:
                return item
        return None


def new_gate(tip: str, settings: GateSettings | None = None, *, now: float = 0.0) -> GateState:
    """An empty gate on a target whose tip is ``tip``."""
    chosen = settings or GateSettings()
    return GateState(settings=chosen, tip=tip, window=chosen.window, now=now)
