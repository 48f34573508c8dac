"""Ingest: one results file → one transaction holding its results and the incidents triage found.

What :func:`ingest_file` (and :func:`ingest_stream`, for the HTTP API) does
with one file, in order:

1. Open one results transaction, stamped with the file's ``received_at``.
2. Parse the file as a stream (:class:`~.parse_process.EncodedFile`: the
   ingest parsers, then the store's row encoding) and merge each part of up
   to 10,000 rows into the transaction as it comes. Large files are parsed
   in a second process (:class:`~.parse_process.ParserProcess`) while this
   one writes, so parsing and storing overlap on two cores.
3. **Triage inside the same transaction.** After each part, the failing
   objects it touched are read back *as stored* (merged with what the
   database already knew: a resubmission that only adds a log excerpt is
   triaged with it), joined with their build and checkout, and matched
   against the known issues compiled once for the whole command (the
   multi-pattern matcher scans each log once). The incidents are written in
   the same transaction.
4. Commit. If the parser rejects the file anywhere (an ``InputError``
   naming file, line or element, and reason), the transaction is rolled
   back: nothing of the file is stored, and the report says why.

Why triage in the file's transaction rather than after it: a file and its
triage are stored together or not at all, so nobody ever reads a failure
that "has no known issue" only because triage has not run yet, and a crash
between the two cannot leave a file untriaged. ``gatehouse triage`` re-runs
the same matching over stored results when the issues change.

Memory stays flat: one part of rows, the parents of the current part, and
counts; unknown failures are counted, and only the first
:data:`UNKNOWN_LISTED` are kept for the report. An *unknown failure* is a
failing result no known issue explains and that counts in a verdict (an
expected failure or a superseded attempt is triaged, but is not one).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from itertools import compress
from operator import itemgetter
from typing import IO, Any

from gatehouse.core.ports import ResultsStore, ResultsTransaction
from gatehouse.core.result_context import ResultContext
from gatehouse.core.results import ResultsBatch, Status, verdict_status
from gatehouse.core.triage import Triager
from gatehouse.errors import Diagnostic, GatehouseError, InputError, Location, UsageError
from gatehouse.ingest import IngestContext
from gatehouse.resultsdb.contexts import ContextReader
from gatehouse.resultsdb.parse_process import (
    EncodedFile,
    ParserProcess,
    Part,
    can_fork,
)
from gatehouse.storage.rows import Row

# Files at least this large are parsed in a second process (fork + pipe cost
# a few milliseconds; below ~10,000 results overlapping gains nothing).
PARALLEL_MIN_BYTES = 1 << 20
UNKNOWN_LISTED = 50

# A test part's rows whose stored version may be failing: failing ones, and those that
# do not say (a resubmission without a status keeps the stored one).
_MAYBE_FAILING = frozenset({*(s.value for s in Status if s.is_failure), None})


@dataclass(frozen=True, slots=True)
class UnknownFailure:
    """A failing result no known issue explains: what a report leads with."""

    object_id: str
    kind: str  # "test" or "build"
    path: str | None
    status: str
    comment: str | None

    @classmethod
    def of(cls, result: ResultContext) -> UnknownFailure:
        record = result.test if result.test is not None else result.build
        status = result.status
        return cls(
            result.object_id,
            result.kind,
            result.path,
            status.value if status else "",
            record.comment,
        )


@dataclass
class FileReport:
    """What ingesting one file did (or why nothing of it was stored)."""

    name: str
    format: str | None = None
    error: GatehouseError | None = None
    stored: Counter[str] = field(default_factory=Counter)  # objects per table, from the file
    statuses: Counter[str] = field(default_factory=Counter)  # tests per status ("" = unknown)
    incidents: int = 0
    explained: int = 0
    unknown: int = 0
    unknown_failures: list[UnknownFailure] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def tests(self) -> int:
        return self.stored["tests"]


class _FileWriter:
    """Merges a file's parts into one transaction and triages what each part stored."""

    def __init__(self, tx: ResultsTransaction, triager: Triager, report: FileReport) -> None:
        self._tx = tx
        self._triager = triager
        self._report = report
        self._contexts = ContextReader(tx)

    def write(self, table: str, columns: tuple[str, ...], rows: list[Row]) -> None:
        report = self._report
        self._tx.submit_rows(table, rows, columns)  # type: ignore[attr-defined]
        report.stored[table] += len(rows)
        if table == "tests":
            # Statuses are counted and failures picked at C speed: a million rows pass here.
            statuses = (
                list(map(itemgetter(columns.index("status")), rows))
                if "status" in columns
                else [None] * len(rows)
            )
            counts = Counter(statuses)
            report.statuses.update({k or "": v for k, v in counts.items()})
            if counts.keys() & _MAYBE_FAILING:
                maybe = [s in _MAYBE_FAILING for s in statuses]
                ids = [r[0] for r in compress(rows, maybe)]
                failing = [t for t in self._tx.get_tests(ids) if _failing(t.status)]
                self._triage(self._contexts.for_tests(failing))
            return
        ids = [r[0] for r in rows]
        if table == "builds":
            builds = self._tx.get_builds(ids)  # as merged: the tests' parents
            self._contexts.remember(builds=builds)
            self._triage(self._contexts.for_builds(b for b in builds if _failing(b.status)))
        elif table == "checkouts":
            self._contexts.remember(checkouts=self._tx.get_checkouts(ids))

    def _triage(self, results: list[ResultContext]) -> None:
        if not results:
            return
        found = self._triager.triage(results)
        if found.incidents:
            self._tx.submit(ResultsBatch(incidents=found.incidents))
        report = self._report
        report.incidents += len(found.incidents)
        report.explained += len({m.object_id for m in found.matches})
        unknown = [r for r in found.unknown_failures if counts_in_verdict(r)]
        report.unknown += len(unknown)
        room = UNKNOWN_LISTED - len(report.unknown_failures)
        report.unknown_failures.extend(UnknownFailure.of(r) for r in unknown[: max(room, 0)])


