"""``step(state, event) -> (state, commands)``: the gate's only entry point, and ``settle``.

Each event handler records what the event says (a new item, a build result,
a classification …) and the queue pass (:mod:`gatehouse.core.gate.queue_pass`)
then decides everything that follows from it. Requests from people that
cannot be honoured (an unknown change, a change already queued, dequeuing a
change that is landing) raise :class:`gatehouse.errors.GateError` and leave
the state as it was; answers nobody waits for are ignored.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

from gatehouse.core.gate.commands import (
    ClassifyFailure,
    Command,
    ReleaseSpeculativeCommit,
    Report,
    StartBuild,
)
from gatehouse.core.gate.draft import Draft
from gatehouse.core.gate.events import (
    BuildFinished,
    Dequeue,
    Enqueue,
    Event,
    FailureClassified,
    JobFailed,
    Landed,
    LandRefused,
    Pause,
    Promote,
    Resume,
    SpeculativeCommitBuilt,
    SpeculativeCommitConflicted,
    TargetMoved,
    Tick,
    TipChanged,
)
from gatehouse.core.gate.model import (
    AuditAction,
    Build,
    Failure,
    FailureCheck,
    FailureKind,
    GateState,
    Item,
    JobFailure,
    Outcome,
    OutcomeKind,
    Presumption,
    Priority,
)
from gatehouse.core.gate.queue_pass import settle_queue
from gatehouse.errors import GateError


def step(state: GateState, event: Event) -> tuple[GateState, tuple[Command, ...]]:
    """Apply one event; return the next state and the commands to execute, in order."""
    draft = Draft(state)
    if event.at is not None and event.at > draft.now:
        draft.now = event.at
    _dispatch(draft, event)
    settle_queue(draft)
    return draft.freeze(), tuple(draft.commands)


def _dispatch(draft: Draft, event: Event) -> None:
    match event:
        case Enqueue():
            _enqueue(draft, event)
        case Dequeue():
            _dequeue(draft, event)
        case Promote():
            _promote(draft, event)
        case Pause():
            draft.paused = event.reason or "paused on request"
            draft.audit(AuditAction.PAUSE, None, draft.paused)
        case Resume():
            _resume(draft)
        case Tick():
            pass  # time moved on; the queue pass runs anyway
        case TipChanged():
            if event.tip != draft.tip:
                _target_moved_to(draft, event.tip, "the target branch was moved outside the gate")
        case SpeculativeCommitBuilt():
            _spec_built(draft, event)
        case SpeculativeCommitConflicted():
            _spec_conflicted(draft, event)
        case JobFailed():
            _job_failed(draft, event)
        case BuildFinished():
            _build_finished(draft, event)
        case FailureClassified():
            _failure_classified(draft, event)
        case Landed():
            _landed(draft, event)
        case TargetMoved():
            _target_moved(draft, event)
        case LandRefused():
            _land_refused(draft, event)


def settle(
    state: GateState,
    events: Iterable[Event],
    execute: Callable[[Command], Iterable[Event]],
    *,
    limit: int = 1_000_000,
) -> GateState:
    """Feed events, execute every command, feed back its answers, until nothing is left.

    The smallest possible driver: synchronous, in order. ``execute`` answers
    a command with zero or more events (a fake executor may hold a build and
    answer later, through another call to ``settle``).
    """
    pending: deque[Event] = deque(events)
    for _ in range(limit):
        if not pending:
            return state
        state, commands = step(state, pending.popleft())
        for command in commands:
            pending.extend(execute(command))
    raise GateError(f"the gate did not settle within {limit} events")


# --------------------------------------------------------------------- people


def _enqueue(draft: Draft, event: Enqueue) -> None:
    change = event.change
    for item in draft.items.values():
        if change.id in item.change_ids:
            raise GateError(
                f"change {change.id!r} is already queued (item #{item.id}, "
                f"position {draft.position(item.id) + 1})"
            )
    if event.priority is Priority.NORMAL and _join_tail_car(draft, event):
        return
    item = Item(
        id=draft.new_id(), changes=(change,), priority=event.priority, enqueued_at=draft.now
    )
    draft.items[item.id] = item
    _place(draft, item, AuditAction.ENQUEUE)


def _join_tail_car(draft: Draft, event: Enqueue) -> bool:
    """Batching: a change joins the last car while that car has not started and has room."""
    if draft.settings.batch_size < 2 or not draft.order:
        return False
    tail = draft.get(draft.order[-1])
    if (
        tail.priority is not Priority.NORMAL
        or tail.started
        or tail.presumed is not None
        or tail.split_of is not None
        or len(tail.changes) >= draft.settings.batch_size
    ):
        return False
    tail = draft.update(tail.id, changes=(*tail.changes, event.change))
    draft.audit(
        AuditAction.ENQUEUE,
        tail,
        f"{event.change.id} joined car #{tail.id}",
        change=event.change.id,
        commit=event.change.commit,
        position=len(draft.order),
    )
    return True


def _place(draft: Draft, item: Item, action: AuditAction) -> None:
    """Insert a new (or promoted) item where its priority puts it, and audit it."""
    if item.priority is Priority.NORMAL:
        at = len(draft.order)
        detail = "queued at the tail"
    elif item.priority is Priority.EXPEDITE:
        at = _expedite_position(draft)
        detail = "expedited: queued after the items whose builds already run"
    else:
        at = _preempt_position(draft)
        cost = preempt_cost_at(draft.items[i] for i in draft.order[at:])
        detail = (
            f"preempted to position {at + 1}: restarts {cost[0]} build(s) "
            f"and re-tests {cost[1]} change(s) behind it"
        )
    draft.order.insert(at, item.id)
    fields: dict[str, str | int | float | bool | None] = {
        "position": at + 1,
        "priority": item.priority.value,
    }
    if item.priority is Priority.PREEMPT:
        fields["builds_restarted"], fields["changes_retested"] = cost
    if action is AuditAction.ENQUEUE:
        fields["commit"] = item.changes[0].commit
        if item.priority is not Priority.NORMAL:
            action = (
                AuditAction.EXPEDITE if item.priority is Priority.EXPEDITE else AuditAction.PREEMPT
            )
    draft.audit(action, item, detail, **fields)


def _expedite_position(draft: Draft) -> int:
    """After every item that has started, and after earlier expedited items."""
    at = 0
    for index, item_id in enumerate(draft.order):
        item = draft.items[item_id]
        if item.started or item.priority is not Priority.NORMAL:
            at = index + 1
    return at


def _preempt_position(draft: Draft) -> int:
    """The head, behind only items that are landing and earlier preempted items."""
    at = 0
    for item_id in draft.order:
        item = draft.items[item_id]
        if item.landing is None and item.priority is not Priority.PREEMPT:
            break
        at += 1
    return at


def preempt_cost_at(behind: Iterable[Item]) -> tuple[int, int]:
    """(builds restarted, changes re-tested) if an item were put ahead of ``behind``."""
    builds = changes = 0
    for item in behind:
        if item.started:
            builds += len(item.builds)
            changes += len(item.changes)
    return builds, changes


def preempt_cost(state: GateState) -> tuple[int, int]:
    """What preempting a change now would cost: (builds restarted, changes re-tested).

    Pure, so ``gatehouse gate enqueue --priority preempt`` can show it first.
    """
    draft = Draft(state)
    at = _preempt_position(draft)
    return preempt_cost_at(draft.items[i] for i in draft.order[at:])


def _dequeue(draft: Draft, event: Dequeue) -> None:
    item = draft.item_of_change(event.change_id)
    if item.landing is not None:
        raise GateError(
            f"change {event.change_id!r} is being landed right now and cannot be dequeued"
        )
    reason = event.reason or "dequeued on request"
    if len(item.changes) == 1:
        draft.audit(AuditAction.DEQUEUE, item, reason)
        draft.remove(item.id, OutcomeKind.DEQUEUED, reason)
        return
    # One change of a car leaves; the rest of the car is re-tested without it.
    left = tuple(c for c in item.changes if c.id != event.change_id)
    draft.audit(AuditAction.DEQUEUE, item, f"{event.change_id} left the car: {reason}")
    draft.reset(item.id, AuditAction.RESTART, f"{event.change_id} left the car")
    draft.update(item.id, changes=left)
    draft.emit(Report(item.id, (event.change_id,), OutcomeKind.DEQUEUED, reason))
    draft.recent.append(
        Outcome(OutcomeKind.DEQUEUED, item.id, (event.change_id,), draft.now, reason)
    )


def _promote(draft: Draft, event: Promote) -> None:
    if event.priority is Priority.NORMAL:
        raise GateError("a change can be promoted to 'expedite' or 'preempt', not 'normal'")
    item = draft.item_of_change(event.change_id)
    if item.landing is not None:
        raise GateError(f"change {event.change_id!r} is being landed right now")
    if len(item.changes) > 1:
        # Take the change out of its car; the car is re-tested without it.
        rest = tuple(c for c in item.changes if c.id != event.change_id)
        draft.reset(item.id, AuditAction.RESTART, f"{event.change_id} was promoted out of the car")
        draft.update(item.id, changes=rest)
        moved = Item(
            id=draft.new_id(),
            changes=tuple(c for c in item.changes if c.id == event.change_id),
            priority=event.priority,
            enqueued_at=item.enqueued_at,
        )
        draft.items[moved.id] = moved
    else:
        draft.order.remove(item.id)
        draft.reset(item.id, AuditAction.RESTART, f"promoted to {event.priority.value}")
        moved = draft.update(item.id, priority=event.priority, parent=None)
    _place(draft, moved, AuditAction.PROMOTE)


def _resume(draft: Draft) -> None:
    if draft.paused is None:
        return
    draft.audit(AuditAction.RESUME, None, f"resumed (was: {draft.paused})")
    draft.paused = None
    draft.consecutive_failures = 0


def _target_moved_to(draft: Draft, tip: str, why: str) -> None:
    draft.audit(AuditAction.TARGET_MOVED, None, why, old_tip=draft.tip, tip=tip)
    draft.tip = tip
    for item_id in draft.order:
        item = draft.items[item_id]
        if item.landing is None:
            draft.reset(item_id, AuditAction.RESTART, "the target moved; re-tested on the new tip")


# --------------------------------------------------------------------- the world


def _find_spec(draft: Draft, request: int) -> Item | None:
    for item in draft.items.values():
        if item.spec_request == request and item.merging:
            return item
    return None


def _spec_built(draft: Draft, event: SpeculativeCommitBuilt) -> None:
    item = _find_spec(draft, event.request)
    if item is None:
        # Nobody waits for it any more, but the driver pinned it: let it go.
        draft.emit(ReleaseSpeculativeCommit(event.request, None, event.commit))
        return
    draft.update(item.id, commit=event.commit, tree=event.tree)


def _spec_conflicted(draft: Draft, event: SpeculativeCommitConflicted) -> None:
    item = _find_spec(draft, event.request)
    if item is None:
        return
    failure = Failure(
        FailureKind.CONFLICT,
        files=tuple(event.files),
        change=event.change_id,
        evidence=(event.detail,) if event.detail else (),
    )
    item = draft.update(item.id, failure=failure)
    draft.audit(AuditAction.CONFLICT, item, failure.describe(), files=",".join(event.files) or None)


def _job_failed(draft: Draft, event: JobFailed) -> None:
    item = draft.item_of_build(event.build)
    if item is None:
        return
    build = next(b for b in item.builds if b.id == event.build)
    _handle_job_failure(draft, item.id, build, event.failure)


def _build_finished(draft: Draft, event: BuildFinished) -> None:
    item = draft.item_of_build(event.build)
    if item is None:
        return
    build = next(b for b in item.builds if b.id == event.build)
    item = draft.update(
        item.id,
        builds=tuple(b for b in item.builds if b.id != build.id),
        pipeline_done=item.pipeline_done or build.jobs is None,
    )
    for failure in event.failures:
        _handle_job_failure(draft, item.id, build, failure)
    item = draft.get(item.id)
    failed = {f.job for f in event.failures}
    for check in item.checks:
        if check.retry_build == build.id and check.failure.job not in failed:
            item = draft.update(item.id, checks=tuple(c for c in item.checks if c is not check))
            draft.audit(
                AuditAction.RETRY_PASSED,
                item,
                f"job {check.failure.job} passed on retry; its first failure was a flake",
                job=check.failure.job,
                evidence="; ".join(check.evidence) or None,
            )


def _handle_job_failure(draft: Draft, item_id: int, build: Build, failure: JobFailure) -> None:
    """A voting job failed: ask whether it is a known flake, or mark the item failing."""
    item = draft.get(item_id)
    key = (build.id, failure.job)
    if key in item.seen:
        return
    item = draft.update(item_id, seen=item.seen | {key})
    if item.failure is not None:
        if item.failure.kind is FailureKind.JOBS:
            more = Failure(
                FailureKind.JOBS, (*item.failure.jobs, failure), evidence=item.failure.evidence
            )
            draft.update(item_id, failure=more)
        return
    earlier = next((c for c in item.checks if c.failure.job == failure.job), None)
    evidence = earlier.evidence if earlier is not None else ()
    if item.retries_of(failure.job) >= draft.settings.flaky_retries:
        if draft.settings.flaky_retries:
            evidence = (*evidence, f"still failing after {item.retries_of(failure.job)} retry(ies)")
        _fail(draft, item_id, Failure(FailureKind.JOBS, (failure,), evidence=evidence))
        return
    assert item.commit is not None
    assert item.base_commit is not None
    request = draft.new_id()
    check = FailureCheck(failure, request=request, evidence=evidence)
    others = tuple(c for c in item.checks if c.failure.job != failure.job)
    draft.update(item_id, checks=(*others, check))
    draft.emit(
        ClassifyFailure(
            request,
            item_id,
            build.id,
            item.commit,
            item.base_commit,
            item.change_ids,
            failure,
        )
    )


def _failure_classified(draft: Draft, event: FailureClassified) -> None:
    found = [
        (item, check)
        for item in draft.items.values()
        for check in item.checks
        if check.request == event.request
    ]
    if not found:
        return
    item, check = found[0]
    evidence = (*check.evidence, event.evidence) if event.evidence else check.evidence
    others = tuple(c for c in item.checks if c is not check)
    if not event.flaky:
        draft.update(item.id, checks=others)
        reason = event.evidence or "not a known flake"
        _fail(
            draft,
            item.id,
            Failure(FailureKind.JOBS, (check.failure,), evidence=(*check.evidence, reason)),
        )
        return
    commit, base = item.commit, item.base_commit
    assert commit is not None
    assert base is not None
    job = check.failure.job
    build = draft.new_id()
    retries = dict(item.retries)
    retries[job] = retries.get(job, 0) + 1
    item = draft.update(
        item.id,
        checks=(*others, FailureCheck(check.failure, retry_build=build, evidence=evidence)),
        retries=tuple(sorted(retries.items())),
        builds=(*item.builds, Build(build, (job,), draft.now)),
    )
    draft.emit(StartBuild(build, item.id, commit, base, item.changes, (job,)))
    draft.audit(
        AuditAction.RETRY,
        item,
        f"job {job} failed and matches a known flake; retrying it alone "
        f"({retries[job]}/{draft.settings.flaky_retries})",
        job=job,
        build=build,
        evidence=event.evidence or None,
    )


def _fail(draft: Draft, item_id: int, failure: Failure) -> None:
    item = draft.update(item_id, failure=failure, checks=())
    draft.audit(
        AuditAction.FAIL,
        item,
        failure.describe(),
        evidence="; ".join(failure.evidence) or None,
    )
    if draft.settings.fail_fast and item.builds:
        draft.cancel_builds(item)
        draft.update(item_id, builds=())


def _find_landing(draft: Draft, request: int) -> Item | None:
    for item in draft.items.values():
        if item.landing == request:
            return item
    return None


def _landed(draft: Draft, event: Landed) -> None:
    item = _find_landing(draft, event.request)
    if item is None:
        return
    assert item.commit is not None
    draft.tip = item.commit
    draft.consecutive_failures = 0
    before = draft.window
    draft.window = draft.settings.grow(draft.window)
    landed = set(item.change_ids)
    for other_id in draft.order:
        other = draft.items[other_id]
        changes: dict[str, object] = {}
        if other.parent == item.id:
            # Its base was this item's commit, which is now the tip: nothing to redo.
            changes["parent"] = None
        if other.presumed is not None:
            changes["presumed"] = Presumption(
                other.presumed.changes - landed, other.presumed.car, other.presumed.failure
            )
        if changes:
            draft.update(other_id, **changes)
    draft.audit(
        AuditAction.MERGE,
        item,
        f"{draft.settings.target_branch} fast-forwarded to the tested commit",
        commit=item.commit,
        window_before=before,
        window=draft.window,
    )
    draft.remove(item.id, OutcomeKind.MERGED, f"merged as {item.commit}", item.commit)


def _target_moved(draft: Draft, event: TargetMoved) -> None:
    item = _find_landing(draft, event.request)
    if item is None:
        return
    draft.update(item.id, landing=None)
    _target_moved_to(
        draft,
        event.tip,
        f"landing #{item.id} found {draft.settings.target_branch} at {event.tip}, "
        f"not at the tested base {draft.tip}; everything is re-tested (never replayed)",
    )


def _land_refused(draft: Draft, event: LandRefused) -> None:
    item = _find_landing(draft, event.request)
    if item is None:
        return
    draft.update(item.id, landing=None)
    item = draft.get(item.id)
    draft.audit(AuditAction.LAND_REFUSED, item, event.reason)
    draft.reset(item.id, AuditAction.RESTART, "landing was refused; re-tested after resume")
    draft.paused = f"landing #{item.id} ({item.label}) was refused: {event.reason}"
    draft.audit(AuditAction.PAUSE, None, draft.paused)
