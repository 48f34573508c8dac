"""``gatehouse run``: run a pipeline, or some of its jobs, on this machine now."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from gatehouse.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, UsageError


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "run",
        help="run the pipeline (or some jobs) on this machine",
        description=(
            "Plan the pipeline for the current branch (or --ref/--event/--changed) and run it here: "
            "each job in a clean workspace holding the project's tracked files, in parallel along "
            "stages and needs, with artifacts, retries, timeouts and a results database. Exit 0 only "
            "when the pipeline passed (allowed failures are warnings)."
        ),
    )
    from gatehouse.cli.project import add_context_arguments

    parser.add_argument(
        "jobs",
        nargs="*",
        metavar="JOB",
        help="run only these jobs (a parallel job's base name selects all its instances)",
    )
    parser.add_argument(
        "-C",
        "--directory",
        dest="dir",
        default=".",
        metavar="DIR",
        help="project directory (default: .)",
    )
    parser.add_argument(
        "--file",
        "-f",
        default=".gitlab-ci.yml",
        metavar="PATH",
        help="pipeline file, relative to DIR",
    )
    parser.add_argument(
        "--include-dir",
        metavar="DIR",
        help="mirror of external includes (see docs/configuration.md)",
    )
    parser.add_argument(
        "--needs", action="store_true", help="also run what the named jobs need, transitively"
    )
    parser.add_argument("--stage", metavar="STAGE", help="run only the jobs of this stage")
    parser.add_argument(
        "--manual",
        action="store_true",
        help="start manual jobs too (named manual jobs always start)",
    )
    parser.add_argument(
        "--concurrency",
        "-j",
        type=int,
        metavar="N",
        help="jobs at once (default: the number of CPUs)",
    )
    parser.add_argument(
        "--executor",
        choices=("shell", "sandbox"),
        default=None,
        help="shell (default) or sandbox (bubblewrap)",
    )
    parser.add_argument(
        "--commit", metavar="REV", help="run on this commit's tree instead of the working tree"
    )
    parser.add_argument(
        "--fail-fast",
        action="store_true",
        default=None,
        help="stop at the first failure that is not allowed",
    )
    parser.add_argument(
        "--secret",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a pipeline variable whose value is masked in logs",
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="where results, logs and artifacts go (default: DIR/.gatehouse)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the result as JSON (no live progress)"
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="print only the summary")
    add_context_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from gatehouse.cli.config_file import project_variables, read_project_file
    from gatehouse.cli.output import print_diagnostics
    from gatehouse.cli.project import open_project, parse_vars
    from gatehouse.core.planner import plan
    from gatehouse.core.selection import select

    root = Path(args.dir).resolve()
    file_data = read_project_file(root) if root.is_dir() else {}
    toml_vars, toml_masked = project_variables(file_data)
    secrets = parse_vars(args.secret)
    args.var = [f"{k}={v}" for k, v in {**toml_vars, **secrets}.items()] + list(args.var)
    project = open_project(args)
    config = project.config
    if not config.ok:
        print_diagnostics(config.diagnostics)
        sys.stderr.write("no pipeline: the configuration has errors (see gatehouse lint)\n")
        return EXIT_FAILED
    pipeline = plan(config, project.context, project.options)
    problems = [
        d for d in (*config.diagnostics, *pipeline.diagnostics) if d.is_error or not args.quiet
    ]
    if not pipeline.ok:
        print_diagnostics(problems)
        return EXIT_FAILED
    if not pipeline.created:
        sys.stderr.write(f"no pipeline: {pipeline.reason}\n")
        return EXIT_OK
    selection = select(pipeline, args.jobs, stage=args.stage, with_needs=args.needs)
    if selection.unknown:
        name, suggestion = selection.unknown[0]
        raise UsageError(
            f"no job {name!r} in this pipeline",
            hint=f"did you mean {suggestion!r}? (gatehouse plan lists the jobs)"
            if suggestion
            else "gatehouse plan lists the jobs",
        )
    start_manual = (
        frozenset(j.name for j in pipeline.jobs if j.when == "manual")
        if args.manual
        else frozenset()
    )
    masked_names = frozenset(secrets) | frozenset(
        k for k, v in toml_vars.items() if v in toml_masked
    )
    workflow = project.config.workflow
    mode = (
        (workflow.auto_cancel or {}).get("on_new_commit", "conservative")
        if workflow
        else "conservative"
    )
    args.auto_cancel = mode
    return asyncio.run(_run(args, root, file_data, pipeline, selection, start_manual, masked_names))


async def _run(
    args: argparse.Namespace,
    root: Path,
    file_data: dict[str, Any],
    pipeline: Any,
    selection: Any,
    start_manual: frozenset[str],
    masked: frozenset[str],
) -> int:
    from gatehouse.cli.engine_wiring import host_env, open_local_engine, results_feed
    from gatehouse.cli.progress import LiveProgress, PlainProgress, print_summary
    from gatehouse.core.ports import WorkspaceSource
    from gatehouse.engine.runner import PipelineRunner, RunOptions
    from gatehouse.queues.memory import LocalQueue
    from gatehouse.vcs.facts import resolve_commit

    commit = resolve_commit(root, args.commit) if args.commit else None
    engine = open_local_engine(
        root,
        file_data,
        concurrency=args.concurrency,
        fail_fast=args.fail_fast,
        data_dir=args.data_dir,
        executor=args.executor,
    )
    workspaces = engine.workspaces
    store = engine.store
    try:
        snapshot = await asyncio.to_thread(workspaces.snapshot, WorkspaceSource(str(root), commit))
    except BaseException:
        store.close()
        raise
    from gatehouse.engine.liveness import settle_interrupted

    for stale in settle_interrupted(store.runs, engine.data_dir, str(root)):
        sys.stderr.write(
            f"pipeline #{stale.id} was interrupted (its process ended); recorded as canceled\n"
        )
    for line in cancel_redundant(
        store.runs, engine.data_dir, pipeline.context, getattr(args, "auto_cancel", "conservative")
    ):
        sys.stderr.write(line + "\n")
    queue = LocalQueue(engine.executor, engine.concurrency)
    if args.json or args.quiet:
        observer: Any = PlainProgress(sys.stderr, quiet=True)
    elif sys.stdout.isatty() and "NO_COLOR" not in os.environ:
        observer = LiveProgress()
    else:
        observer = PlainProgress()
    runner = PipelineRunner(
        pipeline,
        RunOptions(
            selection=selection,
            start_manual=start_manual,
            masked=masked,
            workspace=snapshot.source,
            base_env=host_env(),
        ),
        store=store.runs,
        queue=queue,
        settings=engine.settings,
        data_dir=engine.data_dir,
        observer=observer,
        earlier_artifacts=_earlier_artifacts(store.runs, str(root)),
        reporter=results_feed(engine, working_tree=commit is None),
    )
    loop = asyncio.get_running_loop()
    interrupts = 0

    def on_interrupt() -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts == 1:
            sys.stderr.write(
                "\ncanceling: running jobs get their after_script (Ctrl-C again to kill now)\n"
            )
        runner.request_cancel(force=interrupts > 1)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_interrupt)
    try:
        record = await runner.run()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await queue.close()
        await asyncio.to_thread(workspaces.discard, snapshot)
    jobs = list(store.runs.list_jobs(record.id))
    store.close()
    if args.json:
        json.dump(_json_result(record, jobs), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print_summary(jobs, record)
    if interrupts:
        return EXIT_INTERRUPTED
    return EXIT_OK if record.status.value == "success" else EXIT_FAILED


def cancel_redundant(runs: Any, data_dir: Path, context: Any, mode: str) -> list[str]:
    """Auto-cancel older running pipelines of this ref for an older commit (GitLab's on_new_commit)."""
    from gatehouse.core.autocancel import OlderJob, auto_cancel
    from gatehouse.engine.liveness import is_alive, request_cancel

    said = []
    for older in runs.list_pipelines(limit=20, project_dir=context.project_dir):
        if older.status.value != "running" or older.ref != context.ref or older.sha == context.sha:
            continue
        if not is_alive(data_dir, older.id):
            continue
        interruptible = {
            j["name"]: bool(j.get("interruptible")) for j in (older.plan or {}).get("jobs", [])
        }
        latest: dict[str, Any] = {}
        for job in runs.list_jobs(older.id):
            latest[job.name] = job
        decision = auto_cancel(
            mode,
            [OlderJob(n, interruptible.get(n, False), j.status.value) for n, j in latest.items()],
        )
        if decision.whole:
            request_cancel(data_dir, older.id)
            said.append(
                f"auto-cancel: pipeline #{older.id} ({(older.sha or '')[:8]}) canceled, {decision.reason}"
            )
        elif decision.jobs:
            request_cancel(data_dir, older.id, list(decision.jobs))
            said.append(
                f"auto-cancel: {len(decision.jobs)} interruptible job(s) of pipeline #{older.id} canceled"
            )
    return said


def _earlier_artifacts(runs: Any, project_dir: str) -> Any:
    """Artifacts of a job from the latest earlier pipeline of this project where it succeeded."""

    def lookup(name: str) -> Any:
        for pipeline in runs.list_pipelines(limit=50, project_dir=project_dir):
            for job in reversed(list(runs.list_jobs(pipeline.id, include_retried=False))):
                if job.name == name and job.status.value in ("success", "warning"):
                    for artifact_set in runs.list_artifacts(job.id):
                        if artifact_set.kind == "archive":
                            return artifact_set.manifest
                    return None
        return None

    return lookup


def _json_result(record: Any, jobs: list[Any]) -> dict[str, Any]:
    from gatehouse.cli.history import job_json

    return {
        "pipeline": record.id,
        "status": record.status.value,
        "ref": record.ref,
        "sha": record.sha,
        "event": record.event,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "jobs": [job_json(j) for j in jobs],
    }


__all__ = ["EXIT_INTERRUPTED", "register"]
