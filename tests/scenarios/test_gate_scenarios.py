"""Gate stories, Zuul-style: a scripted world, builds finished in a chosen order, no sleeps."""

from __future__ import annotations

import pytest

from gate_world import GateWorld
from gatehouse.core.gate import (
    AuditAction,
    Dequeue,
    Enqueue,
    GateSettings,
    Pause,
    Phase,
    Priority,
    Resume,
    explain,
    phase,
    preempt_cost,
)
from gatehouse.core.gate.known_flakes import KnownFlake


def _items(world: GateWorld) -> list[str]:
    return [item.label for item in world.state.queue]


# --------------------------------------------------------------------------- NNFI


def test_middle_failure_lands_the_others_and_reports_the_failure_at_the_head() -> None:
    w = GateWorld()
    a, b, c = w.change("A"), w.change("B", breaks=["test"]), w.change("C")
    w.send(Enqueue(a), Enqueue(b), Enqueue(c))
    assert len(w.running) == 3, "all three are tested in parallel"
    w.finish(w.build_of("B"))
    # B is failing but keeps its place; C is re-tested on A, without B.
    assert _items(w) == ["A", "B", "C"]
    assert phase(w.state.queue[1]) is Phase.FAILING
    assert w.reported("failed") == [], "a failure is reported only at the head"
    assert [r.changes for r in w.actions(AuditAction.REPARENT)] == [("C",)]
    w.run()
    assert w.landed == ["A", "C"]
    assert w.reported("failed") == ["B"]
    outcomes = [(r.outcome.value, r.changes) for r in w.reports]
    assert outcomes == [("merged", ("A",)), ("failed", ("B",)), ("merged", ("C",))]
    assert "B" not in w.contained(w.landings[-1].commit)


def test_an_item_failing_because_of_the_one_ahead_gets_a_second_chance() -> None:
    w = GateWorld()
    a, b, c = w.change("A"), w.change("B", breaks=["test"]), w.change("C")
    w.send(Enqueue(a), Enqueue(b), Enqueue(c))
    w.finish(w.build_of("C"))  # C fails: it was tested with B inside
    assert phase(w.state.queue[2]) is Phase.FAILING
    w.finish(w.build_of("B"))  # now B fails: C is re-parented and re-tested
    c_item = w.state.queue[2]
    assert c_item.failure is None
    assert c_item.parent == w.state.queue[0].id
    w.run()
    assert w.landed == ["A", "C"]
    assert w.reported("failed") == ["B"]


def test_change_behind_a_failing_one_is_reparented_and_lands_on_the_nearest_non_failing() -> None:
    w = GateWorld()
    a, b, c, d = w.change("A"), w.change("B", breaks=["build"]), w.change("C"), w.change("D")
    w.send(*(Enqueue(x) for x in (a, b, c, d)))
    w.finish(w.build_of("B"))
    queue = w.state.queue
    assert queue[2].parent == queue[0].id, "C is now built on A"
    assert queue[3].parent == queue[2].id, "D stays on C"
    reparent = w.actions(AuditAction.REPARENT)[0]
    assert reparent.changes == ("C",)
    assert "is failing" in reparent.detail
    w.run()
    assert w.landed == ["A", "C", "D"]
    for landing in w.landings:
        assert "B" not in w.contained(landing.commit)


def test_merge_conflict_names_the_files_and_is_reported_at_the_head() -> None:
    w = GateWorld()
    a = w.change("A", files={"shared.txt": "from A\n"})
    b = w.change("B", files={"shared.txt": "from B\n"})
    c = w.change("C")
    w.send(Enqueue(a), Enqueue(b), Enqueue(c))
    b_item = w.state.queue[1]
    assert b_item.failure is not None
    assert b_item.failure.files == ("shared.txt",)
    assert w.state.queue[2].parent == w.state.queue[0].id
    w.run()
    assert w.landed == ["A", "C"]
    assert w.reported("conflict") == ["B"]
    report = next(r for r in w.reports if r.changes == ("B",))
    assert "shared.txt" in report.detail
    assert w.actions(AuditAction.CONFLICT)[0].fields["files"] == "shared.txt"


def test_a_conflict_with_a_change_that_later_fails_is_retried_on_the_new_state() -> None:
    w = GateWorld()
    a = w.change("A", files={"shared.txt": "from A\n"}, breaks=["test"])
    b = w.change("B", files={"shared.txt": "from B\n"})
    w.send(Enqueue(a), Enqueue(b))
    assert w.state.queue[1].failure is not None  # conflicts with A
    w.run()
    assert w.landed == ["B"], "once A failed, B merges cleanly on the tip"
    assert w.reported("failed") == ["A"]


