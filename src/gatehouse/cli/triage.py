"""``gatehouse triage``: match stored failures against the known issues again, and write incidents.

Ingest already triages every file it stores; run this after adding or
editing issues, or to see which stored failures are explained and which are
not. Only the latest version of each active issue triages; the log regexes
of all issues are scanned at once with the best multi-pattern matcher
installed (Hyperscan, an RE2 set, else the pure-Python prefilter).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING, Any

from gatehouse.errors import EXIT_OK

if TYPE_CHECKING:
    from gatehouse.core.result_context import ResultContext
    from gatehouse.resultsdb.retriage import RetriageReport

LISTED = 50


def register(sub: Any) -> None:
    from gatehouse.cli.results_store import add_store_arguments

    parser = sub.add_parser(
        "triage",
        help="match stored failures against the known issues, write incidents",
        description=(
            "Triage the failing tests and builds stored since --since (default: all) with the "
            "latest version of every active known issue; store the incidents (running it again "
            "stores the same ones); print the failures explained by known issues and the unknown "
            "ones. Exit 0 (unknown failures are a finding, not an error)."
        ),
    )
    parser.add_argument(
        "--since",
        metavar="TIME",
        help="only results received since TIME (ISO 8601, or a duration back: 7d, 12h)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_store_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from gatehouse.cli.results_store import open_results, parse_since, print_json, print_problems
    from gatehouse.resultsdb.retriage import retriage

    now = time.time()
    since = parse_since(args.since, now=now)
    with open_results(args) as store:
        found = retriage(
            store.results, since=since, now=datetime.fromtimestamp(now, UTC), received_at=now
        )
    print_problems(found.problems)
    if args.json:
        print_json(to_json(found))
    else:
        sys.stdout.write(render(found))
    return EXIT_OK


def _line(result: ResultContext, issues: tuple[str, ...] = ()) -> str:
    status = result.status.value if result.status else "-"
    name = result.path if result.path is not None else f"build {result.object_id}"
    tail = f"  [{', '.join(issues)}]" if issues else ""
    return f"    {status:<6} {name}{tail}"


def render(found: RetriageReport) -> str:
    explained = found.explained
    unknown = found.unknown
    lines = [
        f"triage: {len(found.results):,} failing results; {len(explained):,} explained by known "
        f"issues ({len(found.report.incidents):,} incidents stored), {len(unknown):,} unknown"
    ]
    if explained:
        lines.append("  explained:")
        shown = [r for r in found.results if r.object_id in explained][:LISTED]
        lines.extend(_line(r, explained[r.object_id]) for r in shown)
        if len(explained) > LISTED:
            lines.append(f"    … and {len(explained) - LISTED:,} more")
    if unknown:
        lines.append("  unknown (no known issue):")
        lines.extend(_line(r) for r in unknown[:LISTED])
        if len(unknown) > LISTED:
            lines.append(f"    … and {len(unknown) - LISTED:,} more")
    return "\n".join(lines) + "\n"


def _result_json(result: ResultContext) -> dict[str, Any]:
    return {
        "id": result.object_id,
        "kind": result.kind,
        "path": result.path,
        "status": result.status.value if result.status else None,
        "build_id": result.build.id,
        "origin": result.origin,
    }


def to_json(found: RetriageReport) -> dict[str, Any]:
    explained = found.explained
    return {
        "failing": len(found.results),
        "incidents": len(found.report.incidents),
        "explained": [
            _result_json(r) | {"issues": list(explained[r.object_id])}
            for r in found.results
            if r.object_id in explained
        ],
        "unknown": [_result_json(r) for r in found.unknown],
        "problems": [d.to_json() for d in found.problems],
    }
