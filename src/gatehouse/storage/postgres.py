"""PostgreSQL for the controller: the same schema and queries, through psycopg 3.

``psycopg`` is imported only when a ``postgresql://`` URL is opened, so the
embedded default never pays for it (install it with ``gatehouse[postgres]``).
The connection runs in autocommit mode; each store method that writes opens
one transaction (``conn.transaction()``), reads are single statements.

Schema changes on a shared server are an operator's decision (several
controllers may run, backups come first), so by default opening a PostgreSQL
store only checks the schema version and refuses a stale one;
``gatehouse db migrate`` applies the migrations. A transaction-scoped
advisory lock keeps two migrators from racing.

Bulk results go through ``COPY`` into a per-session temporary staging table
and one ``INSERT … SELECT … ON CONFLICT DO UPDATE`` per table; that statement
may touch a row only once, so duplicates inside a batch are merged first
(``bulk_needs_unique_keys``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from gatehouse.errors import StorageError
from gatehouse.storage.database import Database, Session
from gatehouse.storage.dialect import POSTGRESQL

# pg_advisory_xact_lock key of the migration runner ("gatehouse" in ASCII, folded to 63 bits).
MIGRATION_LOCK_KEY = 0x6761746568_6F757365 & 0x7FFF_FFFF_FFFF_FFFF
# Below this many rows executemany (pipelined) beats setting up a COPY.
COPY_THRESHOLD = 200


def _import_psycopg() -> Any:
    try:
        import psycopg
    except ImportError as exc:
        raise StorageError(
            "PostgreSQL support needs the psycopg package",
            hint="pip install 'gatehouse[postgres]'",
        ) from exc
    return psycopg


class PostgresDatabase(Database):
    dialect = POSTGRESQL
    bulk_needs_unique_keys = True

    def __init__(self, url: str, *, display_url: str, connect_timeout: float = 10.0) -> None:
        super().__init__(display_url)
        self._psycopg = _import_psycopg()
        try:
            self._conn = self._psycopg.connect(
                url, autocommit=True, connect_timeout=max(1, round(connect_timeout))
            )
        except self._psycopg.Error as exc:
            raise self.storage_error(exc, "connect") from exc

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        with self._conn.transaction():
            yield self._conn.cursor()

    def _cursor(self) -> Any:
        return self._conn.cursor()

    def _close(self) -> None:
        self._conn.close()

    def is_driver_error(self, exc: BaseException) -> bool:
        return isinstance(exc, self._psycopg.Error)

    def describe(self, exc: BaseException) -> str:
        diag = getattr(exc, "diag", None)
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        detail = getattr(diag, "message_detail", None)
        return f"{text} ({detail})" if detail else text

    def hint(self, exc: BaseException) -> str | None:
        if isinstance(exc, self._psycopg.OperationalError):
            return (
                "check that PostgreSQL is running and the URL (host, port, user, database) is right"
            )
        return None

    def schema_version(self) -> int:
        errors = self._psycopg.errors
        with self._lock:
            self._check_open("read the schema version")
            try:
                row = self._conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
            except errors.UndefinedTable:
                return 0
            except self._psycopg.Error as exc:
                raise self.storage_error(exc, "read the schema version") from exc
        return int(row[0]) if row and row[0] is not None else 0

    def lock_for_migration(self, session: Session) -> None:
        session.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK_KEY,))

    def upsert_many(
        self,
        session: Session,
        table: str,
        fields: Sequence[str],
        key: Sequence[str],
        rows: Iterable[Sequence[Any]],
    ) -> None:
        rows = iter(rows)
        if "misc" in fields:
            rows = _refuse_nul_in_json(rows, fields.index("misc"), f"{self.display_url}: {table}")
        head = list(itertools.islice(rows, COPY_THRESHOLD))
        if len(head) < COPY_THRESHOLD:
            super().upsert_many(session, table, fields, key, head)
            return
        stage = f"gh_stage_{table}"
        names = ", ".join([*fields, "_timestamp"])
        # A temporary table lives as long as the session; ON COMMIT DELETE ROWS
        # empties it at every commit, and a rolled-back CREATE simply reruns.
        session.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} "
            f"(LIKE {table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        with session.cursor.copy(f"COPY {stage} ({names}) FROM STDIN") as copy:
            for row in itertools.chain(head, rows):
                copy.write_row(row)
        cache_key = (stage, tuple(fields))
        sql = self._upserts.get(cache_key)
        if sql is None:
            sql = self._upserts[cache_key] = self.dialect.upsert(table, fields, key, source=stage)
        session.execute(sql)
        session.execute(f"DELETE FROM {stage}")


# An escaped NUL in JSON text: "\u0000" preceded by an even number of backslashes.
_JSON_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def _refuse_nul_in_json(
    rows: Iterator[Sequence[Any]], column: int, where: str
) -> Iterator[Sequence[Any]]:
    """Pass rows through, refusing a ``misc`` that holds a NUL character.

    PostgreSQL stores no NUL in text and its JSON functions refuse the escaped
    form, so such a ``misc`` could be stored once but never merged again;
    refusing it up front keeps the rule simple (KCIDB forbids NUL elsewhere).
    """
    for row in rows:
        misc = row[column]
        if misc is not None and "\\u0000" in misc and _JSON_NUL.search(misc):
            raise StorageError(
                f"{where} {row[0]!r}: misc holds a NUL character, which PostgreSQL cannot store",
                hint="replace NUL characters (e.g. with U+FFFD) before submitting",
            )
        yield row
