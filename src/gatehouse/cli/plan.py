"""``gatehouse plan``: the jobs a pipeline would run, for a ref, an event and a change set."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from gatehouse.errors import EXIT_FAILED, EXIT_OK


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "plan",
        help="show the jobs a pipeline would run",
        description=(
            "Plan the pipeline GitLab would create for a ref and an event: workflow:rules, each job's "
            "rules or only/except, needs, variables. Exit 0 when the configuration plans cleanly "
            "(also when no pipeline would be created), 1 on configuration or planning errors."
        ),
    )
    from gatehouse.cli.project import add_context_arguments, add_project_arguments

    add_project_arguments(parser)
    add_context_arguments(parser)
    parser.add_argument(
        "--all",
        action="store_true",
        help="skip workflow and job rules: list every job after matrix expansion",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the plan as JSON (see docs/plan-json.md)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from gatehouse.cli.output import print_diagnostics
    from gatehouse.cli.project import open_project
    from gatehouse.core.planjson import pipeline_to_json
    from gatehouse.core.planner import plan

    project = open_project(args, evaluate_rules=not args.all)
    config = project.config
    pipeline = plan(config, project.context, project.options)
    failed = not config.ok or not pipeline.ok
    if args.json:
        document = pipeline_to_json(pipeline, config.diagnostics)
        if not config.ok:
            document["created"] = False
            document["reason"] = "the configuration has errors"
        json.dump(document, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return EXIT_FAILED if failed else EXIT_OK
    print_diagnostics([*config.diagnostics, *pipeline.diagnostics])
    if not config.ok:
        sys.stderr.write("no pipeline: the configuration has errors\n")
        return EXIT_FAILED
    render(pipeline, all_jobs=args.all)
    return EXIT_FAILED if failed else EXIT_OK


def _marks(job: Any) -> list[str]:
    marks = []
    if job.when == "manual":
        marks.append("manual, blocking" if job.blocking_manual else "manual")
    elif job.when == "delayed":
        marks.append(f"delayed {job.start_in}")
    elif job.when != "on_success":
        marks.append(job.when)
    if job.allow_failure.exit_codes:
        marks.append("allow failure for exit " + ", ".join(map(str, job.allow_failure.exit_codes)))
    elif job.allow_failure.allowed and job.when != "manual":
        marks.append("allow failure")
    if job.spec.trigger is not None:
        marks.append("trigger (not run locally)")
    if job.spec.unresolved:
        marks.append("incomplete")
    return marks


def render(pipeline: Any, *, all_jobs: bool = False, stream: Any = None) -> None:
    from gatehouse.cli.output import Styler

    out = stream or sys.stdout
    style = Styler(out)
    ctx = pipeline.context
    if not pipeline.created:
        out.write(f"no pipeline: {pipeline.reason}\n")
        return
    kind = (
        "tag"
        if ctx.is_tag
        else ("merge request from" if ctx.event == "merge_request_event" else "branch")
    )
    head = (
        "every job (rules not evaluated)"
        if all_jobs
        else f"pipeline for {kind} {ctx.ref} ({ctx.event}) at {ctx.sha[:8]}"
    )
    stages = pipeline.used_stages
    out.write(style(head, "bold") + f" — {len(pipeline.jobs)} job(s) in {len(stages)} stage(s)\n")
    if pipeline.name:
        out.write(f"name: {pipeline.name}\n")
    width = min(max((len(j.name) for j in pipeline.jobs), default=10) + 2, 60)
    for stage in stages:
        out.write("\n" + style(stage, "cyan", "bold") + "\n")
        jobs = [j for j in pipeline.jobs if j.stage == stage]
        for i, job in enumerate(jobs):
            branch = "└─" if i == len(jobs) - 1 else "├─"
            details = []
            marks = _marks(job)
            if marks:
                details.append(style(", ".join(marks), "yellow"))
            if job.needs is not None:
                details.append(
                    "needs: " + (", ".join(n.job for n in job.needs) if job.needs else "[]")
                )
            if job.tags:
                details.append(style("tags: " + ", ".join(job.tags), "dim"))
            out.write(f"  {branch} {job.name.ljust(width)}{'  '.join(details)}\n".rstrip() + "\n")