def _failing(status: Status | None) -> bool:
    return status is not None and status.is_failure


def counts_in_verdict(result: ResultContext) -> bool:
    """Whether a failing result is a failure a person must look at.

    An expected failure (``misc.waived``) and an attempt a later attempt
    superseded (``misc.retried``) are triaged like any failure (a known
    issue may name them) but are not *unknown failures*: they fail no
    verdict (:func:`gatehouse.core.results.verdict_status`).
    """
    if result.test is None:
        return True
    status = verdict_status(result.test)
    return status is not None and status.is_failure


def _run(
    results: ResultsStore,
    report: FileReport,
    received_at: float,
    triager: Triager | None,
    parts: Callable[[], AbstractContextManager[Iterator[Part]]],
) -> FileReport:
    started = time.perf_counter()
    if triager is None:
        from gatehouse.resultsdb.known import compile_triager

        triager, problems = compile_triager(results, now=datetime.fromtimestamp(received_at, UTC))
        report.warnings.extend(problems)
    try:
        with results.transaction(received_at=received_at) as tx, parts() as stream:
            writer = _FileWriter(tx, triager, report)
            for table, columns, rows in stream:
                writer.write(table, columns, rows)
    except (InputError, UsageError) as exc:
        report.error = exc
        report.stored.clear()
        report.statuses.clear()
        report.incidents = report.explained = report.unknown = 0
        report.unknown_failures.clear()
    report.seconds = time.perf_counter() - started
    return report


@dataclass(frozen=True, slots=True)
class _Source:
    """What to parse and how: one file's parsing arguments, whichever side parses."""

    name: str
    format: str
    context: IngestContext
    received_at: float


@contextmanager
def _parse_here(
    stream: IO[bytes], source: _Source, report: FileReport, warn: Callable[[Diagnostic], None]
) -> Iterator[Iterator[Part]]:
    encoded = EncodedFile(
        stream,
        name=source.name,
        format=source.format,
        context=source.context,
        received_at=source.received_at,
        on_warning=warn,
    )
    report.format = encoded.format
    yield encoded.parts()


