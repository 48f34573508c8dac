"""Known issues in the store: load them, add, edit and retire versions, and compile the triager.

A known issue is stored as a KCIDB issue (``core.known_issues.to_kcidb``:
title → ``report_subject``, owner, expiry, retired flag and patterns →
``misc``), one row per version. Adding writes version 1; every edit, retiring
included, writes the next version and never touches the earlier ones, so
incidents keep pointing at the version that made them (KCIDB's rule: only the
highest version triages).

Issues ingested from other CI systems (KCIDB documents) are loaded the same
way. One without patterns cannot match anything here and is left out of
triage silently; one whose patterns are malformed or outside the regex subset
is left out with a located diagnostic, so a bad foreign issue never stops
triage of everything else.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from gatehouse.core.known_issues import (
    KnownIssue,
    check,
    edit,
    from_kcidb,
    retire,
    to_kcidb,
    validate,
)
from gatehouse.core.ports import IncidentSighting, PatternMatcherEngine, ResultsStore
from gatehouse.core.results import Issue, ResultsBatch
from gatehouse.core.triage import Triager, compile_issues
from gatehouse.errors import ConfigError, Diagnostic, Location, UsageError, warning

ISSUE_ORIGIN = "gatehouse"
_ID = re.compile(r"^[a-z0-9_]+:[^\0]+$")


def _aware(issue: KnownIssue) -> KnownIssue:
    """Expiry in UTC when a foreign issue gave a time without a zone."""
    if issue.expires is not None and issue.expires.tzinfo is None:
        return replace(issue, expires=issue.expires.replace(tzinfo=UTC))
    return issue


def decode(issue: Issue) -> KnownIssue:
    """The known issue a stored KCIDB issue describes (``ConfigError`` if malformed)."""
    return _aware(from_kcidb(issue))


def load_latest(results: ResultsStore) -> tuple[list[KnownIssue], list[Diagnostic]]:
    """The latest version of every stored issue that can be read, and why others cannot."""
    issues: list[KnownIssue] = []
    problems: list[Diagnostic] = []
    for stored in results.list_issues():
        try:
            issues.append(decode(stored))
        except ConfigError as exc:
            problems.extend(exc.diagnostics)
    return issues, problems


def triaging(
    issues: Sequence[KnownIssue], now: datetime
) -> tuple[list[KnownIssue], list[Diagnostic]]:
    """The issues that can triage at ``now``: active, with valid patterns."""
    chosen: list[KnownIssue] = []
    problems: list[Diagnostic] = []
    for issue in issues:
        if not issue.patterns or not issue.active(now):
            continue
        found = validate(issue, source=f"issue {issue.id} v{issue.version}")
        errors = [d for d in found if d.code not in ("missing-title", "missing-culprit")]
        if errors:
            problems.extend(
                warning(d.code, f"{d.message}; the issue is left out of triage", d.location)
                for d in errors
            )
            continue
        chosen.append(issue)
    return chosen, problems


def compile_triager(
    results: ResultsStore, *, now: datetime, engine: PatternMatcherEngine | None = None
) -> tuple[Triager, list[Diagnostic]]:
    """The stored issues that triage at ``now``, compiled once with the best matcher."""
    if engine is None:
        from gatehouse import matchers

        engine = matchers.best_available()
    issues, problems = load_latest(results)
    chosen, left_out = triaging(issues, now)
    return compile_issues(chosen, engine, now=now), problems + left_out


def active_ids(issues: Sequence[KnownIssue], now: datetime) -> frozenset[str]:
    return frozenset(i.id for i in issues if i.active(now))


# --------------------------------------------------------------------------- writing


def slug_id(results: ResultsStore, title: str) -> str:
    """A readable new id from the title (``gatehouse:ext4-evict-warning``), unused so far."""
    words = re.findall(r"[a-z0-9]+", title.lower())
    base = "-".join(words)[:48].strip("-") or "issue"
    candidate, n = f"{ISSUE_ORIGIN}:{base}", 1
    while results.get_issue(candidate) is not None:
        n += 1
        candidate = f"{ISSUE_ORIGIN}:{base}-{n}"
    return candidate


def full_id(issue_id: str) -> str:
    """``ext4`` → ``gatehouse:ext4``; a full ``origin:local`` id is kept."""
    full = issue_id if ":" in issue_id else f"{ISSUE_ORIGIN}:{issue_id}"
    if not _ID.match(full):
        raise UsageError(
            f"issue id {issue_id!r} is not valid",
            hint="use origin:name with a lowercase origin (letters, digits, '_'), e.g. gatehouse:ext4",
        )
    return full


def _store(results: ResultsStore, issue: KnownIssue, received_at: float, source: str) -> None:
    check(issue, source=source)
    results.submit(ResultsBatch(issues=(to_kcidb(issue),)), received_at=received_at)


def add(results: ResultsStore, issue: KnownIssue, *, received_at: float) -> KnownIssue:
    """Store a new issue (its first version); refused when the id exists."""
    if results.get_issue(issue.id) is not None:
        raise UsageError(
            f"issue {issue.id} exists already",
            hint=f"change it with: gatehouse issue edit {issue.id} …",
        )
    _store(results, issue, received_at, f"issue {issue.id}")
    return issue


def latest(results: ResultsStore, issue_id: str) -> KnownIssue:
    """The latest version of an issue; a UsageError naming the id when there is none."""
    stored = results.get_issue(issue_id)
    if stored is None:
        raise UsageError(f"no issue {issue_id}", hint="gatehouse issue list --all lists them")
    return decode(stored)


def change(
    results: ResultsStore, issue_id: str, changes: Mapping[str, Any], *, received_at: float
) -> KnownIssue:
    """Store the next version of an issue with ``changes`` applied."""
    new = edit(latest(results, issue_id), **changes)
    _store(results, new, received_at, f"issue {issue_id}")
    return new


def retire_issue(results: ResultsStore, issue_id: str, *, received_at: float) -> KnownIssue:
    current = latest(results, issue_id)
    if current.retired:
        raise UsageError(f"issue {issue_id} is retired already (version {current.version})")
    new = retire(current)
    _store(results, new, received_at, f"issue {issue_id}")
    return new


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class IssueHistory:
    """Everything ``issue show`` says: every version, and where and when it was seen."""

    versions: tuple[KnownIssue, ...]
    sightings: tuple[IncidentSighting, ...]

    @property
    def current(self) -> KnownIssue:
        return self.versions[-1]

    @property
    def present(self) -> tuple[IncidentSighting, ...]:
        return tuple(s for s in self.sightings if s.incident.present is not False)

    @property
    def hits(self) -> int:
        return len(self.present)

    def hits_by_version(self) -> dict[int, int]:
        return dict(sorted(Counter(s.incident.issue_version for s in self.present).items()))

    @property
    def first_seen(self) -> float | None:
        return min((s.received_at for s in self.present), default=None)

    @property
    def last_seen(self) -> float | None:
        return max((s.received_at for s in self.present), default=None)

    def where(self) -> dict[str, dict[str, int]]:
        """Hit counts by origin, tree, branch and architecture (unknown values left out)."""
        out: dict[str, dict[str, int]] = {}
        for label, values in (
            ("origins", [s.origin for s in self.present]),
            ("trees", [s.tree_name for s in self.present]),
            ("branches", [s.git_repository_branch for s in self.present]),
            ("architectures", [s.architecture for s in self.present]),
        ):
            counts = Counter(v for v in values if v)
            if counts:
                out[label] = dict(counts.most_common())
        return out


def history(results: ResultsStore, issue_id: str) -> IssueHistory:
    stored = results.issue_versions(issue_id)
    if not stored:
        raise UsageError(f"no issue {issue_id}", hint="gatehouse issue list --all lists them")
    versions: list[KnownIssue] = []
    for issue in stored:
        try:
            versions.append(decode(issue))
        except ConfigError as exc:
            raise ConfigError(
                [
                    *exc.diagnostics,
                    warning(
                        "unreadable-issue",
                        f"version {issue.version} of {issue_id} cannot be read",
                        Location(f"issue {issue_id}"),
                    ),
                ]
            ) from exc
    return IssueHistory(tuple(versions), tuple(results.incident_sightings(issue_id)))


def state(issue: KnownIssue, now: datetime) -> str:
    """``active``, ``retired`` or ``expired``."""
    if issue.retired:
        return "retired"
    if issue.expires is not None and not now < issue.expires:
        return "expired"
    return "active"
