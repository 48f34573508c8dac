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

from gatehouse.core.gate import answers, queue_requests
from gatehouse.core.gate.commands import Command
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
from gatehouse.core.gate.model import AuditAction, GateState
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
            queue_requests.enqueue(draft, event)
        case Dequeue():
            queue_requests.dequeue(draft, event)
        case Promote():
            queue_requests.promote(draft, event)
        case Pause():
            draft.paused = event.reason or "paused on request"
            draft.audit(AuditAction.PAUSE, None, draft.paused)
        case Resume():
            queue_requests.resume(draft)
        case Tick():
            pass  # time moved on; the queue pass runs anyway
        case TipChanged():
            if event.tip != draft.tip:
                answers.target_moved_to(
                    draft, event.tip, "the target branch was moved outside the gate"
                )
        case SpeculativeCommitBuilt():
            answers.spec_built(draft, event)
        case SpeculativeCommitConflicted():
            answers.spec_conflicted(draft, event)
        case JobFailed():
            answers.job_failed(draft, event)
        case BuildFinished():
            answers.build_finished(draft, event)
        case FailureClassified():
            answers.failure_classified(draft, event)
        case Landed():
            answers.landed(draft, event)
        case TargetMoved():
            answers.target_moved(draft, event)
        case LandRefused():
            answers.land_refused(draft, event)


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
