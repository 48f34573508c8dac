"""Ingest: results from other CI systems (KCIDB, JUnit, TAP, meson, googletest) into the results model.

The entry points the CLI, the HTTP API and the engine call:

- :func:`parse_results` — one report (a binary stream and a display name)
  in any supported format → a :class:`~gatehouse.core.results.ResultsBatch`
  ready for ``ResultsStore.submit`` (one transaction per file).
- :func:`iter_results` — the same as a stream of model objects (checkout and
  build first, then tests as they are read), for files too large to hold;
  a caller storing while iterating must roll back on an ``InputError``.
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
    "IngestContext",
    "Result",
    "WarningCallback",
    "iter_results",
    "job_build_id",
    "parse_job_report",
    "parse_results",
]

Result = Checkout | Build | Test | Issue | Incident


def _parse_format(
    fmt: str, stream: IO[bytes], context: IngestContext, findings: Findings
) -> Iterator[Result]:
    if fmt == "kcidb":
        from gatehouse.ingest.kcidb import parse_kcidb

        yield from parse_kcidb(stream, context, findings)
        return
    factory = TestFactory(context, findings.name)
    yield from factory.parents()
    if fmt == "junit":
        from gatehouse.ingest.junit import parse_junit

        yield from parse_junit(stream, factory, findings)
    elif fmt == "tap":
        from gatehouse.ingest.tap import parse_tap

        yield from parse_tap(stream, factory, findings)
    elif fmt == "meson":
        from gatehouse.ingest.meson import parse_meson

        yield from parse_meson(stream, factory, findings)
    elif fmt == "gtest-json":
        from gatehouse.ingest.gtest_json import parse_gtest_json

        yield from parse_gtest_json(stream, factory, findings)
    else:  # pragma: no cover - checked by iter_results
        raise AssertionError(fmt)


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
    if format != "auto" and format not in FORMATS:
        raise UsageError(
            f"unknown results format {format!r}",
            hint=f"use one of: auto, {', '.join(FORMATS)}",
        )
    findings = Findings(name, on_warning)
    if format == "auto":
        from gatehouse.ingest.detect import sniff

        format, stream = sniff(stream, name)
    try:
        yield from _parse_format(format, stream, context, findings)
    except UnicodeDecodeError as exc:
        raise InputError(f"the file is not valid UTF-8 ({exc.reason})", Location(name)) from None
    findings.finish()


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
    checkouts: list[Checkout] = []
    builds: list[Build] = []
    tests: list[Test] = []
    issues: list[Issue] = []
    incidents: list[Incident] = []
    sort = {
        Checkout: checkouts.append,
        Build: builds.append,
        Test: tests.append,
        Issue: issues.append,
        Incident: incidents.append,
    }
    for item in iter_results(
        stream, name=name, format=format, context=context, on_warning=on_warning
    ):
        sort[type(item)](item)  # type: ignore[operator]
    return ResultsBatch(
        checkouts=tuple(checkouts),
        builds=tuple(builds),
        tests=tuple(tests),
        issues=tuple(issues),
        incidents=tuple(incidents),
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
