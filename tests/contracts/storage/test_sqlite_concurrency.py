"""SQLite with more than one process: WAL readers beside a writer, waiting writers, locks.

The "other process" is a real Python process using the real store, holding a
write transaction open until the test tells it (over its stdin) to commit, so
every interleaving here is forced, not hoped for. Nothing sleeps.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from gatehouse.core.ports import PipelineRecord
from gatehouse.errors import StorageError
from gatehouse.storage import Store, open_store

# Opens the store, inserts a pipeline inside a write transaction, says "holding",
# and commits only when a line arrives on stdin.
_HOLD_A_WRITE = """
import sys
from gatehouse.storage import open_store
store = open_store(sys.argv[1])
with store.database.write("hold the write lock") as s:
    s.execute(
        "INSERT INTO pipelines (project_dir, ref, sha, event, source, status, created_at, "
        "variables) VALUES ('/held', 'main', NULL, 'push', 'local', 'created', 5.0, '{}')"
    )
    print("holding", flush=True)
    sys.stdin.readline()
store.close()
print("committed", flush=True)
"""

_READ_PIPELINES = """
import sys
from gatehouse.storage import open_store
with open_store(sys.argv[1]) as store:
    print(",".join(p.project_dir for p in store.runs.list_pipelines()))
"""


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/gatehouse.db"


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    with open_store(url) as opened:
        yield opened


def _create(store: Store, project_dir: str) -> PipelineRecord:
    return store.runs.create_pipeline(
        project_dir=project_dir, ref="main", sha=None, event="push", created_at=1.0
    )


@contextmanager
def _another_process_writing(url: str) -> Iterator[subprocess.Popen[str]]:
    """A second process inside an uncommitted write transaction for the duration."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLD_A_WRITE, url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdin is not None
    try:
        line = proc.stdout.readline()
        assert line == "holding\n", proc.stderr.read() if proc.stderr else line
        yield proc
    finally:
        if proc.poll() is None:
            proc.stdin.write("commit\n")
            proc.stdin.flush()
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert out == "committed\n"


def test_the_database_is_in_wal_mode(store: Store, tmp_path: Path) -> None:
    raw = sqlite3.connect(tmp_path / "gatehouse.db")
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        raw.close()


def test_a_reader_sees_committed_state_while_another_process_writes(store: Store, url: str) -> None:
    _create(store, "/committed")
    with _another_process_writing(url):
        # Not blocked, and not seeing the other process's uncommitted row.
        assert [p.project_dir for p in store.runs.list_pipelines()] == ["/committed"]
    assert [p.project_dir for p in store.runs.list_pipelines()] == ["/held", "/committed"]


def test_a_reader_process_runs_while_this_process_holds_the_write_lock(
    store: Store, url: str
) -> None:
    _create(store, "/committed")
    assert store.database is not None
    with store.database.write("hold the write lock") as s:
        s.execute(
            "INSERT INTO pipelines (project_dir, ref, event, source, status, created_at, "
            "variables) VALUES ('/uncommitted', 'main', 'push', 'local', 'created', 2.0, '{}')"
        )
        reader = subprocess.run(
            [sys.executable, "-c", _READ_PIPELINES, url],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert reader.returncode == 0, reader.stderr
    assert reader.stdout == "/committed\n"


def test_a_writer_gives_up_after_busy_timeout_with_a_clear_error(url: str) -> None:
    with open_store(url), _another_process_writing(url):
        impatient = open_store(url, busy_timeout=0.05)
        try:
            with pytest.raises(StorageError, match="database is locked") as caught:
                _create(impatient, "/impatient")
            assert "create a pipeline failed" in caught.value.message
            assert caught.value.hint is not None
            assert "busy_timeout" in caught.value.hint
        finally:
            impatient.close()
    with open_store(url) as after:
        assert [p.project_dir for p in after.runs.list_pipelines()] == ["/held"]


def test_a_second_writer_waits_for_the_first_and_then_succeeds(url: str) -> None:
    with open_store(url, busy_timeout=60) as patient:
        outcome: list[object] = []
        with _another_process_writing(url):
            writer = threading.Thread(target=lambda: outcome.append(_create(patient, "/patient")))
            writer.start()
        writer.join(timeout=60)
        assert not writer.is_alive()
        (created,) = outcome
        assert isinstance(created, PipelineRecord)
        held, mine = sorted(patient.runs.list_pipelines(), key=lambda p: p.id)
        # The other process inserted first and committed first: ids show the order.
        assert (held.project_dir, mine.project_dir) == ("/held", "/patient")


def _insert_then_fail(store: Store) -> None:
    assert store.database is not None
    with store.database.write("fail half-way") as s:
        s.execute(
            "INSERT INTO pipelines (project_dir, ref, event, source, status, created_at, "
            "variables) VALUES ('/half', 'main', 'push', 'local', 'created', 2.0, '{}')"
        )
        raise RuntimeError("boom")


def test_a_failed_write_rolls_back_and_the_connection_stays_usable(store: Store) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        _insert_then_fail(store)
    assert store.runs.list_pipelines() == []
    assert _create(store, "/after").id >= 1
