"""``gatehouse gate run``: drive one queue in the foreground until it is empty, or as a service.

Assembles the driver from the local engine's parts (the same executors,
workspaces and store as ``gatehouse run``), the repository, the project at
each speculative commit and the results database's flake oracle; prints
every audit record as it is saved; stops cleanly on Ctrl-C (a second one
kills running jobs) and leaves a state the next ``gate run`` resumes from.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from gatehouse.cli.gate import format_audit
from gatehouse.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK


def run_command(args: argparse.Namespace) -> int:
    import asyncio

    from gatehouse.cli.engine_wiring import open_local_engine
    from gatehouse.cli.gate_wiring import driver_lock, gate_context, open_repository

    context = gate_context(args.dir, args.target)
    repo = open_repository(context.root)
    engine = open_local_engine(
        context.root,
        context.file_data,
        concurrency=args.concurrency,
        executor=args.executor,
    )
    try:
        with driver_lock(engine.data_dir, context.queue):
            return asyncio.run(_drive(args, context, repo, engine))
    finally:
        engine.close()


async def _drive(args: argparse.Namespace, context: Any, repo: Any, engine: Any) -> int:
    import asyncio
    import signal

    from gatehouse.cli.config_file import project_variables
    from gatehouse.cli.engine_wiring import host_env, results_feed
    from gatehouse.cli.gate_wiring import CommitProject, read_log_tail
    from gatehouse.engine.gate.builds import GateBuilds
    from gatehouse.engine.gate.driver import GateDriver
    from gatehouse.engine.gate.flake_oracle import ResultsFlakeOracle
    from gatehouse.engine.lanes import QueueLanes
    from gatehouse.matchers import best_available
    from gatehouse.queues.memory import LocalQueue

    variables, masked_values = project_variables(context.file_data)
    masked = frozenset(k for k, v in variables.items() if v in masked_values)
    store = engine.store
    settings = context.settings
    project = CommitProject(
        context.root,
        repo,
        engine.workspaces,
        main_file=args.file,
        include_dir=args.include_dir,
        variables=variables,
    )
    queue = LocalQueue(engine.executor, engine.concurrency)
    lanes = QueueLanes(queue)
    builds = GateBuilds(
        queue=context.queue,
        project=project,
        project_dir=str(context.root),
        repo=repo,
        runs=store.runs,
        results=store.results,
        links=store.gate,
        lanes=lanes,
        settings=engine.settings,
        data_dir=engine.data_dir,
        read_log=read_log_tail,
        target_branch=settings.target_branch,
        base_env=host_env(),
        masked=masked,
        reporter=results_feed(engine, working_tree=False),
    )
    oracle = ResultsFlakeOracle(
        store.results,
        best_available(),
        tree=project.facts.name or context.root.name,
        branch=settings.target_branch,
    )
    driver = GateDriver(
        queue=context.queue,
        settings=settings,
        store=store.gate,
        repo=repo,
        oracle=oracle,
        builds=builds,
        notifier=PrintNotifier(sys.stdout, quiet=args.quiet),
    )
    loop = asyncio.get_running_loop()
    interrupts = 0

    def on_interrupt() -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts == 1:
            sys.stderr.write(
                "\nstopping: running builds are cancelled and restart with the next "
                "`gatehouse gate run` (Ctrl-C again to kill jobs now)\n"
            )
        driver.stop(force=interrupts > 1)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_interrupt)
    try:
        result = await driver.run(once=args.once, poll_interval=context.driver.poll_interval)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await lanes.close()
        await queue.close()
    if result.reason == "stopped":
        print("stopped; `gatehouse gate run` resumes from the saved state")
        return EXIT_INTERRUPTED if interrupts else EXIT_OK
    if result.reason == "paused":
        print(f"the gate is paused: {result.state.paused}")
        print(f"{len(result.state.queue)} item(s) wait; `gatehouse gate resume` lifts the pause")
        return EXIT_FAILED
    print(f"queue empty; {settings.target_branch} is at {result.state.tip}")
    return EXIT_OK


class PrintNotifier:
    """Prints every audit record of ``gate run`` as it is saved (only outcomes when quiet)."""

    OUTCOMES = frozenset({"merge", "report", "dequeue", "pause", "land-refused"})

    def __init__(self, stream: TextIO, *, quiet: bool = False) -> None:
        self.stream = stream
        self.quiet = quiet

    def audit(self, record: Any) -> None:
        from gatehouse.engine.gate.driver import audit_line

        line = audit_line(record)
        if self.quiet and line.action not in self.OUTCOMES:
            return
        self.stream.write(format_audit(line.time, line.action, line.item, line.detail) + "\n")
        self.stream.flush()

    def rejected(self, request: Any, reason: str) -> None:
        self.stream.write(f"rejected request {request.id} ({request.kind}): {reason}\n")
        self.stream.flush()
