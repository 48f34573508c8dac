"""``gatehouse flakes``: flaky tests in the stored history, each with its evidence.

Two definitions, both reported with the results that show them: the same
input giving different outcomes (the same test on the same commit and
environment both passing and failing, reruns inside one job included), and
the history flip rate (pass→fail transitions over the last ``--window``
runs). A test failing in every run is *broken*, not flaky, and is listed
apart; runs where most tests failed at once (infra) are set aside first.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING, Any

from gatehouse.errors import EXIT_OK, UsageError

if TYPE_CHECKING:
    from gatehouse.core.flakes import FlakeFinding
    from gatehouse.resultsdb.flakes import StoredFlakes


def register(sub: Any) -> None:
    from gatehouse.cli.results_store import add_store_arguments

    parser = sub.add_parser(
        "flakes",
        help="flaky tests, with the runs that show it",
        description=(
            "Find flaky tests among those that failed since --since (default: 30 days): the same "
            "input (commit, environment) passing and failing, reruns in one job included, and "
            "the history flip rate (pass->fail transitions over the last N runs). Each finding "
            "names the results that show it. Consistently failing tests are listed as broken."
        ),
    )
    parser.add_argument(
        "--min-rate",
        type=float,
        default=0.05,
        metavar="R",
        help="minimum history flip rate to report (default: 0.05); same-input findings "
        "are always reported",
    )
    parser.add_argument(
        "--window", type=int, default=30, metavar="N", help="runs of history per test (30)"
    )
    parser.add_argument(
        "--since",
        metavar="TIME",
        default="30d",
        help="tests that failed since TIME are candidates (ISO 8601 or a duration back; 30d)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_store_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from gatehouse.cli.results_store import open_results, parse_since, print_json
    from gatehouse.core.flakes import FlakeSettings
    from gatehouse.resultsdb.flakes import find_stored_flakes

    if args.window < 2:
        raise UsageError("--window must be at least 2 runs")
    if not 0.0 <= args.min_rate <= 1.0:
        raise UsageError("--min-rate is a fraction between 0 and 1")
    settings = FlakeSettings(
        window=args.window, min_rate=args.min_rate, min_sample=min(5, args.window)
    )
    since = parse_since(args.since, now=time.time())
    with open_results(args) as store:
        found = find_stored_flakes(store.results, since=since, settings=settings)
    if args.json:
        print_json(to_json(found, args.min_rate))
    else:
        sys.stdout.write(render(found, args.min_rate))
    return EXIT_OK


def _where(found: StoredFlakes, ids: tuple[str, ...]) -> str:
    parts = []
    for test_id in ids[:6]:
        e = found.evidence.get(test_id)
        if e is None:
            parts.append(test_id)
            continue
        commit = f" @{e.git_commit_hash[:10]}" if e.git_commit_hash else ""
        parts.append(f"{test_id} ({e.build_id}{commit})")
    more = f" … +{len(ids) - 6}" if len(ids) > 6 else ""
    return ", ".join(parts) + more


def _finding_lines(found: StoredFlakes, f: FlakeFinding) -> list[str]:
    env = f" [{f.environment}]" if f.environment.strip("|") else ""
    if f.kind == "history":
        head = f"  {f.path}{env}  history: flip rate {f.flip_rate:.2f} over {len(f.runs)} runs {f.runs}"
    elif f.kind == "broken":
        head = f"  {f.path}{env}  failed in all {len(f.runs)} runs {f.runs}"
    else:
        head = f"  {f.path}{env}  {f.kind}" + (f" ({f.input_key})" if f.input_key else "")
    lines = [head]
    if f.passed:
        lines.append(f"      passed: {_where(found, f.passed)}")
    if f.failed:
        lines.append(f"      failed: {_where(found, f.failed)}")
    return lines


def render(found: StoredFlakes, min_rate: float) -> str:
    flaky = found.report.above(min_rate)
    lines = [
        f"flakes: {len(flaky)} flaky test(s) among {found.candidates} that failed in the period"
    ]
    for f in flaky:
        lines.extend(_finding_lines(found, f))
    if found.report.broken:
        lines.append(f"broken (failing in every run, not flaky): {len(found.report.broken)}")
        for f in found.report.broken:
            lines.extend(_finding_lines(found, f))
    if found.report.infra_runs:
        lines.append(
            "set aside as infra-wide failures (most tests of the run failed): "
            + ", ".join(found.report.infra_runs)
        )
    return "\n".join(lines) + "\n"


def _finding_json(found: StoredFlakes, f: FlakeFinding) -> dict[str, Any]:
    def evidence(ids: tuple[str, ...]) -> list[dict[str, Any]]:
        out = []
        for test_id in ids:
            e = found.evidence.get(test_id)
            out.append(
                {"test_id": test_id}
                if e is None
                else {
                    "test_id": e.test_id,
                    "status": e.status,
                    "build_id": e.build_id,
                    "checkout_id": e.checkout_id,
                    "git_commit_hash": e.git_commit_hash,
                    "received_at": e.received_at,
                }
            )
        return out

    return {
        "path": f.path,
        "environment": f.environment,
        "kind": f.kind,
        "input": f.input_key,
        "flip_rate": f.flip_rate,
        "runs": f.runs,
        "passed": evidence(f.passed),
        "failed": evidence(f.failed),
    }


def to_json(found: StoredFlakes, min_rate: float) -> dict[str, Any]:
    return {
        "candidates": found.candidates,
        "flaky": [_finding_json(found, f) for f in found.report.above(min_rate)],
        "broken": [_finding_json(found, f) for f in found.report.broken],
        "infra_runs": list(found.report.infra_runs),
    }
