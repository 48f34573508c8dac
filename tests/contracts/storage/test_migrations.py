"""Opening a store: migrations from empty, idempotent re-open, refusals, settings and URLs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gatehouse.errors import StorageError, UsageError
from gatehouse.settings import resolve
from gatehouse.storage import migrate as migrate_module
from gatehouse.storage import open_store
from gatehouse.storage import store as store_module
from gatehouse.storage.migrate import applied_migrations, migrate, split_statements
from gatehouse.storage.migrations import LATEST_VERSION, MIGRATIONS, migration_text
from gatehouse.storage.settings import StorageSettings
from gatehouse.storage.store import open_database, redact

TABLES = (
    "pipelines",
    "jobs",
    "artifact_sets",
    "artifact_files",
    "audit_log",
    "checkouts",
    "builds",
    "tests",
    "issues",
    "incidents",
)
MIGRATIONS_DIR = Path(migrate_module.__file__).parent / "migrations"


def _count(url: str, table: str) -> int:
    db = open_database(url)
    try:
        with db.read("count") as s:
            row = s.one(f"SELECT COUNT(*) FROM {table}")
        assert row is not None
        return int(row[0])
    finally:
        db.close()


# --------------------------------------------------------------------------- the migration files


def test_every_migration_file_is_listed_in_order() -> None:
    files = sorted(p.stem for p in MIGRATIONS_DIR.glob("*.sql"))
    assert list(MIGRATIONS) == files
    assert [int(name.split("_")[0]) for name in MIGRATIONS] == list(range(1, LATEST_VERSION + 1))


def test_statements_are_split_with_comments_dropped_and_identity_filled() -> None:
    text = "-- a comment; with a semicolon\nCREATE TABLE a (id {{identity}});\n\n  -- x\nCREATE INDEX i ON a (id);\n"
    assert split_statements(text, "INTEGER PRIMARY KEY") == [
        "CREATE TABLE a (id INTEGER PRIMARY KEY)",
        "CREATE INDEX i ON a (id)",
    ]


def test_the_initial_schema_is_portable_sql() -> None:
    """No SQLite-only or PostgreSQL-only words in the schema; only the identity hook differs."""
    statements = split_statements(migration_text(1), "{{identity}}")
    text = "\n".join(statements).upper()
    for word in ("AUTOINCREMENT", "WITHOUT ROWID", "SERIAL", "JSONB", "PRAGMA", "STRICT", "::"):
        assert word not in text
    assert len(statements) == text.count("CREATE ")
    assert "{{IDENTITY}}" in text


def test_asking_for_an_unknown_migration_is_an_error() -> None:
    with pytest.raises(ValueError, match="no migration 0"):
        migration_text(0)


# --------------------------------------------------------------------------- opening


def test_migrating_an_empty_database_creates_the_schema(empty_url: str) -> None:
    with open_store(empty_url, migrate=True) as store:
        assert store.database is not None
        assert store.database.schema_version() == LATEST_VERSION
        assert [v for v, _, _ in applied_migrations(store.database)] == list(
            range(1, LATEST_VERSION + 1)
        )
    for table in TABLES:
        assert _count(empty_url, table) == 0


def test_reopening_is_idempotent_and_keeps_the_data(empty_url: str) -> None:
    with open_store(empty_url, migrate=True) as store:
        pipeline = store.runs.create_pipeline(
            project_dir="/p", ref="main", sha=None, event="push", created_at=1.0
        )
        assert store.database is not None
        applied = applied_migrations(store.database)
    with open_store(empty_url, migrate=True) as store:
        assert store.runs.get_pipeline(pipeline.id) == pipeline
        assert store.database is not None
        assert applied_migrations(store.database) == applied
        assert migrate(store.database) == []


def test_a_newer_schema_is_refused(empty_url: str) -> None:
    with open_store(empty_url, migrate=True) as store:
        assert store.database is not None
        with store.database.write("pretend a newer gatehouse migrated") as s:
            s.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (LATEST_VERSION + 1, "9999_from_the_future", 0.0),
            )
    with pytest.raises(StorageError, match=rf"version {LATEST_VERSION + 1}, newer") as caught:
        open_store(empty_url, migrate=True)
    assert f"({LATEST_VERSION})" in caught.value.message
    assert caught.value.hint is not None
    assert "upgrade gatehouse" in caught.value.hint
    db = open_database(empty_url)
    try:
        with pytest.raises(StorageError, match="newer"):
            migrate(db)
    finally:
        db.close()


def test_without_migrating_a_stale_schema_is_refused_with_the_fix(empty_url: str) -> None:
    with pytest.raises(
        StorageError, match=f"version 0, this gatehouse needs {LATEST_VERSION}"
    ) as e:
        open_store(empty_url, migrate=False)
    assert e.value.hint is not None
    assert "gatehouse db migrate" in e.value.hint
    db = open_database(empty_url)
    try:
        assert db.schema_version() == 0
    finally:
        db.close()


@pytest.mark.postgres
def test_sqlite_migrates_by_default_and_postgres_does_not(tmp_path: Path, pg_url: str) -> None:
    with open_store(f"sqlite:///{tmp_path}/g.db") as store:
        assert store.database is not None
        assert store.database.schema_version() == LATEST_VERSION
    with pytest.raises(StorageError, match="schema is at version 0") as caught:
        open_store(pg_url)
    assert caught.value.hint is not None
    assert "gatehouse db migrate" in caught.value.hint
    db = open_database(pg_url)
    try:
        assert migrate(db) == list(range(1, LATEST_VERSION + 1))
    finally:
        db.close()
    with open_store(pg_url) as store:
        assert store.runs.list_pipelines() == []


@pytest.mark.postgres
def test_auto_migrate_setting_decides_for_postgres(pg_url: str) -> None:
    settings = StorageSettings(database_url=pg_url, auto_migrate="always")
    with open_store(settings) as store:
        assert store.database is not None
        assert store.database.schema_version() == LATEST_VERSION


def test_a_failing_migration_leaves_the_schema_as_it_was(
    empty_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_store(empty_url, migrate=True):
        pass
    broken = "CREATE TABLE half_done (x INTEGER);\nCREATE TABLE pipelines (x INTEGER);\n"
    # Pretend this gatehouse ships one more migration, a broken one.
    monkeypatch.setattr(migrate_module, "LATEST_VERSION", LATEST_VERSION + 1)
    monkeypatch.setattr(store_module, "LATEST_VERSION", LATEST_VERSION + 1)
    monkeypatch.setattr(migrate_module, "MIGRATIONS", (*MIGRATIONS, "9999_broken"))
    real_text = migrate_module.migration_text
    monkeypatch.setattr(
        migrate_module,
        "migration_text",
        lambda v: broken if v == LATEST_VERSION + 1 else real_text(v),
    )
    with pytest.raises(StorageError, match="apply schema migrations failed"):
        open_store(empty_url, migrate=True)
    db = open_database(empty_url)
    try:
        assert db.schema_version() == LATEST_VERSION
        with pytest.raises(StorageError), db.read("look for the half-done table") as s:
            s.one("SELECT COUNT(*) FROM half_done")
    finally:
        db.close()


_OPEN_AND_WRITE = """
import sys
from gatehouse.storage import open_store
from gatehouse.storage import store as store_module
with open_store(sys.argv[1], migrate=True) as store:
    store.audit.append_audit(queue="q", time=0.0, action="opened", item=sys.argv[2])
