"""``gatehouse flakes``: flaky tests found in the stored history, each with its evidence.

The detection itself is :func:`gatehouse.core.flakes.find_flakes` (same
input with different outcomes, reruns inside one job, and the history flip
rate). This module chooses what to feed it, with indexed queries only:

1. **Candidates**: a test that never failed cannot be flaky, so only the
   paths of the tests that failed since ``since`` are looked at
   (``tests_by_status``).
2. **History**: the last ``window * HISTORY_PER_WINDOW`` results of each
   candidate path, newest first (``tests_by_path``), joined with their
   builds and checkouts. The factor leaves room for a path that runs in
   several environments and for reruns, since the core takes the last
   ``window`` runs per environment itself.
3. **Order**: by receive time (every stored result has one; a producer's
   start time may be missing or in another zone).
4. **Infra-wide failures**: a run (build) where more than 80 % of at least
   10 tests failed is set aside (Trunk's rule). The candidates' history
   holds only some of a build's tests, so the fractions are computed from
   the counts of *all* its tests (``test_status_counts``), not from the
   history alone.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace

from gatehouse.core.flakes import FlakeReport, FlakeSettings, find_flakes
from gatehouse.core.ports import ResultsStore, TestRun
from gatehouse.core.result_context import ResultContext
from gatehouse.resultsdb.contexts import ContextReader

HISTORY_PER_WINDOW = 4
_FAILED = frozenset({"FAIL", "ERROR", "MISS"})
_COUNTED = frozenset({"FAIL", "ERROR", "MISS", "PASS"})


@dataclass(frozen=True, slots=True)
class Evidence:
    """One result a finding points at: which run, on what, and when it arrived."""

    test_id: str
    status: str | None
    build_id: str
    checkout_id: str | None
    git_commit_hash: str | None
    received_at: float


@dataclass(frozen=True, slots=True)
class StoredFlakes:
    report: FlakeReport
    evidence: dict[str, Evidence]  # test id -> the run it belongs to
    candidates: int  # paths that failed since `since` and were looked at


def history_of(
    results: ResultsStore, paths: list[str], settings: FlakeSettings
) -> tuple[list[ResultContext], dict[str, TestRun]]:
    """The recent results of ``paths`` with their context, and the stored runs by test id."""
    runs: dict[str, TestRun] = {}
    for path in paths:
        for run in results.test_history(path, limit=settings.window * HISTORY_PER_WINDOW):
            runs[run.test.id] = run
    contexts = ContextReader(results).for_tests(r.test for r in runs.values())
    return contexts, runs


def infra_builds(results: ResultsStore, build_ids: set[str], settings: FlakeSettings) -> set[str]:
    """Builds where more than ``infra_threshold`` of at least ``infra_min_tests`` tests failed."""
    infra = set()
    for build_id, counts in results.test_status_counts(sorted(build_ids)).items():
        total = sum(n for status, n in counts.items() if status in _COUNTED)
        failed = sum(n for status, n in counts.items() if status in _FAILED)
        if total >= settings.infra_min_tests and failed / total > settings.infra_threshold:
            infra.add(build_id)
    return infra


def flakes_of_paths(
    results: ResultsStore, paths: list[str], settings: FlakeSettings
) -> tuple[FlakeReport, dict[str, TestRun]]:
    """Flake detection over the stored history of ``paths``, infra runs judged on whole builds."""
    contexts, runs = history_of(results, paths, settings)
    excluded = infra_builds(results, {c.build.id for c in contexts}, settings)
    kept = [c for c in contexts if c.build.id not in excluded]

    def order(result: ResultContext) -> str:
        return f"{runs[result.object_id].received_at:020.6f}|{result.object_id}"

    # Infra runs were decided above from whole builds; the core's own
    # estimate would see only the candidates' share of each build.
    report = find_flakes(kept, replace(settings, infra_min_tests=sys.maxsize), order_key=order)
    return FlakeReport(report.flaky, report.broken, tuple(sorted(excluded))), runs


def find_stored_flakes(
    results: ResultsStore, *, since: float, settings: FlakeSettings | None = None
) -> StoredFlakes:
    settings = settings or FlakeSettings()
    paths = sorted({r.test.path for r in results.failing_tests_since(since) if r.test.path})
    report, runs = flakes_of_paths(results, paths, settings)
    evidence = {
        test_id: Evidence(
            test_id=test_id,
            status=run.test.status.value if run.test.status else None,
            build_id=run.test.build_id,
            checkout_id=run.checkout_id,
            git_commit_hash=run.git_commit_hash,
            received_at=run.received_at,
        )
        for test_id, run in runs.items()
    }
    return StoredFlakes(report, evidence, len(paths))