@contextmanager
def _parse_in_child(
    path: str, source: _Source, report: FileReport, warn: Callable[[Diagnostic], None]
) -> Iterator[Iterator[Part]]:
    process = ParserProcess(
        path,
        name=source.name,
        format=source.format,
        context=source.context,
        received_at=source.received_at,
        on_warning=warn,
    )

    def parts() -> Iterator[Part]:
        for part in process.parts():
            report.format = process.format
            yield part
        report.format = process.format

    try:
        yield parts()
    finally:
        process.close()  # stops the child if the writer gave up early


def ingest_stream(
    results: ResultsStore,
    stream: IO[bytes],
    *,
    name: str,
    context: IngestContext,
    received_at: float,
    format: str = "auto",
    triager: Triager | None = None,
    on_warning: Callable[[Diagnostic], None] | None = None,
) -> FileReport:
    """Ingest one results stream in this process (the HTTP API's entry point).

    ``name`` names the report in messages and seeds its derived ids (pass the
    same name to re-ingest the same report); ``triager`` is compiled from the
    stored known issues when not given. A rejected stream is not an
    exception: the report's ``error`` holds the located reason and nothing
    was stored. Storage failures raise ``StorageError``.
    """
    report = FileReport(name)
    source = _Source(name, format, context, received_at)
    warn = _collect(report, on_warning)
    return _run(
        results, report, received_at, triager, partial(_parse_here, stream, source, report, warn)
    )


def ingest_file(
    results: ResultsStore,
    path: str,
    *,
    context: IngestContext,
    received_at: float,
    name: str | None = None,
    format: str = "auto",
    triager: Triager | None = None,
    parallel: bool | None = None,
    on_warning: Callable[[Diagnostic], None] | None = None,
) -> FileReport:
    """Ingest one results file: parse, store and triage it in one transaction.

    ``name`` defaults to ``path``. ``parallel`` chooses the two-process path
    (default: files of at least :data:`PARALLEL_MIN_BYTES` where ``fork``
    exists). The child is started with ``fork``: from a process with other
    threads running (a server), pass ``parallel=False`` or call
    :func:`ingest_stream`. A file that cannot be read or parsed is reported
    in the returned report's ``error`` (located) and nothing of it is stored.
    """
    display = path if name is None else name
    try:
        size = os.path.getsize(path)
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        report = FileReport(display)
        report.error = InputError(f"cannot read the file: {exc.strerror or exc}", Location(display))
        return report
    use_process = parallel if parallel is not None else size >= PARALLEL_MIN_BYTES
    if not use_process or not can_fork():
        with handle:
            return ingest_stream(
                results,
                handle,
                name=display,
                context=context,
                received_at=received_at,
                format=format,
                triager=triager,
                on_warning=on_warning,
            )
    handle.close()
    report = FileReport(display)
    source = _Source(display, format, context, received_at)
    warn = _collect(report, on_warning)
    return _run(
        results, report, received_at, triager, partial(_parse_in_child, path, source, report, warn)
    )


def _collect(
    report: FileReport, on_warning: Callable[[Diagnostic], None] | None
) -> Callable[[Diagnostic], None]:
    def warn(diagnostic: Diagnostic) -> None:
        report.warnings.append(diagnostic)
        if on_warning is not None:
            on_warning(diagnostic)

    return warn


def report_json(report: FileReport) -> dict[str, Any]:
    """A file's report as JSON (``gatehouse ingest --json``, the HTTP API)."""
    out: dict[str, Any] = {"file": report.name, "ok": report.ok, "format": report.format}
    if report.error is not None:
        location = getattr(report.error, "location", None)
        out["error"] = {
            "message": report.error.message,
            "file": location.file if location else report.name,
            "line": location.line if location else None,
            "column": location.column if location else None,
            "hint": report.error.hint,
        }
    else:
        out["stored"] = dict(sorted(report.stored.items()))
        out["statuses"] = {k or "unknown": v for k, v in sorted(report.statuses.items())}
        out["incidents"] = report.incidents
        out["explained"] = report.explained
        out["unknown"] = report.unknown
        out["unknown_failures"] = [
            {
                "id": u.object_id,
                "kind": u.kind,
                "path": u.path,
                "status": u.status,
                "comment": u.comment,
            }
            for u in report.unknown_failures
        ]
    out["warnings"] = [d.to_json() for d in report.warnings]
    out["seconds"] = round(report.seconds, 3)
    return out
