"""``gatehouse failures``: stored failures grouped by signature, most frequent first.

The same failure shows different addresses, PIDs, timestamps and temporary
paths every time; its *signature* (the most telling line of the log excerpt,
normalised, as syzbot titles crashes) is the same, so each group is one
failure however often and wherever it happened.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING, Any

from gatehouse.errors import EXIT_OK

if TYPE_CHECKING:
    from gatehouse.resultsdb.failures import FailureGroup


def register(sub: Any) -> None:
    from gatehouse.cli.results_store import add_store_arguments

    parser = sub.add_parser(
        "failures",
        help="stored failures grouped by signature, with counts and where seen",
        description=(
            "Group the failing tests and builds received since --since (default: all) by "
            "failure signature: the most telling line of the log, with addresses, numbers, "
            "file:line, timestamps and temporary paths normalised. Most frequent first."
        ),
    )
    parser.add_argument(
        "--since",
        metavar="TIME",
        help="only results received since TIME (ISO 8601, or a duration back: 7d, 12h)",
    )
    parser.add_argument("--limit", type=int, default=30, metavar="N", help="groups shown (30)")
    parser.add_argument("--json", action="store_true", help="print JSON (every group)")
    add_store_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from gatehouse.cli.results_store import open_results, parse_since, print_json
    from gatehouse.resultsdb.failures import failure_groups

    since = parse_since(args.since, now=time.time())
    with open_results(args) as store:
        groups = failure_groups(store.results, since=since)
    if args.json:
        print_json([group_json(g) for g in groups])
    else:
        sys.stdout.write(render(groups, args.limit))
    return EXIT_OK


def _counts(counter: Any) -> str:
    return ", ".join(f"{value} ({n})" for value, n in counter.most_common(5))


def render(groups: list[FailureGroup], limit: int) -> str:
    from gatehouse.cli.results_store import when

    total = sum(g.count for g in groups)
    lines = [f"failures: {total:,} in {len(groups):,} signatures"]
    for g in groups[: max(limit, 0)]:
        lines.append(f"  {g.count:>6}  {g.signature.title or '(no text)'}  [{g.signature.id}]")
        lines.append(f"          first {when(g.first_seen)}, last {when(g.last_seen)}")
        for label, counter in (
            ("tests", g.paths),
            ("origins", g.origins),
            ("trees", g.trees),
            ("branches", g.branches),
            ("archs", g.architectures),
        ):
            if counter:
                lines.append(f"          {label}: {_counts(counter)}")
    if len(groups) > limit:
        lines.append(f"  … and {len(groups) - limit:,} more signatures (--limit, --json)")
    return "\n".join(lines) + "\n"


def group_json(g: FailureGroup) -> dict[str, Any]:
    from gatehouse.cli.results_store import iso

    return {
        "signature": g.signature.id,
        "title": g.signature.title,
        "count": g.count,
        "first_seen": iso(g.first_seen),
        "last_seen": iso(g.last_seen),
        "paths": dict(g.paths.most_common()),
        "origins": dict(g.origins),
        "trees": dict(g.trees),
        "branches": dict(g.branches),
        "architectures": dict(g.architectures),
        "examples": list(g.examples),
    }
