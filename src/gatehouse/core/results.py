"""The results model: KCIDB v5.3-shaped checkouts, builds, tests, issues, incidents.

One model holds our own pipelines' results and results ingested from other CI
systems, so one query answers for everything. Our pipelines map into it as

    pipeline   -> checkout  (id ``gatehouse:p<pipeline id>``)
    job        -> build     (id ``gatehouse:j<job id>``; one per attempt)
    JUnit case -> test      (id ``gatehouse:j<job id>/<n>``)

Statuses are KCIDB's, ordered by roll-up priority
FAIL > ERROR > MISS > PASS > DONE > SKIP: a set's status is the highest one
present, and an empty set has no status (unknown, "still running").

Fields follow KCIDB names. Two deliberate differences, documented in
``docs/results.md``: ``Test.path`` keeps the producer's own test name (dotted
hierarchy, any characters) rather than KCIDB's restricted alphabet, and facts
KCIDB has no field for (the original status string, an attempt number, an
expected failure) live in ``misc`` under documented keys:

    misc["original_status"]  the producer's own status word ("TIMEOUT", "xfail" …)
    misc["attempt"]          1-based attempt number when a producer reran a test
    misc["waived"]           True for expected failures (TAP TODO, xfail, ExpectedFail)
    misc["unexpected_pass"]  True when a test passed against a failing baseline

Merge-by-ID (resubmitting an object updates it, never duplicates it) is
:func:`merge_fields`: per field, the later submission wins, and a field once
known never reverts to unknown.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, TypeVar


class Status(enum.Enum):
    """KCIDB status; ``priority`` is the roll-up order (higher wins)."""

    FAIL = "FAIL"
    ERROR = "ERROR"
    MISS = "MISS"
    PASS = "PASS"
    DONE = "DONE"
    SKIP = "SKIP"

    @property
    def priority(self) -> int:
        return _PRIORITY[self]

    @property
    def is_failure(self) -> bool:
        """FAIL, ERROR and MISS need someone's attention (code, test, harness)."""
        return self in (Status.FAIL, Status.ERROR, Status.MISS)

    @property
    def responsible(self) -> str | None:
        """Who a status points at: the three-layer testing stack of KCIDB."""
        return {Status.FAIL: "code", Status.ERROR: "test", Status.MISS: "harness"}.get(self)


_PRIORITY = {
    Status.SKIP: 0,
    Status.DONE: 1,
    Status.PASS: 2,
    Status.MISS: 3,
    Status.ERROR: 4,
    Status.FAIL: 5,
}


def rollup(statuses: Iterable[Status | None]) -> Status | None:
    """The status of a set: the highest-priority status present, else ``None``."""
    best: Status | None = None
    for s in statuses:
        if s is not None and (best is None or s.priority > best.priority):
            best = s
    return best


@dataclass(frozen=True, slots=True)
class Culprit:
    code: bool = False
    tool: bool = False
    harness: bool = False


@dataclass(frozen=True, slots=True)
class TestEnvironment:
    comment: str | None = None
    compatible: tuple[str, ...] | None = None
    misc: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Checkout:
    id: str
    origin: str
    tree_name: str | None = None
    git_repository_url: str | None = None
    git_commit_hash: str | None = None
    git_commit_name: str | None = None
    git_commit_message: str | None = None
    git_repository_branch: str | None = None
    patchset_hash: str | None = None
    start_time: str | None = None
    log_url: str | None = None
    log_excerpt: str | None = None
    comment: str | None = None
    valid: bool | None = None
    misc: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Build:
    id: str
    origin: str
    checkout_id: str
    status: Status | None = None
    architecture: str | None = None
    config_name: str | None = None
    compiler: str | None = None
    command: str | None = None
    start_time: str | None = None
    duration: float | None = None
    log_url: str | None = None
    log_excerpt: str | None = None
    comment: str | None = None
    misc: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Test:
    __test__ = False  # not a pytest test class

    id: str
    origin: str
    build_id: str
    path: str | None = None
    status: Status | None = None
    environment: TestEnvironment | None = None
    start_time: str | None = None
    duration: float | None = None
    log_url: str | None = None
    log_excerpt: str | None = None
    comment: str | None = None
    misc: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Issue:
    """A known problem, versioned: resubmit the same id with a higher version."""

    id: str
    version: int
    origin: str
    report_url: str | None = None
    report_subject: str | None = None
    culprit: Culprit | None = None
    comment: str | None = None
    categories: tuple[str, ...] | None = None
    misc: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Incident:
    """An issue version seen (``present``) in a build or a test."""

    id: str
    origin: str
    issue_id: str
    issue_version: int
    build_id: str | None = None
    test_id: str | None = None
    present: bool | None = None
    comment: str | None = None
    misc: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ResultsBatch:
    """One submission: what one file or one pipeline contributes, stored atomically."""

    checkouts: tuple[Checkout, ...] = ()
    builds: tuple[Build, ...] = ()
    tests: tuple[Test, ...] = ()
    issues: tuple[Issue, ...] = ()
    incidents: tuple[Incident, ...] = ()

    def __len__(self) -> int:
        return (
            len(self.checkouts)
            + len(self.builds)
            + len(self.tests)
            + len(self.issues)
            + len(self.incidents)
        )


R = TypeVar("R", Checkout, Build, Test, Issue, Incident)


def merge_fields(old: R, new: R) -> R:
    """Merge a resubmitted object onto the stored one (deterministic merge-by-ID).

    The later submission wins field by field; a field it leaves unknown
    (``None``) keeps the stored value, so a known field never reverts to
    unknown. ``misc`` mappings merge key by key the same way.
    """
    if type(old) is not type(new) or old.id != new.id:
        raise ValueError("merge_fields needs two versions of the same object")
    changes: dict[str, Any] = {}
    for f in fields(new):
        value = getattr(new, f.name)
        if value is None:
            continue
        if f.name == "misc" and old.misc:
            value = {**old.misc, **value}
        changes[f.name] = value
    return replace(old, **changes)
