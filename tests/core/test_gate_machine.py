"""The state machine driven by hand: commands out, events in, stale answers, explain."""

from __future__ import annotations

import pytest

from gatehouse.core.gate import (
    AuditAction,
    BuildFinished,
    BuildSpeculativeCommit,
    Change,
    Dequeue,
    Enqueue,
    GateSettings,
    JobFailure,
    Land,
    Landed,
    Phase,
    Priority,
    Promote,
    RecordAudit,
    ReleaseSpeculativeCommit,
    SpeculativeCommitBuilt,
    StartBuild,
    Tick,
    TipChanged,
    explain,
    new_gate,
    render,
    settle,
    step,
)
from gatehouse.errors import GateError


def _only(commands: tuple[object, ...], kind: type) -> list:  # type: ignore[type-arg]
    return [c for c in commands if isinstance(c, kind)]


def test_one_change_from_enqueue_to_merge() -> None:
    state = new_gate("tip0", GateSettings(flaky_retries=0))
    state, out = step(state, Enqueue(Change("A", "a1"), at=10.0))
    (merge,) = _only(out, BuildSpeculativeCommit)
    assert (merge.base, merge.changes) == ("tip0", (Change("A", "a1"),))
    assert state.now == 10.0
    state, out = step(state, SpeculativeCommitBuilt(merge.request, "spec1", "tree1"))
    (build,) = _only(out, StartBuild)
    assert (build.commit, build.base, build.jobs) == ("spec1", "tip0", None)
    state, out = step(state, BuildFinished(build.build, ()))
    (land,) = _only(out, Land)
    assert (land.commit, land.tree, land.expected_tip, land.target) == (
        "spec1",
        "tree1",
        "tip0",
        "main",
    )
    assert state.queue[0].landing == land.request
    state, out = step(state, Landed(land.request, at=50.0))
    assert state.tip == "spec1"
    assert state.queue == ()
    assert state.window == 21
    assert [c.commit for c in _only(out, ReleaseSpeculativeCommit)] == ["spec1"]
    actions = [c.record.action for c in _only(out, RecordAudit)]
    assert actions == [AuditAction.MERGE]
    assert state.recent[-1].commit == "spec1"


def test_stale_answers_are_ignored_and_stale_commits_released() -> None:
    state = new_gate("tip0")
    state, out = step(state, Enqueue(Change("A", "a1")))
    (merge,) = _only(out, BuildSpeculativeCommit)
    state, out = step(state, Dequeue("A"))
    state, out = step(state, SpeculativeCommitBuilt(merge.request, "late", "tree"))
    assert [(c.request, c.item, c.commit) for c in _only(out, ReleaseSpeculativeCommit)] == [
        (merge.request, None, "late")
    ]
    before = state
    state, out = step(state, BuildFinished(999, (JobFailure("x"),)))
    state, out = step(state, Landed(12345))
    assert state == before
    assert out == ()


def test_tip_changed_outside_the_gate_retests_everything() -> None:
    state = new_gate("tip0")
    state, out = step(state, Enqueue(Change("A", "a1")))
    (merge,) = _only(out, BuildSpeculativeCommit)
    state, out = step(state, SpeculativeCommitBuilt(merge.request, "spec1", "tree1"))
    state, out = step(state, TipChanged("tip1"))
    assert state.tip == "tip1"
    (again,) = _only(out, BuildSpeculativeCommit)
    assert again.base == "tip1"
    assert any(
        isinstance(c, RecordAudit) and c.record.action is AuditAction.TARGET_MOVED for c in out
    )
    _, out = step(state, TipChanged("tip1"))
    assert not _only(out, BuildSpeculativeCommit)


def test_requests_that_cannot_be_honoured() -> None:
    state = new_gate("tip0")
    state, _ = step(state, Enqueue(Change("A", "a1")))
    with pytest.raises(GateError, match="already queued"):
        step(state, Enqueue(Change("A", "a2")))
    with pytest.raises(GateError, match="'B' is not in the gate queue"):
        step(state, Dequeue("B"))
    with pytest.raises(GateError, match="expedite"):
        step(state, Promote("A", Priority.NORMAL))


