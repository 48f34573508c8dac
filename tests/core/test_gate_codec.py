"""The gate state survives a trip through JSON, mid-flight, and the machine carries on."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gate_world import GateWorld
from gatehouse.core.gate import Enqueue, GateSettings, Pause
from gatehouse.core.gate.codec import state_from_json, state_to_json
from gatehouse.core.gate.known_flakes import KnownFlake
from gatehouse.errors import GateError


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([1, 3]))
def test_round_trip_at_every_step(seed: int, batch: int) -> None:
    rng = random.Random(seed)
    w = GateWorld(
        GateSettings(batch_size=batch, window=3, window_floor=1),
        flakes=[KnownFlake("F", job="test")],
    )
    w.flaky("test")
    if batch > 1:
        w.send(Pause("collect"))
    names = [f"c{i}" for i in range(6)]
    w.send(*(Enqueue(w.change(n, breaks=["build"] if rng.random() < 0.3 else ())) for n in names))
    if batch > 1:
        from gatehouse.core.gate import Resume

        w.send(Resume())
    for _ in range(200):
        text = json.dumps(state_to_json(w.state))
        assert state_from_json(json.loads(text)) == w.state
        if not w.running:
            break
        w.finish(rng.choice(sorted(w.running)))


def test_loaded_state_keeps_working_and_settings_can_change() -> None:
    w = GateWorld()
    w.send(*(Enqueue(w.change(n, breaks=["test"] if n == "B" else ())) for n in "ABC"))
    w.finish(w.build_of("B"))
    data = json.loads(json.dumps(state_to_json(w.state)))
    w.state = state_from_json(data)
    w.run()
    assert w.landed == ["A", "C"]
    resized = state_from_json(data, GateSettings(window=5, window_floor=2))
    assert resized.settings.window_floor == 2
    assert resized.window == data["window"], "the window in force is kept"


def test_malformed_state_is_a_gate_error() -> None:
    with pytest.raises(GateError, match="unsupported format"):
        state_from_json({"format": 99})
    good = state_to_json(GateWorld().state)
    del good["tip"]
    with pytest.raises(GateError, match="malformed data"):
        state_from_json(good)