"""


def test_processes_opening_a_fresh_database_at_once_all_succeed(empty_url: str) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _OPEN_AND_WRITE, empty_url, str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(3)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], results
    with open_store(empty_url, migrate=False) as store:
        assert sorted(e.item for e in store.audit.list_audit()) == ["0", "1", "2"]
        assert store.database is not None
        assert [v for v, _, _ in applied_migrations(store.database)] == list(
            range(1, LATEST_VERSION + 1)
        )


# --------------------------------------------------------------------------- URLs, files, settings


@pytest.mark.parametrize(
    "url", ["mysql://x/y", "sqlite://relative.db", "sqlite:///", "", "/tmp/gatehouse.db"]
)
def test_an_unusable_url_is_a_usage_error(url: str) -> None:
    with pytest.raises(UsageError):
        open_store(url)


def test_a_file_that_is_not_a_database_is_a_storage_error(tmp_path: Path) -> None:
    bogus = tmp_path / "gatehouse.db"
    bogus.write_bytes(b"this is not a database file, just text " * 100)
    with pytest.raises(StorageError, match=str(bogus)) as caught:
        open_store(f"sqlite:///{bogus}")
    assert caught.value.hint is not None
    assert "not a gatehouse database" in caught.value.hint


def test_an_impossible_data_directory_is_a_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(StorageError, match="cannot create the data directory"):
        open_store(f"sqlite:///{blocker}/sub/gatehouse.db")


def test_a_closed_store_refuses_work(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/g.db")
    store.close()
    store.close()  # closing twice is harmless
    with pytest.raises(StorageError, match="closed"):
        store.runs.list_pipelines()


def test_an_unreachable_postgres_names_the_server_but_not_the_password() -> None:
    url = "postgresql://gatehouse:s3cret@127.0.0.1:1/gatehouse"
    with pytest.raises(StorageError) as caught:
        open_store(url)
    assert "127.0.0.1:1" in caught.value.message
    assert "s3cret" not in caught.value.render()
    assert caught.value.hint is not None


def test_redact_hides_only_the_password() -> None:
    assert redact("postgresql://u:pw@h:5/db?x=1") == "postgresql://u:***@h:5/db?x=1"
    assert redact("postgresql://u@h/db") == "postgresql://u@h/db"
    assert redact("sqlite:////tmp/a:b@c.db") == "sqlite:////tmp/a:b@c.db"


def test_default_settings_put_sqlite_in_the_project_data_dir(tmp_path: Path) -> None:
    settings = StorageSettings()
    assert settings.url(str(tmp_path)) == f"sqlite:///{tmp_path}/.gatehouse/gatehouse.db"
    with open_store(settings, project_dir=str(tmp_path)) as store:
        store.runs.create_pipeline(
            project_dir=str(tmp_path), ref="main", sha=None, event="push", created_at=0.0
        )
    assert (tmp_path / ".gatehouse" / "gatehouse.db").is_file()


def test_settings_resolve_from_the_environment_and_the_file(tmp_path: Path) -> None:
    settings = resolve(
        StorageSettings,
        env={
            "GATEHOUSE_DATA_DIR": str(tmp_path / "state"),
            "GATEHOUSE_DB_BUSY_TIMEOUT": "1m",
            "GATEHOUSE_DB_AUTO_MIGRATE": "no",
        },
        file={"storage": {"database_url": "postgresql://db/gatehouse", "data_dir": "ignored"}},
    )
    assert settings.data_dir == str(tmp_path / "state")
    assert settings.busy_timeout == 60.0
    assert settings.auto_migrate == "never"
    assert settings.url() == "postgresql://db/gatehouse"


def test_a_bad_setting_names_where_it_came_from() -> None:
    with pytest.raises(UsageError, match="GATEHOUSE_DB_AUTO_MIGRATE: expected one of"):
        resolve(StorageSettings, env={"GATEHOUSE_DB_AUTO_MIGRATE": "sometimes"})
