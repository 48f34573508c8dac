"""The gate: a speculative merge queue as a pure state machine.

    state, commands = step(state, event)

The gate decides; it does nothing. Events tell it what happened (a change
was enqueued, a speculative merge was built or conflicted, a build finished,
a failure was classified, a landing succeeded or found the target moved,
time passed); commands tell the driver what to do next (build a speculative
commit, start or cancel a build, classify a failure, land, report, append to
the audit log). Time arrives inside events; nothing here reads a clock, a
repository or a database, so every behaviour below is tested by feeding
events and reading commands.

1. Speculative testing and the NNFI rule
----------------------------------------
The queue is an ordered list of *items*. Each item is tested on a
*speculative state*: the target's tip with every non-failing item ahead of
it merged in, in order, plus the item itself. So item *k* is tested exactly
as it will land if everything ahead of it lands, and a whole window of items
is tested in parallel instead of one after the other.

Each item has a *parent*: the item whose speculative commit it is built on
(none for the tip). After every event a pass walks the queue from the head,
carrying the *nearest non-failing item* seen so far (NNFI, Zuul's rule):

* if an item's parent is not the NNFI, something ahead of it failed (or
  left); the item is *re-parented* onto the NNFI and everything of its
  current generation is thrown away (builds cancelled, speculative commit
  released) — it is re-tested on the new state;
* if the commit its merge was built on is no longer its parent's commit (the
  parent was itself re-tested) it is re-tested too, so changes of state
  propagate down the tree;
* an item with its own failure (a voting job failed, its merge conflicted)
  is *failing*: it keeps its place, nobody is built on it, and the items
  behind it re-parent onto the NNFI ahead of it. It is reported, and leaves,
  only when it reaches the head — when everything ahead has landed, so the
  failure is conclusive;
* if something ahead of a failing item fails later, the failing item's
  parent is no longer the NNFI either: it is re-parented and re-tested on the
  new state (the *second chance*), because its failure may have come from
  the item that just failed ahead of it.

Invariants: no item is ever ejected for a failure that is not its own (an
item leaves as failing only from the head, where its state is the tip plus
itself); the target branch only moves to the speculative commit of the head
item, only when all its voting jobs passed on exactly that commit, and only
by a compare-and-swap fast-forward from the tip it was built on (the
``Land`` command names both). If the target moved under us the answer is
``TargetMoved`` and every item is re-tested on the new tip; a commit is never
re-merged and pushed untested.

2. The window (AIMD)
--------------------
Only the first ``window`` items start work; the others wait. A merge at the
head grows the window by ``window_increase`` (up to ``window_ceiling``); a
failure reported at the head divides it by ``window_decrease_factor`` (down
to ``window_floor``). Zuul's defaults: 20, floor 3, +1, ÷2. Builds already
running outside a shrunken window finish; nothing new starts there. With
failure probability *p* the window settles near ``2(1-p)/p``, the knee of
the throughput curve (docs/gate.md, "Simulation").

3. Batching and cumulative-prefix bisection
-------------------------------------------
With ``batch_size`` > 1 an item is a *car* of several changes: an enqueued
change joins the tail car while that car has not started and has room, so
cars only fill when the queue backs up. A car is merged, tested and landed
as a unit. When a car of *n* changes fails, it is *split*: the first *n-1*
changes are cut into ``bisect_ways`` contiguous pieces and the last change
becomes a piece of its own; the pieces are stacked on each other, so piece
*j* is tested on the car's base plus pieces 1..*j* — the cumulative prefixes
run in parallel inside the window. The last piece is not tested on the full
prefix (that state already failed): it carries a *presumption* and is
failing while its stack equals the failed car's. NNFI does the rest: the
first failing prefix piece is split again (or, alone, is the culprit); the
pieces and cars behind it re-parent onto the longest passing prefix; if
every prefix passes, the presumed last change is the culprit. A conflict
names its change, which is split out alone at once (bors does the same).

4. Flake-aware retry
--------------------
A voting-job failure does not make an item failing at once. While the job
has retries left (``flaky_retries``, default 1) the gate emits
``ClassifyFailure`` and waits for ``FailureClassified``: the driver asks a
:class:`gatehouse.core.ports.FlakeOracle` (the results database's known
issues and flake statistics) whether the job/test failure is a known flake.
A flake is retried *alone*, on the same commit (``StartBuild`` with
``jobs``); a pass clears it, with the evidence in the audit log; a repeated
failure or a "not a flake" answer makes the item failing. Classification is
a command/event pair rather than a field of the build result so the state
machine stays pure, the oracle can be slow or remote, and the decision to
ask (retries left?) stays here. While a failure is under review the item
counts as non-failing: nobody behind it is disturbed for a flake.

5. Fail-fast
------------
An item is failing at its first confirmed voting-job failure (``JobFailed``
may arrive before its build ends); the items behind re-parent at once. With
``fail_fast`` its other builds are cancelled; without, they finish and the
item is reported at the head when they have.

6. Priorities and dequeue
-------------------------
``expedite`` inserts a change after every item that has started and after
earlier expedited items: nothing running is restarted. ``preempt`` puts it
at the head (behind only an item that is landing and earlier preempted
ones); everything behind it is re-tested, and the audit record says what it
cost (builds restarted, changes re-tested; :func:`preempt_cost` tells it
beforehand). ``Dequeue`` removes a change (its builds are cancelled; a car
that loses one change is re-tested without it).

7. Circuit breaker and pause
----------------------------
After ``breaker_threshold`` consecutive build failures reported at the head
(conflicts do not count; a merge resets the count) the gate pauses and says
why. A paused gate starts nothing and lands nothing; running builds go on
and their results are recorded. ``Resume`` lifts the pause.

8. Audit
--------
Every queue action emits ``RecordAudit`` with an :class:`AuditRecord`
(enqueue, expedite, preempt, promote, start, reparent, restart, retry,
retry-passed, fail, conflict, split, land, merge, report, dequeue, pause,
resume, target-moved, land-refused) for an append-only log.

:func:`explain` turns a state into what ``gatehouse gate status`` shows:
position, phase, base, window membership, running builds, why each item
waits, and an ETA from a measured build duration.
"""

