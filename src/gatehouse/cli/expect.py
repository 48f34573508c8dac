"""``gatehouse expect``: gate a job on Mesa/deqp-runner expectations files.

Reads the baseline (``--fails``), flakes and skips files and one or more
results files, applies :mod:`gatehouse.core.expectations`, prints the
unexpected results first, then the flakes, the counts and the stale baseline
entries, and exits 0 when the verdict passes, 1 when it fails and 2 when a
file cannot be read or has errors (every error, located, no traceback).

Results are deqp-runner ``results.csv`` files, or any results file ingest
reads (JUnit XML, TAP, meson ``testlog.json``, googletest JSON, KCIDB JSON),
parsed by :func:`gatehouse.ingest.parse_results` and mapped to deqp-runner
statuses by :mod:`gatehouse.core.expect_results`. ``--format auto`` takes
``*.csv`` as deqp-runner CSV and detects the rest by content.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import IO, TYPE_CHECKING, Any

from gatehouse.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, ConfigError, Diagnostic, error

if TYPE_CHECKING:
    from gatehouse.core.expectations import DeqpStatus, ExpectationReport, TestOutcome

RESULT_FORMATS = ("auto", "deqp-csv", "junit", "tap", "meson", "gtest-json", "kcidb")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "expect",
        help="check test results against expectations files (Mesa/deqp-runner format)",
        description=(
            "Apply *-fails.txt baselines, *-flakes.txt and *-skips.txt regex lists to "
            "deqp-runner results.csv files or JUnit, TAP, meson, googletest or KCIDB results "
            "(test names are their test paths). Exit 0 when the verdict passes, 1 when a "
            "result is unexpected (Fail, Crash, Timeout, Missing, UnexpectedPass), "
            "2 when a file is missing or invalid."
        ),
    )
    parser.add_argument(
        "results",
        nargs="+",
        metavar="RESULTS",
        help="deqp-runner results.csv, or JUnit/TAP/meson/googletest/KCIDB results files",
    )
    parser.add_argument(
        "--format",
        choices=RESULT_FORMATS,
        default="auto",
        help="format of RESULTS (default: auto: *.csv is deqp-runner CSV, others by content)",
    )
    parser.add_argument(
        "--fails", nargs="+", action="extend", default=[], metavar="FILE",
        help="baseline files (test,Status per line); several are layered",
    )  # fmt: skip
    parser.add_argument(
        "--flakes", nargs="+", action="extend", default=[], metavar="FILE",
        help="known-flake regex files: matching non-success results become Flake",
    )  # fmt: skip
    parser.add_argument(
        "--skips", nargs="+", action="extend", default=[], metavar="FILE",
        help="skip regex files: matching tests are removed",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(handler=run)


def _read(paths: list[str], problems: list[Diagnostic]) -> list[tuple[str, str]]:
    files = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as handle:
                files.append((path, handle.read()))
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            problems.append(error("unreadable-file", f"cannot read {path}: {reason}"))
    return files


def run(args: argparse.Namespace) -> int:
    from gatehouse.core.expectations import classify, load_expectations, parse_results_csv

    problems: list[Diagnostic] = []
    fails = _read(args.fails, problems)
    flakes = _read(args.flakes, problems)
    skips = _read(args.skips, problems)
    fmt = getattr(args, "format", "auto")
    csv_paths = [
        p for p in args.results if fmt == "deqp-csv" or (fmt == "auto" and p.endswith(".csv"))
    ]
    result_files = _read(csv_paths, problems)
    expectations = None
    try:
        expectations = load_expectations(fails, flakes, skips)
    except ConfigError as exc:
        problems.extend(exc.diagnostics)
    pairs = []
    for source, text in result_files:
        parsed, found = parse_results_csv(text, source)
        pairs.extend(parsed)
        problems.extend(found)
    for path in args.results:
        if path not in csv_paths:
            pairs.extend(_ingested_pairs(path, fmt, problems))
    if problems or expectations is None:
        sys.stderr.write(ConfigError(problems).render() + "\n")
        return EXIT_USAGE
    report = classify(pairs, expectations)
    if args.json:
        sys.stdout.write(json.dumps(_to_json(report), indent=2) + "\n")
    else:
        sys.stdout.write(_render(report))
    return EXIT_OK if report.passed else EXIT_FAILED


def _warn(diagnostic: Diagnostic) -> None:
    sys.stderr.write(diagnostic.render() + "\n")


def _ingested_pairs(
    path: str, fmt: str, problems: list[Diagnostic]
) -> list[tuple[str, DeqpStatus]]:
    """The (test, status) pairs of a JUnit/TAP/meson/googletest/KCIDB file; problems located."""
    from gatehouse.core.expect_results import pairs_from_tests
    from gatehouse.errors import GatehouseError
    from gatehouse.ingest import IngestContext, parse_results
    from gatehouse.ingest.detect import sniff

    try:
        with open(path, "rb") as handle:
            stream: IO[bytes] = handle
            if fmt == "auto":
                fmt, stream = sniff(handle, path)
            # KCIDB objects carry their own origins; other formats need one for their ids.
            context = IngestContext() if fmt == "kcidb" else IngestContext(origin="expect")
            batch = parse_results(stream, name=path, format=fmt, context=context, on_warning=_warn)
    except OSError as exc:
        problems.append(error("unreadable-file", f"cannot read {path}: {exc.strerror or exc}"))
        return []
    except GatehouseError as exc:
        location = getattr(exc, "location", None)
        problems.append(error("unreadable-results", exc.message, location, exc.hint))
        return []
    return pairs_from_tests(batch.tests)


def _why(outcome: TestOutcome) -> str:
    if outcome.duplicate:
        return "reported more than once"
    if outcome.baseline is not None:
        base = f"baseline {outcome.baseline.status.value} at {outcome.baseline.location}"
        if outcome.result.value == "UnexpectedPass":
            return f"{base}: the baseline is stale, remove the line"
        return base
    return "not in the baseline"


def _render(report: ExpectationReport) -> str:
    lines = []
    unexpected = report.unexpected
    total = len(report.outcomes)
    verdict = "PASS" if report.passed else "FAIL"
    lines.append(f"expect: {verdict}: {len(unexpected)} unexpected of {total} results")
    if unexpected:
        lines.append("")
        lines.append("Unexpected results:")
        lines.extend(
            f"  {o.result.value:<15} {o.test}  ({o.actual.value}; {_why(o)})" for o in unexpected
        )
    if report.flakes:
        lines.append("")
        lines.append("Flakes (do not fail the verdict):")
        lines.extend(
            f"  {o.actual.value:<15} {o.test}  (rule {o.flake_rule.location if o.flake_rule else '?'})"
            for o in report.flakes
        )
    lines.append("")
    counts = ", ".join(f"{k} {v}" for k, v in report.counts().items())
    lines.append(f"Counts: {counts or 'no results'}; skipped by lists: {len(report.skipped)}")
    if report.stale:
        lines.append("")
        lines.append(f"Baseline entries not in these results ({len(report.stale)}):")
        lines.extend(f"  {e.location}: {e.test},{e.status.value}" for e in report.stale[:50])
        if len(report.stale) > 50:
            lines.append(f"  … and {len(report.stale) - 50} more")
    return "\n".join(lines) + "\n"


def _to_json(report: ExpectationReport) -> dict[str, Any]:
    def outcome(o: TestOutcome) -> dict[str, Any]:
        return {
            "test": o.test,
            "actual": o.actual.value,
            "result": o.result.value,
            "baseline": None
            if o.baseline is None
            else {"status": o.baseline.status.value, "at": str(o.baseline.location)},
            "flake_rule": None if o.flake_rule is None else str(o.flake_rule.location),
            "duplicate": o.duplicate,
        }

    return {
        "passed": report.passed,
        "counts": report.counts(),
        "unexpected": [outcome(o) for o in report.unexpected],
        "flakes": [outcome(o) for o in report.flakes],
        "skipped": len(report.skipped),
        "stale": [
            {"test": e.test, "status": e.status.value, "at": str(e.location)} for e in report.stale
        ],
        "results": [outcome(o) for o in report.outcomes],
    }
