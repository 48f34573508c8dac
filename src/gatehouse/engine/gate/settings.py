"""Settings of the gate's driver (``[gate]`` in gatehouse.toml, next to the queue's own).

The queue's behaviour (window, batching, retries …) is
:class:`gatehouse.core.gate.GateSettings`, carried inside the state; these
are about the process that drives it.
"""

from __future__ import annotations

from dataclasses import dataclass

from gatehouse.settings import parse_duration, register, setting


def _interval(value: object) -> float:
    seconds = parse_duration(value)  # type: ignore[arg-type]
    if seconds <= 0:
        raise ValueError(f"must be more than 0 seconds, not {value!r}")
    return seconds


@register
@dataclass(frozen=True, slots=True)
class GateDriverSettings:
    """How `gatehouse gate run` drives the queue."""

    poll_interval: float = setting(
        1.0,
        "Seconds between looks at the inbox (requests from `gatehouse gate enqueue` …) and at the target branch (pushed by someone else?).",
        env="GATEHOUSE_GATE_POLL_INTERVAL",
        key="gate.poll_interval",
        parse=_interval,
    )
