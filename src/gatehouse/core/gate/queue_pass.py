"""The queue pass: NNFI re-parenting, the window, bisection splits and the head.

Run after every event, head to tail (the algorithm is explained in the
package docstring, :mod:`gatehouse.core.gate`). A pass stops early and is
run again when it changed the queue's shape (an item left or a car was
split), so every rule always sees a consistent queue.
"""

from __future__ import annotations

import dataclasses

from gatehouse.core.gate.commands import BuildSpeculativeCommit, Land, StartBuild
from gatehouse.core.gate.draft import Draft
from gatehouse.core.gate.model import (
    AuditAction,
    Build,
    Change,
    Failure,
    FailureKind,
    Item,
    OutcomeKind,
    Presumption,
)


def settle_queue(draft: Draft) -> None:
    """Run passes until one changes nothing structural."""
    # Each structural change removes an item or splits a car into smaller
    # ones, so the number of passes is bounded by the number of changes.
    limit = 4 * (sum(len(item.changes) for item in draft.items.values()) + 2)
    for _ in range(limit):
        if not _one_pass(draft):
            return
    raise AssertionError("the gate queue did not settle; this is a bug")  # pragma: no cover


def describe_base(draft: Draft, parent: int | None) -> str:
    if parent is None:
        return f"the tip of {draft.settings.target_branch}"
    item = draft.items.get(parent)
    return f"#{parent} ({item.label})" if item is not None else f"#{parent}"


def _one_pass(draft: Draft) -> bool:
    nnfi: int | None = None  # the nearest non-failing item seen so far
    for position, item_id in enumerate(list(draft.order)):
        item = draft.get(item_id)
        if item.landing is None:
            item = _follow_nnfi(draft, item, nnfi)
            item = _check_base(draft, item)
            item = _check_presumption(draft, item)
        if item.failure is not None and len(item.changes) > 1:
            split_car(draft, item)
            return True
        if position < draft.window and draft.paused is None and item.failure is None:
            _start_work(draft, item)
            item = draft.get(item_id)
        if position == 0 and _act_at_head(draft, item):
            return True
        if item.failure is None:
            nnfi = item_id
    return False


def _follow_nnfi(draft: Draft, item: Item, nnfi: int | None) -> Item:
    """Zuul's rule: an item is tested on the nearest non-failing item ahead of it."""
    if item.parent == nnfi:
        return item
    old = item.parent
    if old is not None and old in draft.items:
        ahead = draft.items[old]
        why = f"#{old} ({ahead.label}) is failing" if ahead.failure else "the queue ahead changed"
    elif old is not None:
        why = f"#{old} was split or left the queue"
    else:
        why = "an item was put ahead of it"
    draft.update(item.id, parent=nnfi)
    return draft.reset(
        item.id,
        AuditAction.REPARENT,
        f"{why}; re-tested on {describe_base(draft, nnfi)}",
        old_parent=old,
        new_parent=nnfi,
    )


def _check_base(draft: Draft, item: Item) -> Item:
    """An item whose base commit is no longer its parent's commit (or the tip) is re-tested."""
    if item.base_commit is None:
        return item
    expected = draft.base_of(item)
    if expected == item.base_commit:
        return item
    return draft.reset(
        item.id,
        AuditAction.RESTART,
        f"the state it was tested on changed; re-tested on {describe_base(draft, item.parent)}",
        old_base=item.base_commit,
        new_base=expected,
    )


def _check_presumption(draft: Draft, item: Item) -> Item:
    presumption = item.presumed
    if presumption is None:
        return item
    if draft.stack(item) != presumption.changes:
        # Something ahead failed or left: the known-bad state is not what it
        # would be tested on any more, so it is tested for real.
        return draft.reset(
            item.id,
            AuditAction.RESTART,
            f"the prefix ahead of it changed since car #{presumption.car} failed; tested on its own merits",
        )
    if item.failure is None:
        item = draft.update(item.id, failure=presumption.failure)
        draft.audit(AuditAction.FAIL, item, presumption.failure.describe(), car=presumption.car)
    return item


