"""The gate's settings: one frozen dataclass, keys under ``gate.`` in gatehouse.toml.

Resolved once at the edge (flags > ``GATEHOUSE_GATE_*`` > gatehouse.toml >
defaults, see :mod:`gatehouse.settings`) and carried inside the gate's state,
so :func:`gatehouse.core.gate.step` needs nothing else. The window defaults
are Zuul's (20, floor 3, +1 on a merge, ÷2 on a failure).
"""

from __future__ import annotations

from dataclasses import dataclass

from gatehouse.errors import UsageError
from gatehouse.settings import parse_bool, register, setting


def _positive_int(value: object) -> int:
    number = _int(value)
    if number < 1:
        raise ValueError(f"must be at least 1, not {number}")
    return number


def _non_negative_int(value: object) -> int:
    number = _int(value)
    if number < 0:
        raise ValueError(f"must be 0 or more, not {number}")
    return number


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"not a whole number: {value!r}")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"not a whole number: {value!r}") from None


def _factor(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"not a number: {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"not a number: {value!r}") from None
    if number < 1:
        raise ValueError(f"must be 1 or more (1 keeps the window fixed), not {number}")
    return number


@register
@dataclass(frozen=True, slots=True)
class GateSettings:
    """How the merge queue behaves. Every field is documented in docs/gate.md."""

    target_branch: str = setting(
        "main",
        "Branch the gate lands changes on (fast-forward only).",
        env="GATEHOUSE_GATE_TARGET_BRANCH",
        key="gate.target_branch",
    )
    window: int = setting(
        20,
        "Initial number of queue items that are tested at once (Zuul's `window`).",
        env="GATEHOUSE_GATE_WINDOW",
        key="gate.window",
        parse=_positive_int,
    )
    window_floor: int = setting(
        3,
        "The window never shrinks below this many items.",
        env="GATEHOUSE_GATE_WINDOW_FLOOR",
        key="gate.window_floor",
        parse=_positive_int,
    )
    window_ceiling: int = setting(
        0,
        "The window never grows beyond this many items; 0 means no ceiling.",
        env="GATEHOUSE_GATE_WINDOW_CEILING",
        key="gate.window_ceiling",
        parse=_non_negative_int,
    )
    window_increase: int = setting(
        1,
        "Items added to the window after each merge (linear increase); 0 keeps it fixed.",
        env="GATEHOUSE_GATE_WINDOW_INCREASE",
        key="gate.window_increase",
        parse=_non_negative_int,
    )
    window_decrease_factor: float = setting(
        2.0,
        "The window is divided by this after each failure reported at the head (multiplicative decrease); 1 keeps it fixed.",
        env="GATEHOUSE_GATE_WINDOW_DECREASE_FACTOR",
        key="gate.window_decrease_factor",
        parse=_factor,
    )
    batch_size: int = setting(
        1,
        "Most changes one queue item (a car) may hold; 1 disables batching.",
        env="GATEHOUSE_GATE_BATCH_SIZE",
        key="gate.batch_size",
        parse=_positive_int,
    )
    bisect_ways: int = setting(
        4,
        "Cumulative prefixes a failed car is split into and tested in parallel (its last change is presumed, not re-tested); 1 tests one prefix at a time.",
        env="GATEHOUSE_GATE_BISECT_WAYS",
        key="gate.bisect_ways",
        parse=_positive_int,
    )
    flaky_retries: int = setting(
        1,
        "Times a failed voting job is retried when its failure matches a known flaky issue; 0 never retries.",
        env="GATEHOUSE_GATE_FLAKY_RETRIES",
        key="gate.flaky_retries",
        parse=_non_negative_int,
    )
    breaker_threshold: int = setting(
        5,
        "Consecutive build failures reported at the head that pause the gate; 0 disables the breaker.",
        env="GATEHOUSE_GATE_BREAKER_THRESHOLD",
        key="gate.breaker_threshold",
        parse=_non_negative_int,
    )
    fail_fast: bool = setting(
        True,
        "Cancel an item's other builds at its first confirmed voting-job failure.",
        env="GATEHOUSE_GATE_FAIL_FAST",
        key="gate.fail_fast",
        parse=parse_bool,
    )
    history: int = setting(
        50,
        "Finished items (merged, failed, dequeued) kept in the state for `gate status`.",
        env="GATEHOUSE_GATE_HISTORY",
        key="gate.history",
        parse=_non_negative_int,
    )

    def __post_init__(self) -> None:
        problems = []
        if self.window < 1:
            problems.append(f"gate.window must be at least 1, not {self.window}")
        if self.window_floor < 1:
            problems.append(f"gate.window_floor must be at least 1, not {self.window_floor}")
        if self.window_floor > self.window:
            problems.append(
                f"gate.window_floor ({self.window_floor}) is larger than gate.window ({self.window})"
            )
        if self.window_ceiling and self.window_ceiling < self.window:
            problems.append(
                f"gate.window_ceiling ({self.window_ceiling}) is smaller than gate.window ({self.window})"
            )
        if self.window_decrease_factor < 1:
            problems.append(
                f"gate.window_decrease_factor must be 1 or more, not {self.window_decrease_factor}"
            )
        for name in ("batch_size", "bisect_ways"):
            if getattr(self, name) < 1:
                problems.append(f"gate.{name} must be at least 1, not {getattr(self, name)}")
        for name in ("window_increase", "flaky_retries", "breaker_threshold", "history"):
            if getattr(self, name) < 0:
                problems.append(f"gate.{name} must be 0 or more, not {getattr(self, name)}")
        if not self.target_branch or self.target_branch.startswith(("-", "refs/")):
            problems.append(
                f"gate.target_branch must be a branch name such as 'main', not {self.target_branch!r}"
            )
        if problems:
            raise UsageError("; ".join(problems))

    def grow(self, window: int) -> int:
        """The window after a merge at the head (linear increase, capped by the ceiling)."""
        grown = window + self.window_increase
        return min(grown, self.window_ceiling) if self.window_ceiling else grown

    def shrink(self, window: int) -> int:
        """The window after a failure at the head (multiplicative decrease, kept above the floor)."""
        return max(self.window_floor, int(window / self.window_decrease_factor))
