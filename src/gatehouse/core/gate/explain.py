"""What ``gatehouse gate status`` shows: the queue explained, item by item.

:func:`explain` is pure: it reads a state (and, optionally, a measured build
duration and the names of running jobs, which the engine knows and the gate
does not) and says for each item its position, phase, what it is tested on,
whether it is inside the window, its running builds, *why it waits*, and an
estimated landing time. :func:`render` turns that into text.

The ETA assumes every item ahead that is not already failing passes and
every build takes the measured duration ``T``: an item inside the window
lands at the later of its own build's end and the landing of the item
ahead; an item outside it starts when the item ``window`` places ahead
leaves (a failing item leaves when everything ahead of it has landed). It is
an estimate for people, not a promise; new failures ahead only make it
later.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gatehouse.core.gate.model import GateState, Item, Outcome, Phase, phase


@dataclass(frozen=True, slots=True)
class ItemExplanation:
    position: int  # 1 = the head
    item: int
    changes: tuple[str, ...]
    phase: Phase
    base: str  # "tip" or "#4 (A)"
    base_commit: str | None
    commit: str | None
    in_window: bool
    builds: tuple[str, ...]
    waiting: str | None  # why it waits; None when nothing holds it
    failure: str | None
    evidence: tuple[str, ...]
    eta: float | None  # estimated landing time (same clock as the events); None: will not land

    def to_json(self) -> dict[str, object]:
        return {
            "position": self.position,
            "item": self.item,
            "changes": list(self.changes),
            "phase": self.phase.value,
            "base": self.base,
            "base_commit": self.base_commit,
            "commit": self.commit,
            "in_window": self.in_window,
            "builds": list(self.builds),
            "waiting": self.waiting,
            "failure": self.failure,
            "evidence": list(self.evidence),
            "eta": self.eta,
        }


@dataclass(frozen=True, slots=True)
class GateExplanation:
    target: str
    tip: str
    window: int
    now: float
    paused: str | None
    items: tuple[ItemExplanation, ...]
    recent: tuple[Outcome, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "target": self.target,
            "tip": self.tip,
            "window": self.window,
            "now": self.now,
            "paused": self.paused,
            "items": [item.to_json() for item in self.items],
            "recent": [
                {
                    "outcome": o.kind.value,
                    "item": o.item,
                    "changes": list(o.changes),
                    "at": o.at,
                    "detail": o.detail,
                    "commit": o.commit,
                }
                for o in self.recent
            ],
        }


def explain(
    state: GateState,
    *,
    build_duration: float | None = None,
    running_jobs: Mapping[int, Sequence[str]] | None = None,
) -> GateExplanation:
    """Explain every item of the queue; ``running_jobs`` maps build ids to job names."""
    jobs = running_jobs or {}
    items = state.queue
    etas = _etas(state, build_duration)
    explained = []
    for index, item in enumerate(items):
        failure = item.failure
        explained.append(
            ItemExplanation(
                position=index + 1,
                item=item.id,
                changes=item.change_ids,
                phase=phase(item),
                base=_base_label(state, item),
                base_commit=item.base_commit,
                commit=item.commit,
                in_window=index < state.window,
                builds=tuple(
                    _build_label(state, b.id, b.jobs, b.started_at, jobs) for b in item.builds
                ),
                waiting=_why_waiting(state, index, item),
                failure=failure.describe() if failure else None,
                evidence=failure.evidence if failure else (),
                eta=etas[index],
            )
        )
    return GateExplanation(
        target=state.settings.target_branch,
        tip=state.tip,
        window=state.window,
        now=state.now,
        paused=state.paused,
        items=tuple(explained),
        recent=state.recent,
    )


def _base_label(state: GateState, item: Item) -> str:
    if item.parent is None:
        return "tip"
    parent = state.item(item.parent)
    return f"#{item.parent} ({parent.label})" if parent else f"#{item.parent}"


def _build_label(
    state: GateState,
    build: int,
    only: tuple[str, ...] | None,
    started_at: float,
    jobs: Mapping[int, Sequence[str]],
) -> str:
    what = "pipeline" if only is None else "retry of " + ", ".join(only)
    text = f"build {build}: {what}, running {_duration(state.now - started_at)}"
    if jobs.get(build):
        text += " (" + ", ".join(jobs[build]) + ")"
    return text


def _why_waiting(state: GateState, index: int, item: Item) -> str | None:
    current = phase(item)
    at_head = index == 0
    if current is Phase.LANDING:
        return f"landing: fast-forwarding {state.settings.target_branch} to {item.commit}"
    if current is Phase.FAILING:
        assert item.failure is not None
        if item.presumed is not None and item.failure is item.presumed.failure:
            return (
                f"presumed failing: car #{item.presumed.car} failed as a whole; "
                "reported when every prefix ahead of it has passed and landed, "
                "re-tested if one of them fails"
            )
        if not at_head:
            return (
                "its own failure; it keeps its place and is reported when it reaches the head "
                "(re-tested if an item ahead of it fails)"
            )
        if item.builds:
            return "failed; its remaining builds finish before it is reported"
        return f"failed; reported when the gate resumes ({state.paused})" if state.paused else None
    if current is Phase.PASSED:
        if at_head:
            return f"passed; lands when the gate resumes ({state.paused})" if state.paused else None
        ahead = state.queue[index - 1]
        return (
            f"passed; waits for the {index} item(s) ahead to land (next: #{ahead.id} {ahead.label})"
        )
    if current is Phase.MERGING:
        return "its speculative merge is being built"
    if current is Phase.TESTING:
        for check in item.checks:
            if check.retry_build is not None:
                return f"retrying job {check.failure.job} alone: its failure matches a known flake"
            return f"asking whether the failure of job {check.failure.job} is a known flake"
        if not item.builds:
            return "its pipeline is about to start"
        return None
    # waiting: nothing started
    if state.paused:
        return f"the gate is paused: {state.paused}"
    if index >= state.window:
        return f"outside the window (position {index + 1}, window {state.window})"
    if item.parent is not None:
        parent = state.item(item.parent)
        label = parent.label if parent else "?"
        return f"waiting for the speculative commit of #{item.parent} ({label}) it is built on"
    return None


def _etas(state: GateState, duration: float | None) -> list[float | None]:
    if duration is None:
        return [None] * len(state.queue)
    etas: list[float | None] = []
    leaves: list[float] = []  # when each position is vacated (landed, or reported at the head)
    previous = state.now
    for index, item in enumerate(state.queue):
        current = phase(item)
        if current is Phase.FAILING:
            etas.append(None)
            leaves.append(previous)  # reported as soon as everything ahead has landed
            continue
        if current in (Phase.LANDING, Phase.PASSED):
            finish = state.now
        elif item.builds:
            finish = max(state.now, max(b.started_at for b in item.builds) + duration)
        elif index < state.window:
            finish = state.now + duration
        else:
            finish = leaves[index - state.window] + duration  # starts when a window slot frees
        land = max(finish, previous)
        etas.append(land)
        leaves.append(land)
        previous = land
    return etas


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"


def render(explanation: GateExplanation) -> str:
    """The explanation as text, one block per item, then the recent outcomes."""
    e = explanation
    state = f"paused: {e.paused}" if e.paused else "running"
    lines = [f"gate {e.target} @ {e.tip[:12]}  window {e.window}  {state}"]
    if not e.items:
        lines.append("  (queue empty)")
    for item in e.items:
        window = "in window" if item.in_window else "outside window"
        head = (
            f"{item.position:>3}. #{item.item} {'+'.join(item.changes)}  "
            f"{item.phase.value}  on {item.base}  {window}"
        )
        if item.eta is not None:
            head += f"  eta {_duration(item.eta - e.now)}"
        lines.append(head)
        lines.extend(f"       {build}" for build in item.builds)
        if item.failure:
            lines.append(f"       {item.failure}")
        lines.extend(f"       evidence: {ev}" for ev in item.evidence)
        if item.waiting:
            lines.append(f"       why: {item.waiting}")
    if e.recent:
        lines.append("recent:")
        for outcome in reversed(e.recent[-10:]):
            what = "+".join(outcome.changes)
            lines.append(f"  {outcome.kind.value:<8} #{outcome.item} {what}: {outcome.detail}")
    return "\n".join(lines)