def split_car(draft: Draft, car: Item) -> None:
    """Split a failed car of several changes into cumulative prefixes (pieces).

    Pieces are stacked on each other, so piece *j* is tested on the car's
    base plus pieces 1..j: the prefixes run in parallel inside the window.
    The last change is never tested again on the full prefix — that state
    already failed — so it carries a presumption. A conflict names its
    change, which becomes a piece of its own.
    """
    failure = car.failure
    assert failure is not None
    changes = car.changes
    position = draft.position(car.id)
    parent_stack = (
        draft.stack(draft.items[car.parent]) if car.parent in draft.items else frozenset()
    )
    groups: list[tuple[Change, ...]]
    if failure.kind is FailureKind.CONFLICT and failure.change in car.change_ids:
        at = car.change_ids.index(failure.change)
        groups = [g for g in (changes[:at], (changes[at],), changes[at + 1 :]) if g]
        culprit = 1 if at > 0 else 0
        presumed = Presumption(
            changes=parent_stack | {c.id for c in changes[: at + 1]},
            car=car.id,
            failure=dataclasses.replace(
                failure, evidence=(*failure.evidence, f"found merging car #{car.id} ({car.label})")
            ),
        )
    else:
        ways = min(draft.settings.bisect_ways, len(changes) - 1)
        groups = [*_segments(changes[:-1], ways), (changes[-1],)]
        culprit = len(groups) - 1
        # A conflict whose change is unknown keeps its kind; a job failure becomes a presumption.
        kind = FailureKind.PRESUMED if failure.kind is FailureKind.JOBS else failure.kind
        presumed = Presumption(
            changes=parent_stack | set(car.change_ids),
            car=car.id,
            failure=dataclasses.replace(
                failure,
                kind=kind,
                evidence=(
                    *failure.evidence,
                    f"car #{car.id} ({car.label}) failed as a whole and every prefix ahead of this change passed",
                ),
            ),
        )
    draft.drop_work(car)
    del draft.items[car.id]
    draft.order.remove(car.id)
    parent = car.parent
    pieces = []
    for index, group in enumerate(groups):
        piece = Item(
            id=draft.new_id(),
            changes=group,
            priority=car.priority,
            enqueued_at=car.enqueued_at,
            parent=parent,
            presumed=presumed if index == culprit else None,
            split_of=car.id,
        )
        draft.items[piece.id] = piece
        draft.order.insert(position + index, piece.id)
        pieces.append(piece)
        parent = piece.id
    draft.audit(
        AuditAction.SPLIT,
        car,
        f"{failure.describe()}; split into "
        + ", ".join(f"#{p.id} ({p.label})" for p in pieces)
        + f"; #{pieces[culprit].id} is presumed failing until a prefix ahead of it fails",
        pieces=",".join(str(p.id) for p in pieces),
    )


def _segments(changes: tuple[Change, ...], ways: int) -> list[tuple[Change, ...]]:
    """Cut ``changes`` into ``ways`` contiguous runs, the longer ones first."""
    size, extra = divmod(len(changes), ways)
    runs, start = [], 0
    for index in range(ways):
        end = start + size + (1 if index < extra else 0)
        if end > start:
            runs.append(changes[start:end])
        start = end
    return runs


def _start_work(draft: Draft, item: Item) -> None:
    if item.commit is None:
        if item.spec_request is not None:
            return  # the speculative merge is in flight
        base = draft.base_of(item)
        if base is None:
            return  # waits for its parent's speculative commit
        request = draft.new_id()
        draft.update(item.id, spec_request=request, base_commit=base)
        draft.emit(BuildSpeculativeCommit(request, item.id, base, item.changes))
        return
    if item.pipeline_done or any(build.jobs is None for build in item.builds):
        return
    assert item.base_commit is not None
    build = draft.new_id()
    draft.emit(StartBuild(build, item.id, item.commit, item.base_commit, item.changes))
    item = draft.update(item.id, builds=(*item.builds, Build(build, None, draft.now)))
    draft.audit(
        AuditAction.START,
        item,
        f"pipeline started on {describe_base(draft, item.parent)}",
        build=build,
        commit=item.commit,
        base=item.base_commit,
        parent=item.parent,
    )


def _act_at_head(draft: Draft, item: Item) -> bool:
    """Land a passed head, or report a failing one; True when it left the queue."""
    if draft.paused is not None or item.landing is not None:
        return False
    if item.failure is not None:
        if item.builds:
            return False  # without fail-fast its other builds finish before it is reported
        _report_failure(draft, item, item.failure)
        return True
    if item.passed and item.base_commit == draft.tip:
        commit, tree = item.commit, item.tree
        assert commit is not None
        assert tree is not None
        request = draft.new_id()
        item = draft.update(item.id, landing=request)
        target = draft.settings.target_branch
        draft.emit(Land(request, item.id, target, commit, tree, draft.tip, item.change_ids))
        draft.audit(
            AuditAction.LAND,
            item,
            f"fast-forward {target} to the tested commit",
            commit=commit,
            expected_tip=draft.tip,
        )
    return False


def _report_failure(draft: Draft, item: Item, failure: Failure) -> None:
    before = draft.window
    draft.window = draft.settings.shrink(draft.window)
    if failure.kind is not FailureKind.CONFLICT:
        # A conflict is the change's own problem, not a sign of a broken gate.
        draft.consecutive_failures += 1
    draft.audit(
        AuditAction.REPORT,
        item,
        failure.describe(),
        kind=failure.kind.value,
        evidence="; ".join(failure.evidence) or None,
        window_before=before,
        window=draft.window,
    )
    outcome = OutcomeKind.CONFLICT if failure.kind is FailureKind.CONFLICT else OutcomeKind.FAILED
    draft.remove(item.id, outcome, failure.describe())
    threshold = draft.settings.breaker_threshold
    if threshold and draft.consecutive_failures >= threshold and draft.paused is None:
        last = [o for o in draft.recent if o.kind is OutcomeKind.FAILED][-threshold:]
        names = ", ".join("+".join(o.changes) for o in last)
        draft.paused = (
            f"circuit breaker: {draft.consecutive_failures} consecutive failures at the head "
            f"({names}); the target or the infrastructure may be broken — resume when fixed"
        )
        draft.audit(AuditAction.PAUSE, None, draft.paused, breaker=True)