# --------------------------------------------------------------------------- flakes


def test_flaky_job_is_retried_alone_and_the_change_lands() -> None:
    w = GateWorld(
        flakes=[KnownFlake("FLAKE-7", job="test", test="t_flaky", description="port race")]
    )
    a, b = w.change("A"), w.change("B")
    w.flaky("test")
    w.send(Enqueue(a), Enqueue(b))
    w.finish(w.build_of("A"))
    retry = w.started[-1]
    assert retry.jobs == ("test",), "only the flaky job is retried"
    assert retry.commit == w.state.queue[0].commit, "on the same commit"
    assert w.state.queue[1].generation == 0, "B is not disturbed by A's flake"
    w.run()
    assert w.landed == ["A", "B"]
    record = w.actions(AuditAction.RETRY)[0]
    assert "FLAKE-7" in str(record.fields["evidence"])
    assert w.actions(AuditAction.RETRY_PASSED)[0].changes == ("A",)


def test_unknown_failure_is_not_retried() -> None:
    w = GateWorld(flakes=[KnownFlake("FLAKE-7", job="test", test="t_other")])
    w.flaky("test")  # fails with t_flaky, which is not known
    w.send(Enqueue(w.change("A")))
    w.run()
    assert w.landed == []
    assert [cmd.jobs for cmd in w.started] == [None]
    fail = w.actions(AuditAction.FAIL)[0]
    assert "matches no known flake" in str(fail.fields["evidence"])


def test_flaky_retries_are_bounded() -> None:
    w = GateWorld(flakes=[KnownFlake("FLAKE-7", job="test")])
    w.flaky("test", times=2)
    w.send(Enqueue(w.change("A")))
    w.run()
    assert w.landed == []
    assert [cmd.jobs for cmd in w.started] == [None, ("test",)]
    assert "still failing after 1 retry" in str(w.actions(AuditAction.FAIL)[0].fields["evidence"])


def test_no_classification_when_retries_are_off() -> None:
    w = GateWorld(GateSettings(flaky_retries=0), flakes=[KnownFlake("F", job="test")])
    w.flaky("test")
    w.send(Enqueue(w.change("A")))
    w.run()
    assert w.classified == []
    assert w.reported("failed") == ["A"]


# --------------------------------------------------------------------------- window


def test_window_limits_parallel_builds_shrinks_on_failure_and_regrows() -> None:
    w = GateWorld(GateSettings(window=4, window_floor=1))
    names = ["A", "B", "C", "D", "E", "F"]
    broken = {"A", "B"}
    changes = [w.change(n, breaks=["test"] if n in broken else ()) for n in names]
    w.send(*(Enqueue(c) for c in changes))
    assert len(w.running) == 4
    why = explain(w.state).items[4].waiting
    assert why is not None
    assert "outside the window" in why
    windows = []
    while w.running:
        w.finish()
        windows.append(w.state.window)
    assert w.landed == ["C", "D", "E", "F"]
    assert min(windows) == 1, "two failures at the head: 4 -> 2 -> 1"
    assert w.state.window == 5, "four merges: 1 -> 5"
    reports = w.actions(AuditAction.REPORT)
    assert [(r.fields["window_before"], r.fields["window"]) for r in reports] == [(4, 2), (2, 1)]


def test_window_respects_the_ceiling() -> None:
    w = GateWorld(GateSettings(window=2, window_floor=1, window_ceiling=3))
    w.send(*(Enqueue(w.change(n)) for n in "ABCDE"))
    w.run()
    assert w.landed == list("ABCDE")
    assert w.state.window == 3


# --------------------------------------------------------------------------- priorities


def test_expedite_goes_after_running_builds_and_restarts_nothing() -> None:
    w = GateWorld(GateSettings(window=3, window_floor=1))
    for name in "ABCD":
        w.send(Enqueue(w.change(name)))
    running_before = set(w.running)
    w.send(Enqueue(w.change("X"), Priority.EXPEDITE))
    assert _items(w) == ["A", "B", "C", "X", "D"]
    assert set(w.running) == running_before
    assert w.cancelled == []
    assert w.actions(AuditAction.EXPEDITE)[0].fields["position"] == 4
    w.run()
    assert w.landed == ["A", "B", "C", "X", "D"]


