"""How the results commands find the database and read times (``ingest``, ``issue``, ``triage`` …).

Every results command takes ``-C DIR`` (the project, whose ``gatehouse.toml``
and ``.gatehouse/`` data directory are used), ``--data-dir`` and
``--database URL`` (else ``GATEHOUSE_DATABASE_URL``, else the file, else
SQLite in the data directory). Commands that write (``ingest``, ``issue
add``) create the data directory; the others refuse politely when there is
no database yet.

Times (``--since``, ``--expires``) are an ISO 8601 date or date-time (UTC
when no zone is given), or a duration back from now such as ``7d``, ``12h``
or ``90m`` (``--since`` only).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gatehouse.errors import UsageError


def add_store_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("results database")
    group.add_argument(
        "-C",
        "--directory",
        dest="dir",
        default=".",
        metavar="DIR",
        help="project directory (default: .)",
    )
    group.add_argument("--data-dir", metavar="DIR", help="data directory (default: DIR/.gatehouse)")
    group.add_argument(
        "--database",
        metavar="URL",
        help="database URL (default: GATEHOUSE_DATABASE_URL, gatehouse.toml, "
        "or SQLite in the data directory)",
    )


def open_results(args: argparse.Namespace, *, create: bool = False) -> Any:
    """The store the arguments name (a :class:`gatehouse.storage.Store`)."""
    from gatehouse.cli.config_file import settings_for
    from gatehouse.storage import open_store
    from gatehouse.storage.settings import StorageSettings

    root = Path(args.dir).resolve()
    if not root.is_dir():
        raise UsageError(f"{args.dir}: not a directory")
    settings = settings_for(
        StorageSettings,
        root,
        {
            "data_dir": getattr(args, "data_dir", None),
            "database_url": getattr(args, "database", None),
        },
    )
    if not settings.database_url:
        data_dir = Path(settings.data_dir)
        if not data_dir.is_absolute():
            data_dir = root / data_dir
        if not data_dir.is_dir():
            if not create:
                raise UsageError(
                    f"no results database here: {data_dir} does not exist",
                    hint="store results first: gatehouse ingest FILE… or gatehouse run",
                )
            data_dir.mkdir(parents=True, exist_ok=True)
    return open_store(settings, project_dir=str(root))


def parse_time(text: str, *, option: str) -> datetime:
    """An ISO 8601 date or date-time; UTC when it has no zone."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"{option} {text!r} is not a date or time",
            hint="use ISO 8601: 2026-03-01 or 2026-03-01T12:00:00+01:00",
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def parse_since(text: str | None, *, now: float) -> float:
    """``--since``: seconds since the epoch; 0 (everything) when not given."""
    if text is None:
        return 0.0
    from gatehouse.settings import parse_duration

    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    return parse_time(text, option="--since").timestamp()


def when(seconds: float | None) -> str:
    """A receive time for people: local date and time to the minute."""
    if seconds is None or seconds == float("inf"):
        return "-"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds))


def iso(seconds: float | None) -> str | None:
    if seconds is None or seconds == float("inf"):
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=False) + "\n")


def print_problems(problems: Any) -> None:
    """Warnings about stored issues left out of triage (to stderr, never fatal)."""
    from gatehouse.cli.output import print_diagnostics

    if problems:
        print_diagnostics(list(problems))
