"""``gatehouse compare A B``: what changed between two pipelines, commits or checkouts.

Each side names a set of checkouts:

- ``123`` or ``pipeline:123``: one of our pipelines (checkout ``gatehouse:p123``);
  4 or more digits naming no pipeline are tried as a commit prefix;
- a hex prefix of at least 4 digits, or ``commit:PREFIX``: every checkout of
  that commit, from every origin (a prefix matching several commits is refused);
- ``origin:id`` or ``checkout:origin:id``: one checkout.

The tests of those checkouts, joined with their builds and checkouts, go to
:func:`gatehouse.core.compare.compare`, keyed by test path; so do the builds
whose status is known (our jobs, KCIDB builds), keyed ``build
<origin>/<config>/<architecture>`` (for our pipelines the config is the job
name), so a job that starts failing without any test report is a regression
too. B's failures carry two kinds of marks, so that the default report names
only what is new and unexplained:

- **known issues**: the active issues that match B's failing results now
  (the latest issue versions, compiled with the best matcher), plus the
  incidents stored for them whose issue is still active (incidents other CI
  systems submitted, for issues without patterns here);
- **flaky**: the paths :mod:`.flakes` finds flaky in the stored history of
  B's failing paths (which holds A and B themselves: reruns inside B's jobs
  count).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from gatehouse.core.compare import CompareReport, compare
from gatehouse.core.flakes import FlakeSettings
from gatehouse.core.ports import PatternMatcherEngine, ResultsStore
from gatehouse.core.result_context import ResultContext
from gatehouse.core.results import Checkout
from gatehouse.errors import UsageError
from gatehouse.resultsdb.contexts import ContextReader
from gatehouse.resultsdb.flakes import flakes_of_paths
from gatehouse.resultsdb.known import active_ids, compile_triager, load_latest

PIPELINE_ORIGIN = "gatehouse"
_HEX = re.compile(r"^[0-9a-f]{4,64}$")


@dataclass(frozen=True, slots=True)
class Side:
    """One side of a comparison: what the user named and what it resolved to."""

    spec: str
    kind: str  # pipeline | commit | checkout
    checkouts: tuple[Checkout, ...]
    results: tuple[ResultContext, ...]

    @property
    def label(self) -> str:
        commits = sorted({c.git_commit_hash for c in self.checkouts if c.git_commit_hash})
        if self.kind == "commit" and commits:
            return f"commit {commits[0][:12]}"
        commit = f", commit {commits[0][:12]}" if len(commits) == 1 else ""
        name = self.checkouts[0].id if self.kind == "checkout" else self.spec
        return f"{self.kind} {name}{commit}"


@dataclass(frozen=True, slots=True)
class StoredComparison:
    a: Side
    b: Side
    report: CompareReport


def resolve(results: ResultsStore, spec: str) -> Side:
    """The checkouts ``spec`` names, with their tests; a UsageError when there are none."""
    kind, value = _kind_of(spec)
    if kind == "pipeline":
        checkout = results.get_checkout(f"{PIPELINE_ORIGIN}:p{value}")
        if checkout is None and spec == value and len(value) >= 4:
            kind = "commit"  # digits only: no such pipeline, so perhaps a commit prefix
    if kind == "pipeline":
        if checkout is None:
            raise UsageError(
                f"no results of pipeline {value} in the results database",
                hint="gatehouse runs lists pipelines; only pipelines run since results "
                "recording began have results",
            )
        checkouts: list[Checkout] = [checkout]
    elif kind == "commit":
        checkouts = list(results.checkouts_by_commit_prefix(value))
        commits = sorted({c.git_commit_hash or "" for c in checkouts})
        if not checkouts:
            raise UsageError(f"no results of a commit starting with {value!r}")
        if len(commits) > 1:
            raise UsageError(
                f"{value!r} names several commits: {', '.join(c[:12] for c in commits)}",
                hint="give more digits",
            )
    else:
        found = results.get_checkout(value)
        if found is None:
            raise UsageError(f"no checkout {value!r} in the results database")
        checkouts = [found]
    reader = ContextReader(results)
    reader.remember(checkouts=checkouts)
    contexts: list[ResultContext] = []
    for checkout in checkouts:
        builds = results.builds_of_checkout(checkout.id)
        contexts.extend(reader.for_builds(b for b in builds if b.status is not None))
        contexts.extend(reader.for_tests(results.tests_of_checkout(checkout.id)))
    return Side(spec, kind, tuple(checkouts), tuple(contexts))


def compare_key(result: ResultContext) -> str | None:
    """Tests by path; builds (jobs) by origin, configuration and architecture."""
    if result.test is not None:
        return result.test.path
    b = result.build
    return "build " + "/".join(p for p in (b.origin, b.config_name, b.architecture) if p)


def _kind_of(spec: str) -> tuple[str, str]:
    for prefix in ("pipeline:", "commit:", "checkout:"):
        if spec.startswith(prefix):
            value = spec[len(prefix) :]
            kind = prefix[:-1]
            if kind == "pipeline" and not value.isdigit():
                raise UsageError(f"{spec!r}: a pipeline is a number")
            if kind == "commit" and not _HEX.match(value.lower()):
                raise UsageError(f"{spec!r}: a commit is at least 4 hexadecimal digits")
            return kind, value.lower() if kind == "commit" else value
    if spec.isdigit():
        return "pipeline", spec
    if _HEX.match(spec.lower()):
        return "commit", spec.lower()
    if ":" in spec:
        return "checkout", spec
    raise UsageError(
        f"cannot tell what {spec!r} names",
        hint="give a pipeline number, a commit (4+ hex digits) or a checkout id origin:id",
    )


def known_marks(
    results: ResultsStore,
    failing: list[ResultContext],
    *,
    now: datetime,
    engine: PatternMatcherEngine | None = None,
) -> dict[str, tuple[str, ...]]:
    """Object id → the active issues explaining it: live triage plus stored incidents."""
    triager, _ = compile_triager(results, now=now, engine=engine)
    known = {k: list(v) for k, v in triager.triage(failing).explained().items()}
    issues, _ = load_latest(results)
    active = active_ids(issues, now)
    for result in failing:
        stored = (
            results.incidents_of_test(result.object_id)
            if result.test is not None
            else results.incidents_of_build(result.object_id)
        )
        for incident in stored:
            if incident.present is False or incident.issue_id not in active:
                continue
            ids = known.setdefault(result.object_id, [])
            if incident.issue_id not in ids:
                ids.append(incident.issue_id)
    return {k: tuple(v) for k, v in known.items()}


def flaky_paths(
    results: ResultsStore, failing: list[ResultContext], settings: FlakeSettings
) -> frozenset[str]:
    """The failing paths the stored history shows flaky (as ``gatehouse flakes`` decides)."""
    paths = sorted({r.path for r in failing if r.path})
    report, _ = flakes_of_paths(results, paths, settings)
    return report.flaky_paths()


def compare_stored(
    results: ResultsStore,
    a: str,
    b: str,
    *,
    now: datetime,
    flake_settings: FlakeSettings | None = None,
    engine: PatternMatcherEngine | None = None,
) -> StoredComparison:
    side_a, side_b = resolve(results, a), resolve(results, b)
    failing = [r for r in side_b.results if r.status is not None and r.status.is_failure]
    report = compare(
        side_a.results,
        side_b.results,
        known=known_marks(results, failing, now=now, engine=engine),
        flakes=flaky_paths(results, failing, flake_settings or FlakeSettings()),
        key=compare_key,
    )
    return StoredComparison(side_a, side_b, report)
