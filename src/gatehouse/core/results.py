"""The results model: KCIDB v5.3-shaped checkouts, builds, tests, issues, incidents.

One model holds our own pipelines' results and results ingested from other CI
systems, so one query answers for everything. Our pipelines map into it as

    pipeline   -> checkout  (id ``gatehouse:p<pipeline id>``)
    job        -> build     (id ``gatehouse:j<job id>``; one per attempt)
    JUnit case -> test      (id ``gatehouse:<32 hex>``, derived from the job's
                             build id, the report's name and the case; see
                             ``docs/results.md``)

Statuses are KCIDB's, ordered by roll-up priority
FAIL > ERROR > MISS > PASS > DONE > SKIP: a set's status is the highest one
present, and an empty set has no status (unknown, "still running").

Fields follow KCIDB v5.3 names and carry every KCIDB field, so a KCIDB
document maps in and out without loss. Two deliberate differences,
documented in ``docs/results.md``: ``Test.path`` keeps the producer's own
test name (dotted hierarchy, any characters) rather than KCIDB's restricted
alphabet, and facts KCIDB has no field for live in ``misc`` under the
documented keys below (``MISC_*`` constants name them):

    misc["original_status"]  the producer's own status word ("TIMEOUT", "xfail" …)
    misc["attempt"]          1-based attempt number when the producer reran a test
    misc["retried"]          True on an attempt a later attempt of the same report superseded
    misc["flaky"]            True on a final passing attempt that followed failed ones
    misc["occurrence"]       k (>= 2) on the k-th record with the same name in one
                             report, when the producer does not say whether it is
                             a rerun or a parametrised invocation (TestNG,
                             repeated meson runs); the first record has none
    misc["waived"]           True for expected failures (TAP TODO, xfail, EXPECTEDFAIL)
    misc["unexpected_pass"]  True when a test passed although it was expected to fail
    misc["properties"]       the producer's name/value properties of the test
    misc["file"], ["line"]   where the test is defined, when the producer says
    misc["returncode"], ["signal"]  the test program's exit (meson)
    misc["synthetic"]        why a record that is not in the input was added
                             ("missing", "bail_out", "missing_plan", "skip_all")
    misc["tags"]             on a build: the tags of the runner that ran it

Our own pipelines' builds carry more ``misc`` keys (job, stage, attempt,
exit code …), listed with the mapping in ``docs/results.md``.

:func:`verdict_status` reads these flags: it is the status a test contributes
to a verdict (superseded attempts and waived failures contribute nothing, an
unexpected pass counts as a failure because its expectation is stale).

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


MISC_ORIGINAL_STATUS = "original_status"
MISC_ATTEMPT = "attempt"
MISC_RETRIED = "retried"
MISC_FLAKY = "flaky"
MISC_OCCURRENCE = "occurrence"
MISC_WAIVED = "waived"
MISC_UNEXPECTED_PASS = "unexpected_pass"
MISC_PROPERTIES = "properties"
MISC_FILE = "file"
MISC_LINE = "line"
MISC_RETURNCODE = "returncode"
MISC_SIGNAL = "signal"
MISC_SYNTHETIC = "synthetic"
# On builds: the tags of the runner that ran it (our own jobs; known-issue patterns filter on them).
MISC_TAGS = "tags"


def rollup(statuses: Iterable[Status | None]) -> Status | None:
    """The status of a set: the highest-priority status present, else ``None``."""
    best: Status | None = None
    for s in statuses:
        if s is not None and (best is None or s.priority > best.priority):
            best = s
    return best


@dataclass(frozen=True, slots=True)
class Resource:
    """A named file by URL (KCIDB ``resource``: build inputs/outputs, patches)."""

    name: str
    url: str


@dataclass(frozen=True, slots=True)
class TestNumber:
    """A measurement a test produced (KCIDB ``number``), typically with status DONE."""

    __test__ = False  # not a pytest test class

    value: float
    unit: str | None = None
    prefix: str | None = None  # "metric" or "binary": how to scale for display


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
    git_commit_tags: tuple[str, ...] | None = None
    git_repository_branch_tip: bool | None = None
    patchset_files: tuple[Resource, ...] | None = None
    message_id: str | None = None
    origin_builds_finish_time: str | None = None
    origin_tests_finish_time: str | None = None


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
    config_url: str | None = None
    input_files: tuple[Resource, ...] | None = None
    output_files: tuple[Resource, ...] | None = None


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
    number: TestNumber | None = None
    input_files: tuple[Resource, ...] | None = None
    output_files: tuple[Resource, ...] | None = None


def verdict_status(test: Test) -> Status | None:
    """The status ``test`` contributes to a verdict (a build's or a pipeline's).

    ``None`` (contributes nothing) for an attempt a later attempt superseded
    (``misc.retried``) and for an expected failure (``misc.waived``); FAIL for
    an unexpected pass (``misc.unexpected_pass``: the expectation is stale and
    someone must update it, as meson and deqp-runner decide); otherwise the
    test's own status.
    """
    misc = test.misc
    if misc:
        if misc.get(MISC_RETRIED):
            return None
        if misc.get(MISC_UNEXPECTED_PASS):
            return Status.FAIL
        if misc.get(MISC_WAIVED) and test.status is not None and test.status.is_failure:
            return None
    return test.status


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
