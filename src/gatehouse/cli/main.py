"""The ``gatehouse`` command: argument parsing, error mapping, exit codes.

Each sub-command lives in its own module under ``gatehouse.cli`` and exposes
``register(subparsers)``; handlers import heavy libraries lazily so that
start-up stays small. Errors from the :mod:`gatehouse.errors` hierarchy are
printed without a traceback and mapped to the documented exit codes.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from gatehouse import __version__
from gatehouse.errors import EXIT_INTERRUPTED, EXIT_USAGE, GatehouseError

# Which module registers each sub-command (in the order of --help), so that a
# run builds only its own parser (building all of them costs more than a job);
# tests keep it in step with what the modules register.
COMMANDS: dict[str, str] = {
    "lint": "gatehouse.cli.lint",
    "plan": "gatehouse.cli.plan",
    "run": "gatehouse.cli.run",
    "runs": "gatehouse.cli.history",
    "show": "gatehouse.cli.history",
    "log": "gatehouse.cli.history",
    "artifacts": "gatehouse.cli.history",
    "gc": "gatehouse.cli.history",
    "cancel": "gatehouse.cli.history",
    "ingest": "gatehouse.cli.ingest",
    "issue": "gatehouse.cli.issues",
    "triage": "gatehouse.cli.triage",
    "flakes": "gatehouse.cli.flakes",
    "compare": "gatehouse.cli.compare",
    "failures": "gatehouse.cli.failures",
    "expect": "gatehouse.cli.expect",
    "db": "gatehouse.cli.db",
    "gate": "gatehouse.cli.gate",
}
# The modules in the order of --help.
COMMAND_MODULES: tuple[str, ...] = tuple(dict.fromkeys(COMMANDS.values()))


class _Parser(argparse.ArgumentParser):
    """argparse with our exit code for usage errors and no traceback."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every sub-command, or only of ``command`` when it names one."""
    parser = _Parser(
        prog="gatehouse",
        description="Self-hosted gating CI: run GitLab-CI pipelines locally, gate merges, triage results.",
    )
    parser.add_argument("--version", action="version", version=f"gatehouse {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    modules = (COMMANDS[command],) if command in COMMANDS else COMMAND_MODULES
    for name in modules:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    command = next((w for w in words if not w.startswith("-")), None)
    parser = build_parser(command)
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(handler(args) or 0)
    except GatehouseError as exc:
        sys.stderr.write(exc.render() + "\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (e.g. `gatehouse plan | head`): not an error of ours.
        # Point stdout at /dev/null so the interpreter's final flush stays quiet.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
