"""Generate ``docs/cli.md`` from the parsers' ``--help`` (``make docs``)."""

from __future__ import annotations

import argparse
import os


def _walk(parser: argparse.ArgumentParser, path: list[str], out: list[str]) -> None:
    title = " ".join(path)
    out.append(f"{'#' * min(len(path) + 1, 4)} `{title}`\n")
    out.append("```text")
    out.append(parser.format_help().rstrip())
    out.append("```\n")
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                _walk(sub, [*path, name], out)


def render() -> str:
    # A fixed width keeps the output identical whatever the terminal.
    os.environ["COLUMNS"] = "100"
    from gatehouse.cli.main import build_parser

    out = [
        "# Command-line reference",
        "",
        "Generated from `--help` by `make docs`; do not edit by hand.",
        "Exit codes: 0 success; 1 the checked thing failed (configuration errors, a",
        "failed pipeline, a failed verdict, a rejected input); 2 bad usage; 3 the",
        "environment is not as needed (storage, a missing tool, a service); 130 interrupted.",
        "",
    ]
    _walk(build_parser(), ["gatehouse"], out)
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(render(), end="")