from gatehouse.core.gate.commands import (
    BuildSpeculativeCommit,
    CancelBuild,
    ClassifyFailure,
    Command,
    Land,
    RecordAudit,
    ReleaseSpeculativeCommit,
    Report,
    StartBuild,
)
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
from gatehouse.core.gate.explain import GateExplanation, ItemExplanation, explain, render
from gatehouse.core.gate.machine import settle, step
from gatehouse.core.gate.model import (
    AuditAction,
    AuditRecord,
    Change,
    Failure,
    FailureKind,
    GateState,
    Item,
    JobFailure,
    Outcome,
    OutcomeKind,
    Phase,
    Priority,
    new_gate,
    phase,
)
from gatehouse.core.gate.queue_requests import preempt_cost
from gatehouse.core.gate.settings import GateSettings

__all__ = [
    "AuditAction",
    "AuditRecord",
    "BuildFinished",
    "BuildSpeculativeCommit",
    "CancelBuild",
    "Change",
    "ClassifyFailure",
    "Command",
    "Dequeue",
    "Enqueue",
    "Event",
    "Failure",
    "FailureClassified",
    "FailureKind",
    "GateExplanation",
    "GateSettings",
    "GateState",
    "Item",
    "ItemExplanation",
    "JobFailed",
    "JobFailure",
    "Land",
    "LandRefused",
    "Landed",
    "Outcome",
    "OutcomeKind",
    "Pause",
    "Phase",
    "Priority",
    "Promote",
    "RecordAudit",
    "ReleaseSpeculativeCommit",
    "Report",
    "Resume",
    "SpeculativeCommitBuilt",
    "SpeculativeCommitConflicted",
    "StartBuild",
    "TargetMoved",
    "Tick",
    "TipChanged",
    "explain",
    "new_gate",
    "phase",
    "preempt_cost",
    "render",
    "settle",
    "step",
]
