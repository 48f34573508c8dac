"""The migration runner: bring a database's schema up to this gatehouse's version.

Why our own runner and not Alembic: opening the store is on the start-up path
of every command (``gatehouse run`` of one job must finish in 0.4 s), and
``import alembic.command`` alone costs ~0.35 s. Our schema history is a list of
portable SQL files (:mod:`gatehouse.storage.migrations`), so the runner is
small:

1. At open, :func:`ensure_schema` asks the database for its version with one
   query (``SELECT MAX(version) FROM schema_migrations``, 0 when the table is
   missing) and compares it with :data:`LATEST_VERSION`. Equal: done, no
   migration file is read.
2. Newer than we know: refuse, never guess (an older gatehouse must not write
   into a schema it does not understand).
3. Older: apply the pending migrations, if allowed (the embedded SQLite
   default does so; PostgreSQL waits for ``gatehouse db migrate``), all in ONE
   transaction: DDL is transactional in SQLite and PostgreSQL, so a failed
   migration leaves the schema exactly as it was.

Two processes may open an old database at once. The migrator takes the
database's write lock (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a
transaction-scoped advisory lock), then reads the version again inside the
transaction, so the second one finds nothing left to do.
"""

from __future__ import annotations

import re
import time

from gatehouse.errors import StorageError
from gatehouse.storage.database import Database, Session
from gatehouse.storage.migrations import LATEST_VERSION, MIGRATIONS, migration_text

_CREATE_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at DOUBLE PRECISION NOT NULL
)"""

_STATEMENT_END = re.compile(r";[ \t]*$", re.MULTILINE)


def split_statements(text: str, identity: str) -> list[str]:
    """The statements of a migration file, with ``{{identity}}`` filled in.

    Whole-line ``--`` comments are dropped; a statement ends with ``;`` at the
    end of a line (our migrations keep semicolons out of literals).
    """
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    body = "\n".join(lines).replace("{{identity}}", identity)
    return [stmt.strip() for stmt in _STATEMENT_END.split(body) if stmt.strip()]


def _newer_schema(db: Database, version: int) -> StorageError:
    return StorageError(
        f"{db.display_url}: the database has schema version {version}, newer than this "
        f"gatehouse knows ({LATEST_VERSION}); refusing to use it",
        hint="upgrade gatehouse to the version that last migrated this database",
    )


def ensure_schema(db: Database, *, apply: bool) -> int:
    """Check the schema version (one query); apply pending migrations if ``apply``.

    Returns the version the database is at afterwards.
    """
    version = db.schema_version()
    if version == LATEST_VERSION:
        return version
    if version > LATEST_VERSION:
        raise _newer_schema(db, version)
    if not apply:
        raise StorageError(
            f"{db.display_url}: the database schema is at version {version}, "
            f"this gatehouse needs {LATEST_VERSION}",
            hint="run `gatehouse db migrate` (back the database up first)",
        )
    migrate(db)
    return LATEST_VERSION


def migrate(db: Database) -> list[int]:
    """Apply every pending migration in one transaction; the versions applied."""
    applied: list[int] = []
    with db.write("apply schema migrations") as session:
        db.lock_for_migration(session)
        session.execute(_CREATE_MIGRATIONS_TABLE)
        current = _version_in(session)
        if current > LATEST_VERSION:
            raise _newer_schema(db, current)
        for version in range(current + 1, LATEST_VERSION + 1):
            for statement in split_statements(migration_text(version), db.dialect.identity):
                session.execute(statement)
            session.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (version, MIGRATIONS[version - 1], time.time()),
            )
            applied.append(version)
    return applied


def applied_migrations(db: Database) -> list[tuple[int, str, float]]:
    """(version, name, applied_at) of every applied migration, oldest first."""
    if db.schema_version() == 0:
        return []
    with db.read("list schema migrations") as session:
        rows = session.all("SELECT version, name, applied_at FROM schema_migrations ORDER BY 1")
    return [(int(v), str(n), float(t)) for v, n, t in rows]


def _version_in(session: Session) -> int:
    row = session.one("SELECT MAX(version) FROM schema_migrations")
    return int(row[0]) if row and row[0] is not None else 0
