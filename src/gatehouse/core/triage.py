"""Triage: link results to the known issues that explain them, and name the rest.

The algorithm, in the order it runs:

1. **Choose the issues that triage.** Of every issue id only the highest
   version counts (KCIDB's rule); retired issues and issues whose expiry is
   not after ``now`` are left out. ``now`` is passed in: the core reads no
   clock.
2. **Compile once.** Every log regex of every chosen pattern goes into one
   multi-pattern matcher (the :class:`PatternMatcherEngine` port: Hyperscan,
   an RE2 set or the pure-Python prefilter), keyed ``"<issue index>/<pattern
   index>"``. Test-path globs and regexes are compiled once too. The result,
   :class:`Triager`, is reused for every batch, so triage can run on every
   ingest.
3. **Per result**, cheap filters first: a pattern applies only to results of
   its kind (test or build) whose status it covers (empty status set: any
   failure). If any pattern with a log regex could still apply, the result's
   log is scanned **once** with all regexes at the same time; a
   pattern with a log regex can then only match if its key came back. The
   remaining parts (path, origin, tree, branch, architecture, tags,
   environment) are plain comparisons.
4. **Incidents.** Each (issue version, result) that matched becomes one
   :class:`Incident` with ``present=True`` and a deterministic id:
   ``<origin>:<sha256 of "issue id|version|object id">``, as ``kcidb_match``
   does, so re-running triage produces the same incidents (merge-by-id keeps
   them single).
5. **Unknown failures.** A failing result (FAIL, ERROR, MISS) that no issue
   explains is an *unknown failure*: the "possible new issues" a report must
   lead with.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from gatehouse.core.known_issues import IssuePattern, KnownIssue, compile_test_path, latest_versions
from gatehouse.core.ports import PatternMatcher, PatternMatcherEngine
from gatehouse.core.result_context import ResultContext
from gatehouse.core.results import Incident

TRIAGE_ORIGIN = "gatehouse"


def incident_id(
    issue_id: str, issue_version: int, object_id: str, *, origin: str = TRIAGE_ORIGIN
) -> str:
    """The deterministic id of the incident linking an issue version and an object."""
    digest = hashlib.sha256(f"{issue_id}|{issue_version}|{object_id}".encode()).hexdigest()
    return f"{origin}:{digest}"


@dataclass(frozen=True, slots=True)
class Match:
    """A result explained by an issue version (through the pattern at ``pattern_index``)."""

    object_id: str
    issue_id: str
    issue_version: int
    pattern_index: int


@dataclass(frozen=True, slots=True)
class TriageReport:
    incidents: tuple[Incident, ...]
    matches: tuple[Match, ...]
    unknown_failures: tuple[ResultContext, ...]

    def explained(self) -> dict[str, tuple[str, ...]]:
        """Object id → the ids of the issues that explain it."""
        out: dict[str, list[str]] = {}
        for m in self.matches:
            ids = out.setdefault(m.object_id, [])
            if m.issue_id not in ids:
                ids.append(m.issue_id)
        return {k: tuple(v) for k, v in out.items()}


@dataclass(frozen=True, slots=True)
class _CompiledPattern:
    issue: KnownIssue
    index: int
    pattern: IssuePattern
    path_matches: Callable[[str], bool] | None
    log_key: str | None


class Triager:
    """Known issues compiled for matching; build with :func:`compile_issues`."""

    def __init__(
        self, patterns: Sequence[_CompiledPattern], matcher: PatternMatcher, origin: str
    ) -> None:
        self._patterns = tuple(patterns)
        self._matcher = matcher
        self._origin = origin

    @property
    def issues(self) -> tuple[KnownIssue, ...]:
        seen: dict[str, KnownIssue] = {}
        for p in self._patterns:
            seen.setdefault(p.issue.id, p.issue)
        return tuple(seen.values())

    def match(self, result: ResultContext) -> list[Match]:
        """The issue versions that explain ``result`` (at most one match per issue)."""
        status = result.status
        applicable = [p for p in self._patterns if _kind_and_status_apply(p.pattern, result)]
        if not applicable or status is None:
            return []
        hits: frozenset[str] = frozenset()
        if any(p.log_key is not None for p in applicable):
            text = result.log_text
            hits = self._matcher.scan(text) if text else frozenset()
        matched: dict[str, Match] = {}
        for p in applicable:
            if p.issue.id in matched:
                continue
            if p.log_key is not None and p.log_key not in hits:
                continue
            if not _filters_apply(p, result):
                continue
            matched[p.issue.id] = Match(result.object_id, p.issue.id, p.issue.version, p.index)
        return list(matched.values())

    def triage(self, results: Iterable[ResultContext]) -> TriageReport:
        incidents: list[Incident] = []
        matches: list[Match] = []
        unknown: list[ResultContext] = []
        for result in results:
            found = self.match(result)
            matches.extend(found)
            for m in found:
                incidents.append(
                    Incident(
                        id=incident_id(
                            m.issue_id, m.issue_version, m.object_id, origin=self._origin
                        ),
                        origin=self._origin,
                        issue_id=m.issue_id,
                        issue_version=m.issue_version,
                        build_id=result.build.id if result.test is None else None,
                        test_id=result.test.id if result.test is not None else None,
                        present=True,
                    )
                )
            if not found and result.status is not None and result.status.is_failure:
                unknown.append(result)
        return TriageReport(tuple(incidents), tuple(matches), tuple(unknown))


def compile_issues(
    issues: Iterable[KnownIssue],
    engine: PatternMatcherEngine,
    *,
    now: datetime,
    origin: str = TRIAGE_ORIGIN,
) -> Triager:
    """Choose the issues that triage at ``now`` and compile their patterns once.

    Patterns were validated when the issue was added (:func:`known_issues.check`);
    an invalid one still raises :class:`PatternError` here rather than being skipped.
    """
    chosen = sorted(
        (i for i in latest_versions(issues).values() if i.active(now)), key=lambda i: i.id
    )
    compiled: list[_CompiledPattern] = []
    regexes: list[tuple[str, str]] = []
    for n, issue in enumerate(chosen):
        for index, pattern in enumerate(issue.patterns):
            key = None
            if pattern.log_regex is not None:
                key = f"{n}/{index}"
                regexes.append((key, pattern.log_regex))
            path = compile_test_path(pattern.test_path) if pattern.test_path is not None else None
            compiled.append(_CompiledPattern(issue, index, pattern, path, key))
    return Triager(compiled, engine.compile(regexes), origin)


def triage(
    issues: Iterable[KnownIssue],
    results: Iterable[ResultContext],
    engine: PatternMatcherEngine,
    *,
    now: datetime,
    origin: str = TRIAGE_ORIGIN,
) -> TriageReport:
    """Compile ``issues`` and triage ``results`` in one call."""
    return compile_issues(issues, engine, now=now, origin=origin).triage(results)


def _kind_and_status_apply(pattern: IssuePattern, result: ResultContext) -> bool:
    if pattern.kind not in ("any", result.kind):
        return False
    status = result.status
    if status is None:
        return False
    return status in pattern.statuses if pattern.statuses else status.is_failure


def _filters_apply(p: _CompiledPattern, result: ResultContext) -> bool:
    pattern = p.pattern
    if p.path_matches is not None and not (result.path is not None and p.path_matches(result.path)):
        return False
    checks = (
        (pattern.origins, result.origin),
        (pattern.trees, result.tree),
        (pattern.branches, result.branch),
        (pattern.architectures, result.architecture),
    )
    if any(allowed and value not in allowed for allowed, value in checks):
        return False
    if pattern.tags and not pattern.tags <= result.tags:
        return False
    return not (pattern.environments and not (pattern.environments & result.environment))
