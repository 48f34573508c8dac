"""``gatehouse db status|migrate`` against real SQLite and PostgreSQL databases."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from gatehouse.cli import db as db_command
from gatehouse.errors import EXIT_FAILED, EXIT_OK, StorageError
from gatehouse.storage import open_store
from gatehouse.storage.migrations import LATEST_VERSION, MIGRATIONS


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="gatehouse")
    db_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["db", *argv])
    return int(args.handler(args))


def test_status_of_a_fresh_sqlite_database_lists_pending_migrations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _run("status", "--project-dir", str(tmp_path))
    out = capsys.readouterr().out
    assert code == EXIT_FAILED
    assert f"sqlite:///{tmp_path}/.gatehouse/gatehouse.db" in out
    assert f"schema version: 0 (this gatehouse: {LATEST_VERSION})" in out
    assert f"pending: {MIGRATIONS[0]}" in out


def test_migrate_then_status_is_up_to_date(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/g.db"
    assert _run("migrate", "--database-url", url) == EXIT_OK
    assert capsys.readouterr().out == "".join(f"applied: {m}\n" for m in MIGRATIONS)
    assert _run("migrate", "--database-url", url) == EXIT_OK
    assert "up to date" in capsys.readouterr().out
    assert _run("status", "--database-url", url, "--json") == EXIT_OK
    report = json.loads(capsys.readouterr().out)
    assert report["version"] == LATEST_VERSION
    assert report["pending"] == []
    assert [a["name"] for a in report["applied"]] == list(MIGRATIONS)


def test_the_data_dir_setting_comes_from_gatehouse_toml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "gatehouse.toml").write_text('[storage]\ndata_dir = "state"\n')
    assert _run("migrate", "--project-dir", str(tmp_path)) == EXIT_OK
    capsys.readouterr()
    assert (tmp_path / "state" / "gatehouse.db").is_file()


@pytest.mark.postgres
def test_an_operator_migrates_postgres(pg_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(StorageError):
        open_store(pg_url)
    assert _run("status", "--database-url", pg_url) == EXIT_FAILED
    assert _run("migrate", "--database-url", pg_url, "--json") == EXIT_OK
    out = capsys.readouterr().out.splitlines()[-1]
    assert json.loads(out)["applied"] == list(MIGRATIONS)
    with open_store(pg_url) as store:
        assert store.runs.list_pipelines() == []
