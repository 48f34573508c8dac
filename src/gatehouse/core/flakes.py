"""Flaky-test detection, with the evidence for every finding.

Two working definitions, both recorded (notes §6):

**(a) Same input, different outcome.** Results are grouped by test path,
input (tree + commit + patchset, :attr:`ResultContext.input_key`) and
environment (architecture + environment names). A group holding both a pass
and a failure (FAIL or ERROR) is flaky: nothing changed but the outcome.
Reruns inside one job are the commonest case (several results with the same
path under one build, ``misc.attempt``); they are reported as ``rerun``, the
others as ``same-input``. Attempts are never collapsed before this step.

**(b) History.** Per test path and environment, one outcome per run (the
last attempt of the run; a run is a build by default), ordered by
``order_key`` (start time, else id), and only the last ``window`` runs are
looked at. The *flip rate* is Buildkite's: the number of pass→fail
transitions divided by the number of runs in the window (``FFFFF`` 0,
``PPFFF`` 0.2, ``PFPFF`` 0.4). A test is flaky by history when its rate is
at least ``min_rate``, it failed at least twice on separate occasions
(``min_flips`` pass→fail transitions, so a single regression that stays
broken is not flaky) and the window holds at least ``min_sample`` runs.
A test that failed in every run of its window (at least
``min_sample`` runs) is **broken**, not flaky:
it is listed separately and never quarantined as a flake.

**Infra-wide failures are excluded** before both (Trunk's rule): a run in
which more than ``infra_threshold`` (80 %) of at least ``infra_min_tests``
tests failed says something about the machine, not about each test.

SKIP, DONE and MISS results count as neither pass nor fail.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from gatehouse.core.result_context import ResultContext
from gatehouse.core.results import Status

_PASS = frozenset({Status.PASS})
_FAIL = frozenset({Status.FAIL, Status.ERROR})


@dataclass(frozen=True, slots=True)
class FlakeSettings:
    window: int = 30
    min_sample: int = 5
    min_rate: float = 0.05
    min_flips: int = 2
    infra_threshold: float = 0.8
    infra_min_tests: int = 10


@dataclass(frozen=True, slots=True)
class FlakeFinding:
    """One flaky (or broken) test and why we say so.

    ``kind`` is ``rerun`` or ``same-input`` (definition a), ``history``
    (definition b) or ``broken``. ``passed``/``failed`` are the ids of the
    results that show it; ``runs`` the outcome sequence for history findings
    (``P``/``F`` per run, oldest first).
    """

    path: str
    environment: str
    kind: str
    passed: tuple[str, ...]
    failed: tuple[str, ...]
    input_key: str | None = None
    flip_rate: float | None = None
    runs: str = ""


@dataclass(frozen=True, slots=True)
class FlakeReport:
    flaky: tuple[FlakeFinding, ...]
    broken: tuple[FlakeFinding, ...]
    infra_runs: tuple[str, ...]

    def flaky_paths(self) -> frozenset[str]:
        return frozenset(f.path for f in self.flaky)

    def above(self, min_rate: float) -> tuple[FlakeFinding, ...]:
        """Findings for ``gatehouse flakes --min-rate``: same-input ones always count."""
        return tuple(f for f in self.flaky if f.flip_rate is None or f.flip_rate >= min_rate)


def flip_rate(outcomes: str) -> float:
    """Pass→fail transitions over the window length (``"PFPFF"`` → 0.4)."""
    if not outcomes:
        return 0.0
    return sum(1 for a, b in itertools.pairwise(outcomes) if a + b == "PF") / len(outcomes)


def infra_runs(
    results: Sequence[ResultContext],
    settings: FlakeSettings,
    run_of: Callable[[ResultContext], str],
) -> set[str]:
    """Runs in which more than ``infra_threshold`` of their tests failed."""
    totals: dict[str, list[int]] = {}
    for r in results:
        if r.status is None or r.status in (Status.SKIP, Status.DONE):
            continue
        counts = totals.setdefault(run_of(r), [0, 0])
        counts[0] += 1
        counts[1] += r.status.is_failure
    return {
        run
        for run, (total, failed) in totals.items()
        if total >= settings.infra_min_tests and failed / total > settings.infra_threshold
    }


def find_flakes(
    results: Iterable[ResultContext],
    settings: FlakeSettings | None = None,
    *,
    run_of: Callable[[ResultContext], str] = lambda r: r.build.id,
    order_key: Callable[[ResultContext], str] = lambda r: (
        (r.test.start_time if r.test else None) or r.build.start_time or r.build.id
    ),
) -> FlakeReport:
    """Flaky and broken tests among ``results`` (test results; builds are ignored)."""
    settings = settings or FlakeSettings()
    tests = [r for r in results if r.test is not None and r.path is not None]
    excluded = infra_runs(tests, settings, run_of)
    usable = [r for r in tests if run_of(r) not in excluded]
    flaky = _same_input(usable)
    already = {(f.path, f.environment) for f in flaky}
    history, broken = _history(usable, settings, run_of, order_key, already)
    return FlakeReport(tuple(flaky + history), tuple(broken), tuple(sorted(excluded)))


def _same_input(results: Sequence[ResultContext]) -> list[FlakeFinding]:
    groups: dict[tuple[str, str, str], list[ResultContext]] = {}
    for r in results:
        key = r.input_key
        if key is None:
            key = f"build:{r.build.id}"  # without a commit, only reruns in one build are the same input
        assert r.path is not None
        groups.setdefault((r.path, key, r.environment_key), []).append(r)
    findings = []
    for (path, key, env), group in sorted(groups.items()):
        passed = [r for r in group if r.status in _PASS]
        failed = [r for r in group if r.status in _FAIL]
        if not passed or not failed:
            continue
        builds = {r.build.id for r in passed} & {r.build.id for r in failed}
        findings.append(
            FlakeFinding(
                path=path,
                environment=env,
                kind="rerun" if builds else "same-input",
                passed=tuple(sorted(r.object_id for r in passed)),
                failed=tuple(sorted(r.object_id for r in failed)),
                input_key=None if key.startswith("build:") else key,
            )
        )
    return findings


def _history(
    results: Sequence[ResultContext],
    settings: FlakeSettings,
    run_of: Callable[[ResultContext], str],
    order_key: Callable[[ResultContext], str],
    already: set[tuple[str, str]],
) -> tuple[list[FlakeFinding], list[FlakeFinding]]:
    per_test: dict[tuple[str, str], dict[str, ResultContext]] = {}
    for r in sorted(results, key=lambda r: (order_key(r), r.attempt)):
        if r.status not in _PASS | _FAIL:
            continue
        assert r.path is not None
        # the last attempt of a run stands for the run
        per_test.setdefault((r.path, r.environment_key), {})[run_of(r)] = r
    flaky: list[FlakeFinding] = []
    broken: list[FlakeFinding] = []
    for (path, env), runs in sorted(per_test.items()):
        window = sorted(runs.values(), key=order_key)[-settings.window :]
        if len(window) < settings.min_sample:
            continue
        outcomes = "".join("P" if r.status in _PASS else "F" for r in window)
        passed = tuple(r.object_id for r in window if r.status in _PASS)
        failed = tuple(r.object_id for r in window if r.status in _FAIL)
        if not passed:
            broken.append(FlakeFinding(path, env, "broken", (), failed, runs=outcomes))
            continue
        rate = flip_rate(outcomes)
        flips = sum(1 for a, b in itertools.pairwise(outcomes) if a + b == "PF")
        if (path, env) in already or rate < settings.min_rate or flips < settings.min_flips:
            continue
        flaky.append(
            FlakeFinding(path, env, "history", passed, failed, flip_rate=rate, runs=outcomes)
        )
    return flaky, broken
