"""Fixtures for the storage contract tests: every adapter, each test on an empty database.

``store`` is parametrized over the in-memory, SQLite and PostgreSQL adapters.
The PostgreSQL server is shared with other people's tests running at the same
time, so every test gets its own uniquely named schema (selected through the
connection's ``search_path``), dropped afterwards; the session drops anything
left over under its prefix.

(A directory of its own, so other contract suites keep their own conftest.)
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from gatehouse.storage import Store, open_store

ADAPTERS = [
    pytest.param("memory", id="memory"),
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]
SQL_ADAPTERS = ADAPTERS[1:]


def with_search_path(url: str, schema: str) -> str:
    """``url`` with libpq ``options`` selecting ``schema`` as the search path."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "options"]
    query.append(("options", f"-csearch_path={schema}"))
    return urlunsplit(parts._replace(query=urlencode(query)))


class PostgresSchemas:
    """Creates uniquely named schemas on the shared server and drops them again."""

    def __init__(self, base_url: str) -> None:
        import psycopg

        self.base_url = base_url
        self.prefix = f"gh_storage_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self._counter = itertools.count(1)
        self._admin = psycopg.connect(base_url, autocommit=True)

    def create(self) -> tuple[str, str]:
        """A new empty schema: (name, URL whose search_path selects it)."""
        name = f"{self.prefix}_{next(self._counter)}"
        self._admin.execute(f'CREATE SCHEMA "{name}"')
        return name, with_search_path(self.base_url, name)

    def drop(self, name: str) -> None:
        self._admin.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')

    def drop_all(self) -> None:
        rows = self._admin.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (self.prefix + "%",)
        ).fetchall()
        for (name,) in rows:
            self.drop(name)
        self._admin.close()


@pytest.fixture(scope="session")
def pg_schemas(postgres_url: str) -> Iterator[PostgresSchemas]:
    schemas = PostgresSchemas(postgres_url)
    yield schemas
    schemas.drop_all()


@pytest.fixture
def pg_url(pg_schemas: PostgresSchemas) -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL schema (no migrations applied)."""
    name, url = pg_schemas.create()
    yield url
    pg_schemas.drop(name)


@pytest.fixture(params=SQL_ADAPTERS)
def empty_url(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> str:
    """The URL of a fresh, empty SQL database: SQLite and PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/gatehouse.db"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture(params=ADAPTERS)
def store(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> Iterator[Store]:
    """An open, empty store of every adapter kind."""
    if request.param == "memory":
        opened = open_store("memory:")
    elif request.param == "sqlite":
        opened = open_store(f"sqlite:///{tmp_path}/gatehouse.db")
    else:
        opened = open_store(request.getfixturevalue("pg_url"), migrate=True)
    yield opened
    opened.close()
