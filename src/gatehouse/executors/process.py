"""One process of a job: started in its own session, its output pumped into the log, stopped for good.

Starting: the shell is started with ``setsid`` (a new session whose id is the
shell's pid, and a new process group with the same id), stdin from
``/dev/null``, stdout and stderr on the *same* pipe so the log keeps the order
in which the job wrote them. The pipe is enlarged to 1 MiB where the kernel
allows it, so a chatty job rarely waits for us.

Waiting: the process's exit is watched through a pidfd (``pidfd_open``, Linux
≥ 5.3) registered with the event loop like any file descriptor. asyncio's own
subprocess support starts a thread per child to wait for it, which cost more
than the rest of the executor's per-job work together; a thread is only the
fallback where pidfds are missing.

Pumping: the read end is watched by the event loop (``add_reader``) and each
readiness reads up to 1 MiB and hands it to the :class:`LogWriter` as it is —
no line splitting here. The pump keeps reading after the log's cap, so the
job never blocks on a full pipe.

Ending: whichever comes first of the shell's exit, the timeout and the cancel
token. On timeout or cancel the whole session is stopped (below). After a
normal exit, processes the job left running in the background (``sleep 600
&``) are stopped the same way, so a job never leaves an orphan and never holds
its pipe open. A process that escaped the session *and* still holds the pipe
(a daemon that ``setsid``-ed itself) cannot hold us hostage either: after the
kill grace we stop reading and say so in the log.

Stopping a session: SIGTERM to every living member — every process whose
session id or process group is the job's — then, after ``kill_grace``
seconds, SIGKILL to whatever is still alive, repeated until nothing is (a
process forking while it is being killed is caught on the next round).
Members are found by scanning ``/proc`` (zombies do not count: they are dead,
only not yet reaped by their new parent). This catches grandchildren that
trap SIGTERM and background jobs that moved to their own process group; only
a process that calls ``setsid`` escapes, which is what the sandbox's PID
namespace is for. The sandbox spares its ``bwrap`` process from the SIGTERM
round — killing it would SIGKILL the job without a grace period — and lets
the SIGKILL round take it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gatehouse.core.ports import CancelToken

from .joblog import LogWriter

_F_SETPIPE_SZ = 1031
_PIPE_SIZE = 1 << 20
_READ_SIZE = 1 << 20

EXITED = "exited"
TIMED_OUT = "timeout"
CANCELED = "canceled"


@dataclass(frozen=True, slots=True)
class ProcessEnd:
    """How a job process ended: ``exit_code`` is ``None`` when we killed it."""

    exit_code: int | None
    reason: str  # EXITED | TIMED_OUT | CANCELED


def session_members(session: int) -> list[int]:
    """Living processes whose session or process group is ``session``."""
    members = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stream:
                data = stream.read()
        except OSError:
            continue
        fields = data[data.rfind(b")") + 2 :].split()
        if fields[0] in (b"Z", b"X"):
            continue
        if int(fields[2]) == session or int(fields[3]) == session:
            members.append(int(name))
    return members


def _signal_all(pids: Sequence[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)


async def stop_session(session: int, *, grace: float, spare: frozenset[int] = frozenset()) -> int:
    """SIGTERM, wait up to ``grace`` seconds, then SIGKILL; returns how many were signalled."""
    members = session_members(session)
    if not members:
        return 0
    _signal_all([p for p in members if p not in spare], signal.SIGTERM)
    deadline = time.monotonic() + grace
    delay = 0.002
    while time.monotonic() < deadline:
        if not session_members(session):
            return len(members)
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.1)
    for _ in range(200):
        remaining = session_members(session)
        if not remaining:
            break
        _signal_all(remaining, signal.SIGKILL)
        await asyncio.sleep(0.005)
    return len(members)


def kill_session_now(session: int) -> None:
    """SIGKILL every member at once (for when we cannot wait: our task is being cancelled)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(session, signal.SIGKILL)
    _signal_all(session_members(session), signal.SIGKILL)