def test_preempt_goes_to_the_head_and_records_what_it_cost() -> None:
    w = GateWorld()
    for name in "ABC":
        w.send(Enqueue(w.change(name)))
    assert preempt_cost(w.state) == (3, 3)
    w.send(Enqueue(w.change("P"), Priority.PREEMPT))
    assert _items(w) == ["P", "A", "B", "C"]
    assert len(w.cancelled) == 3
    record = w.actions(AuditAction.PREEMPT)[0]
    assert record.fields["builds_restarted"] == 3
    assert record.fields["changes_retested"] == 3
    assert "restarts 3 build(s)" in record.detail
    w.run()
    assert w.landed == ["P", "A", "B", "C"]


def test_promote_an_already_queued_change() -> None:
    from gatehouse.core.gate import Promote

    w = GateWorld(GateSettings(window=2, window_floor=1))
    for name in "ABCD":
        w.send(Enqueue(w.change(name)))
    w.send(Promote("D", Priority.EXPEDITE))
    assert _items(w) == ["A", "B", "D", "C"]
    w.run()
    assert w.landed == ["A", "B", "D", "C"]


# --------------------------------------------------------------------------- fail-fast


def test_fail_fast_marks_the_item_failing_at_the_first_job_failure() -> None:
    w = GateWorld(GateSettings(flaky_retries=0))
    x, a, b = w.change("X"), w.change("A", breaks=["build"]), w.change("B")
    w.send(Enqueue(x), Enqueue(a), Enqueue(b))
    build = w.build_of("A")
    w.fail_early(build, "build")
    assert build in w.cancelled, "its other jobs are cancelled"
    assert phase(w.state.queue[1]) is Phase.FAILING
    assert w.state.queue[2].parent == w.state.queue[0].id, "B re-parents at once onto X"
    w.run()
    assert w.landed == ["X", "B"]
    assert w.reported("failed") == ["A"]


def test_without_fail_fast_a_failing_head_waits_for_its_builds() -> None:
    w = GateWorld(GateSettings(flaky_retries=0, fail_fast=False))
    a, b = w.change("A", breaks=["build"]), w.change("B")
    w.send(Enqueue(a), Enqueue(b))
    build = w.build_of("A")
    w.fail_early(build, "build")
    assert build in w.running
    assert phase(w.state.queue[0]) is Phase.FAILING
    assert w.reported("failed") == []
    assert "remaining builds" in (explain(w.state).items[0].waiting or "")
    w.finish(build)
    assert w.reported("failed") == ["A"]
    w.run()
    assert w.landed == ["B"]


# --------------------------------------------------------------------------- batching


def test_batch_of_eight_with_one_culprit_is_bisected() -> None:
    w = GateWorld(GateSettings(batch_size=8, bisect_ways=4))
    names = [f"c{i}" for i in range(1, 9)]
    w.send(Pause("collecting a batch"))
    w.send(*(Enqueue(w.change(n, breaks=["test"] if n == "c5" else ())) for n in names))
    assert _items(w) == ["+".join(names)]
    w.send(Resume())
    w.run()
    assert w.landed == [n for n in names if n != "c5"]
    assert w.reported("failed") == ["c5"]
    splits = w.actions(AuditAction.SPLIT)
    assert splits[0].changes == tuple(names)
    assert len(splits) == 2, "8 -> prefixes -> the failing piece split once more"
    assert len(w.started) <= 12


def test_batch_whose_last_change_is_the_culprit_is_found_without_testing_it_again() -> None:
    w = GateWorld(GateSettings(batch_size=4, bisect_ways=3))
    names = ["p", "q", "r", "s"]
    w.send(Pause("collect"))
    w.send(*(Enqueue(w.change(n, breaks=["test"] if n == "s" else ())) for n in names))
    w.send(Resume())
    w.run()
    assert w.landed == ["p", "q", "r"]
    assert w.reported("failed") == ["s"]
    tested_alone = [c for c in w.started if c.jobs is None and w.contained(c.commit) == ["s"]]
    assert tested_alone == []
    report = next(r for r in w.actions(AuditAction.REPORT) if r.changes == ("s",))
    assert report.fields["kind"] == "presumed"


