"""One open SQL database: a connection, its transactions, and its errors in our words.

:class:`Database` is what the SQL stores (runs, results, audit) share; the
SQLite and PostgreSQL adapters subclass it with their connection and error
translation. Stores speak portable SQL with ``?`` placeholders through a
:class:`Session`, which the dialect rewrites for the driver.

Transactions: every public store method is one :meth:`Database.write` or one
:meth:`Database.read`. A write commits when its block ends and rolls back on
any exception, so a failure leaves nothing half-written. Reads are single
statements (each is atomic on its own), so they need no explicit transaction
and never hold a snapshot open that would keep SQLite from checkpointing.

A lock serialises the connection between threads (the web layer may call from
a thread pool); separate processes are handled by the database itself.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from gatehouse.errors import StorageError
from gatehouse.storage.dialect import Dialect

Row = tuple[Any, ...]


class Session:
    """A cursor inside one transaction (or one autocommit read), taking ``?`` SQL."""

    def __init__(self, cursor: Any, dialect: Dialect) -> None:
        self._cursor = cursor
        self._dialect = dialect

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._cursor.execute(self._dialect.sql(sql), params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._cursor.executemany(self._dialect.sql(sql), rows)

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        self._cursor.execute(self._dialect.sql(sql), params)
        row = self._cursor.fetchone()
        return tuple(row) if row is not None else None

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        self._cursor.execute(self._dialect.sql(sql), params)
        return [tuple(row) for row in self._cursor.fetchall()]

    def insert(self, sql: str, params: Sequence[Any]) -> int:
        """Run an INSERT into a table with an identity ``id`` and return the new id."""
        if self._dialect.name == "sqlite":
            self._cursor.execute(sql, params)
            return int(self._cursor.lastrowid)
        self._cursor.execute(self._dialect.sql(sql + " RETURNING id"), params)
        return int(self._cursor.fetchone()[0])

    @property
    def cursor(self) -> Any:
        """The driver's cursor, for adapter-specific bulk paths (COPY)."""
        return self._cursor


class Database:
    """An open connection to one database, with transactions and translated errors.

    Subclasses (one per driver) implement the methods that raise NotImplementedError.
    """

    dialect: Dialect
    # True where upsert_many needs each key at most once per call (see PostgreSQL's COPY path).
    bulk_needs_unique_keys = False

    def __init__(self, display_url: str) -> None:
        self.display_url = display_url
        self._lock = threading.Lock()
        self._closed = False
        # (table or staging table, columns) -> the upsert statement
        self._upserts: dict[tuple[str, tuple[str, ...]], str] = {}

    @contextmanager
    def write(self, action: str) -> Iterator[Session]:
        """One write transaction; ``action`` names it in error messages."""
        with self._lock:
            self._check_open(action)
            try:
                with self._transaction() as cursor:
                    yield Session(cursor, self.dialect)
            except Exception as exc:
                if not self.is_driver_error(exc):
                    raise
                raise self.storage_error(exc, action) from exc

    @contextmanager
    def read(self, action: str) -> Iterator[Session]:
        """Autocommit reads; each statement sees a committed state."""
        with self._lock:
            self._check_open(action)
            try:
                yield Session(self._cursor(), self.dialect)
            except Exception as exc:
                if not self.is_driver_error(exc):
                    raise
                raise self.storage_error(exc, action) from exc

    @contextmanager
    def bulk_writes(self, session: Session) -> Iterator[None]:  # noqa: ARG002 - per driver
        """Tune the connection for one large transaction (SQLite: a larger page cache)."""
        yield

    def upsert_many(
        self,
        session: Session,
        table: str,
        fields: Sequence[str],
        key: Sequence[str],
        rows: Iterable[Sequence[Any]],
    ) -> None:
        """Merge ``rows`` (``fields`` then ``_timestamp``) into ``table`` by ``key``."""
        cache_key = (table, tuple(fields))
        sql = self._upserts.get(cache_key)
        if sql is None:
            sql = self._upserts[cache_key] = self.dialect.upsert(table, fields, key)
        session.executemany(sql, rows)

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._close()

    def _check_open(self, action: str) -> None:
        if self._closed:
            raise StorageError(f"{self.display_url}: cannot {action}: the store is closed")

    def storage_error(self, exc: BaseException, action: str) -> StorageError:
        """Our error for a driver's: which database, what failed, and why."""
        return StorageError(
            f"{self.display_url}: {action} failed: {self.describe(exc)}", hint=self.hint(exc)
        )

    def _transaction(self) -> Any:
        """A context manager: begin, yield a cursor, commit (or roll back on error)."""
        raise NotImplementedError

    def _cursor(self) -> Any:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    def is_driver_error(self, exc: BaseException) -> bool:
        raise NotImplementedError

    def describe(self, exc: BaseException) -> str:
        return str(exc).strip() or type(exc).__name__

    def hint(self, exc: BaseException) -> str | None:  # noqa: ARG002 - overridden per driver
        return None

    def schema_version(self) -> int:
        """The highest applied migration (0: none); one query, no migration code loaded."""
        raise NotImplementedError

    def lock_for_migration(self, session: Session) -> None:
        """Serialise concurrent migrators (SQLite's write lock already does)."""
