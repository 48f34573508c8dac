"""In-memory ResultsStore: merge-by-ID over dictionaries, for fast tests elsewhere.

The merge is :func:`gatehouse.core.results.merge_fields` itself, applied in
receive-time order exactly as the SQL upsert does it: when the incoming
submission is at least as new as the stored object it is merged onto it,
otherwise the stored object is merged onto the incoming one (so a late,
older submission only fills fields still unknown). A batch is checked
completely before anything is applied, which gives the SQL stores'
all-or-nothing behaviour; the checks are the schema's constraints (required
fields, issue versions ≥ 0). A :meth:`MemoryResultsStore.transaction` holds
the store's lock and a copy of the tables' dictionaries (objects are frozen,
so a shallow copy is a snapshot); if the block raises, the copy is put back.

Queries scan the dictionaries; this store is for tests, not for volume.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from gatehouse.core.ports import BuildRun, IncidentSighting, TestRun
from gatehouse.core.results import (
    Build,
    Checkout,
    Incident,
    Issue,
    ResultsBatch,
    Test,
    merge_fields,
)
from gatehouse.errors import StorageError
from gatehouse.storage.memory import MEMORY_URL, _copy_json
from gatehouse.storage.rows import (
    BUILD_FIELDS,
    CHECKOUT_FIELDS,
    INCIDENT_FIELDS,
    ISSUE_FIELDS,
    TEST_FIELDS,
    Row,
    decode_build,
    decode_checkout,
    decode_incident,
    decode_issue,
    decode_test,
    full_row,
)

_FIELDS = {
    "checkouts": CHECKOUT_FIELDS,
    "builds": BUILD_FIELDS,
    "tests": TEST_FIELDS,
    "issues": ISSUE_FIELDS,
    "incidents": INCIDENT_FIELDS,
}
_DECODERS: dict[str, Any] = {
    "checkouts": decode_checkout,
    "builds": decode_build,
    "tests": decode_test,
    "issues": decode_issue,
    "incidents": decode_incident,
}

ResultT = TypeVar("ResultT", Checkout, Build, Test, Issue, Incident)

_REQUIRED: dict[type[Any], tuple[str, ...]] = {
    Checkout: ("id", "origin"),
    Build: ("id", "origin", "checkout_id"),
    Test: ("id", "origin", "build_id"),
    Issue: ("id", "version", "origin"),
    Incident: ("id", "origin", "issue_id", "issue_version"),
}


def _check(objects: Iterable[Any], kind: str) -> None:
    for obj in objects:
        for name in _REQUIRED[type(obj)]:
            if getattr(obj, name) is None:
                raise StorageError(
                    f"{MEMORY_URL}: submit results failed: {kind} "
                    f"{getattr(obj, 'id', None)!r}: {name} is required (NOT NULL)"
                )
        if isinstance(obj, Issue) and obj.version < 0:
            raise StorageError(
                f"{MEMORY_URL}: submit results failed: issue {obj.id!r}: "
                f"version must be >= 0, not {obj.version}"
            )


def _frozen(obj: ResultT) -> ResultT:
    """``obj`` with its misc copied, so later changes by the caller cannot reach the store."""
    from dataclasses import replace

    return obj if obj.misc is None else replace(obj, misc=_copy_json(dict(obj.misc)))


class _Table:
    """Objects by key with their receive times, merged by receive-time order."""

    def __init__(self) -> None:
        self.rows: dict[Any, tuple[Any, float]] = {}

    def received_at(self, key: Any) -> float | None:
        row = self.rows.get(key)
        return None if row is None else row[1]

    def merge(self, key: Any, obj: Any, received_at: float) -> None:
        stored = self.rows.get(key)
        if stored is None:
            self.rows[key] = (obj, received_at)
            return
        old, old_at = stored
        if received_at >= old_at:
            self.rows[key] = (merge_fields(old, obj), received_at)
        else:
            self.rows[key] = (merge_fields(obj, old), old_at)

    def get(self, key: Any) -> Any:
        row = self.rows.get(key)
        return None if row is None else row[0]

    def values(self) -> list[Any]:
        return [obj for obj, _ in self.rows.values()]


class MemoryResultsTransaction:
    """Batches applied to the store under its lock; the store restores them on failure."""

    def __init__(self, store: MemoryResultsStore, received_at: float) -> None:
        self._store = store
        self.received_at = received_at

    def submit(self, batch: ResultsBatch) -> None:
        self._store._apply(batch, self.received_at)

    def submit_rows(
        self, table: str, rows: Sequence[Row], columns: Sequence[str] | None = None
    ) -> None:
        """Rows made by :mod:`gatehouse.storage.rows` (the SQL stores' bulk path), decoded."""
        if columns is not None:
            every = _FIELDS[table]
            rows = [full_row(every, columns, r) for r in rows]
        decode = _DECODERS[table]
        objects: dict[str, Any] = {table: tuple(decode(r) for r in rows)}
        self._store._apply(ResultsBatch(**objects), self.received_at)

    def get_tests(self, test_ids: Sequence[str]) -> Sequence[Test]:
        return self._store._pick(self._store._tests, test_ids)

    def get_builds(self, build_ids: Sequence[str]) -> Sequence[Build]:
        return self._store._pick(self._store._builds, build_ids)

    def get_checkouts(self, checkout_ids: Sequence[str]) -> Sequence[Checkout]:
        return self._store._pick(self._store._checkouts, checkout_ids)


class MemoryResultsStore:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._checkouts = _Table()
        self._builds = _Table()
        self._tests = _Table()
        self._issues = _Table()
        self._incidents = _Table()

    def submit(self, batch: ResultsBatch, *, received_at: float) -> None:
        with self.transaction(received_at=received_at) as tx:
            tx.submit(batch)

    @contextmanager
    def transaction(self, *, received_at: float) -> Iterator[MemoryResultsTransaction]:
        tables = (self._checkouts, self._builds, self._tests, self._issues, self._incidents)
        with self._lock:
            saved = [dict(t.rows) for t in tables]
            try:
                yield MemoryResultsTransaction(self, float(received_at))
            except BaseException:
                for table, rows in zip(tables, saved, strict=True):
                    table.rows = rows
                raise

    def _apply(self, batch: ResultsBatch, received_at: float) -> None:
        _check(batch.checkouts, "checkout")
        _check(batch.builds, "build")
        _check(batch.tests, "test")
        _check(batch.issues, "issue")
        _check(batch.incidents, "incident")
        for c in batch.checkouts:
            self._checkouts.merge(c.id, _frozen(c), received_at)
        for b in batch.builds:
            self._builds.merge(b.id, _frozen(b), received_at)
        for t in batch.tests:
            self._tests.merge(t.id, _frozen(t), received_at)
        for i in batch.issues:
            self._issues.merge((i.id, i.version), _frozen(i), received_at)
        for n in batch.incidents:
            self._incidents.merge(n.id, _frozen(n), received_at)

    @staticmethod
    def _pick(table: _Table, ids: Sequence[str]) -> list[Any]:
        return _by_id(obj for obj in (table.get(i) for i in set(ids)) if obj is not None)

    def get_tests(self, test_ids: Sequence[str]) -> Sequence[Test]:
        return self._pick(self._tests, test_ids)

    def get_builds(self, build_ids: Sequence[str]) -> Sequence[Build]:
        return self._pick(self._builds, build_ids)

    def get_checkouts(self, checkout_ids: Sequence[str]) -> Sequence[Checkout]:
        return self._pick(self._checkouts, checkout_ids)

    def get_checkout(self, checkout_id: str) -> Checkout | None:
        return self._checkouts.get(checkout_id)  # type: ignore[no-any-return]

    def get_build(self, build_id: str) -> Build | None:
        return self._builds.get(build_id)  # type: ignore[no-any-return]

    def get_test(self, test_id: str) -> Test | None:
        return self._tests.get(test_id)  # type: ignore[no-any-return]

    def get_issue(self, issue_id: str, version: int | None = None) -> Issue | None:
        if version is not None:
            return self._issues.get((issue_id, version))  # type: ignore[no-any-return]
        versions = [i for i in self._issues.values() if i.id == issue_id]
        return max(versions, key=lambda i: i.version) if versions else None

    def get_incident(self, incident_id: str) -> Incident | None:
        return self._incidents.get(incident_id)  # type: ignore[no-any-return]

    def checkouts_by_commit(self, git_commit_hash: str) -> Sequence[Checkout]:
        return _by_id(c for c in self._checkouts.values() if c.git_commit_hash == git_commit_hash)

    def checkouts_by_commit_prefix(self, prefix: str) -> Sequence[Checkout]:
        return _by_id(
            c
            for c in self._checkouts.values()
            if c.git_commit_hash is not None and c.git_commit_hash.startswith(prefix)
        )

    def builds_of_checkout(self, checkout_id: str) -> Sequence[Build]:
        return _by_id(b for b in self._builds.values() if b.checkout_id == checkout_id)

    def tests_of_build(self, build_id: str) -> Sequence[Test]:
        return _by_id(t for t in self._tests.values() if t.build_id == build_id)

    def tests_of_checkout(self, checkout_id: str) -> Sequence[Test]:
        builds = {b.id for b in self._builds.values() if b.checkout_id == checkout_id}
        return _by_id(t for t in self._tests.values() if t.build_id in builds)

    def test_status_counts(self, build_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        wanted = set(build_ids)
        counts: dict[str, dict[str, int]] = {}
        for t in self._tests.values():
            if t.build_id in wanted:
                per = counts.setdefault(t.build_id, {})
                key = "" if t.status is None else t.status.value
                per[key] = per.get(key, 0) + 1
        return counts

    def test_history(self, path: str, *, limit: int = 50) -> Sequence[TestRun]:
        runs = [self._run(t, at) for t, at in self._tests.rows.values() if t.path == path]
        runs.sort(key=lambda r: (r.received_at, r.test.id), reverse=True)
        return runs[: max(limit, 0)]

    def failing_tests_since(self, since: float) -> Sequence[TestRun]:
        runs = [
            self._run(t, at)
            for t, at in self._tests.rows.values()
            if t.status is not None and t.status.is_failure and at >= since
        ]
        runs.sort(key=lambda r: (r.received_at, r.test.id))
        return runs

    def failing_builds_since(self, since: float) -> Sequence[BuildRun]:
        found = []
        for b, at in self._builds.rows.values():
            if b.status is not None and b.status.is_failure and at >= since:
                checkout = self._checkouts.get(b.checkout_id)
                found.append(
                    BuildRun(
                        b,
                        at,
                        None if checkout is None else checkout.git_commit_hash,
                        None if checkout is None else checkout.tree_name,
                        None if checkout is None else checkout.git_repository_branch,
                    )
                )
        found.sort(key=lambda r: (r.received_at, r.build.id))
        return found

    def issue_versions(self, issue_id: str) -> Sequence[Issue]:
        return sorted(
            (i for i in self._issues.values() if i.id == issue_id), key=lambda i: i.version
        )

    def incident_sightings(self, issue_id: str) -> Sequence[IncidentSighting]:
        found = []
        for n, at in self._incidents.rows.values():
            if n.issue_id != issue_id:
                continue
            test = None if n.test_id is None else self._tests.get(n.test_id)
            build_id = n.build_id if n.build_id is not None else (test and test.build_id)
            build = None if build_id is None else self._builds.get(build_id)
            checkout = None if build is None else self._checkouts.get(build.checkout_id)
            found.append(
                IncidentSighting(
                    incident=n,
                    received_at=at,
                    test_path=None if test is None else test.path,
                    origin=test.origin if test is not None else build and build.origin,
                    checkout_id=None if build is None else build.checkout_id,
                    git_commit_hash=None if checkout is None else checkout.git_commit_hash,
                    tree_name=None if checkout is None else checkout.tree_name,
                    git_repository_branch=(
                        None if checkout is None else checkout.git_repository_branch
                    ),
                    architecture=None if build is None else build.architecture,
                )
            )
        found.sort(key=lambda f: (f.received_at, f.incident.id))
        return found

    def list_issues(self) -> Sequence[Issue]:
        latest: dict[str, Issue] = {}
        for issue in self._issues.values():
            if issue.id not in latest or issue.version > latest[issue.id].version:
                latest[issue.id] = issue
        return _by_id(latest.values())

    def incidents_of_issue(self, issue_id: str, version: int | None = None) -> Sequence[Incident]:
        return _by_id(
            n
            for n in self._incidents.values()
            if n.issue_id == issue_id and (version is None or n.issue_version == version)
        )

    def incidents_of_test(self, test_id: str) -> Sequence[Incident]:
        return _by_id(n for n in self._incidents.values() if n.test_id == test_id)

    def incidents_of_build(self, build_id: str) -> Sequence[Incident]:
        return _by_id(n for n in self._incidents.values() if n.build_id == build_id)

    def _run(self, test: Test, received_at: float) -> TestRun:
        build = self._builds.get(test.build_id)
        checkout = None if build is None else self._checkouts.get(build.checkout_id)
        return TestRun(
            test=test,
            received_at=received_at,
            checkout_id=None if build is None else build.checkout_id,
            git_commit_hash=None if checkout is None else checkout.git_commit_hash,
            tree_name=None if checkout is None else checkout.tree_name,
            git_repository_branch=None if checkout is None else checkout.git_repository_branch,
            architecture=None if build is None else build.architecture,
            config_name=None if build is None else build.config_name,
            compiler=None if build is None else build.compiler,
        )


def _by_id(objects: Iterable[ResultT]) -> list[ResultT]:
    return sorted(objects, key=lambda o: o.id)
