"""The bubblewrap sandbox: what a job can and cannot reach."""

from __future__ import annotations

import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gatehouse.artifacts.store import LocalBlobStore
from gatehouse.core.ports import ArtifactSpec, FailureReason, JobRequest
from gatehouse.errors import ExecutorError
from gatehouse.executors.sandbox import SandboxExecutor
from gatehouse.executors.workspace import Workspaces

from .conftest import Gate, log_text, output_lines, process_is_dead, run

Make = Callable[..., JobRequest]


@pytest.fixture
def tmp_path() -> Iterator[Path]:
    """Test files outside /tmp: inside the sandbox /tmp is the job's own empty tmpfs."""
    path = Path(tempfile.mkdtemp(prefix="gatehouse-sandbox-test-", dir="/var/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


CONNECT_POSTGRES = (
    "(exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null && echo connected || echo no-network"
)


@pytest.fixture
def postgres_listening(postgres_url: str) -> str:
    """The local PostgreSQL answers outside the sandbox (the control for the no-network test)."""
    with socket.create_connection(("127.0.0.1", 5432), timeout=2):
        pass
    return postgres_url


def test_no_network_by_default(
    sandbox: SandboxExecutor, request_for: Make, postgres_listening: str
) -> None:
    request = request_for(CONNECT_POSTGRES)
    assert run(sandbox, request).succeeded
    assert output_lines(request)[-1] == "no-network"


def test_network_when_the_job_opts_in(
    sandbox: SandboxExecutor, request_for: Make, postgres_listening: str
) -> None:
    request = request_for(CONNECT_POSTGRES, network=True)
    assert run(sandbox, request).succeeded
    assert output_lines(request)[-1] == "connected"


def test_the_host_is_read_only(
    sandbox: SandboxExecutor, request_for: Make, project: Path, tmp_path: Path
) -> None:
    request = request_for(
        # visible, but read-only (not merely absent)
        f"if test -f {project}/README; then echo project-visible; fi",
        _read_only_probe(f"touch {project}/new-file", "project"),
        _read_only_probe("touch /usr/new-file", "usr"),
        _read_only_probe(f"echo x >> {project}/README", "readme"),
    )
    assert run(sandbox, request).succeeded
    lines = output_lines(request)
    assert {"project-visible", "project-ro", "usr-ro", "readme-ro"} <= set(lines)
    assert not (project / "new-file").exists()
    assert "x" not in (project / "README").read_text()


def test_tmp_is_private(sandbox: SandboxExecutor, request_for: Make, tmp_path: Path) -> None:
    host_file = Path("/tmp") / f"gatehouse-host-visible-{tmp_path.name}"
    host_file.write_text("host")
    try:
        request = request_for(
            f"test -e {host_file} && echo sees-host-tmp || echo private-tmp",
            "echo inside > /tmp/written-inside && cat /tmp/written-inside",
            'echo "TMPDIR=$TMPDIR"',
        )
        assert run(sandbox, request).succeeded
        lines = output_lines(request)
        assert "private-tmp" in lines
        assert "inside" in lines
        assert "TMPDIR=/tmp" in lines
        assert not Path("/tmp/written-inside").exists()
    finally:
        host_file.unlink()


def test_the_workspace_and_home_are_writable(sandbox: SandboxExecutor, request_for: Make) -> None:
    request = request_for(
        "echo built > out.bin",
        'mkdir -p "$HOME/.cache" && echo c > "$HOME/.cache/x"',
        "cat out.bin",
        artifacts_out=ArtifactSpec(paths=("out.bin",)),
    )
    outcome = run(sandbox, request)
    assert outcome.succeeded
    assert "built" in output_lines(request)
    assert outcome.artifacts is not None
    assert [f.path for f in outcome.artifacts.files] == ["out.bin"]


def test_store_and_other_workspaces_are_hidden(
    sandbox: SandboxExecutor, store: LocalBlobStore, workspaces: Workspaces, request_for: Make
) -> None:
    blob = store.put_path(__file__)
    request = request_for(
        f"ls -A {store.root} | wc -l",
        f"ls {workspaces.root}/jobs | wc -l",
        f"echo tamper > {store.blob_path(blob.sha256)} || echo store-protected",
    )
    assert run(sandbox, request).succeeded
    lines = output_lines(request)
    assert lines[1] == "0"  # the store's directory is an empty tmpfs in here
    assert lines[3] == "1"  # only this job's own directory
    with store.open(blob) as stream:
        assert stream.read() == Path(__file__).read_bytes()


def test_only_its_own_processes_are_visible(sandbox: SandboxExecutor, request_for: Make) -> None:
    request = request_for("ls /proc | grep -c '^[0-9]'")
    assert run(sandbox, request).succeeded
    assert int(output_lines(request)[-1]) <= 5


def test_timeout_kills_everything_inside_even_escaped_daemons(
    sandbox: SandboxExecutor, request_for: Make, tmp_path: Path
) -> None:
    request = request_for(
        "trap '' TERM",
        "setsid sleep 600.101 &",  # escapes the session: only the PID namespace catches it
        "sleep 600.102",
        timeout=1.0,
    )
    outcome = run(sandbox, request)
    assert outcome.failure_reason is FailureReason.JOB_EXECUTION_TIMEOUT
    assert "execution took longer than 1s" in log_text(request)
    assert _sleepers("600.101", "600.102") == []


def test_processes_left_behind_die_with_the_sandbox(
    sandbox: SandboxExecutor, request_for: Make
) -> None:
    request = request_for("setsid sleep 600.201 > /dev/null 2>&1 &", "echo done")
    assert run(sandbox, request).succeeded
    assert _sleepers("600.201") == []


def test_cancel_inside_the_sandbox(
    sandbox: SandboxExecutor, request_for: Make, gate: Callable[..., Gate], tmp_path: Path
) -> None:
    fifo = gate()
    request = request_for(
        f"echo ready > {fifo.path}",
        "sleep 600.301",
        after_script=("echo after=$CI_JOB_STATUS",),
        timeout=120,  # only reached if the gate is broken: fail instead of hanging
    )
    outcome = fifo.cancel_when_reached(sandbox, request)
    assert outcome.failure_reason is FailureReason.CANCELED
    assert "after=canceled" in output_lines(request)
    assert _sleepers("600.301") == []


def test_missing_bwrap_is_an_executor_error(
    store: LocalBlobStore, workspaces: Workspaces, request_for: Make
) -> None:
    import asyncio

    missing = SandboxExecutor(store, workspaces, bwrap="/no/such/bwrap")
    with pytest.raises(ExecutorError) as info:
        missing.check()
    assert "bubblewrap" in info.value.message
    assert info.value.hint is not None
    assert "apt-get install bubblewrap" in info.value.hint
    with pytest.raises(ExecutorError):
        asyncio.run(missing.run(request_for("true"), asyncio.Event()))
    by_name = SandboxExecutor(store, workspaces, bwrap="no-such-bwrap-program")
    with pytest.raises(ExecutorError, match="was not found"):
        by_name.check()


def test_bwrap_that_cannot_make_namespaces(
    store: LocalBlobStore, workspaces: Workspaces, tmp_path: Path
) -> None:
    fake = tmp_path / "bwrap"
    fake.write_text(
        "#!/bin/sh\necho 'bwrap: No permissions to creating new namespace' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    with pytest.raises(ExecutorError, match="cannot create a sandbox") as info:
        SandboxExecutor(store, workspaces, bwrap=str(fake)).check()
    assert info.value.hint is not None
    assert "user namespaces" in info.value.hint


def _read_only_probe(command: str, name: str) -> str:
    return (
        f"if ( {command} ) 2>/tmp/err; then echo {name}-writable; "
        f"elif grep -q 'Read-only file system' /tmp/err; then echo {name}-ro; fi"
    )


def _sleepers(*durations: str) -> list[int]:
    """Living ``sleep DURATION`` processes after a moment's grace (SIGKILL is asynchronous)."""
    import time

    deadline = time.monotonic() + 10
    while (alive := _living_sleepers(*durations)) and time.monotonic() < deadline:
        time.sleep(0.01)
    return alive


def _living_sleepers(*durations: str) -> list[int]:
    """Living ``sleep DURATION`` processes; each test uses durations of its own."""
    wanted = {b"sleep\x00" + d.encode() + b"\x00" for d in durations}
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if cmdline in wanted and not process_is_dead(int(entry.name)):
            alive.append(int(entry.name))
    return alive
