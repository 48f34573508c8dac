"""Ingest: results from other CI systems (KCIDB, JUnit, TAP, meson, googletest) into the results model.

The entry points the CLI, the HTTP API and the engine call:

- :func:`parse_results` — one report (a binary stream and a display name)
  in any supported format → a :class:`~gatehouse.core.results.ResultsBatch`
  ready for ``ResultsStore.submit`` (one transaction per file).
- :func:`iter_results` — the same as a stream of model objects (checkout and
  build first, then tests as they are read), for files too large to hold;
  a caller storing while iterating must roll back on an ``InputError``.
- :func:`iter_result_lists` — the same objects in lists of one type (the
  way the parsers produce them), for a store that writes in batches.
- :func:`parse_job_report` — a JUnit report of one of our own jobs → its
  tests, attached to build ``gatehouse:j<job id>``.
- :class:`IngestContext` — the origin and what else the caller knows
  (commit, tree, branch, architecture, environment, build id).

Every parser is pure over a binary stream: opening files stays with the
caller. Format modules are imported lazily so that importing this package
costs nothing (``kcidb-io`` and ``jsonschema`` in particular are heavy).
A rejected input raises :class:`~gatehouse.errors.InputError` naming file,
line/element and reason; warnings (a non-TAP line, a plan mismatch) go to
the ``on_warning`` callback, and parsing goes on.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, TYPE_CHECKING

from gatehouse.core.results import (
    MISC_SYNTHETIC,
    Build,
    Checkout,
    Incident,
    Issue,
    ResultsBatch,
    Status,
    Test,
)
from gatehouse.errors import InputError, Location, UsageError, error
from gatehouse.ingest.context import GATEHOUSE_ORIGIN, IngestContext, TestFactory
from gatehouse.ingest.detect import FORMATS
from gatehouse.ingest.findings import Findings, WarningCallback

__all__ = [
    "FORMATS",
    "Chunk",
    "IngestContext",
    "Result",
    "WarningCallback",
    "iter_result_lists",
    "iter_results",
    "job_build_id",
    "parse_job_report",
    "parse_results",
]

Result = Checkout | Build | Test | Issue | Incident


Chunk = list[Checkout] | list[Build] | list[Test] | list[Issue] | list[Incident]
_CHUNK = 1024


def _homogeneous_chunks(items: Iterator[Result]) -> Iterator[Chunk]:
    """Group a parser's objects into lists of one type (at most _CHUNK long)."""
    chunk: list[Result] = []
    kind: type | None = None
    for item in items:
        if type(item) is not kind or len(chunk) >= _CHUNK:
            if chunk:
                yield chunk  # type: ignore[misc]
            chunk = []
            kind = type(item)
        chunk.append(item)
    if chunk:
        yield chunk  # type: ignore[misc]


def _parse_chunks(
    fmt: str, stream: IO[bytes], context: IngestContext, findings: Findings
) -> Iterator[Chunk]:
    """The objects of one report, in lists of one type: parents first, then the tests.

    Lists rather than single objects because a million tests pass through
    here: per-object generator hops cost more than the parsing.
    """
    if fmt == "kcidb":
        from gatehouse.ingest.kcidb import parse_kcidb

        yield from _homogeneous_chunks(parse_kcidb(stream, context, findings))
        return
    factory = TestFactory(context, findings.name)
    yield from _homogeneous_chunks(factory.parents())
    if fmt == "junit":
        from gatehouse.ingest.junit import parse_junit

        yield from parse_junit(stream, factory, findings)
    elif fmt == "tap":
        from gatehouse.ingest.tap import parse_tap

        yield from parse_tap(stream, factory, findings)
    elif fmt == "meson":
        from gatehouse.ingest.meson import parse_meson

        yield from _homogeneous_chunks(parse_meson(stream, factory, findings))
    elif fmt == "gtest-json":
        from gatehouse.ingest.gtest_json import parse_gtest_json

        yield from _homogeneous_chunks(parse_gtest_json(stream, factory, findings))
    else:  # pragma: no cover - checked by _checked_chunks
        raise AssertionError(fmt)