def test_conflict_inside_a_car_splits_out_the_conflicting_change() -> None:
    w = GateWorld(GateSettings(batch_size=3))
    w.send(Pause("collect"))
    w.send(
        Enqueue(w.change("x", files={"f.txt": "x\n"})),
        Enqueue(w.change("y", files={"f.txt": "y\n"})),
        Enqueue(w.change("z")),
    )
    w.send(Resume())
    w.run()
    assert w.landed == ["x", "z"]
    assert w.reported("conflict") == ["y"]


# --------------------------------------------------------------------------- breaker, dequeue


def test_circuit_breaker_pauses_after_consecutive_head_failures() -> None:
    w = GateWorld(GateSettings(breaker_threshold=2, flaky_retries=0))
    w.send(
        Enqueue(w.change("A", breaks=["test"])),
        Enqueue(w.change("B", breaks=["test"])),
        Enqueue(w.change("C")),
    )
    w.run()
    assert w.reported("failed") == ["A", "B"]
    assert w.landed == []
    assert w.running == {}, "a paused gate starts nothing"
    assert w.state.paused is not None
    assert "2 consecutive failures" in w.state.paused
    assert "A, B" in w.state.paused
    assert "paused" in (explain(w.state).items[0].waiting or "")
    w.send(Resume())
    w.run()
    assert w.landed == ["C"]
    assert [r.action for r in w.audit if r.action in (AuditAction.PAUSE, AuditAction.RESUME)] == [
        AuditAction.PAUSE,
        AuditAction.RESUME,
    ]


def test_conflicts_do_not_trip_the_breaker() -> None:
    w = GateWorld(GateSettings(breaker_threshold=1))
    w.send(
        Enqueue(w.change("A", files={"f": "a\n"})),
        Enqueue(w.change("B", files={"f": "b\n"})),
        Enqueue(w.change("C")),
    )
    w.run()
    assert w.state.paused is None
    assert w.landed == ["A", "C"]


def test_dequeue_of_a_running_item_cancels_it_and_reparents_the_rest() -> None:
    w = GateWorld()
    w.send(*(Enqueue(w.change(n)) for n in "ABC"))
    b_build = w.build_of("B")
    w.send(Dequeue("B", "author withdrew it"))
    assert b_build in w.cancelled
    assert _items(w) == ["A", "C"]
    assert w.state.queue[1].parent == w.state.queue[0].id
    w.run()
    assert w.landed == ["A", "C"]
    assert w.reported("dequeued") == ["B"]
    assert w.actions(AuditAction.DEQUEUE)[0].detail == "author withdrew it"


def test_dequeue_of_one_change_of_a_car_retests_the_rest() -> None:
    w = GateWorld(GateSettings(batch_size=3))
    w.send(Pause("collect"), *(Enqueue(w.change(n)) for n in "xyz"), Resume())
    w.send(Dequeue("y"))
    assert _items(w) == ["x+z"]
    w.run()
    assert w.landed == ["x", "z"]


# --------------------------------------------------------------------------- landing


def test_target_moved_means_retest_never_replay() -> None:
    w = GateWorld()
    w.land_answers = ["moved"]
    w.send(Enqueue(w.change("A")), Enqueue(w.change("B")))
    w.run()
    assert w.landed == ["A", "B"]
    moved = w.actions(AuditAction.TARGET_MOVED)
    assert len(moved) == 1
    first = w.landings[0]
    assert "pushed.txt" in w.repo.files_of(first.commit), "A was re-tested on the pushed tip"
    assert len([c for c in w.started if c.jobs is None]) == 4, "both re-tested once"


def test_refused_landing_pauses_the_gate() -> None:
    w = GateWorld()
    w.land_answers = ["refused"]
    w.send(Enqueue(w.change("A")))
    w.run()
    assert w.landed == []
    assert w.state.paused is not None
    assert "refused" in w.state.paused
    w.send(Resume())
    w.run()
    assert w.landed == ["A"]


def test_pins_are_released_when_items_leave_or_are_retested() -> None:
    w = GateWorld()
    w.send(*(Enqueue(w.change(n, breaks=["test"] if n == "B" else ())) for n in "ABCD"))
    w.run()
    assert w.landed == ["A", "C", "D"]
    assert w.repo.pins() == ()


def test_bad_requests_are_gate_errors_and_change_nothing() -> None:
    from gatehouse.errors import GateError

    w = GateWorld()
    a = w.change("A")
    w.send(Enqueue(a))
    before = w.state
    with pytest.raises(GateError, match="already queued"):
        w.send(Enqueue(a))
    with pytest.raises(GateError, match="not in the gate queue"):
        w.send(Dequeue("nope"))
    assert w.state is before
