"""``gatehouse lint``: load a pipeline configuration and report every problem found."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from gatehouse.errors import EXIT_FAILED, EXIT_OK


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "lint",
        help="check a pipeline configuration",
        description=(
            "Load the pipeline configuration (includes, extends, !reference, defaults, matrix) and "
            "report every error and warning with its file and line. Exit 0 when there is no error "
            "(warnings are printed either way), 1 when there are errors."
        ),
    )
    from gatehouse.cli.project import add_context_arguments, add_project_arguments

    add_project_arguments(parser)
    add_context_arguments(parser)
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors (exit 1)")
    parser.add_argument("--json", action="store_true", help="print the diagnostics as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from gatehouse.cli.output import Styler, print_diagnostics
    from gatehouse.cli.project import open_project

    project = open_project(args)
    config = project.config
    errors = [d for d in config.diagnostics if d.is_error]
    warnings = [d for d in config.diagnostics if d.severity.value == "warning"]
    failed = bool(errors) or (args.strict and bool(warnings))
    if args.json:
        json.dump(
            {
                "ok": not failed,
                "files": list(config.files),
                "jobs": len(config.jobs),
                "visible_jobs": config.visible_job_count,
                "diagnostics": [d.to_json() for d in config.diagnostics],
            },
            sys.stdout,
            indent=2,
        )
        sys.stdout.write("\n")
        return EXIT_FAILED if failed else EXIT_OK
    print_diagnostics(config.diagnostics)
    style = Styler(sys.stderr)
    summary = (
        f"{len(errors)} error(s), {len(warnings)} warning(s) in {len(config.files)} file(s); "
        f"{config.visible_job_count} job definition(s), {len(config.jobs)} job(s) after parallel expansion"
    )
    colour = "red" if errors else ("yellow" if warnings else "green")
    sys.stderr.write(style(summary, colour) + "\n")
    return EXIT_FAILED if failed else EXIT_OK
