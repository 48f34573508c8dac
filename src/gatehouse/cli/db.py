"""``gatehouse db``: the database's schema version, and applying migrations.

The embedded SQLite database migrates itself when opened; a shared
PostgreSQL database is migrated by an operator, once per upgrade, with
``gatehouse db migrate`` (after a backup). ``gatehouse db status`` exits 1
while migrations are pending, so deployment scripts can check it.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from gatehouse.errors import EXIT_FAILED, EXIT_OK


def register(sub: Any) -> None:
    db = sub.add_parser(
        "db",
        help="show the database schema version or apply migrations",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    commands = db.add_subparsers(dest="db_command", metavar="COMMAND", required=True)
    status = commands.add_parser(
        "status", help="show the schema version and pending migrations (exit 1 if any)"
    )
    migrate = commands.add_parser("migrate", help="apply pending schema migrations")
    for parser in (status, migrate):
        parser.add_argument(
            "--database-url", help="sqlite:///PATH or postgresql://… (default: from settings)"
        )
        parser.add_argument("--data-dir", help="data directory (default: .gatehouse)")
        parser.add_argument(
            "--project-dir", default=".", help="project directory (default: the current one)"
        )
        parser.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(handler=_status)
    migrate.set_defaults(handler=_migrate)


def _settings(args: argparse.Namespace) -> Any:
    from pathlib import Path

    from gatehouse.cli.config_file import settings_for
    from gatehouse.storage.settings import StorageSettings

    return settings_for(
        StorageSettings,
        Path(args.project_dir),
        flags={"database_url": args.database_url, "data_dir": args.data_dir},
    )


def _open(args: argparse.Namespace) -> Any:
    from gatehouse.storage.store import open_database

    settings = _settings(args)
    return open_database(settings.url(args.project_dir), busy_timeout=settings.busy_timeout)


def _status(args: argparse.Namespace) -> int:
    from gatehouse.storage.migrate import applied_migrations
    from gatehouse.storage.migrations import LATEST_VERSION, MIGRATIONS

    db = _open(args)
    try:
        applied = applied_migrations(db)
    finally:
        db.close()
    version = max((v for v, _, _ in applied), default=0)
    pending = [
        f"{v:04d}" if v > len(MIGRATIONS) else MIGRATIONS[v - 1]
        for v in range(version + 1, LATEST_VERSION + 1)
    ]
    if args.json:
        report = {
            "database": db.display_url,
            "version": version,
            "latest": LATEST_VERSION,
            "applied": [{"version": v, "name": n, "applied_at": t} for v, n, t in applied],
            "pending": pending,
        }
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        sys.stdout.write(f"database: {db.display_url}\n")
        sys.stdout.write(f"schema version: {version} (this gatehouse: {LATEST_VERSION})\n")
        for name in pending:
            sys.stdout.write(f"pending: {name}\n")
        if version > LATEST_VERSION:
            sys.stdout.write("the database is newer than this gatehouse: upgrade gatehouse\n")
    return EXIT_OK if version == LATEST_VERSION else EXIT_FAILED


def _migrate(args: argparse.Namespace) -> int:
    from gatehouse.storage.migrate import migrate
    from gatehouse.storage.migrations import MIGRATIONS

    db = _open(args)
    try:
        applied = migrate(db)
    finally:
        db.close()
    names = [MIGRATIONS[v - 1] for v in applied]
    if args.json:
        sys.stdout.write(json.dumps({"database": db.display_url, "applied": names}) + "\n")
    elif names:
        for name in names:
            sys.stdout.write(f"applied: {name}\n")
    else:
        sys.stdout.write(f"{db.display_url}: the schema is up to date\n")
    return EXIT_OK
