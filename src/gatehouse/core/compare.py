"""Compare two sets of results (pipelines, commits, checkouts) and name what is new.

Per test (by path unless another key is given), each side's results are
rolled up (FAIL > ERROR > MISS > PASS > DONE > SKIP) and bucketed as the
KernelCI dashboard's tree compare does: **PASS**, **FAIL**, or
**INCONCLUSIVE** (everything else: ERROR, MISS, SKIP, DONE, unknown). The
pair of buckets gives the class:

================  =========  ==============================
A                 B          class
================  =========  ==============================
PASS              FAIL/INC   ``regression``
FAIL/INC          PASS       ``fixed``
absent or INC     FAIL       ``new_failure``
FAIL              FAIL       ``still_failing``
absent            PASS       ``new_pass``
absent            INC        ``appeared``
present           absent     ``disappeared``
PASS              PASS       ``unchanged``
FAIL or INC       INC        ``inconclusive``
================  =========  ==============================

Each entry carries two marks: the known issues that explain B's failing
results (from triage: object id → issue ids) and whether the test is known
to be flaky. The default report (:meth:`CompareReport.new_and_unexplained`)
lists only regressions and new failures that are neither fully explained by
known issues nor flaky — the one list a maintainer must read.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from gatehouse.core.result_context import ResultContext
from gatehouse.core.results import Status, rollup

CLASSES = (
    "regression",
    "new_failure",
    "still_failing",
    "fixed",
    "new_pass",
    "appeared",
    "disappeared",
    "inconclusive",
    "unchanged",
)


def bucket(status: Status | None) -> str:
    if status is Status.PASS:
        return "PASS"
    if status is Status.FAIL:
        return "FAIL"
    return "INCONCLUSIVE"


def classify_pair(a: str | None, b: str | None) -> str:
    """The class of a test whose buckets are ``a`` and ``b`` (``None`` = absent)."""
    if b is None:
        return "disappeared"
    if a is None:
        return {"PASS": "new_pass", "FAIL": "new_failure"}.get(b, "appeared")
    if a == "PASS":
        return "unchanged" if b == "PASS" else "regression"
    if b == "PASS":
        return "fixed"
    if b == "FAIL":
        return "still_failing" if a == "FAIL" else "new_failure"
    return "inconclusive"


@dataclass(frozen=True, slots=True)
class CompareEntry:
    key: str
    klass: str
    status_a: Status | None
    status_b: Status | None
    ids_a: tuple[str, ...]
    ids_b: tuple[str, ...]
    known_issues: tuple[str, ...] = ()
    explained: bool = False  # every failing result in B is explained by a known issue
    flaky: bool = False

    @property
    def new_and_unexplained(self) -> bool:
        return self.klass in ("regression", "new_failure") and not self.explained and not self.flaky


@dataclass(frozen=True, slots=True)
class CompareReport:
    entries: tuple[CompareEntry, ...]

    def by_class(self) -> dict[str, tuple[CompareEntry, ...]]:
        return {c: tuple(e for e in self.entries if e.klass == c) for c in CLASSES}

    def counts(self) -> dict[str, int]:
        return {c: len(v) for c, v in self.by_class().items() if v}

    def new_and_unexplained(self) -> tuple[CompareEntry, ...]:
        """The default report: regressions and new failures no known issue or flake explains."""
        return tuple(e for e in self.entries if e.new_and_unexplained)


def compare(
    a: Iterable[ResultContext],
    b: Iterable[ResultContext],
    *,
    known: Mapping[str, Sequence[str]] | None = None,
    flakes: Collection[str] = (),
    key: Callable[[ResultContext], str | None] = lambda r: r.path,
) -> CompareReport:
    """Classify every test of ``a`` (before) and ``b`` (after).

    ``known`` maps result (object) ids to the ids of the issues explaining
    them (``TriageReport.explained()``); ``flakes`` is a set of flaky test
    keys (``FlakeReport.flaky_paths()``).
    """
    known = known or {}
    side_a = _group(a, key)
    side_b = _group(b, key)
    entries = []
    for k in sorted(side_a.keys() | side_b.keys()):
        ra, rb = side_a.get(k, []), side_b.get(k, [])
        sa = rollup(r.status for r in ra) if ra else None
        sb = rollup(r.status for r in rb) if rb else None
        klass = classify_pair(bucket(sa) if ra else None, bucket(sb) if rb else None)
        failing_b = [r for r in rb if r.status is not None and r.status.is_failure]
        issues: list[str] = []
        for r in failing_b:
            for issue in known.get(r.object_id, ()):
                if issue not in issues:
                    issues.append(issue)
        explained = bool(failing_b) and all(known.get(r.object_id) for r in failing_b)
        entries.append(
            CompareEntry(
                key=k,
                klass=klass,
                status_a=sa,
                status_b=sb,
                ids_a=tuple(r.object_id for r in ra),
                ids_b=tuple(r.object_id for r in rb),
                known_issues=tuple(issues),
                explained=explained,
                flaky=k in flakes,
            )
        )
    return CompareReport(tuple(entries))


def _group(
    results: Iterable[ResultContext], key: Callable[[ResultContext], str | None]
) -> dict[str, list[ResultContext]]:
    out: dict[str, list[ResultContext]] = {}
    for r in results:
        k = key(r)
        if k is not None:
            out.setdefault(k, []).append(r)
    return out
