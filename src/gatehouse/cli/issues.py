"""``gatehouse issue add|list|show|edit|retire``: known issues, versioned like KCIDB issues.

An issue says "this failure is understood": a title, who must act
(``--culprit code|tool|harness``), an owner, an optional expiry, and a
pattern (test path glob or regex, statuses, log regex, and filters on
origin, tree, branch, architecture, runner tags, environment; an AND of the
parts given). ``edit`` and ``retire`` store a new version; only the latest
version triages, and incidents keep pointing at the version that made them.
A pattern outside the supported regex subset is refused with the flag and
column (``--log: error: missing ')' at column 2 of 'a(b'``), exit status 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gatehouse.errors import EXIT_OK, EXIT_USAGE, Diagnostic, Location, UsageError, error

if TYPE_CHECKING:
    from gatehouse.core.known_issues import IssuePattern, KnownIssue
    from gatehouse.resultsdb.known import IssueHistory

CULPRITS = ("code", "tool", "harness")
STATUSES = ("FAIL", "ERROR", "MISS", "PASS", "DONE", "SKIP")
KINDS = ("test", "build", "any")
# pattern field -> the flag that sets it (for located messages)
_FLAGS = {
    "test_path": "--test",
    "log_regex": "--log",
    "statuses": "--status",
    "origins": "--origin",
    "trees": "--tree",
    "branches": "--branch",
    "architectures": "--arch",
    "tags": "--tags",
    "environments": "--environment",
    "kind": "--kind",
}


def _pattern_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("pattern (an AND of the parts given)")
    path = group.add_mutually_exclusive_group()
    path.add_argument("--test", metavar="GLOB", help="test path glob (*, ?, [...]; whole path)")
    path.add_argument(
        "--test-regex", metavar="RX", help="regex searched in the test path (log-regex subset)"
    )
    group.add_argument(
        "--status",
        nargs="+",
        action="extend",
        type=str.upper,
        choices=STATUSES,
        metavar="STATUS",
        help="result statuses it applies to (default: any failure: FAIL, ERROR, MISS)",
    )
    group.add_argument("--log", metavar="RX", help="regex searched in the log excerpt")
    for flag, dest, meta, text in (
        ("--origin", "origins", "O", "origins of the results"),
        ("--tree", "trees", "T", "tree names"),
        ("--branch", "branches", "B", "branches"),
        ("--arch", "architectures", "A", "architectures"),
        ("--tags", "tags", "TAG", "runner tags the result's build must all have"),
        ("--environment", "environments", "E", "test environments (machine, board)"),
    ):
        group.add_argument(flag, dest=dest, nargs="+", action="extend", metavar=meta, help=text)
    group.add_argument(
        "--kind", choices=KINDS, help="what it applies to: test results (default), builds, any"
    )


def _issue_arguments(parser: argparse.ArgumentParser, *, adding: bool) -> None:
    parser.add_argument("--title", required=adding, metavar="T", help="one line: what is wrong")
    parser.add_argument(
        "--culprit",
        required=adding,
        nargs="+",
        action="extend",
        choices=CULPRITS,
        metavar="C",
        help="who must act: code (developers), tool (test maintainers), harness (CI operators)",
    )
    parser.add_argument("--owner", required=adding, metavar="O", help="who looks after it")
    parser.add_argument(
        "--expires",
        metavar="DATE",
        help="stop triaging from then on (ISO 8601 date or time, UTC by default)",
    )
    parser.add_argument("--report-url", metavar="URL", help="bug tracker link")
    parser.add_argument("--comment", metavar="TEXT", help="free text")


def register(sub: Any) -> None:
    from gatehouse.cli.results_store import add_store_arguments

    issue = sub.add_parser(
        "issue",
        help="known issues: add, list, show, edit, retire",
        description="Known issues: patterns that explain failures, versioned like KCIDB issues.",
    )
    commands = issue.add_subparsers(dest="issue_command", metavar="ACTION", required=True)

    add = commands.add_parser(
        "add",
        help="add a known issue",
        description="Add a known issue (version 1) with one pattern made of the pattern flags.",
    )
    _issue_arguments(add, adding=True)
    add.add_argument(
        "--id", metavar="ID", help="origin:name or name (default: gatehouse:<title words>)"
    )
    _pattern_arguments(add)
    add.add_argument("--json", action="store_true", help="print the issue as JSON")
    add_store_arguments(add)
    add.set_defaults(handler=_add)

    listing = commands.add_parser(
        "list", help="list known issues", description="List the latest version of known issues."
    )
    listing.add_argument("--all", action="store_true", help="also retired and expired issues")
    listing.add_argument("--json", action="store_true", help="print JSON")
    add_store_arguments(listing)
    listing.set_defaults(handler=_list)

    show = commands.add_parser(
        "show",
        help="show an issue: versions, patterns, where and when it was seen",
        description="Show every version of an issue, its patterns, and its incidents: where it "
        "was seen, first and last seen, hit count.",
    )
    show.add_argument("id", metavar="ID")
    show.add_argument("--json", action="store_true", help="print JSON")
    add_store_arguments(show)
    show.set_defaults(handler=_show)

    edit = commands.add_parser(
        "edit",
        help="change an issue (stores a new version)",
        description="Store a new version of an issue with the fields given changed. Pattern "
        "flags replace the issue's patterns with one made of them, or with --add-pattern add it.",
    )
    edit.add_argument("id", metavar="ID")
    _issue_arguments(edit, adding=False)
    edit.add_argument("--no-expiry", action="store_true", help="remove the expiry")
    edit.add_argument(
        "--add-pattern", action="store_true", help="add the pattern instead of replacing"
    )
    _pattern_arguments(edit)
    edit.add_argument("--json", action="store_true", help="print the new version as JSON")
    add_store_arguments(edit)
    edit.set_defaults(handler=_edit)

    retire = commands.add_parser(
        "retire",
        help="retire an issue (stores a new version that no longer triages)",
        description="Retire an issue: a new version that no longer triages; history is kept.",
    )
    retire.add_argument("id", metavar="ID")
    add_store_arguments(retire)
    retire.set_defaults(handler=_retire)


# --------------------------------------------------------------------------- building


def _pattern(args: argparse.Namespace) -> IssuePattern | None:
    """The pattern the flags describe, ``None`` when no pattern flag was given."""
    from gatehouse.core.known_issues import IssuePattern
    from gatehouse.core.results import Status

    test_path = args.test if args.test is not None else None
    if args.test_regex is not None:
        test_path = f"re:{args.test_regex}"
    sets = {
        name: frozenset(getattr(args, name) or ())
        for name in ("origins", "trees", "branches", "architectures", "tags", "environments")
    }
    statuses = frozenset(Status(s) for s in args.status or ())
    given = test_path is not None or args.log is not None or statuses or any(sets.values())
    if not given and args.kind is None:
        return None
    return IssuePattern(
        test_path=test_path,
        statuses=statuses,
        log_regex=args.log,
        kind=args.kind or "test",
        **sets,
    )


def _check_patterns(issue: KnownIssue, args: argparse.Namespace) -> list[Diagnostic]:
    """Every problem of the issue, located by the flag that caused it."""
    from gatehouse.core.known_issues import validate

    found = []
    for d in validate(issue, source="issue"):
        where = d.location.file if d.location else ""
        field = where.rsplit(".", 1)[-1] if "patterns[" in where else where.split(": ")[-1]
        flag = _FLAGS.get(field, f"--{field.replace('_', '-')}")
        if field == "test_path" and getattr(args, "test_regex", None) is not None:
            flag = "--test-regex"
        if d.code in ("empty-pattern", "missing-patterns"):
            flag = "pattern"
        found.append(error(d.code, d.message, Location(flag), d.hint))
    return found


def _refuse(problems: list[Diagnostic]) -> int:
    from gatehouse.cli.output import print_diagnostics

    print_diagnostics(problems)
    sys.stderr.write("the issue was not stored\n")
    return EXIT_USAGE


def _expiry(text: str | None) -> datetime | None:
    from gatehouse.cli.results_store import parse_time

    return None if text is None else parse_time(text, option="--expires")


def _add(args: argparse.Namespace) -> int:
    from gatehouse.cli.results_store import open_results
    from gatehouse.core.known_issues import KnownIssue
    from gatehouse.core.results import Culprit
    from gatehouse.resultsdb import known

    pattern = _pattern(args)
    if pattern is None:
        raise UsageError(
            "an issue needs a pattern",
            hint="give at least one of --test, --test-regex, --log, --status, --origin, --tree, "
            "--branch, --arch, --tags, --environment",
        )
    with open_results(args, create=True) as store:
        issue_id = known.full_id(args.id) if args.id else known.slug_id(store.results, args.title)
        issue = KnownIssue(
            id=issue_id,
            version=1,
            origin=issue_id.split(":", 1)[0],
            title=args.title,
            culprit=Culprit(**dict.fromkeys(args.culprit, True)),
            patterns=(pattern,),
            owner=args.owner,
            expires=_expiry(args.expires),
            report_url=args.report_url,
            comment=args.comment,
        )
        problems = _check_patterns(issue, args)
        if problems:
            return _refuse(problems)
        known.add(store.results, issue, received_at=time.time())
    return _print_issue(issue, args, "added")


def _edit(args: argparse.Namespace) -> int:
    from gatehouse.cli.results_store import open_results
    from gatehouse.core.known_issues import edit
    from gatehouse.core.results import Culprit
    from gatehouse.resultsdb import known

    with open_results(args) as store:
        issue_id = known.full_id(args.id)
        current = known.latest(store.results, issue_id)
        changes: dict[str, Any] = {}
        for name in ("title", "owner", "report_url", "comment"):
            if getattr(args, name) is not None:
                changes[name] = getattr(args, name)
        if args.culprit:
            changes["culprit"] = Culprit(**dict.fromkeys(args.culprit, True))
        if args.no_expiry:
            changes["expires"] = None
        elif args.expires is not None:
            changes["expires"] = _expiry(args.expires)
        pattern = _pattern(args)
        if pattern is not None:
            changes["patterns"] = (*current.patterns, pattern) if args.add_pattern else (pattern,)
        elif args.add_pattern:
            raise UsageError("--add-pattern needs pattern flags (--test, --log, --status …)")
        if not changes:
            raise UsageError("nothing to change", hint="gatehouse issue edit --help")
        new = edit(current, **changes)
        problems = _check_patterns(new, args)
        if problems:
            return _refuse(problems)
        known.change(store.results, issue_id, changes, received_at=time.time())
    return _print_issue(new, args, "stored")


def _retire(args: argparse.Namespace) -> int:
    from gatehouse.cli.results_store import open_results
    from gatehouse.resultsdb import known

    with open_results(args) as store:
        new = known.retire_issue(store.results, known.full_id(args.id), received_at=time.time())
    sys.stdout.write(f"{new.id}: retired (version {new.version}); it no longer triages\n")
    return EXIT_OK


def _print_issue(issue: KnownIssue, args: argparse.Namespace, verb: str) -> int:
    from gatehouse.cli.results_store import print_json

    if args.json:
        print_json(issue_json(issue, datetime.now(UTC)))
    else:
        sys.stdout.write(f"{issue.id}: {verb} version {issue.version}: {issue.title}\n")
        for n, p in enumerate(issue.patterns):
            sys.stdout.write(f"  pattern {n}: {describe_pattern(p)}\n")
    return EXIT_OK


# --------------------------------------------------------------------------- reading


def describe_pattern(pattern: IssuePattern) -> str:
    parts = [f"{k}={_value(v)}" for k, v in pattern.to_json().items() if k != "kind"]
    if pattern.kind != "test":
        parts.append(f"kind={pattern.kind}")
    return " ".join(parts) or "(empty)"


def _value(value: Any) -> str:
    return ",".join(value) if isinstance(value, list) else str(value)


def _culprits(issue: KnownIssue) -> list[str]:
    return [c for c in CULPRITS if getattr(issue.culprit, c)]


def issue_json(issue: KnownIssue, now: datetime, hits: int | None = None) -> dict[str, Any]:
    from gatehouse.resultsdb.known import state

    out: dict[str, Any] = {
        "id": issue.id,
        "version": issue.version,
        "origin": issue.origin,
        "title": issue.title,
        "state": state(issue, now),
        "culprit": _culprits(issue),
        "owner": issue.owner,
        "expires": issue.expires.isoformat() if issue.expires else None,
        "retired": issue.retired,
        "report_url": issue.report_url,
        "comment": issue.comment,
        "patterns": [p.to_json() for p in issue.patterns],
    }
    if hits is not None:
        out["hits"] = hits
    return out


def _list(args: argparse.Namespace) -> int:
    from gatehouse.cli.results_store import open_results, print_json, print_problems
    from gatehouse.resultsdb.known import load_latest, state

    now = datetime.now(UTC)
    with open_results(args) as store:
        issues, problems = load_latest(store.results)
        shown = [i for i in issues if args.all or state(i, now) == "active"]
        hits = {i.id: len(store.results.incidents_of_issue(i.id)) for i in shown}
    print_problems(problems)
    if args.json:
        print_json([issue_json(i, now, hits[i.id]) for i in shown])
        return EXIT_OK
    if not shown:
        sys.stdout.write("no known issues" + ("" if args.all else " (active)") + "\n")
        return EXIT_OK
    rows = [
        (i.id, str(i.version), state(i, now), ",".join(_culprits(i)), i.owner or "-",
         str(hits[i.id]), i.title)
        for i in shown
    ]  # fmt: skip
    header = ("ID", "V", "STATE", "CULPRIT", "OWNER", "HITS", "TITLE")
    widths = [max(len(r[k]) for r in [header, *rows]) for k in range(len(header) - 1)]
    for row in [header, *rows]:
        cells = [cell.ljust(w) for cell, w in zip(row, widths, strict=False)]
        sys.stdout.write("  ".join([*cells, row[-1]]).rstrip() + "\n")
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    from gatehouse.cli.results_store import open_results, print_json
    from gatehouse.resultsdb import known

    now = datetime.now(UTC)
    with open_results(args) as store:
        found = known.history(store.results, known.full_id(args.id))
    if args.json:
        print_json(history_json(found, now))
    else:
        sys.stdout.write(render_history(found, now))
    return EXIT_OK


def history_json(found: IssueHistory, now: datetime) -> dict[str, Any]:
    from gatehouse.cli.results_store import iso

    return {
        "issue": issue_json(found.current, now, found.hits),
        "versions": [issue_json(v, now) for v in found.versions],
        "hits": found.hits,
        "hits_by_version": {str(k): v for k, v in found.hits_by_version().items()},
        "first_seen": iso(found.first_seen),
        "last_seen": iso(found.last_seen),
        "where": found.where(),
        "incidents": [
            {
                "id": s.incident.id,
                "issue_version": s.incident.issue_version,
                "present": s.incident.present,
                "test_id": s.incident.test_id,
                "build_id": s.incident.build_id,
                "test_path": s.test_path,
                "origin": s.origin,
                "checkout_id": s.checkout_id,
                "git_commit_hash": s.git_commit_hash,
                "tree_name": s.tree_name,
                "git_repository_branch": s.git_repository_branch,
                "architecture": s.architecture,
                "received_at": iso(s.received_at),
            }
            for s in found.sightings
        ],
    }


def render_history(found: IssueHistory, now: datetime) -> str:
    from gatehouse.cli.results_store import when
    from gatehouse.resultsdb.known import state

    issue = found.current
    lines = [
        f"{issue.id}: {issue.title}",
        f"  version {issue.version} ({state(issue, now)}); culprit: "
        f"{', '.join(_culprits(issue)) or '-'}; owner: {issue.owner or '-'}; expires: "
        f"{issue.expires.isoformat() if issue.expires else 'never'}",
    ]
    if issue.report_url:
        lines.append(f"  report: {issue.report_url}")
    if issue.comment:
        lines.append(f"  comment: {issue.comment}")
    lines.append("  patterns:")
    lines.extend(f"    {n}: {describe_pattern(p)}" for n, p in enumerate(issue.patterns))
    by_version = ", ".join(f"v{k}: {v}" for k, v in found.hits_by_version().items())
    lines.append(
        f"  hits: {found.hits}" + (f" ({by_version})" if by_version else "")
        + f"; first seen {when(found.first_seen)}; last seen {when(found.last_seen)}"
    )  # fmt: skip
    for label, counts in found.where().items():
        lines.append(f"  {label}: " + ", ".join(f"{value} ({n})" for value, n in counts.items()))
    if found.present:
        lines.append("  recent incidents:")
        for s in found.present[-10:]:
            what = s.test_path or f"build {s.incident.build_id}"
            commit = f" commit {s.git_commit_hash[:12]}" if s.git_commit_hash else ""
            lines.append(
                f"    {when(s.received_at)}  v{s.incident.issue_version}  {what}"
                f"  {s.origin or '-'} {s.architecture or ''}{commit}".rstrip()
            )
    if len(found.versions) > 1:
        lines.append("  versions:")
        for v in reversed(found.versions):
            flags = " retired" if v.retired else ""
            lines.append(f"    v{v.version}{flags}: {v.title}")
            lines.extend(
                f"      pattern {n}: {describe_pattern(p)}" for n, p in enumerate(v.patterns)
            )
    return "\n".join(lines) + "\n"
