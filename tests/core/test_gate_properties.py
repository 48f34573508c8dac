"""Gate invariants over random queues, failures, conflicts, flakes, batches and build orders.

Each example builds a queue of changes (some break a job, some touch a
shared file and conflict, a flaky job fails a few runs), enqueues them
interleaved with build completions in a random order (and maybe an early
job failure, a dequeue, a priority, a push to the target just before a
landing, a circuit breaker that an operator resumes), and runs the gate
until it is quiet.
The world itself asserts on every landing that the commit's pipeline
passed and that the target moved by fast-forward.
"""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gate_world import GateWorld
from gatehouse.core.gate import Dequeue, Enqueue, GateSettings, Priority, Resume
from gatehouse.core.gate.known_flakes import KnownFlake

JOBS = ("build", "test", "lint")


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, object]:
    count = draw(st.integers(1, 8))
    changes = []
    for index in range(count):
        changes.append(
            {
                "name": f"c{index}",
                "broken": draw(st.booleans()) and draw(st.booleans()),  # ~25 %
                "shared": draw(st.sampled_from([None, None, None, "s0", "s1"])),
            }
        )
    batch = draw(st.sampled_from([1, 1, 2, 3, 8]))
    window = draw(st.integers(1, 6))
    return {
        "changes": changes,
        "settings": GateSettings(
            window=window,
            window_floor=1,
            window_ceiling=draw(st.sampled_from([0, window, window + 2])),
            batch_size=batch,
            bisect_ways=draw(st.integers(1, 4)),
            flaky_retries=draw(st.integers(0, 2)),
            fail_fast=draw(st.booleans()),
            breaker_threshold=draw(st.sampled_from([0, 0, 1, 2])),
        ),
        "pushes": draw(st.integers(0, 2)),
        "flakes": draw(st.integers(0, 2)),
        "seed": draw(st.integers(0, 2**32 - 1)),
        "dequeue": draw(st.none() | st.integers(0, count - 1)),
        "priority": draw(
            st.none()
            | st.tuples(
                st.integers(0, count - 1), st.sampled_from([Priority.EXPEDITE, Priority.PREEMPT])
            )
        ),
        "early_failures": draw(st.booleans()),
    }


def _play(scenario: dict[str, object]) -> tuple[GateWorld, dict[str, dict[str, object]]]:
    settings_ = scenario["settings"]
    assert isinstance(settings_, GateSettings)
    world = GateWorld(settings_, flakes=[KnownFlake("FLAKE-1", job="lint")], jobs=JOBS)
    specs = {c["name"]: c for c in scenario["changes"]}  # type: ignore[attr-defined,index]
    rng = random.Random(scenario["seed"])
    world.flaky("lint", scenario["flakes"])  # type: ignore[arg-type]
    world.land_answers = ["moved"] * scenario["pushes"]  # type: ignore[operator]
    changes = []
    for name, spec in specs.items():
        files = {f"{name}.txt": f"{name}\n"}
        if spec["shared"]:
            files[str(spec["shared"])] = f"{name}\n"
        changes.append(world.change(name, breaks=["test"] if spec["broken"] else (), files=files))
    dequeue = scenario["dequeue"]
    priority = scenario["priority"]
    pending = list(changes)
    enqueued: list[str] = []
    for _ in range(10_000):
        if pending and (not world.running or rng.random() < 0.5):
            change = pending.pop(0)
            level = Priority.NORMAL
            if priority is not None and changes.index(change) == priority[0] and enqueued:  # type: ignore[index]
                level = priority[1]  # type: ignore[index]
            world.send(Enqueue(change, level))
            enqueued.append(change.id)
            continue
        if dequeue is not None and len(enqueued) > dequeue and rng.random() < 0.2:  # type: ignore[operator]
            name = changes[dequeue].id  # type: ignore[index]
            dequeue = None
            if world.state.item_of_change(name) is not None and not _landing(world, name):
                world.send(Dequeue(name))
                specs[name]["dequeued"] = True
            continue
        if not world.running and world.state.paused and not pending:
            world.send(Resume())  # the breaker tripped: an operator resumes
            continue
        if not world.running:
            break
        build = rng.choice(sorted(world.running))
        if scenario["early_failures"] and rng.random() < 0.3:
            world.finish_reporting_early(build)
            continue
        world.finish(build)
    return world, specs


def _landing(world: GateWorld, name: str) -> bool:
    item = world.state.item_of_change(name)
    return item is not None and item.landing is not None


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_gate_invariants(scenario: dict[str, object]) -> None:
    world, specs = _play(scenario)
    settings_ = scenario["settings"]
    assert isinstance(settings_, GateSettings)

    # Everything is decided: the queue is empty and every change left exactly once.
    assert world.state.queue == ()
    assert world.running == {}
    landed = world.landed
    failed, conflicted, dequeued = (
        world.reported("failed"),
        world.reported("conflict"),
        world.reported("dequeued"),
    )
    everyone = landed + failed + conflicted + dequeued
    assert sorted(everyone) == sorted(specs), "each change leaves the queue exactly once"

    # The target only moved to commits whose pipeline passed, by fast-forward (the world
    # asserts both on every landing), and each landing started from the previous one
    # unless someone pushed in between.
    tip = world.repo.branch_tip("main")
    assert tip == (world.landings[-1].commit if world.landings else tip)
    for before, after in zip(world.landings, world.landings[1:], strict=False):
        assert world.repo.is_ancestor(before.commit, after.old_tip)

    flakes_covered = scenario["flakes"] <= settings_.flaky_retries  # type: ignore[operator]
    # No change is ejected for a failure that is not its own.
    for name in failed:
        assert specs[name]["broken"] or not flakes_covered, f"{name} failed for someone else"
    landed_files = {str(specs[n]["shared"]) for n in landed if specs[n]["shared"]}
    for name in conflicted:
        assert specs[name]["shared"] in landed_files, f"{name} conflicted with nothing that landed"

    # Every change that passes on its own (not broken, no shared file) lands.
    if flakes_covered:
        for name, spec in specs.items():
            if not spec["broken"] and not spec["shared"] and not spec.get("dequeued"):
                assert name in landed, f"{name} passes on its own but did not land"

    # Landed order is queue order unless a priority reordered it.
    if scenario["priority"] is None:
        order = list(specs)
        positions = [order.index(name) for name in landed]
        assert positions == sorted(positions)

    # Nothing stays pinned.
    assert world.repo.pins() == ()
