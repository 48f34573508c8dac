"""The results database port: :class:`ResultsStore` and its transaction and read models."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from gatehouse.core.results import Build, Checkout, Incident, Issue, ResultsBatch, Test


@dataclass(frozen=True, slots=True)
class TestRun:
    """One stored test result with the context that flake detection and triage compare.

    ``received_at`` is when gatehouse last received the test (its
    ``_timestamp``); the rest comes from its build and checkout when those are
    known (KCIDB allows a test to arrive before them).
    """

    __test__ = False  # not a pytest test class

    test: Test
    received_at: float
    checkout_id: str | None = None
    git_commit_hash: str | None = None
    tree_name: str | None = None
    git_repository_branch: str | None = None
    architecture: str | None = None
    config_name: str | None = None
    compiler: str | None = None


@dataclass(frozen=True, slots=True)
class BuildRun:
    """One stored build with when it was received and its checkout's commit, tree and branch."""

    build: Build
    received_at: float
    git_commit_hash: str | None = None
    tree_name: str | None = None
    git_repository_branch: str | None = None


@dataclass(frozen=True, slots=True)
class IncidentSighting:
    """Where an incident was seen: the incident with its result's context (``issue show``).

    ``received_at`` is when gatehouse last received the incident (its
    ``_timestamp``); the rest comes from the test or build it points at and
    that build's checkout, when those are known.
    """

    incident: Incident
    received_at: float
    test_path: str | None = None
    origin: str | None = None
    checkout_id: str | None = None
    git_commit_hash: str | None = None
    tree_name: str | None = None
    git_repository_branch: str | None = None
    architecture: str | None = None


class ResultsTransaction(Protocol):
    """One open results transaction: several batches stored atomically, and reads that see them.

    Opened with :meth:`ResultsStore.transaction`; it commits when the
    ``with`` block ends and rolls back entirely if the block raises, so a
    file streamed in many batches is stored whole or not at all. Reads
    return the objects as stored now, merges of this transaction included.
    """

    def submit(self, batch: ResultsBatch) -> None: ...

    def get_tests(self, test_ids: Sequence[str]) -> Sequence[Test]: ...

    def get_builds(self, build_ids: Sequence[str]) -> Sequence[Build]: ...

    def get_checkouts(self, checkout_ids: Sequence[str]) -> Sequence[Checkout]: ...


class ResultsStore(Protocol):
    """The results model, stored with merge-by-ID semantics.

    ``submit`` is one transaction: either the whole batch is stored or nothing.
    Resubmitting an object merges it onto the stored one as
    :func:`gatehouse.core.results.merge_fields` does, ordered by
    ``received_at``: the later-received submission wins field by field, a
    field once known never reverts to unknown, and ``misc`` merges key by key.
    ``transaction`` stores several batches as one transaction (a large file
    streamed in chunks). Lists of objects by id come back in id order;
    unknown ids are left out.
    """

    def submit(self, batch: ResultsBatch, *, received_at: float) -> None: ...

    def transaction(self, *, received_at: float) -> AbstractContextManager[ResultsTransaction]:
        """A write transaction in which every submission is stamped ``received_at``."""
        ...

    def get_checkout(self, checkout_id: str) -> Checkout | None: ...

    def get_build(self, build_id: str) -> Build | None: ...

    def get_test(self, test_id: str) -> Test | None: ...

    def get_tests(self, test_ids: Sequence[str]) -> Sequence[Test]: ...

    def get_builds(self, build_ids: Sequence[str]) -> Sequence[Build]: ...

    def get_checkouts(self, checkout_ids: Sequence[str]) -> Sequence[Checkout]: ...

    def get_issue(self, issue_id: str, version: int | None = None) -> Issue | None:
        """One version of an issue; its latest version when ``version`` is ``None``."""
        ...

    def get_incident(self, incident_id: str) -> Incident | None: ...

    def checkouts_by_commit(self, git_commit_hash: str) -> Sequence[Checkout]: ...

    def checkouts_by_commit_prefix(self, prefix: str) -> Sequence[Checkout]:
        """Checkouts whose commit hash starts with ``prefix`` (lowercase hex), by id."""
        ...

    def builds_of_checkout(self, checkout_id: str) -> Sequence[Build]: ...

    def tests_of_build(self, build_id: str) -> Sequence[Test]: ...

    def tests_of_checkout(self, checkout_id: str) -> Sequence[Test]: ...

    def test_status_counts(self, build_ids: Sequence[str]) -> Mapping[str, Mapping[str, int]]:
        """Per build, how many of its tests have each status (``""``: unknown)."""
        ...

    def test_history(self, path: str, *, limit: int = 50) -> Sequence[TestRun]:
        """The last ``limit`` results of one test path, newest (last received) first."""
        ...

    def failing_tests_since(self, since: float) -> Sequence[TestRun]:
        """Tests with status FAIL, ERROR or MISS received at or after ``since``, oldest first."""
        ...

    def failing_builds_since(self, since: float) -> Sequence[BuildRun]:
        """Builds with status FAIL, ERROR or MISS received at or after ``since``, oldest first."""
        ...

    def list_issues(self) -> Sequence[Issue]:
        """The latest version of every issue, by id."""
        ...

    def issue_versions(self, issue_id: str) -> Sequence[Issue]:
        """Every stored version of one issue, oldest first."""
        ...

    def incidents_of_issue(
        self, issue_id: str, version: int | None = None
    ) -> Sequence[Incident]: ...

    def incidents_of_test(self, test_id: str) -> Sequence[Incident]: ...

    def incidents_of_build(self, build_id: str) -> Sequence[Incident]: ...

    def incident_sightings(self, issue_id: str) -> Sequence[IncidentSighting]:
        """The incidents of every version of an issue with their context, oldest first."""
        ...
