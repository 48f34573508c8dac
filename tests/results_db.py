"""Fresh results databases for tests: SQLite files and PostgreSQL schemas, already migrated.

The PostgreSQL server is shared with other people's tests running at the
same time, so each test gets its own uniquely named schema (selected through
the connection's ``search_path``), dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from gatehouse.storage import open_store

KINDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


def with_search_path(url: str, schema: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "options"]
    query.append(("options", f"-csearch_path={schema}"))
    return urlunsplit(parts._replace(query=urlencode(query)))


def database_url(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated, empty database of ``kind``; PostgreSQL schemas are dropped afterwards."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path}/results.db"
        open_store(url).close()
        yield url
        return
    import psycopg

    base: str = request.getfixturevalue("postgres_url")
    schema = f"gh_results_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    url = with_search_path(base, schema)
    try:
        open_store(url, migrate=True).close()
        yield url
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
