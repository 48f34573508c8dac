"""GateSettings: defaults, resolution from gatehouse.toml and the environment, located errors."""

from __future__ import annotations

import dataclasses

import pytest

from gatehouse.core.gate import GateSettings
from gatehouse.errors import UsageError
from gatehouse.settings import REGISTRY, resolve


def test_defaults_are_zuuls_window() -> None:
    s = GateSettings()
    assert (s.window, s.window_floor, s.window_increase, s.window_decrease_factor) == (
        20,
        3,
        1,
        2.0,
    )
    assert s.window_ceiling == 0
    assert s.batch_size == 1
    assert s.flaky_retries == 1
    assert s.target_branch == "main"


def test_registered_and_every_field_documented_with_a_gate_key() -> None:
    assert GateSettings in REGISTRY
    for f in dataclasses.fields(GateSettings):
        assert f.metadata["doc"], f.name
        assert f.metadata["key"] == f"gate.{f.name}"
        assert f.metadata["env"] == f"GATEHOUSE_GATE_{f.name.upper()}"


def test_resolve_from_file_and_environment() -> None:
    s = resolve(
        GateSettings,
        env={"GATEHOUSE_GATE_FAIL_FAST": "no", "GATEHOUSE_GATE_WINDOW": "8"},
        file={
            "gate": {"window": 30, "window_floor": 2, "batch_size": 4, "target_branch": "master"}
        },
    )
    assert s.window == 8, "the environment beats the file"
    assert s.window_floor == 2
    assert s.batch_size == 4
    assert s.fail_fast is False
    assert s.target_branch == "master"


def test_bad_values_name_their_origin() -> None:
    with pytest.raises(UsageError, match=r"gatehouse.toml: gate.window: must be at least 1"):
        resolve(GateSettings, file={"gate": {"window": 0}})
    with pytest.raises(UsageError, match=r"GATEHOUSE_GATE_BATCH_SIZE: not a whole number"):
        resolve(GateSettings, env={"GATEHOUSE_GATE_BATCH_SIZE": "many"})
    with pytest.raises(UsageError, match=r"window_decrease_factor.*1 or more"):
        resolve(GateSettings, file={"gate": {"window_decrease_factor": 0.5}})
    with pytest.raises(UsageError, match="not a whole number"):
        resolve(GateSettings, file={"gate": {"window": True}})


def test_inconsistent_combinations_are_refused() -> None:
    with pytest.raises(UsageError, match=r"window_floor \(5\) is larger than gate.window \(3\)"):
        GateSettings(window=3, window_floor=5)
    with pytest.raises(UsageError, match=r"window_ceiling \(2\) is smaller"):
        GateSettings(window=3, window_floor=1, window_ceiling=2)
    with pytest.raises(UsageError, match="target_branch"):
        GateSettings(target_branch="refs/heads/main")


def test_window_arithmetic() -> None:
    s = GateSettings(window=4, window_floor=2, window_ceiling=6, window_increase=2)
    assert s.grow(4) == 6
    assert s.grow(6) == 6
    assert s.shrink(6) == 3
    assert s.shrink(3) == 2
    fixed = GateSettings(window=5, window_floor=5, window_increase=0, window_decrease_factor=1)
    assert fixed.grow(5) == fixed.shrink(5) == 5
