"""Fixtures for the executor tests: a real git project, a store, executors, and a way to sync with a job.

Synchronisation without sleeps: a job that must be canceled "while it runs"
writes a line into a FIFO (``$GATE``) and the test's reader thread sets the
cancel token when the line arrives, so the cancel happens at a known point
of the script whatever the machine's load.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gatehouse.artifacts.memory import MemoryBlobStore
from gatehouse.artifacts.store import LocalBlobStore
from gatehouse.core.ports import JobOutcome, JobRequest, WorkspaceSource
from gatehouse.errors import ExecutorError
from gatehouse.executors.sandbox import SandboxExecutor
from gatehouse.executors.shell import ShellExecutor
from gatehouse.executors.workspace import Workspaces

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
GIT = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com"]
# What a job's shell needs to find its tools; the CLI passes the user's PATH the same way.
HOST_PATH = os.environ.get("PATH", "/usr/bin:/bin")


def git(project: Path, *args: str) -> str:
    return subprocess.run(
        [*GIT, "-C", str(project), *args], check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A git project: committed files, then an uncommitted change and an untracked file."""
    root = tmp_path / "myproject"
    (root / "src").mkdir(parents=True)
    (root / "README").write_text("committed\n")
    (root / "src" / "main.c").write_text("int main(void) { return 0; }\n")
    (root / "run.sh").write_text("#!/bin/sh\necho run\n")
    (root / "run.sh").chmod(0o755)
    (root / "link").symlink_to("README")
    (root / "gone.txt").write_text("deleted later\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "first")
    (root / "README").write_text("committed\nplus an uncommitted change\n")
    (root / "untracked.txt").write_text("not in git\n")
    (root / "gone.txt").unlink()
    return root


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(str(tmp_path / "data" / "artifacts"))


@pytest.fixture
def workspaces(tmp_path: Path) -> Workspaces:
    return Workspaces(str(tmp_path / "data" / "work"))


@pytest.fixture
def shell(store: LocalBlobStore, workspaces: Workspaces) -> ShellExecutor:
    return ShellExecutor(store, workspaces, kill_grace=0.3)


@pytest.fixture(scope="session")
def bwrap_works() -> None:
    probe = SandboxExecutor(MemoryBlobStore(), Workspaces("/nonexistent"))
    try:
        probe.check()
    except ExecutorError as exc:
        if IN_CI:
            pytest.fail(f"bubblewrap does not work here: {exc.message}")
        pytest.skip(f"bubblewrap does not work here: {exc.message}")


@pytest.fixture
def sandbox(store: LocalBlobStore, workspaces: Workspaces, bwrap_works: None) -> SandboxExecutor:
    return SandboxExecutor(store, workspaces, kill_grace=0.3, hide=(store.root,))


@pytest.fixture
def request_for(project: Path, tmp_path: Path) -> Callable[..., JobRequest]:
    """A JobRequest for the project with a log file; keyword arguments override fields."""
    counter = iter(range(1, 1000))

    def make(*scripts: str, **fields: Any) -> JobRequest:
        n = next(counter)
        env = {"PATH": HOST_PATH, **fields.pop("env", {})}
        defaults: dict[str, Any] = {
            "attempt_id": f"1/{n}",
            "job_name": f"job{n}",
            "scripts": scripts,
            "env": env,
            "source": WorkspaceSource(str(project)),
            "log_path": str(tmp_path / f"job{n}.log"),
        }
        defaults.update(fields)
        return JobRequest(**defaults)

    return make


def run(executor: Any, request: JobRequest, cancel: asyncio.Event | None = None) -> JobOutcome:
    async def main() -> JobOutcome:
        return await executor.run(request, cancel or asyncio.Event())  # type: ignore[no-any-return]

    return asyncio.run(main())


def log_text(request: JobRequest) -> str:
    return Path(request.log_path).read_text()


def output_lines(request: JobRequest) -> list[str]:
    """The job's own output lines (kind O), without prefixes."""
    return [line[27:] for line in log_text(request).splitlines() if line[25:26] == "O"]


class Gate:
    """A FIFO the job writes to; when ``lines`` lines have arrived the cancel token is set."""

    def __init__(self, path: Path, lines: int = 1) -> None:
        self.path = path
        self.lines = lines
        os.mkfifo(path)
        self.received: list[str] = []

    def cancel_when_reached(self, executor: Any, request: JobRequest) -> JobOutcome:
        async def main() -> JobOutcome:
            loop = asyncio.get_running_loop()
            cancel = asyncio.Event()

            def reader() -> None:
                with open(self.path) as fifo:
                    while len(self.received) < self.lines:
                        line = fifo.readline()
                        if not line:
                            break
                        self.received.append(line.strip())
                loop.call_soon_threadsafe(cancel.set)

            threading.Thread(target=reader, daemon=True).start()
            return await executor.run(request, cancel)  # type: ignore[no-any-return]

        return asyncio.run(main())


def process_is_dead(pid: int) -> bool:
    """Gone, or a zombie nobody reaped yet (this machine's PID 1 does not reap)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stream:
            data = stream.read()
    except FileNotFoundError:
        return True
    return data[data.rfind(b")") + 2 :].split()[0] in (b"Z", b"X")


def wait_dead(pid: int, within: float = 10.0) -> bool:
    """Whether ``pid`` is dead, allowing a moment for an asynchronously delivered SIGKILL."""
    import time

    deadline = time.monotonic() + within
    while not process_is_dead(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@pytest.fixture
def gate(tmp_path: Path) -> Callable[..., Gate]:
    return lambda name="gate", lines=1: Gate(tmp_path / name, lines)
