"""The schema's history: numbered, forward-only migrations in portable SQL.

Each migration is a file ``NNNN_name.sql`` in this package, listed in
:data:`MIGRATIONS` in order; migration ``N`` is ``MIGRATIONS[N - 1]``. A
migration is never edited once released: a change to the schema is a new
file. :data:`LATEST_VERSION` is all that opening a store needs to know, so the
version check at open reads no file.
"""

from __future__ import annotations

import os

MIGRATIONS: tuple[str, ...] = ("0001_initial", "0002_full_kcidb", "0003_gate")
LATEST_VERSION = len(MIGRATIONS)


def migration_text(version: int) -> str:
    """The SQL source of migration ``version`` (1-based)."""
    if not 1 <= version <= LATEST_VERSION:
        raise ValueError(f"no migration {version} (this gatehouse knows 1..{LATEST_VERSION})")
    path = os.path.join(os.path.dirname(__file__), f"{MIGRATIONS[version - 1]}.sql")
    with open(path, encoding="utf-8") as handle:
        return handle.read()
