"""Requests from people: enqueue (with priorities and batching), dequeue, promote, resume.

Where a change goes is decided here: the tail, the tail car (batching),
after the items that already run (expedite) or the head (preempt, with its
cost). Requests that cannot be honoured raise :class:`GateError` before the
state is touched.
"""

from __future__ import annotations

from collections.abc import Iterable

from gatehouse.core.gate.commands import Report
from gatehouse.core.gate.draft import Draft
from gatehouse.core.gate.events import Dequeue, Enqueue, Promote
from gatehouse.core.gate.model import AuditAction, GateState, Item, Outcome, OutcomeKind, Priority
from gatehouse.errors import GateError


def enqueue(draft: Draft, event: Enqueue) -> None:
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


def dequeue(draft: Draft, event: Dequeue) -> None:
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


def promote(draft: Draft, event: Promote) -> None:
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


def resume(draft: Draft) -> None:
    if draft.paused is None:
        return
    draft.audit(AuditAction.RESUME, None, f"resumed (was: {draft.paused})")
    draft.paused = None
    draft.consecutive_failures = 0
