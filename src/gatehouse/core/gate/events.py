"""Events: what the gate is told. Requests from people, answers from the world, time.

Every event may carry ``at`` (seconds, from the driver's clock): the state
machine never reads a clock, so time arrives here. Answers name the request
or build they answer; an answer nobody waits for any more (the item was
re-tested, dequeued, cancelled) is ignored, which makes out-of-order and
late answers harmless.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gatehouse.core.gate.model import Change, JobFailure, Priority

# ----------------------------------------------------------------- requests from people


@dataclass(frozen=True, slots=True)
class Enqueue:
    """Add a change to the queue (at the tail, or ahead with a priority)."""

    change: Change
    priority: Priority = Priority.NORMAL
    at: float | None = field(default=None, kw_only=True)


@dataclass(frozen=True, slots=True)
class Dequeue:
    """Take a change out of the queue; its builds are cancelled."""

    change_id: str
    reason: str = ""
    at: float | None = field(default=None, kw_only=True)


@dataclass(frozen=True, slots=True)
class Promote:
    """Move a queued change with a new priority (expedite or preempt)."""

    change_id: str
    priority: Priority
    at: float | None = field(default=None, kw_only=True)


@dataclass(frozen=True, slots=True)
class Pause:
    """Stop starting and landing (a freeze); running builds go on."""

    reason: str
    at: float | None = field(default=None, kw_only=True)


@dataclass(frozen=True, slots=True)
class Resume:
    """Lift a pause, including one made by the circuit breaker."""

    at: float | None = field(default=None, kw_only=True)


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passed; nothing else happened."""

    at: float | None = field(default=None, kw_only=True)


@dataclass(frozen=True, slots=True)
class TipChanged:
    """The driver saw the target branch at a commit the gate did not land (a push)."""

    tip: str
    at: float | None = field(default=None, kw_only=True)


# ----------------------------------------------------------------- answers from the world


@dataclass(frozen=True, slots=True)
class SpeculativeCommitBuilt:
    """Answer to BuildSpeculativeCommit: the merged commit and its tree."""

    request: int
    commit: str
    tree: str
    at: float | None = field(default=None, kw_only=True)


@dataclass(frozen=True, slots=True)
class SpeculativeCommitConflicted:
    """Answer to BuildSpeculativeCommit: the merge conflicted in ``files``.

    ``change_id`` names the change whose merge conflicted (changes are merged
    one after another), when the driver knows it.
    """

    request: int
    files: tuple[str, ...]
    change_id: str | None = None
    detail: str = ""
    at: float | None = field(default=None, kw_only=True)


@dataclass(frozen=True, slots=True)
class JobFailed:
    """A voting job of a running build failed (sent as soon as it happens, for fail-fast)."""

    build: int
    failure: JobFailure
    at: float | None = field(default=None, kw_only=True)


@dataclass(frozen=True, slots=True)
class BuildFinished:
    """A build ended; ``failures`` are its failed voting jobs (empty: it passed).

    Failures already sent as :class:`JobFailed` may be repeated here; each
    (build, job) is handled once.
    """

    build: int
    failures: tuple[JobFailure, ...] = ()
    at: float | None = field(default=None, kw_only=True)


@dataclass(frozen=True, slots=True)
class FailureClassified:
    """Answer to ClassifyFailure: is it a known flake, and why we think so."""

    request: int
    flaky: bool
    evidence: str = ""
    at: float | None = field(default=None, kw_only=True)


@dataclass(frozen=True, slots=True)
class Landed:
    """Answer to Land: the target now points at the tested commit."""

    request: int
    at: float | None = field(default=None, kw_only=True)


@dataclass(frozen=True, slots=True)
class TargetMoved:
    """Answer to Land: the target was not at the expected tip; nothing was changed."""

    request: int
    tip: str
    at: float | None = field(default=None, kw_only=True)


@dataclass(frozen=True, slots=True)
class LandRefused:
    """Answer to Land: refused for a reason that needs a person (tree mismatch, not a fast-forward)."""

    request: int
    reason: str
    at: float | None = field(default=None, kw_only=True)


Event = (
    Enqueue
    | Dequeue
    | Promote
    | Pause
    | Resume
    | Tick
    | TipChanged
    | SpeculativeCommitBuilt
    | SpeculativeCommitConflicted
    | JobFailed
    | BuildFinished
    | FailureClassified
    | Landed
    | TargetMoved
    | LandRefused
)
