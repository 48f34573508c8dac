"""``gatehouse gate``: the merge queue on this repository (enqueue, status, dequeue, run, log, pause, resume).

``gate run`` is the one process that drives a queue (:mod:`gatehouse.cli.gate_run`);
every other sub-command only reads the persisted state and the audit log, or
posts a request to the queue's inbox for ``gate run`` to pick up (within a
second when it runs as a service, or at its next start). See docs/gate.md.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Mapping
from typing import Any

from gatehouse.errors import EXIT_OK, GateError, UsageError

PRIORITIES = ("normal", "expedite", "preempt")


def register(sub: Any) -> None:
    gate = sub.add_parser(
        "gate",
        help="gate merges: a speculative merge queue that lands only tested commits",
        description=(
            "The merge queue of this repository's target branch (gate.target_branch in "
            "gatehouse.toml, default main). Changes are tested speculatively on top of the changes "
            "ahead of them, in parallel, and the target branch is fast-forwarded only to a commit "
            "whose pipeline passed. `gate run` drives the queue; the other commands read it or post "
            "requests to it. See docs/gate.md."
        ),
    )
    commands = gate.add_subparsers(dest="gate_command", metavar="COMMAND")
    gate.set_defaults(handler=lambda _args: _usage(gate))

    enqueue = commands.add_parser(
        "enqueue",
        help="queue changes (branches, tags or commits) for merging",
        description=(
            "Queue each REF (a branch, tag or commit) as a change, in the order given. The commit "
            "is resolved now: later pushes to the branch do not change what is tested. "
            "--priority expedite queues it after the items whose builds already run; preempt puts "
            "it at the head, restarting builds: the cost is shown and needs --yes."
        ),
    )
    enqueue.add_argument("refs", nargs="+", metavar="REF", help="branch, tag or commit to merge")
    enqueue.add_argument(
        "--priority", choices=PRIORITIES, default="normal", help="where it goes (default: normal)"
    )
    enqueue.add_argument("--yes", action="store_true", help="confirm a preempt")
    _common(enqueue)
    enqueue.set_defaults(handler=enqueue_command)

    status = commands.add_parser(
        "status",
        help="the speculation tree: positions, states, running jobs, ETA and why items wait",
        description=(
            "Explain the queue: each item's position, state, what it is tested on, whether it is "
            "in the window, its running builds and jobs, an ETA from measured build times, and why "
            "it waits or was rejected (conflicting files, failing jobs and tests, flaky retries)."
        ),
    )
    status.add_argument("--json", action="store_true", help="print JSON")
    _common(status)
    status.set_defaults(handler=status_command)

    dequeue = commands.add_parser(
        "dequeue",
        help="take items out of the queue",
        description="Take each ITEM (#N, N, or a queued change's REF) out of the queue.",
    )
    dequeue.add_argument("items", nargs="+", metavar="ITEM", help="#N, N or the change's REF")
    dequeue.add_argument("--reason", default="", help="recorded in the audit log")
    _common(dequeue)
    dequeue.set_defaults(handler=dequeue_command)

    run = commands.add_parser(
        "run",
        help="drive the queue: merge, test and land (Ctrl-C stops; a restart resumes)",
        description=(
            "Drive the queue as a foreground service: pick up requests, build speculative merges, "
            "run the pipeline of each item in the window (planned from the merged commit, as a "
            "merge request into the target branch), land passed items at the head by "
            "fast-forward. --once returns when the queue is empty (exit 0) or the gate is paused "
            "(exit 1). Ctrl-C stops cleanly; the next `gate run` resumes from the saved state."
        ),
    )
    run.add_argument("--once", action="store_true", help="stop when the queue is empty")
    run.add_argument(
        "--concurrency", "-j", type=int, metavar="N", help="jobs at once (default: the CPUs)"
    )
    run.add_argument(
        "--executor", choices=("shell", "sandbox"), default=None, help="shell (default) or sandbox"
    )
    run.add_argument(
        "--file",
        "-f",
        default=".gitlab-ci.yml",
        metavar="PATH",
        help="pipeline file in each commit",
    )
    run.add_argument(
        "--include-dir", metavar="DIR", help="mirror of external includes (docs/configuration.md)"
    )
    run.add_argument("--quiet", "-q", action="store_true", help="print only the outcome")
    _common(run)
    run.set_defaults(handler=_run_command)

    log = commands.add_parser(
        "log",
        help="the gate's append-only audit log",
        description="Every queue action, oldest first: enqueue, start, reparent, retry, fail, merge …",
    )
    log.add_argument("--item", metavar="ITEM", help="only this item (#N, N or a change's REF)")
    log.add_argument("--limit", type=int, metavar="N", help="only the last N entries")
    log.add_argument("--json", action="store_true", help="print JSON lines")
    _common(log)
    log.set_defaults(handler=log_command)

    pause = commands.add_parser(
        "pause",
        help="stop starting and landing (running builds go on)",
        description="Freeze the gate: nothing starts or lands until `gate resume`.",
    )
    pause.add_argument("reason", nargs="?", default="", help="why (shown by gate status)")
    _common(pause)
    pause.set_defaults(handler=pause_command)

    resume = commands.add_parser(
        "resume",
        help="lift a pause (also one made by the circuit breaker)",
        description="Resume a paused gate, whether paused by hand, the breaker or a refused landing.",
    )
    _common(resume)
    resume.set_defaults(handler=resume_command)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-C",
        "--directory",
        dest="dir",
        default=".",
        metavar="DIR",
        help="the repository (default: .)",
    )
    parser.add_argument(
        "--target", metavar="BRANCH", help="the queue's target branch (default: gate.target_branch)"
    )


def _run_command(args: argparse.Namespace) -> int:
    from gatehouse.cli.gate_run import run_command

    return run_command(args)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


# --------------------------------------------------------------------------- enqueue


def enqueue_command(args: argparse.Namespace) -> int:
    from gatehouse.cli.gate_wiring import gate_context, open_gate_store, open_repository
    from gatehouse.core.gate import Change, Priority, preempt_cost
    from gatehouse.engine.gate.inbox import enqueue_request
    from gatehouse.errors import VcsError

    context = gate_context(args.dir, args.target)
    target = context.settings.target_branch
    repo = open_repository(context.root)
    tip = repo.branch_tip(target)
    if tip is None:
        raise UsageError(
            f"the target branch {target!r} does not exist in {context.root}",
            hint="create it, or set gate.target_branch in gatehouse.toml",
        )
    changes: list[Change] = []
    for ref in args.refs:
        try:
            commit = repo.resolve(ref)
        except VcsError as exc:
            raise UsageError(
                f"unknown ref {ref!r}: not a branch, tag or commit of {context.root}",
                hint="`git branch --list` shows the branches",
            ) from exc
        if repo.is_ancestor(commit, tip):
            raise UsageError(f"{ref} ({commit[:12]}) is already in {target}: nothing to merge")
        if any(c.id == ref for c in changes):
            raise UsageError(f"{ref} is named twice")
        changes.append(Change(ref, commit))
    priority = Priority(args.priority)
    with open_gate_store(context) as store:
        state = _load_state(store, context)
        waiting = _waiting_changes(store, context.queue)
        for change in changes:
            item = state.item_of_change(change.id) if state is not None else None
            if item is not None:
                raise GateError(f"{change.id} is already queued (item #{item.id})")
            if change.id in waiting:
                raise GateError(f"{change.id} is already waiting in the inbox to be queued")
        if priority is Priority.PREEMPT:
            builds, retested = preempt_cost(state) if state is not None else (0, 0)
            print(
                f"preempting puts {', '.join(args.refs)} at the head of the queue: it restarts "
                f"{builds} running build(s) and re-tests {retested} change(s) behind it"
            )
            if not args.yes:
                raise UsageError("preempting needs confirmation", hint="repeat with --yes")
        now = time.time()
        for change in changes:
            request = store.gate.post_request(
                context.queue, "enqueue", enqueue_request(change, priority), at=now
            )
            print(f"enqueued {change.id} at {change.commit[:12]} (request {request.id})")
    print("`gatehouse gate run` picks the requests up; `gatehouse gate status` shows the queue")
    return EXIT_OK


def _load_state(store: Any, context: Any) -> Any:
    from gatehouse.core.gate.codec import state_from_json

    stored = store.gate.load_gate(context.queue)
    return state_from_json(stored.state, context.settings) if stored is not None else None


def _waiting_changes(store: Any, queue: str) -> set[str]:
    return {
        str(r.payload.get("change")) for r in store.gate.list_requests(queue) if r.kind == "enqueue"
    }


# --------------------------------------------------------------------------- status


def status_command(args: argparse.Namespace) -> int:
    from gatehouse.cli.gate_wiring import gate_context, open_gate_store
    from gatehouse.engine.gate.status import read_status

    context = gate_context(args.dir, args.target)
    with open_gate_store(context) as store:
        status = read_status(
            context.queue,
            context.settings,
            gate=store.gate,
            runs=store.runs,
            project_dir=str(context.root),
            now=time.time(),
        )
    if args.json:
        json.dump(status.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(status.render())
    return EXIT_OK


# --------------------------------------------------------------------------- dequeue


def dequeue_command(args: argparse.Namespace) -> int:
    from gatehouse.cli.gate_wiring import gate_context, open_gate_store
    from gatehouse.engine.gate.inbox import dequeue_request

    context = gate_context(args.dir, args.target)
    with open_gate_store(context) as store:
        state = _load_state(store, context)
        waiting = _waiting_changes(store, context.queue)
        chosen: list[str] = []
        for spec in args.items:
            chosen.extend(_changes_of(spec, state, waiting))
        now = time.time()
        for change in dict.fromkeys(chosen):
            store.gate.post_request(
                context.queue, "dequeue", dequeue_request(change, args.reason), at=now
            )
            print(f"dequeue of {change} requested")
    return EXIT_OK


def _changes_of(spec: str, state: Any, waiting: set[str]) -> list[str]:
    """The changes an ITEM argument names: an item id (#N or N), or a change."""
    number = re.fullmatch(r"#?(\d+)", spec)
    if number and state is not None:
        item = state.item(int(number.group(1)))
        if item is not None:
            if item.landing is not None:
                raise GateError(f"item #{item.id} is being landed right now")
            return list(item.change_ids)
    if state is not None and state.item_of_change(spec) is not None:
        return [spec]
    if spec in waiting:
        return [spec]
    raise UsageError(
        f"unknown item {spec!r}: not an item (#N) or a change in the queue",
        hint="`gatehouse gate status` lists the queue",
    )


# --------------------------------------------------------------------------- pause, resume


def pause_command(args: argparse.Namespace) -> int:
    from gatehouse.engine.gate.inbox import pause_request

    _post(args, "pause", pause_request(args.reason or "paused by hand"))
    print("pause requested")
    return EXIT_OK


def resume_command(args: argparse.Namespace) -> int:
    _post(args, "resume", {})
    print("resume requested")
    return EXIT_OK


def _post(args: argparse.Namespace, kind: str, payload: Mapping[str, Any]) -> None:
    from gatehouse.cli.gate_wiring import gate_context, open_gate_store

    context = gate_context(args.dir, args.target)
    with open_gate_store(context) as store:
        store.gate.post_request(context.queue, kind, payload, at=time.time())


# --------------------------------------------------------------------------- log


def log_command(args: argparse.Namespace) -> int:
    from gatehouse.cli.gate_wiring import gate_context, open_gate_store

    context = gate_context(args.dir, args.target)
    with open_gate_store(context) as store:
        item = None
        change = None
        if args.item:
            number = re.fullmatch(r"#?(\d+)", args.item)
            item, change = (number.group(1), None) if number else (None, args.item)
        entries = list(store.audit.list_audit(queue=context.queue, item=item))
    if change is not None:
        entries = [e for e in entries if change in _changes_in(e.detail)]
    if args.item and not entries:
        raise UsageError(
            f"unknown item {args.item!r}: the gate log never mentions it",
            hint="`gatehouse gate log` lists everything",
        )
    if args.limit is not None:
        entries = entries[-max(args.limit, 0) :] if args.limit else []
    for entry in entries:
        if args.json:
            record = {"id": entry.id, "time": entry.time, "action": entry.action}
            record["item"] = int(entry.item) if entry.item.isdigit() else None
            record.update(entry.detail)
            sys.stdout.write(json.dumps(record, sort_keys=True) + "\n")
        else:
            sys.stdout.write(
                format_audit(entry.time, entry.action, entry.item, entry.detail, full_date=True)
                + "\n"
            )
    return EXIT_OK


def _changes_in(detail: Mapping[str, Any]) -> set[str]:
    found = {str(c) for c in detail.get("changes", ())}
    if detail.get("change"):
        found.add(str(detail["change"]))
    return found


def format_audit(
    at: float, action: str, item: str, detail: Mapping[str, Any], *, full_date: bool = False
) -> str:
    """One audit entry as a line: time, action, item, what happened, the fields that say more."""
    when = time.strftime("%Y-%m-%d %H:%M:%S" if full_date else "%H:%M:%S", time.localtime(at))
    changes = "+".join(str(c) for c in detail.get("changes", ()))
    who = f"#{item} {changes}".rstrip() if item else "gate"
    text = str(detail.get("detail") or detail.get("reason") or "")
    extras = []
    for key, value in detail.items():
        if key in ("changes", "detail") or value in (None, "", []):
            continue
        if key == "reason" and not detail.get("detail"):
            continue
        shown = str(value)
        if re.fullmatch(r"[0-9a-f]{40}", shown):
            shown = shown[:12]
        extras.append(f"{key}={shown}")
    line = f"{when} {action:<12} {who}: {text}"
    return line + (f"  [{', '.join(extras)}]" if extras else "")
