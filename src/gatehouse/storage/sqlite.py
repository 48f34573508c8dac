"""The embedded default: SQLite through the standard library's ``sqlite3``.

Concurrency. One process writes (the engine of ``gatehouse run``); others read
or write occasionally (``gatehouse log -f``, ``gatehouse runs`` in another
terminal, a second ``gatehouse run``). The database is therefore in WAL mode:
readers never block the writer and the writer never blocks readers, each
reader sees the last committed state. Writers take the write lock up front
(``BEGIN IMMEDIATE``), so a second writer waits in ``busy_timeout`` for its
turn instead of failing half-way through a transaction; only when the wait
runs out is it a :class:`StorageError` ("database is locked").

Durability. ``synchronous=NORMAL`` is safe under WAL: a commit is written to
the WAL without waiting for fsync, and the WAL is synced at checkpoints. An
application crash loses nothing; a power cut may lose the last transactions
before the checkpoint but never corrupts the database. For a CI's engine
state that is the right trade: a lost job transition means a job re-runs,
whereas an fsync per transition would cost on every job.

Merge-by-ID needs a key-wise JSON merge for ``misc``; SQLite's ``json_patch``
merges recursively and deletes keys set to null, which is not our rule, so the
connection registers ``gh_merge_json`` (a few lines of Python, called only when
a resubmitted object has ``misc`` on both sides).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from gatehouse.errors import StorageError
from gatehouse.storage.database import Database
from gatehouse.storage.dialect import SQLITE

# UPSERT (3.24) and the TRUE/FALSE keywords (3.23) are the newest features we use.
MIN_SQLITE_VERSION = (3, 24, 0)
# A large ingest touches many index pages. Measured on 1M results: a 16 MiB
# page cache stores ~20% faster than SQLite's 2 MiB default, and 64 or 256 MiB
# are no faster but cost resident memory (the cache grows only as it is used).
CACHE_KIB = 16 * 1024
# One ingest transaction of a large file (see bulk_writes) touches index pages
# all over the primary key of random test ids: with 64 MiB the pages of a
# million results' indexes stay cached and the writer is ~10-20% faster than
# with 16 MiB (bench/bench_ingest.py). Only for that transaction.
BULK_CACHE_KIB = 64 * 1024
# Keep the WAL file from staying huge after a big transaction.
JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024


def sqlite_path(url: str) -> str:
    """The file path of a ``sqlite:///PATH`` URL (``sqlite:////abs`` or ``sqlite:///rel``)."""
    if not url.startswith("sqlite:///"):
        raise ValueError(f"not a sqlite URL: {url!r} (expected sqlite:///PATH)")
    path = url[len("sqlite:///") :]
    if not path:
        raise ValueError(f"no database path in {url!r}")
    return path


def _merge_json(stored: str | None, incoming: str | None, incoming_wins: int) -> str | None:
    if stored is None:
        return incoming
    if incoming is None:
        return stored
    old, new = json.loads(stored), json.loads(incoming)
    merged = {**old, **new} if incoming_wins else {**new, **old}
    return json.dumps(merged, sort_keys=True, separators=(",", ":"))


class SqliteDatabase(Database):
    dialect = SQLITE

    def __init__(self, path: str, *, display_url: str, busy_timeout: float) -> None:
        super().__init__(display_url)
        self.path = path
        self.busy_timeout = busy_timeout
        if sqlite3.sqlite_version_info < MIN_SQLITE_VERSION:
            raise StorageError(
                f"{display_url}: SQLite {sqlite3.sqlite_version} is too old; gatehouse needs "
                f"{'.'.join(map(str, MIN_SQLITE_VERSION))} or newer",
                hint="use a Python built against a newer SQLite",
            )
        if path != ":memory:":
            parent = os.path.dirname(os.path.abspath(path))
            try:
                os.makedirs(parent, exist_ok=True)
            except OSError as exc:
                raise StorageError(
                    f"{display_url}: cannot create the data directory {parent}: {exc.strerror}"
                ) from exc
        try:
            self._conn = sqlite3.connect(
                path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise self.storage_error(exc, "open the database") from exc
        try:
            self._enable_wal()
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            self._conn.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")
            self._conn.create_function("gh_merge_json", 3, _merge_json, deterministic=True)
        except sqlite3.Error as exc:
            self._conn.close()
            raise self.storage_error(exc, "open the database") from exc

    def _enable_wal(self) -> None:
        """Switch to WAL, retrying while another process creates the same database.

        Changing the journal mode needs an exclusive lock that SQLite's busy
        handler does not wait for, so two processes opening a new database at
        the same moment would otherwise see "database is locked" at once.
        """
        deadline = time.monotonic() + self.busy_timeout
        delay = 0.005
        while True:
            try:
                self._conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.1)

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        cursor = self._conn.cursor()
        # IMMEDIATE takes the write lock now: a second writer waits (busy_timeout)
        # here, before doing any work, rather than failing at its first write.
        cursor.execute("BEGIN IMMEDIATE")
        try:
            yield cursor
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise
        else:
            cursor.execute("COMMIT")

    @contextmanager
    def bulk_writes(self, session: Any) -> Iterator[None]:
        session.execute(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
        try:
            yield
        finally:
            # Back to the everyday size; SQLite frees the pages beyond it.
            self._conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")

    def _cursor(self) -> Any:
        return self._conn.cursor()

    def _close(self) -> None:
        self._conn.close()

    def is_driver_error(self, exc: BaseException) -> bool:
        # sqlite3 raises UnicodeEncodeError (lone surrogates) and OverflowError
        # (integers beyond 64 bits) while binding parameters.
        return isinstance(exc, sqlite3.Error | UnicodeEncodeError | OverflowError)

    def hint(self, exc: BaseException) -> str | None:
        text = str(exc)
        if "database is locked" in text or "database is busy" in text:
            return (
                f"another process held the write lock for more than {self.busy_timeout:g}s "
                "(is another gatehouse writing?); raise storage.busy_timeout to wait longer"
            )
        if "readonly" in text:
            return f"check that {self.path} and its directory are writable"
        if "unable to open" in text:
            return f"check that the directory of {self.path} exists and is writable"
        if "not a database" in text or "malformed" in text:
            return f"{self.path} is not a gatehouse database (or is damaged)"
        return None

    def schema_version(self) -> int:
        with self._lock:
            self._check_open("read the schema version")
            try:
                row = self._conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):
                    return 0
                raise self.storage_error(exc, "read the schema version") from exc
            except sqlite3.Error as exc:
                raise self.storage_error(exc, "read the schema version") from exc
        return int(row[0]) if row and row[0] is not None else 0
