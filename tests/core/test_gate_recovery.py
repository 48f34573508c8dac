"""in_flight: after a restart, the questions a saved state still waits for, asked again.

Unit stories walk one item through every kind of question (merge, build,
classification, flaky retry, landing) and check that each saved state asks
exactly the question that was in flight, with the same ids. The property
test crashes a driver at random moments — dropping every running build and
reloading the state through the codec — and checks that the same changes
still land, once each, in queue order.
"""

from __future__ import annotations

import dataclasses
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from gate_world import GateWorld
from gatehouse.core.gate import (
    BuildFinished,
    BuildSpeculativeCommit,
    Change,
    ClassifyFailure,
    Enqueue,
    FailureClassified,
    GateSettings,
    JobFailure,
    Land,
    Landed,
    SpeculativeCommitBuilt,
    StartBuild,
    new_gate,
    step,
)
from gatehouse.core.gate.codec import state_from_json, state_to_json
from gatehouse.core.gate.known_flakes import KnownFlake
from gatehouse.core.gate.recovery import in_flight

TIP = "0" * 40
A = Change("a", "a" * 40)


def reload(state):
    return state_from_json(state_to_json(state))


def only(commands, kind):
    return [c for c in commands if isinstance(c, kind)]


def test_an_empty_or_waiting_queue_asks_nothing() -> None:
    assert in_flight(new_gate(TIP)) == ()
    state, _ = step(new_gate(TIP, GateSettings(window=1, window_floor=1)), Enqueue(A))
    state, _ = step(state, Enqueue(Change("b", "b" * 40)))
    # b is outside the window: nothing was asked for it.
    assert [c.item for c in in_flight(state)] == [state.queue[0].id]


def test_each_question_in_flight_is_asked_again_with_its_ids() -> None:
    state, commands = step(new_gate(TIP), Enqueue(A))
    (merge,) = only(commands, BuildSpeculativeCommit)
    assert in_flight(reload(state)) == (merge,)

    state, commands = step(state, SpeculativeCommitBuilt(merge.request, "c" * 40, "t" * 40))
    (build,) = only(commands, StartBuild)
    assert in_flight(reload(state)) == (build,)

    state, commands = step(state, BuildFinished(build.build, (JobFailure("test", ("t1",)),)))
    (classify,) = only(commands, ClassifyFailure)
    (asked,) = in_flight(reload(state))
    assert isinstance(asked, ClassifyFailure)
    assert dataclasses.replace(asked, build=classify.build) == classify

    state, commands = step(state, FailureClassified(classify.request, True, "known"))
    (retry,) = only(commands, StartBuild)
    assert retry.jobs == ("test",)
    assert in_flight(reload(state)) == (retry,)

    state, commands = step(state, BuildFinished(retry.build))
    (land,) = only(commands, Land)
    assert in_flight(reload(state)) == (land,)

    state, _ = step(state, Landed(land.request))
    assert in_flight(state) == ()
    assert state.tip == "c" * 40


def test_answers_to_the_repeated_questions_are_accepted_once() -> None:
    state, commands = step(new_gate(TIP), Enqueue(A))
    (merge,) = only(commands, BuildSpeculativeCommit)
    restarted = reload(state)
    (again,) = in_flight(restarted)
    state, commands = step(restarted, SpeculativeCommitBuilt(again.request, "c" * 40, "t" * 40))
    assert len(only(commands, StartBuild)) == 1
    # The first process's answer arriving late changes nothing but releasing its pin.
    late, commands = step(state, SpeculativeCommitBuilt(merge.request, "d" * 40, "u" * 40))
    assert late.queue == state.queue
    assert [type(c).__name__ for c in commands] == ["ReleaseSpeculativeCommit"]


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    changes=st.integers(2, 7),
    broken=st.sets(st.integers(0, 6), max_size=2),
    flaky=st.booleans(),
    crash_every=st.integers(1, 4),
)
def test_crashing_anywhere_and_restarting_lands_the_same_changes_once(
    seed: int, changes: int, broken: set[int], flaky: bool, crash_every: int
) -> None:
    rng = random.Random(seed)
    world = GateWorld(
        settings=GateSettings(window=3, window_floor=1),
        flakes=[KnownFlake("gatehouse:f", job="test")],
    )
    names = [f"c{n}" for n in range(changes)]
    for n, name in enumerate(names):
        world.change(name, breaks=("test",) if n in broken else ())
    if flaky:
        world.flaky("test")
    world.send(*(Enqueue(world.changes[name]) for name in names))
    finished = 0
    while world.running:
        world.finish(rng.choice(sorted(world.running)))
        finished += 1
        if finished % crash_every == 0:
            # The process dies: running builds are lost; the saved state is reloaded and
            # every question it waits for is asked again.
            world.running.clear()
            world.state = reload(world.state)
            for command in in_flight(world.state):
                for answer in world.execute(command):
                    world.send(answer)
    good = [name for n, name in enumerate(names) if n not in broken]
    assert world.landed == good
    assert world.state.queue == ()
