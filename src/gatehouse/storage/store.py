"""Opening a store: one URL in, the storage ports out.

:func:`open_store` picks the adapter from the URL, opens the database, checks
its schema version (one query; pending migrations are applied for SQLite by
default) and returns a :class:`Store` whose ``runs``, ``results``, ``audit``
and ``gate`` attributes are the RunStore, ResultsStore, AuditLog and
GateStore ports over one shared connection. Keeping small objects instead of
one class with every method keeps each port's surface what the port says it
is.

URLs:

- ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``,
  ``sqlite:///:memory:`` (a private in-memory SQLite database);
- ``postgresql://user:password@host:port/database?options=…`` (libpq URI;
  ``postgres://`` works too);
- ``memory:`` — the pure-Python adapters (no SQL at all).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from gatehouse.errors import UsageError
from gatehouse.storage.migrations import LATEST_VERSION

if TYPE_CHECKING:
    from gatehouse.core.ports import AuditLog, GateStore, ResultsStore, RunStore
    from gatehouse.storage.database import Database
    from gatehouse.storage.settings import StorageSettings

DEFAULT_BUSY_TIMEOUT = 10.0


class Store:
    """An open store: the storage ports over one database connection."""

    __slots__ = ("_close", "audit", "database", "gate", "results", "runs", "url")

    def __init__(
        self,
        url: str,
        *,
        runs: RunStore,
        results: ResultsStore,
        audit: AuditLog,
        gate: GateStore,
        database: Database | None = None,
        close: Callable[[], None] | None = None,
    ) -> None:
        self.url = url  # for messages: any password is replaced by ***
        self.runs = runs
        self.results = results
        self.audit = audit
        self.gate = gate
        self.database = database  # None for the in-memory adapters
        self._close = close

    def close(self) -> None:
        if self._close is not None:
            self._close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url!r})"


def redact(url: str) -> str:
    """``url`` with the password, if any, replaced by ``***``."""
    return re.sub(r"^([a-z][a-z0-9+.-]*://[^:/@]*:)[^@/]*@", r"\1***@", url, flags=re.IGNORECASE)


def kind_of(url: str) -> str:
    """``sqlite``, ``postgresql`` or ``memory``; a UsageError for anything else."""
    if url.startswith("sqlite:///"):
        return "sqlite"
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql"
    if url in ("memory:", "memory://"):
        return "memory"
    raise UsageError(
        f"unsupported database URL {redact(url)!r}",
        hint="use sqlite:///PATH, postgresql://USER@HOST/DATABASE or memory:",
    )


def open_database(url: str, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> Database:
    """Connect to a SQL database (no schema check); for the migration commands."""
    kind = kind_of(url)
    if kind == "sqlite":
        from gatehouse.storage.sqlite import SqliteDatabase, sqlite_path

        try:
            path = sqlite_path(url)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
        return SqliteDatabase(path, display_url=url, busy_timeout=busy_timeout)
    if kind == "postgresql":
        from gatehouse.storage.postgres import PostgresDatabase

        return PostgresDatabase(url, display_url=redact(url))
    raise UsageError(f"{url!r} is not a SQL database; it has no schema to migrate")


def open_store(
    target: str | StorageSettings,
    *,
    project_dir: str = ".",
    migrate: bool | None = None,
    busy_timeout: float | None = None,
) -> Store:
    """Open the store named by a URL or by resolved :class:`StorageSettings`.

    ``migrate``: apply pending schema migrations (default: from the settings'
    ``auto_migrate``; ``auto`` means yes for SQLite, no for PostgreSQL).
    ``project_dir`` anchors a relative data directory of the settings.
    """
    if isinstance(target, str):
        url, auto, timeout = target, "auto", DEFAULT_BUSY_TIMEOUT
    else:
        url, auto, timeout = target.url(project_dir), target.auto_migrate, target.busy_timeout
    if busy_timeout is not None:
        timeout = busy_timeout
    kind = kind_of(url)
    if kind == "memory":
        return open_memory_store()
    if migrate is None:
        migrate = auto == "always" or (auto == "auto" and kind == "sqlite")
    db = open_database(url, busy_timeout=timeout)
    try:
        # The common case costs one query and no import of the migration runner.
        if db.schema_version() != LATEST_VERSION:
            from gatehouse.storage.migrate import ensure_schema

            ensure_schema(db, apply=migrate)
    except BaseException:
        db.close()
        raise
    return store_over(db)


def store_over(db: Database) -> Store:
    """The SQL ports over an open database whose schema is current."""
    from gatehouse.storage.sql_audit import SqlAuditLog
    from gatehouse.storage.sql_gate import SqlGateStore
    from gatehouse.storage.sql_results import SqlResultsStore
    from gatehouse.storage.sql_runs import SqlRunStore

    return Store(
        db.display_url,
        runs=SqlRunStore(db),
        results=SqlResultsStore(db),
        audit=SqlAuditLog(db),
        gate=SqlGateStore(db),
        database=db,
        close=db.close,
    )


def open_memory_store() -> Store:
    """The pure-Python adapters: a fresh, empty store that lives as long as the object."""
    from gatehouse.storage.memory import MEMORY_URL, MemoryAuditLog, MemoryRunStore
    from gatehouse.storage.memory_gate import MemoryGateStore
    from gatehouse.storage.memory_results import MemoryResultsStore

    audit = MemoryAuditLog()
    return Store(
        MEMORY_URL,
        runs=MemoryRunStore(),
        results=MemoryResultsStore(),
        audit=audit,
        gate=MemoryGateStore(audit),
    )