def test_settle_gives_up_on_an_endless_conversation() -> None:
    state = new_gate("tip0")

    def echo(command: object) -> list[Tick]:
        return [Tick()]

    with pytest.raises(GateError, match="did not settle"):
        settle(state, [Tick()], lambda c: [], limit=0)
    settle(state, [Tick()], echo, limit=10)  # ticks make no commands: it stops


def test_explain_says_why_each_item_waits() -> None:
    state = new_gate("tip0", GateSettings(window=2, window_floor=1))
    for name in "ABC":
        state, _ = step(state, Enqueue(Change(name, name.lower()), at=0.0))
    explanation = explain(state, build_duration=600.0)
    a, b, c = explanation.items
    assert a.phase is Phase.MERGING
    assert a.waiting == "its speculative merge is being built"
    assert b.waiting is not None
    assert "waiting for the speculative commit of #1 (A)" in b.waiting
    assert c.in_window is False
    assert c.waiting == "outside the window (position 3, window 2)"
    assert (a.eta, b.eta, c.eta) == (600.0, 600.0, 1200.0)
    text = render(explanation)
    assert "outside the window" in text
    assert "eta 20m" in text
    payload = explanation.to_json()
    assert payload["window"] == 2
    assert payload["items"][2]["in_window"] is False  # type: ignore[index]


def test_explain_without_durations_has_no_eta_and_an_empty_queue_renders() -> None:
    state = new_gate("tip0")
    assert "(queue empty)" in render(explain(state))
    state, _ = step(state, Enqueue(Change("A", "a")))
    assert explain(state).items[0].eta is None


def test_a_car_conflict_without_a_named_change_is_bisected() -> None:
    from gatehouse.core.gate import (
        FailureKind,
        OutcomeKind,
        Pause,
        Resume,
        SpeculativeCommitConflicted,
    )

    state = new_gate("tip0", GateSettings(batch_size=2))
    state, _ = step(state, Pause("collect"))
    state, _ = step(state, Enqueue(Change("A", "a")))
    state, _ = step(state, Enqueue(Change("B", "b")))
    state, out = step(state, Resume())
    (merge,) = _only(out, BuildSpeculativeCommit)
    state, out = step(state, SpeculativeCommitConflicted(merge.request, ("f.txt",), None))
    assert [item.change_ids for item in state.queue] == [("A",), ("B",)]
    b = state.queue[1]
    assert b.failure is not None
    assert b.failure.kind is FailureKind.CONFLICT, "presumed, but still a conflict"
    (merge_a,) = _only(out, BuildSpeculativeCommit)
    state, out = step(state, SpeculativeCommitBuilt(merge_a.request, "sa", "ta"))
    (build,) = _only(out, StartBuild)
    state, out = step(state, BuildFinished(build.build))
    (land,) = _only(out, Land)
    state, out = step(state, Landed(land.request))
    assert [(o.kind, o.changes) for o in state.recent] == [
        (OutcomeKind.MERGED, ("A",)),
        (OutcomeKind.CONFLICT, ("B",)),
    ]


def test_eta_lets_an_item_outside_the_window_start_when_a_failing_one_leaves() -> None:
    from gatehouse.core.gate import JobFailed

    state = new_gate("tip0", GateSettings(window=2, window_floor=1, flaky_retries=0))
    builds = {}
    for name in "ABC":
        state, out = step(state, Enqueue(Change(name, name.lower()), at=0.0))
        for merge in _only(out, BuildSpeculativeCommit):
            state, more = step(state, SpeculativeCommitBuilt(merge.request, f"s{name}", "t"))
            for build in _only(more, StartBuild):
                builds[name] = build.build
    assert set(builds) == {"A", "B"}, "C is outside the window"
    state, _ = step(state, JobFailed(builds["B"], JobFailure("test"), at=100.0))
    a, b, c = explain(state, build_duration=600.0).items
    assert b.eta is None, "a failing item will not land"
    assert a.eta == 600.0
    assert c.eta == 1200.0, "C starts when B leaves, right after A lands"
