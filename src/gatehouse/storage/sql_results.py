"""The results database in SQL: merge-by-ID submission and the read queries (ResultsStore).

Submission. A batch is stored in ONE transaction, table by table, with one
``INSERT … ON CONFLICT (id) DO UPDATE`` per table (built by
:meth:`Dialect.upsert`): a new object is inserted; a known one is merged
field by field, the later-received submission winning where it knows a value
and the stored value kept where it does not (``COALESCE``), ``misc`` merged key
by key, ``_timestamp`` set to the latest receive time. That is
:func:`gatehouse.core.results.merge_fields`, done by the database, so
resubmitting never duplicates and never reverts a field to unknown. If any row
violates a constraint the whole batch is rolled back.

Several batches in one transaction. :meth:`SqlResultsStore.transaction`
opens one write transaction and hands out a :class:`SqlResultsTransaction`
whose ``submit`` runs the same upserts and whose reads (by id) see what the
transaction wrote, so ingest can stream a large file in chunks, triage what
it stored, and still commit the file whole or not at all.
``submit_rows`` is the bulk path for rows already encoded by
:mod:`gatehouse.storage.rows` (in another process, while this one writes).

Queries. Each read is one SQL statement with an index behind it (see
``migrations/``): by id (primary keys; lists of ids in chunks of
:data:`IDS_PER_STATEMENT`), tests of a build (``tests_by_build``), of a
checkout (``builds_by_checkout`` then ``tests_by_build``), checkouts by commit
or commit prefix (``checkouts_by_commit``), the history of a test path newest
first (``tests_by_path`` on path, _timestamp, id), failing tests and builds
since a time (``tests_by_status``, ``builds_by_status``), the versions of an
issue (its key), incidents by issue, test or build, and where an issue's
incidents were seen (``incidents_by_issue``, then primary keys).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from gatehouse.core.ports import BuildRun, IncidentSighting, TestRun
from gatehouse.core.results import (
    Build,
    Checkout,
    Incident,
    Issue,
    ResultsBatch,
    Status,
    Test,
    merge_fields,
)
from gatehouse.storage.database import Database, Row, Session
from gatehouse.storage.rows import (
    BUILD_FIELDS,
    CHECKOUT_FIELDS,
    INCIDENT_FIELDS,
    ISSUE_FIELDS,
    TEST_FIELDS,
    TEST_RUN_COLUMNS,
    TEST_RUN_FROM,
    as_float,
    columns,
    decode_build,
    decode_checkout,
    decode_incident,
    decode_issue,
    decode_test,
    decode_test_run,
    encode_build,
    encode_checkout,
    encode_incident,
    encode_issue,
    encode_test,
    full_row,
)

FAILING = tuple(s.value for s in Status if s.is_failure)
# Ids per ``IN (...)`` list: far below SQLite's and PostgreSQL's parameter limits.
IDS_PER_STATEMENT = 500

ResultT = TypeVar("ResultT", Checkout, Build, Test, Issue, Incident)


class TableSpec:
    """One results table: its columns, key, and how to encode an object as a row."""

    def __init__(
        self,
        table: str,
        fields: tuple[str, ...],
        key: tuple[str, ...],
        encode: Callable[[Any, float], Row],
    ) -> None:
        self.table = table
        self.fields = fields
        self.key = key
        self.encode = encode


CHECKOUTS = TableSpec("checkouts", CHECKOUT_FIELDS, ("id",), encode_checkout)
BUILDS = TableSpec("builds", BUILD_FIELDS, ("id",), encode_build)
TESTS = TableSpec("tests", TEST_FIELDS, ("id",), encode_test)
ISSUES = TableSpec("issues", ISSUE_FIELDS, ("id", "version"), encode_issue)
INCIDENTS = TableSpec("incidents", INCIDENT_FIELDS, ("id",), encode_incident)


def merge_duplicates(objects: Iterable[ResultT], key: Callable[[ResultT], Any]) -> list[ResultT]:
    """Fold objects that share a key into one, in submission order (merge_fields).

    Needed where the database must see each key once per statement
    (PostgreSQL's ``INSERT … SELECT … ON CONFLICT`` refuses to touch a row twice).
    """
    merged: dict[Any, ResultT] = {}
    for obj in objects:
        k = key(obj)
        previous = merged.get(k)
        merged[k] = obj if previous is None else merge_fields(previous, obj)
    return list(merged.values())


TABLES = {"checkouts": CHECKOUTS, "builds": BUILDS, "tests": TESTS, "issues": ISSUES,
          "incidents": INCIDENTS}  # fmt: skip


def _submit(db: Database, session: Session, batch: ResultsBatch, received_at: float) -> None:
    parts: list[tuple[TableSpec, Sequence[Any]]] = [
        (CHECKOUTS, batch.checkouts),
        (BUILDS, batch.builds),
        (TESTS, batch.tests),
        (ISSUES, batch.issues),
        (INCIDENTS, batch.incidents),
    ]
    for spec, submitted in parts:
        if not submitted:
            continue
        objects = (
            merge_duplicates(submitted, _key_of(spec)) if db.bulk_needs_unique_keys else submitted
        )
        rows = map(spec.encode, objects, itertools.repeat(received_at))
        db.upsert_many(session, spec.table, spec.fields, spec.key, rows)


def _by_ids(session: Session, spec: TableSpec, ids: Sequence[str]) -> list[Row]:
    """Rows of ``spec.table`` whose id is in ``ids``, by id; one statement per chunk."""
    wanted = sorted(set(ids))
    rows: list[Row] = []
    for start in range(0, len(wanted), IDS_PER_STATEMENT):
        chunk = wanted[start : start + IDS_PER_STATEMENT]
        marks = ", ".join("?" for _ in chunk)
        rows.extend(
            session.all(
                f"SELECT {columns(spec.fields)} FROM {spec.table} WHERE id IN ({marks})", chunk
            )
        )
    rows.sort(key=lambda r: r[0])
    return rows


class SqlResultsTransaction:
    """Batches stored in one open write transaction, and reads that see them."""

    def __init__(self, db: Database, session: Session, received_at: float) -> None:
        self._db = db
        self._session = session
        self.received_at = received_at

    def submit(self, batch: ResultsBatch) -> None:
        if len(batch):
            _submit(self._db, self._session, batch, self.received_at)

    def submit_rows(
        self, table: str, rows: Sequence[Row], columns: Sequence[str] | None = None
    ) -> None:
        """Merge rows made by the ``encode_*`` functions of :mod:`gatehouse.storage.rows`.

        ``columns`` names the row's fields when some were left out (the
        table's key columns must stay): a column left out is unknown in
        every row, which merge-by-ID treats exactly like NULL. Each row ends
        with this transaction's ``received_at``. The bulk path of ingest:
        rows encoded in a parser process, written here.
        """
        if not rows:
            return
        spec = TABLES[table]
        fields = spec.fields if columns is None else tuple(columns)
        if self._db.bulk_needs_unique_keys and _has_duplicate_keys(spec, rows):
            rows = (
                [full_row(spec.fields, fields, r) for r in rows] if fields != spec.fields else rows
            )
            decode = _DECODERS[table]
            objects = merge_duplicates((decode(r) for r in rows), _key_of(spec))
            rows = [spec.encode(o, self.received_at) for o in objects]
            fields = spec.fields
        self._db.upsert_many(self._session, spec.table, fields, spec.key, rows)

    def get_tests(self, test_ids: Sequence[str]) -> Sequence[Test]:
        return [decode_test(r) for r in _by_ids(self._session, TESTS, test_ids)]

    def get_builds(self, build_ids: Sequence[str]) -> Sequence[Build]:
        return [decode_build(r) for r in _by_ids(self._session, BUILDS, build_ids)]

    def get_checkouts(self, checkout_ids: Sequence[str]) -> Sequence[Checkout]:
        return [decode_checkout(r) for r in _by_ids(self._session, CHECKOUTS, checkout_ids)]


class SqlResultsStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def submit(self, batch: ResultsBatch, *, received_at: float) -> None:
        if not len(batch):
            return  # not even the write lock
        with self._db.write(f"submit {len(batch)} results") as s:
            _submit(self._db, s, batch, float(received_at))

    @contextmanager
    def transaction(self, *, received_at: float) -> Iterator[SqlResultsTransaction]:
        with self._db.write("store results") as s, self._db.bulk_writes(s):
            yield SqlResultsTransaction(self._db, s, float(received_at))

    # ------------------------------------------------------------------ by id

    def get_checkout(self, checkout_id: str) -> Checkout | None:
        row = self._one(CHECKOUTS, "id = ?", (checkout_id,))
        return None if row is None else decode_checkout(row)

    def get_build(self, build_id: str) -> Build | None:
        row = self._one(BUILDS, "id = ?", (build_id,))
        return None if row is None else decode_build(row)

    def get_test(self, test_id: str) -> Test | None:
        row = self._one(TESTS, "id = ?", (test_id,))
        return None if row is None else decode_test(row)

    def get_tests(self, test_ids: Sequence[str]) -> Sequence[Test]:
        with self._db.read("read tests") as s:
            return [decode_test(r) for r in _by_ids(s, TESTS, test_ids)]

    def get_builds(self, build_ids: Sequence[str]) -> Sequence[Build]:
        with self._db.read("read builds") as s:
            return [decode_build(r) for r in _by_ids(s, BUILDS, build_ids)]

    def get_checkouts(self, checkout_ids: Sequence[str]) -> Sequence[Checkout]:
        with self._db.read("read checkouts") as s:
            return [decode_checkout(r) for r in _by_ids(s, CHECKOUTS, checkout_ids)]

    def get_issue(self, issue_id: str, version: int | None = None) -> Issue | None:
        if version is None:
            row = self._one(ISSUES, "id = ? ORDER BY version DESC LIMIT 1", (issue_id,))
        else:
            row = self._one(ISSUES, "id = ? AND version = ?", (issue_id, version))
        return None if row is None else decode_issue(row)

    def get_incident(self, incident_id: str) -> Incident | None:
        row = self._one(INCIDENTS, "id = ?", (incident_id,))
        return None if row is None else decode_incident(row)

    # ------------------------------------------------------------------ relations

    def checkouts_by_commit(self, git_commit_hash: str) -> Sequence[Checkout]:
        rows = self._all(CHECKOUTS, "git_commit_hash = ? ORDER BY id", (git_commit_hash,))
        return [decode_checkout(r) for r in rows]

    def checkouts_by_commit_prefix(self, prefix: str) -> Sequence[Checkout]:
        # A range on the index: every lowercase-hex hash starting with the
        # prefix sorts at or after it and before prefix + "g" (in byte order
        # and in the collations databases use, which agree on [0-9a-g]).
        rows = self._all(
            CHECKOUTS,
            "git_commit_hash >= ? AND git_commit_hash < ? ORDER BY id",
            (prefix, prefix + "g"),
        )
        return [decode_checkout(r) for r in rows]

    def builds_of_checkout(self, checkout_id: str) -> Sequence[Build]:
        return [
            decode_build(r)
            for r in self._all(BUILDS, "checkout_id = ? ORDER BY id", (checkout_id,))
        ]

    def tests_of_build(self, build_id: str) -> Sequence[Test]:
        return [decode_test(r) for r in self._all(TESTS, "build_id = ? ORDER BY id", (build_id,))]

    def tests_of_checkout(self, checkout_id: str) -> Sequence[Test]:
        with self._db.read(f"read the tests of checkout {checkout_id}") as s:
            rows = s.all(
                f"SELECT {columns(TEST_FIELDS, 't')} FROM tests t "
                "JOIN builds b ON b.id = t.build_id WHERE b.checkout_id = ? ORDER BY t.id",
                (checkout_id,),
            )
        return [decode_test(r) for r in rows]

    def test_status_counts(self, build_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        wanted = sorted(set(build_ids))
        counts: dict[str, dict[str, int]] = {}
        with self._db.read("count the tests of builds") as s:
            for start in range(0, len(wanted), IDS_PER_STATEMENT):
                chunk = wanted[start : start + IDS_PER_STATEMENT]
                marks = ", ".join("?" for _ in chunk)
                for build_id, status, count in s.all(
                    f"SELECT build_id, status, COUNT(*) FROM tests WHERE build_id IN ({marks}) "
                    "GROUP BY build_id, status",
                    chunk,
                ):
                    counts.setdefault(build_id, {})[status or ""] = int(count)
        return counts

    def test_history(self, path: str, *, limit: int = 50) -> Sequence[TestRun]:
        with self._db.read(f"read the history of test {path!r}") as s:
            rows = s.all(
                f"SELECT {TEST_RUN_COLUMNS} FROM {TEST_RUN_FROM} WHERE t.path = ? "
                "ORDER BY t._timestamp DESC, t.id DESC LIMIT ?",
                (path, max(int(limit), 0)),
            )
        return [decode_test_run(r) for r in rows]

    def failing_tests_since(self, since: float) -> Sequence[TestRun]:
        marks = ", ".join("?" for _ in FAILING)
        with self._db.read("read failing tests") as s:
            rows = s.all(
                f"SELECT {TEST_RUN_COLUMNS} FROM {TEST_RUN_FROM} "
                f"WHERE t.status IN ({marks}) AND t._timestamp >= ? ORDER BY t._timestamp, t.id",
                (*FAILING, since),
            )
        return [decode_test_run(r) for r in rows]

    def failing_builds_since(self, since: float) -> Sequence[BuildRun]:
        marks = ", ".join("?" for _ in FAILING)
        with self._db.read("read failing builds") as s:
            rows = s.all(
                f"SELECT {columns(BUILD_FIELDS, 'b')}, b._timestamp, c.git_commit_hash, "
                "c.tree_name, c.git_repository_branch "
                "FROM builds b LEFT JOIN checkouts c ON c.id = b.checkout_id "
                f"WHERE b.status IN ({marks}) AND b._timestamp >= ? ORDER BY b._timestamp, b.id",
                (*FAILING, since),
            )
        n = len(BUILD_FIELDS)
        return [BuildRun(decode_build(r[:n]), float(r[n]), *r[n + 1 :]) for r in rows]

    # ------------------------------------------------------------------ issues, incidents

    def list_issues(self) -> Sequence[Issue]:
        rows = self._all(
            ISSUES,
            "version = (SELECT MAX(version) FROM issues latest WHERE latest.id = issues.id) "
            "ORDER BY id",
            (),
        )
        return [decode_issue(r) for r in rows]

    def issue_versions(self, issue_id: str) -> Sequence[Issue]:
        return [decode_issue(r) for r in self._all(ISSUES, "id = ? ORDER BY version", (issue_id,))]

    def incidents_of_issue(self, issue_id: str, version: int | None = None) -> Sequence[Incident]:
        if version is None:
            rows = self._all(INCIDENTS, "issue_id = ? ORDER BY id", (issue_id,))
        else:
            rows = self._all(
                INCIDENTS, "issue_id = ? AND issue_version = ? ORDER BY id", (issue_id, version)
            )
        return [decode_incident(r) for r in rows]

    def incidents_of_test(self, test_id: str) -> Sequence[Incident]:
        return [
            decode_incident(r) for r in self._all(INCIDENTS, "test_id = ? ORDER BY id", (test_id,))
        ]

    def incidents_of_build(self, build_id: str) -> Sequence[Incident]:
        return [
            decode_incident(r)
            for r in self._all(INCIDENTS, "build_id = ? ORDER BY id", (build_id,))
        ]

    def incident_sightings(self, issue_id: str) -> Sequence[IncidentSighting]:
        with self._db.read(f"read the incidents of issue {issue_id}") as s:
            rows = s.all(
                f"SELECT {columns(INCIDENT_FIELDS, 'i')}, i._timestamp, t.path, "
                "COALESCE(t.origin, b.origin), b.checkout_id, c.git_commit_hash, c.tree_name, "
                "c.git_repository_branch, b.architecture "
                "FROM incidents i LEFT JOIN tests t ON t.id = i.test_id "
                "LEFT JOIN builds b ON b.id = COALESCE(i.build_id, t.build_id) "
                "LEFT JOIN checkouts c ON c.id = b.checkout_id "
                "WHERE i.issue_id = ? ORDER BY i._timestamp, i.id",
                (issue_id,),
            )
        n = len(INCIDENT_FIELDS)
        return [
            IncidentSighting(decode_incident(r[:n]), as_float(r[n]) or 0.0, *r[n + 1 :])
            for r in rows
        ]

    # ------------------------------------------------------------------ helpers

    def _one(self, spec: TableSpec, where: str, params: Sequence[Any]) -> Row | None:
        with self._db.read(f"read {spec.table}") as s:
            return s.one(f"SELECT {columns(spec.fields)} FROM {spec.table} WHERE {where}", params)

    def _all(self, spec: TableSpec, where: str, params: Sequence[Any]) -> list[Row]:
        with self._db.read(f"read {spec.table}") as s:
            return s.all(f"SELECT {columns(spec.fields)} FROM {spec.table} WHERE {where}", params)


_DECODERS: dict[str, Callable[[Row], Any]] = {
    "checkouts": decode_checkout,
    "builds": decode_build,
    "tests": decode_test,
    "issues": decode_issue,
    "incidents": decode_incident,
}


def _has_duplicate_keys(spec: TableSpec, rows: Sequence[Row]) -> bool:
    width = len(spec.key)
    keys = {r[:width] for r in rows}
    return len(keys) != len(rows)


def _key_of(spec: TableSpec) -> Callable[[Any], Any]:
    if spec.key == ("id",):
        return lambda o: o.id
    return lambda o: (o.id, o.version)
