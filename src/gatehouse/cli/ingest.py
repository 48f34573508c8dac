"""``gatehouse ingest``: store results files from any CI system, triaged, one transaction per file.

Each FILE is parsed as a stream, stored and triaged in its own transaction
(:func:`gatehouse.resultsdb.ingest.ingest_file`): a rejected file (corrupt
XML, a KCIDB document kcidb-io refuses …) is reported with its location and
reason and nothing of it is stored, while the other files still go in. Exit
status 1 when any file was rejected.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING, Any

from gatehouse.errors import EXIT_FAILED, EXIT_OK

if TYPE_CHECKING:
    from gatehouse.resultsdb.ingest import FileReport

FORMAT_CHOICES = ("auto", "kcidb", "junit", "tap", "meson", "gtest-json")


def register(sub: Any) -> None:
    from gatehouse.cli.results_store import add_store_arguments

    parser = sub.add_parser(
        "ingest",
        help="store test results from other CI systems (KCIDB, JUnit, TAP, meson, googletest)",
        description=(
            "Parse each FILE (streaming), store it in the results database and triage its "
            "failures against the known issues, one transaction per file. A rejected file is "
            "reported with file, line or element and reason, and nothing of it is stored; the "
            "other files still go in. Exit 0 when every file was stored, 1 when any was rejected."
        ),
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="results files")
    parser.add_argument(
        "--origin",
        metavar="O",
        help="the CI system the results come from (lowercase letters, digits, _); "
        "required for every format but KCIDB",
    )
    parser.add_argument(
        "--format", choices=FORMAT_CHOICES, default="auto", help="file format (default: auto)"
    )
    context = parser.add_argument_group("what the results are of (ids derive from these)")
    context.add_argument("--checkout", metavar="ID", help="checkout id (origin:id or a local id)")
    context.add_argument("--build-id", metavar="ID", help="build id (origin:id or a local id)")
    context.add_argument("--commit", metavar="SHA", help="the full commit hash tested")
    context.add_argument("--tree", metavar="T", help="tree name (e.g. mainline)")
    context.add_argument("--branch", metavar="B", help="branch")
    context.add_argument("--repository-url", metavar="URL", help="git repository URL")
    context.add_argument("--arch", metavar="A", help="architecture (e.g. x86_64)")
    context.add_argument("--config", metavar="C", help="build configuration name")
    context.add_argument("--environment", metavar="E", help="test environment (machine, board)")
    parser.add_argument("--json", action="store_true", help="print the reports as JSON")
    add_store_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from gatehouse.cli.output import print_diagnostics
    from gatehouse.cli.results_store import open_results, print_json, print_problems
    from gatehouse.ingest import IngestContext
    from gatehouse.resultsdb.ingest import ingest_file, report_json
    from gatehouse.resultsdb.known import compile_triager

    context = IngestContext(
        origin=args.origin,
        checkout_id=args.checkout,
        build_id=args.build_id,
        commit=args.commit,
        tree=args.tree,
        branch=args.branch,
        repository_url=args.repository_url,
        architecture=args.arch,
        config=args.config,
        environment=args.environment,
    )
    reports: list[FileReport] = []
    with open_results(args, create=True) as store:
        triager, problems = compile_triager(store.results, now=datetime.now(UTC))
        print_problems(problems)
        for path in args.files:
            report = ingest_file(
                store.results,
                path,
                context=context,
                received_at=time.time(),
                format=args.format,
                triager=triager,
                on_warning=lambda d: print_diagnostics([d]),
            )
            reports.append(report)
            if not args.json:
                (sys.stdout if report.ok else sys.stderr).write(render(report))
    rejected = sum(1 for r in reports if not r.ok)
    if args.json:
        print_json({"ok": not rejected, "files": [report_json(r) for r in reports]})
    elif len(reports) > 1:
        sys.stdout.write(
            f"ingest: {len(reports) - rejected} of {len(reports)} files stored"
            + (f", {rejected} rejected\n" if rejected else "\n")
        )
    return EXIT_FAILED if rejected else EXIT_OK


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def render(report: FileReport) -> str:
    if report.error is not None:
        where = "" if getattr(report.error, "location", None) else f"{report.name}: "
        return (
            f"{where}{report.error.render()}\n{report.name}: rejected: nothing of it was stored\n"
        )
    statuses = ", ".join(
        f"{status or 'unknown'} {n:,}"
        for status, n in sorted(report.statuses.items(), key=lambda kv: (-kv[1], kv[0]))
    )
    parents = [
        _count(report.stored[table], word)
        for table, word in (
            ("checkouts", "checkout"),
            ("builds", "build"),
            ("issues", "issue"),
            ("incidents", "incident"),
        )
        if report.stored[table]
    ]
    lines = [
        f"{report.name}: stored {_count(report.tests, 'test')}"
        + (f" ({statuses})" if statuses else "")
        + (f", {', '.join(parents)}" if parents else "")
        + f" [{report.format}, {report.seconds:.2f} s]"
    ]
    if report.explained or report.unknown:
        lines.append(
            f"  triage: {report.explained:,} explained by known issues "
            f"({_count(report.incidents, 'incident')}), {report.unknown:,} unknown"
            + (":" if report.unknown else "")
        )
        for u in report.unknown_failures:
            name = u.path if u.path is not None else f"build {u.object_id}"
            note = f"  {u.comment.splitlines()[0][:100]}" if u.comment else ""
            lines.append(f"    {u.status:<6} {name}{note}")
        if report.unknown > len(report.unknown_failures):
            lines.append(f"    … and {report.unknown - len(report.unknown_failures):,} more")
    return "\n".join(lines) + "\n"
