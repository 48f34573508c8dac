"""Fixtures for the results database tests: a store of every kind, a corpus path helper."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gatehouse.storage import Store, open_store
from results_db import KINDS, database_url

STORES = [pytest.param("memory", id="memory"), *KINDS]


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An open, empty store: in-memory, SQLite and PostgreSQL."""
    if request.param == "memory":
        with open_store("memory:") as opened:
            yield opened
        return
    for url in database_url(request.param, tmp_path, request):
        with open_store(url) as opened:
            yield opened


@pytest.fixture(params=KINDS)
def sql_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An open, empty SQL store (SQLite and PostgreSQL): the two-process ingest path."""
    for url in database_url(request.param, tmp_path, request):
        with open_store(url) as opened:
            yield opened