def _wait_for_exit(
    loop: asyncio.AbstractEventLoop, proc: subprocess.Popen[bytes]
) -> asyncio.Future[None]:
    """A future that completes when ``proc`` exits (it is not reaped: call ``proc.wait()``)."""
    exited: asyncio.Future[None] = loop.create_future()
    try:
        pidfd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        waiter = loop.run_in_executor(None, proc.wait)

        def done(_: object) -> None:
            if not exited.done():
                exited.set_result(None)

        waiter.add_done_callback(done)
        return exited

    def on_exit() -> None:
        loop.remove_reader(pidfd)
        os.close(pidfd)
        if not exited.done():
            exited.set_result(None)

    def forget(future: asyncio.Future[None]) -> None:
        if future.cancelled():  # our task was cancelled before the exit
            loop.remove_reader(pidfd)
            os.close(pidfd)

    loop.add_reader(pidfd, on_exit)
    exited.add_done_callback(forget)
    return exited


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def run_process(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str,
    log: LogWriter,
    timeout: float,
    cancel: CancelToken | None,
    kill_grace: float,
    spare_leader: bool = False,
) -> ProcessEnd:
    """Run ``argv`` to its end, its timeout or cancellation; see the module docstring."""
    loop = asyncio.get_running_loop()
    read_fd, write_fd = os.pipe()
    with contextlib.suppress(OSError):
        import fcntl

        fcntl.fcntl(write_fd, _F_SETPIPE_SZ, _PIPE_SIZE)
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=write_fd,
            stderr=write_fd,
            cwd=cwd,
            env=dict(env),
            start_new_session=True,
        )
    except BaseException:
        os.close(read_fd)
        os.close(write_fd)
        raise
    os.close(write_fd)
    session = proc.pid
    spare = frozenset({session}) if spare_leader else frozenset()

    eof: asyncio.Future[None] = loop.create_future()

    def on_readable() -> None:
        try:
            data = os.read(read_fd, _READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            log.write(data)
            return
        loop.remove_reader(read_fd)
        if not eof.done():
            eof.set_result(None)

    os.set_blocking(read_fd, False)
    loop.add_reader(read_fd, on_readable)
    exit_wait = _wait_for_exit(loop, proc)
    cancel_wait = asyncio.ensure_future(cancel.wait()) if cancel is not None else None
    try:
        waiting: set[asyncio.Future[object]] = {exit_wait}  # type: ignore[arg-type]
        if cancel_wait is not None:
            waiting.add(cancel_wait)
        done, _ = await asyncio.wait(
            waiting, timeout=max(timeout, 0.0), return_when=asyncio.FIRST_COMPLETED
        )
        if exit_wait in done:
            reason = EXITED
            # Reaped first: an unreaped leader still counts as a member of its group.
            returncode = proc.wait()
            if _group_alive(session):
                await stop_session(session, grace=kill_grace)
        else:
            reason = CANCELED if cancel_wait is not None and cancel_wait in done else TIMED_OUT
            await stop_session(session, grace=kill_grace, spare=spare)
            await exit_wait
            returncode = proc.wait()
        try:
            await asyncio.wait_for(asyncio.shield(eof), timeout=max(kill_grace, 0.05))
        except TimeoutError:
            log.note(
                "WARNING: a process outside the job's session still holds its output open; "
                "stopped reading it"
            )
    except BaseException:
        kill_session_now(session)
        proc.wait()
        raise
    finally:
        if not exit_wait.done():
            exit_wait.cancel()  # releases the pidfd
        if cancel_wait is not None:
            cancel_wait.cancel()
        loop.remove_reader(read_fd)
        os.close(read_fd)
        log.flush()
    if reason != EXITED:
        return ProcessEnd(None, reason)
    return ProcessEnd(returncode if returncode >= 0 else 128 - returncode, EXITED)
