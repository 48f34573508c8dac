"""The sandbox executor: the shell executor's phases, with the shell inside bubblewrap.

What the job sees (``bwrap`` arguments, in mount order):

- the host's file system **read-only** (``--ro-bind / /``): tools and
  libraries are there, nothing can be changed;
- a minimal ``/dev`` and a ``/proc`` of its own PID namespace: it sees only
  its own processes;
- a private, empty, writable ``/tmp`` (a tmpfs, gone with the job; ``TMPDIR``
  is ``/tmp``);
- the directories in ``hide`` replaced by empty tmpfs: by default the
  workspaces root, so other jobs' workspaces and the pipeline snapshots are
  invisible; the engine adds the data directory (which holds the artifact
  store and the results database);
- its own job directory **writable** at the same path as outside — the
  workspace (``CI_PROJECT_DIR``) and the job's ``HOME``;
- **no network** (a network namespace with only a loopback interface) unless
  ``JobRequest.network`` is true. The engine sets it from the job variable
  ``GATEHOUSE_SANDBOX_NETWORK: "true"``; the shell executor ignores it;
- new IPC, UTS, cgroup and (when possible) user namespaces.

Killed with the job: ``--die-with-parent`` SIGKILLs the sandbox if bwrap or
gatehouse dies, and when the job's shell exits the PID namespace ends and
takes every process the job left behind with it, daemons included. On timeout
or cancel the processes inside get SIGTERM first (bwrap itself is spared so
that they get their grace period) and SIGKILL after it.

:meth:`SandboxExecutor.check` runs ``bwrap`` once: a missing ``bwrap`` or a
kernel that refuses namespaces is an :class:`ExecutorError` with a hint,
raised by ``run`` before any job starts, not a failed job.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence

from gatehouse.core.ports import ArtifactStore, CancelToken, JobOutcome, JobRequest
from gatehouse.errors import ExecutorError

from .shell import DEFAULT_PATH, ShellExecutor
from .workspace import JobDir, Workspaces

NETWORK_VARIABLE = "GATEHOUSE_SANDBOX_NETWORK"
# Inside the sandbox /tmp is a private tmpfs of the job's own, not the host's shared /tmp.
SANDBOX_TMP = "/tmp"  # noqa: S108
_INSTALL_HINT = "install bubblewrap (apt-get install bubblewrap), or run with --executor shell"


class SandboxExecutor(ShellExecutor):
    """Runs job attempts under bubblewrap; see the module docstring."""

    name = "sandbox"
    spare_leader = True

    def __init__(
        self,
        store: ArtifactStore,
        workspaces: Workspaces,
        *,
        bwrap: str = "bwrap",
        hide: Sequence[str] = (),
        kill_grace: float = 5.0,
        default_path: str = DEFAULT_PATH,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            store, workspaces, kill_grace=kill_grace, default_path=default_path, clock=clock
        )
        self.bwrap = bwrap
        self.hide = tuple(os.path.abspath(p) for p in (workspaces.root, *hide))
        self._bwrap_path: str | None = None

    def check(self) -> None:
        if self._bwrap_path is not None:
            return
        if os.sep in self.bwrap:
            path: str | None = self.bwrap if os.access(self.bwrap, os.X_OK) else None
        else:
            path = shutil.which(self.bwrap, path=self.default_path)
        if path is None:
            raise ExecutorError(
                f"the sandbox executor needs bubblewrap, and {self.bwrap!r} was not found",
                hint=_INSTALL_HINT,
            )
        probe = [
            path,
            "--die-with-parent",
            "--unshare-all",
            "--ro-bind", "/", "/",
            "--dev", "/dev",
            "--proc", "/proc",
            "--tmpfs", SANDBOX_TMP,
            "--", "true",
        ]  # fmt: skip
        try:
            result = subprocess.run(probe, capture_output=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ExecutorError(f"bubblewrap ({path}) could not be run: {exc}") from exc
        if result.returncode != 0:
            raise ExecutorError(
                f"bubblewrap cannot create a sandbox on this machine: "
                f"{result.stderr.decode(errors='replace').strip()}",
                hint="bwrap needs unprivileged user namespaces "
                "(sysctl kernel.unprivileged_userns_clone=1) or to run as root; "
                "or run with --executor shell",
            )
        self._bwrap_path = path

    async def run(self, request: JobRequest, cancel: CancelToken) -> JobOutcome:
        if self._bwrap_path is None:
            await asyncio.to_thread(self.check)
        return await super().run(request, cancel)

    def job_env(self, request: JobRequest, job: JobDir) -> dict[str, str]:
        env = super().job_env(request, job)
        # The host's HOME and TMPDIR are read-only in here.
        env["HOME"] = job.home
        env["TMPDIR"] = SANDBOX_TMP
        return env

    def command(self, request: JobRequest, job: JobDir, script: str) -> list[str]:
        assert self._bwrap_path is not None
        argv = [self._bwrap_path, "--die-with-parent", "--unshare-all"]
        if request.network:
            argv.append("--share-net")
        argv += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", SANDBOX_TMP]
        for path in self.hide:
            if os.path.isdir(path):
                argv += ["--tmpfs", path]
        argv += ["--bind", job.path, job.path, "--chdir", job.workspace]
        argv += ["--", request.shell, "-c", script, request.shell]
        return argv