def _checked_chunks(
    stream: IO[bytes],
    name: str,
    fmt: str,
    context: IngestContext,
    on_warning: WarningCallback | None,
) -> Iterator[Chunk]:
    if fmt != "auto" and fmt not in FORMATS:
        raise UsageError(
            f"unknown results format {fmt!r}",
            hint=f"use one of: auto, {', '.join(FORMATS)}",
        )
    findings = Findings(name, on_warning)
    if fmt == "auto":
        from gatehouse.ingest.detect import sniff

        fmt, stream = sniff(stream, name)
    try:
        for chunk in _parse_chunks(fmt, stream, context, findings):
            if chunk:
                yield chunk
    except UnicodeDecodeError as exc:
        raise InputError(f"the file is not valid UTF-8 ({exc.reason})", Location(name)) from None
    findings.finish()


def iter_results(
    stream: IO[bytes],
    *,
    name: str,
    format: str = "auto",
    context: IngestContext,
    on_warning: WarningCallback | None = None,
) -> Iterator[Result]:
    """Yield the model objects of one report as it is read.

    Parents come before children (checkouts, builds, then tests; KCIDB:
    checkouts, builds, tests, issues, incidents). Raises ``InputError``
    (located) when the report is rejected, possibly after some objects were
    yielded: store them in one transaction and roll it back.
    """
    for chunk in _checked_chunks(stream, name, format, context, on_warning):
        yield from chunk


def iter_result_lists(
    stream: IO[bytes],
    *,
    name: str,
    format: str = "auto",
    context: IngestContext,
    on_warning: WarningCallback | None = None,
) -> Iterator[Chunk]:
    """The objects of :func:`iter_results`, in non-empty lists of one type.

    Cheaper per object than :func:`iter_results` (no generator hop per
    object); the same order and the same ``InputError`` rule apply.
    """
    return _checked_chunks(stream, name, format, context, on_warning)


def parse_results(
    stream: IO[bytes],
    *,
    name: str,
    format: str = "auto",
    context: IngestContext,
    on_warning: WarningCallback | None = None,
) -> ResultsBatch:
    """Parse one report into a batch to submit in one transaction.

    ``name`` is how messages name the report and part of every derived ID
    (pass the same name to re-ingest the same file); ``format`` is ``auto``
    or one of :data:`FORMATS`. Nothing of a rejected report is returned.
    """
    buckets: dict[type, list[Result]] = {
        kind: [] for kind in (Checkout, Build, Test, Issue, Incident)
    }
    for chunk in _checked_chunks(stream, name, format, context, on_warning):
        buckets[type(chunk[0])].extend(chunk)
    return ResultsBatch(
        checkouts=tuple(buckets[Checkout]),  # type: ignore[arg-type]
        builds=tuple(buckets[Build]),  # type: ignore[arg-type]
        tests=tuple(buckets[Test]),  # type: ignore[arg-type]
        issues=tuple(buckets[Issue]),  # type: ignore[arg-type]
        incidents=tuple(buckets[Incident]),  # type: ignore[arg-type]
    )


def job_build_id(job_id: int) -> str:
    """The build id of one of our own job attempts (docs/results.md)."""
    return f"{GATEHOUSE_ORIGIN}:j{job_id}"


def parse_job_report(
    stream: IO[bytes],
    *,
    name: str,
    job_id: int,
    format: str = "junit",
    on_warning: WarningCallback | None = None,
) -> ResultsBatch:
    """The tests of a report one of our own jobs produced (``artifacts:reports:junit``).

    The tests hang off build ``gatehouse:j<job id>``, which the engine
    stores itself (with its checkout ``gatehouse:p<pipeline id>``), so the
    batch holds tests only. A failed test is a result, and so is a report
    the job left unreadable (truncated by a killed job, corrupt): it becomes
    one MISS test named after the report, its comment the located reason,
    and the reason also goes to ``on_warning``. Never raises ``InputError``.
    """
    context = IngestContext(origin=GATEHOUSE_ORIGIN, build_id=f"j{job_id}")
    try:
        batch = parse_results(
            stream, name=name, format=format, context=context, on_warning=on_warning
        )
    except InputError as exc:
        if on_warning is not None:
            on_warning(error("unreadable-report", exc.message, exc.location, exc.hint))
        factory = TestFactory(context, name)
        where = f"{exc.location}: " if exc.location else ""
        return ResultsBatch(
            tests=(
                factory.test(
                    "unreadable report",
                    name,
                    Status.MISS,
                    comment=f"{where}{exc.message}",
                    misc={MISC_SYNTHETIC: "unreadable_report"},
                ),
            )
        )
    return ResultsBatch(tests=batch.tests)


if TYPE_CHECKING:  # parse_job_report is the engine's JobReportParser
    from gatehouse.core.ports import JobReportParser

    _job_report_parser: JobReportParser = parse_job_report
