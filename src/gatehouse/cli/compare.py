"""``gatehouse compare A B``: per test, what changed from A to B; exit 1 on a new unexplained regression.

A and B are pipelines (``123``), commits (a hex prefix of 4+ digits) or
checkout ids (``origin:id``); see :mod:`gatehouse.resultsdb.compare`. The
default report lists only what is new and unexplained: regressions (PASS →
FAIL or inconclusive) and new failures that no active known issue explains
and that are not known flakes. ``--all`` lists every class with its marks.

Gating on it: the exit status is 1 exactly when that list is not empty, so a
pipeline job can run ``gatehouse compare $BASELINE $CI_PIPELINE_ID`` and fail
on new regressions only.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from gatehouse.errors import EXIT_FAILED, EXIT_OK

if TYPE_CHECKING:
    from gatehouse.core.compare import CompareEntry
    from gatehouse.resultsdb.compare import Side, StoredComparison


def register(sub: Any) -> None:
    from gatehouse.cli.results_store import add_store_arguments

    parser = sub.add_parser(
        "compare",
        help="what changed between two pipelines, commits or checkouts",
        description=(
            "Compare the test results of A (before) and B (after): regression, fixed, "
            "new_failure, still_failing, new_pass, appeared, disappeared, with known-issue and "
            "flake marks. Lists only new failures no known issue or flake explains unless --all. "
            "Exit 1 when there is such a new unexplained regression (a pipeline can gate on it), "
            "0 otherwise."
        ),
    )
    parser.add_argument("a", metavar="A", help="before: pipeline number, commit, or checkout id")
    parser.add_argument("b", metavar="B", help="after: pipeline number, commit, or checkout id")
    parser.add_argument("--all", action="store_true", help="list every test that changed")
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_store_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from gatehouse.cli.results_store import open_results, print_json
    from gatehouse.resultsdb.compare import compare_stored

    with open_results(args) as store:
        found = compare_stored(store.results, args.a, args.b, now=datetime.now(UTC))
    if args.json:
        print_json(to_json(found, everything=args.all))
    else:
        sys.stdout.write(render(found, everything=args.all))
    return EXIT_FAILED if found.report.new_and_unexplained() else EXIT_OK


def _side(side: Side) -> str:
    return f"{side.label} ({len(side.checkouts)} checkout(s), {len(side.results):,} results)"


def _marks(entry: CompareEntry) -> str:
    marks = []
    if entry.known_issues:
        marks.append("known: " + ", ".join(entry.known_issues))
    if entry.flaky:
        marks.append("flaky")
    return f"  [{'; '.join(marks)}]" if marks else ""


def _entry(entry: CompareEntry) -> str:
    a = entry.status_a.value if entry.status_a else "-"
    b = entry.status_b.value if entry.status_b else "-"
    return f"    {entry.klass:<14} {entry.key}  {a} -> {b}{_marks(entry)}"


def render(found: StoredComparison, *, everything: bool) -> str:
    report = found.report
    news = report.new_and_unexplained()
    counts = ", ".join(f"{k} {v:,}" for k, v in report.counts().items())
    lines = [f"A: {_side(found.a)}", f"B: {_side(found.b)}", f"changes: {counts or 'none'}"]
    if news:
        lines.append(f"new and unexplained ({len(news)}):")
        lines.extend(_entry(e) for e in news)
    else:
        lines.append("nothing new and unexplained")
    if everything:
        for klass, entries in report.by_class().items():
            if entries and klass != "unchanged":
                lines.append(f"{klass} ({len(entries)}):")
                lines.extend(_entry(e) for e in entries)
    return "\n".join(lines) + "\n"


def _entry_json(entry: CompareEntry) -> dict[str, Any]:
    return {
        "test": entry.key,
        "class": entry.klass,
        "a": entry.status_a.value if entry.status_a else None,
        "b": entry.status_b.value if entry.status_b else None,
        "ids_a": list(entry.ids_a),
        "ids_b": list(entry.ids_b),
        "known_issues": list(entry.known_issues),
        "explained": entry.explained,
        "flaky": entry.flaky,
    }


def to_json(found: StoredComparison, *, everything: bool) -> dict[str, Any]:
    def side(s: Side) -> dict[str, Any]:
        return {
            "spec": s.spec,
            "kind": s.kind,
            "checkouts": [c.id for c in s.checkouts],
            "commits": sorted({c.git_commit_hash for c in s.checkouts if c.git_commit_hash}),
            "tests": len(s.results),
        }

    out: dict[str, Any] = {
        "a": side(found.a),
        "b": side(found.b),
        "counts": found.report.counts(),
        "new_and_unexplained": [_entry_json(e) for e in found.report.new_and_unexplained()],
    }
    if everything:
        out["entries"] = [_entry_json(e) for e in found.report.entries if e.klass != "unchanged"]
    return out
