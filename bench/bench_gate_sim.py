"""Merges per hour of the gate, simulated, against the analytic optimum.

The real state machine (:func:`gatehouse.core.gate.step`) runs under a
simulated clock: speculative merges and landings answer at once, every
build takes T, and a change is *bad* with probability p (any speculative
state containing it fails). The queue is kept full (saturated) until N
changes have been fed; throughput is merges per simulated hour up to then.

Beside each simulated figure: the analytic optimum E_W/T with
E_W = sum_{i=1..W} (1-p)^i (for the adaptive window, W = the mean window the
run actually had; for batching, cars of b: b * E_W(s^b) / T, what NNFI
over cars would give if a failed car cost one round like a single change —
bisection costs more rounds, so the gap measures its price), and the CI
cost: builds started per merge and build time consumed per merge in units
of T (cancelled builds count for the time they ran).

Checks against the Sonos simulator (T = 30 min, p = 0.1): W=5 -> 7.37/h,
W=3 -> 4.88/h, serial 1.8/h.

    python bench/bench_gate_sim.py            # 2000 merges per cell
    python bench/bench_gate_sim.py --quick    # 100 merges per cell, a smoke run
"""

from __future__ import annotations

import argparse
import heapq
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from gatehouse.core.gate import (
    BuildFinished,
    BuildSpeculativeCommit,
    CancelBuild,
    Change,
    ClassifyFailure,
    Enqueue,
    Event,
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

T = 1800.0  # build time, seconds
PROBABILITIES = (0.02, 0.05, 0.1, 0.2)


@dataclass(frozen=True)
class Mode:
    name: str
    settings: Callable[[float], GateSettings]
    window_for_analytic: int | None  # None: use the run's mean window
    batch: Callable[[float], int] = lambda _p: 1


def _fixed(window: int, batched: bool = False) -> Callable[[float], GateSettings]:
    return lambda p: GateSettings(
        window=window,
        window_floor=window,
        window_increase=0,
        window_decrease_factor=1,
        batch_size=_batch_size(p) if batched else 1,
        bisect_ways=4,
        flaky_retries=0,
        breaker_threshold=0,
    )


def _batch_size(p: float) -> int:
    """The b minimising builds per change, 1/b + 1 - (1-p)^b (notes §6.4)."""
    return min(range(1, 17), key=lambda b: 1 / b + 1 - (1 - p) ** b)


MODES = (
    Mode("serial", _fixed(1), 1),
    Mode("nnfi W=3", _fixed(3), 3),
    Mode("nnfi W=5", _fixed(5), 5),
    Mode("nnfi W=20", _fixed(20), 20),
    Mode(
        "nnfi adaptive",
        lambda _p: GateSettings(flaky_retries=0, breaker_threshold=0),
        None,
    ),
    Mode("batch W=5", _fixed(5, batched=True), 5, _batch_size),
    Mode(
        "batch adaptive",
        lambda p: GateSettings(
            batch_size=_batch_size(p), bisect_ways=4, flaky_retries=0, breaker_threshold=0
        ),
        None,
        _batch_size,
    ),
)


@dataclass
class Result:
    merges: int
    hours: float
    builds: int
    build_time: float
    mean_window: float
    steps: int
    seconds: float

    @property
    def per_hour(self) -> float:
        return self.merges / self.hours if self.hours else 0.0


def e_w(s: float, window: float) -> float:
    """Expected leading successes among W items that each pass with probability s."""
    whole = int(window)
    total = sum(s**i for i in range(1, whole + 1))
    return total + (window - whole) * s ** (whole + 1)


def simulate(mode: Mode, p: float, merges_wanted: int, seed: int) -> Result:
    """Run one cell with an endless supply of changes until ``merges_wanted`` merges.

    Throughput is measured in steady state: from the merge that ends the
    warm-up (the first tenth) to the last one, so the start (an empty
    queue filling up) and the end (a draining queue) do not bias it.
    """
    rng = random.Random(seed)
    settings = mode.settings(p)
    batch = mode.batch(p)
    state = new_gate("t0", settings)
    content: dict[str, frozenset[str]] = {"t0": frozenset()}
    bad: set[str] = set()
    clock = 0.0
    agenda: list[tuple[float, int, Event]] = []
    sequence = 0
    running: dict[int, float] = {}  # build id -> start time
    fed = 0
    merge_times: list[float] = []
    builds_at: list[float] = []  # start time of every build
    spent: list[tuple[float, float]] = []  # (end time, build seconds) of every build
    window_samples: list[tuple[float, int]] = []
    steps = 0
    warmup = max(1, merges_wanted // 10)
    started = time.perf_counter()

    def schedule(at: float, event: Event) -> None:
        nonlocal sequence
        sequence += 1
        heapq.heappush(agenda, (at, sequence, event))

    def execute(command: object) -> list[Event]:
        match command:
            case BuildSpeculativeCommit():
                commit = f"s{command.request}"
                content[commit] = content[command.base] | {c.id for c in command.changes}
                return [SpeculativeCommitBuilt(command.request, commit, commit, at=clock)]
            case StartBuild():
                running[command.build] = clock
                builds_at.append(clock)
                failed = bool(content[command.commit] & bad)
                failures = (JobFailure("test"),) if failed else ()
                schedule(clock + T, BuildFinished(command.build, failures, at=clock + T))
            case CancelBuild():
                if command.build in running:
                    spent.append((clock, clock - running.pop(command.build)))
            case ClassifyFailure():
                return [FailureClassified(command.request, False, at=clock)]
            case Land():
                merge_times.extend([clock] * len(command.changes))
                return [Landed(command.request, at=clock)]
        return []

    def apply(event: Event) -> None:
        nonlocal state, steps
        pending = [event]
        while pending:
            state, commands = step(state, pending.pop(0))
            steps += 1
            for command in commands:
                pending.extend(execute(command))
        window_samples.append((clock, state.window))

    def feed() -> None:
        nonlocal fed
        wanted = (state.window + 2) * batch
        queued = sum(len(item.changes) for item in state.queue)
        while queued < wanted:
            name = f"c{fed}"
            if rng.random() < p:
                bad.add(name)
            fed += 1
            queued += 1
            apply(Enqueue(Change(name, name), at=clock))

    feed()
    while agenda and len(merge_times) < merges_wanted:
        clock, _, event = heapq.heappop(agenda)
        if isinstance(event, BuildFinished):
            if event.build not in running:
                continue  # cancelled
            spent.append((clock, clock - running.pop(event.build)))
        apply(event)
        feed()
    begin, end = merge_times[warmup - 1], merge_times[-1]
    measured = len(merge_times) - warmup
    return Result(
        merges=measured,
        hours=(end - begin) / 3600,
        builds=sum(1 for at in builds_at if begin <= at < end),
        build_time=sum(seconds for at, seconds in spent if begin < at <= end),
        mean_window=_time_average(window_samples, begin, end),
        steps=steps,
        seconds=time.perf_counter() - started,
    )


def _time_average(samples: list[tuple[float, int]], begin: float, end: float) -> float:
    """The time-weighted mean of a step function sampled at change points."""
    area, last_time, last_value = 0.0, begin, None
    for at, value in samples:
        if at <= begin:
            last_value = value
            continue
        if at > end:
            break
        if last_value is not None:
            area += last_value * (at - last_time)
        last_time, last_value = at, value
    if last_value is not None:
        area += last_value * (end - last_time)
    return area / (end - begin) if end > begin else float(last_value or 0)


def analytic(mode: Mode, p: float, result: Result) -> float:
    s = 1 - p
    window = mode.window_for_analytic or result.mean_window
    b = mode.batch(p)
    if b == 1:
        return e_w(s, window) / (T / 3600)
    return b * e_w(s**b, window) / (T / 3600)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--merges", type=int, help="merges simulated per cell")
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args(argv)
    merges = args.merges or (100 if args.quick else 2000)
    print(
        f"gate throughput, T = {T / 60:.0f} min, {merges} merges per cell "
        f"(first tenth is warm-up), seed {args.seed}"
    )
    print("figures are simulated hours from the real gate state machine; the machine may be shared")
    header = (
        f"{'p':>5} {'mode':<15} {'b':>2} {'W':>6} {'merges/h':>9} {'analytic':>9} "
        f"{'sim/an':>7} {'x serial':>8} {'builds/m':>9} {'T/merge':>8} {'ms/step':>8}"
    )
    print(header)
    print("-" * len(header))
    total_steps, total_seconds = 0, 0.0
    for p in PROBABILITIES:
        serial: float | None = None
        for index, mode in enumerate(MODES):
            result = simulate(mode, p, merges, args.seed + index * 1000 + int(p * 1000))
            total_steps += result.steps
            total_seconds += result.seconds
            rate = result.per_hour
            if serial is None:
                serial = rate
            best = analytic(mode, p, result)
            merged = max(result.merges, 1)
            print(
                f"{p:>5.2f} {mode.name:<15} {mode.batch(p):>2} {result.mean_window:>6.1f} "
                f"{rate:>9.2f} {best:>9.2f} {rate / best:>7.2f} {rate / serial:>8.2f} "
                f"{result.builds / merged:>9.2f} {result.build_time / T / merged:>8.2f} "
                f"{1000 * result.seconds / max(result.steps, 1):>8.3f}"
            )
        s = 1 - p
        print(
            f"{'':>5} asymptote s/(pT) = {s / p / (T / 3600):.1f}/h; "
            f"AIMD equilibrium W* = 2s/p = {2 * s / p:.0f}"
        )
    print(
        f"state machine: {total_steps} steps in {total_seconds:.1f} s "
        f"({1e6 * total_seconds / max(total_steps, 1):.0f} µs/step on average)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
