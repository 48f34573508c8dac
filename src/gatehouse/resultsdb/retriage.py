"""``gatehouse triage``: match stored failures against the known issues again.

Ingest triages every file as it is stored; this re-runs the same matching
over what is already stored, for when the issues changed (a new issue, an
edited pattern) or results came in before an issue existed:

1. read the failing tests and builds received since ``since`` (one indexed
   query each), joined with their builds and checkouts;
2. compile the latest version of every active issue once (the best
   multi-pattern matcher available) and triage them;
3. write the incidents in one transaction. Incident ids are deterministic
   (issue id, version, object id), so running triage twice writes the same
   incidents again instead of new ones.

Incidents already stored for older issue versions are left as they are:
they record what that version matched when it was current.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gatehouse.core.ports import PatternMatcherEngine, ResultsStore
from gatehouse.core.result_context import ResultContext
from gatehouse.core.results import ResultsBatch
from gatehouse.core.triage import TriageReport
from gatehouse.errors import Diagnostic
from gatehouse.resultsdb.contexts import ContextReader
from gatehouse.resultsdb.ingest import counts_in_verdict
from gatehouse.resultsdb.known import compile_triager


@dataclass(frozen=True, slots=True)
class RetriageReport:
    report: TriageReport
    results: tuple[ResultContext, ...]  # the failing results that were triaged
    problems: tuple[Diagnostic, ...]  # issues left out of triage, and why

    @property
    def explained(self) -> dict[str, tuple[str, ...]]:
        return self.report.explained()

    @property
    def unknown(self) -> tuple[ResultContext, ...]:
        """Failing results no issue explains that count in a verdict."""
        return tuple(r for r in self.report.unknown_failures if counts_in_verdict(r))


def failing_since(results: ResultsStore, since: float) -> list[ResultContext]:
    """Failing tests, then failing builds, received since ``since``, with their context."""
    reader = ContextReader(results)
    tests = reader.for_tests(run.test for run in results.failing_tests_since(since))
    builds = reader.for_builds(run.build for run in results.failing_builds_since(since))
    return tests + builds


def retriage(
    results: ResultsStore,
    *,
    since: float,
    now: datetime,
    received_at: float,
    engine: PatternMatcherEngine | None = None,
) -> RetriageReport:
    triager, problems = compile_triager(results, now=now, engine=engine)
    failing = failing_since(results, since)
    report = triager.triage(failing)
    if report.incidents:
        results.submit(ResultsBatch(incidents=report.incidents), received_at=received_at)
    return RetriageReport(report, tuple(failing), tuple(problems))
