"""The shell executor: one job attempt on this machine, in a clean workspace, as GitLab's runner does it.

An attempt goes through these phases, each leaving lines in the job log:

1. **workspace** — a private copy of the pipeline's snapshot (or of the
   project's tracked files, when no snapshot was taken), see :mod:`.workspace`;
2. **inputs** — the ``artifacts_in`` manifests restored as private copies; a
   blob missing from the store fails the attempt with
   ``unmet_prerequisites`` before any command runs;
3. **script** — ``before_script`` + ``script`` in one shell (:mod:`.script`)
   in the workspace, with ``request.env`` as its whole environment plus
   ``PATH``/``HOME``/``TMPDIR`` when the engine did not set them, and
   ``CI_PROJECT_DIR``/``CI_BUILDS_DIR``, which the executor owns. The job's
   ``timeout`` covers this phase; timeout and cancellation stop the whole
   session (:mod:`.process`);
4. **after_script** — in a new shell without the script's exports, with
   ``CI_JOB_STATUS`` = ``success``/``failed``/``canceled`` and its own
   timeout; it runs after success, failure and cancellation (GitLab ≥ 17.0)
   but not after a timeout; its status never changes the job's;
5. **artifacts** — collected after ``after_script`` (so its files count) when
   the script ran to its end: ``artifacts:when`` decides for ``paths`` and
   ``untracked``; ``reports`` are collected after success and failure alike.
   Nothing is collected after a timeout or a cancellation;
6. the workspace is removed (or kept, when it failed and ``keep_failed`` is set).

A failed, timed-out or canceled job is a :class:`JobOutcome`, never an
exception. Infrastructure trouble that stops an attempt (the workspace cannot
be made, the store cannot be written) is ``runner_system_failure``.

The sandbox executor (:mod:`.sandbox`) is this executor with a different way
of launching the shell; the phases are shared.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Callable, Mapping

from gatehouse.core.ports import (
    ArtifactManifest,
    ArtifactSpec,
    ArtifactStore,
    CancelToken,
    FailureReason,
    JobOutcome,
    JobRequest,
)
from gatehouse.errors import ExecutorError, GatehouseError

from . import artifacts
from .coverage import compile_coverage_regex
from .joblog import LogWriter
from .process import CANCELED, TIMED_OUT, ProcessEnd, run_process
from .script import render_script
from .workspace import JobDir, Workspaces

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# bash -c takes the script as one argument; Linux caps one argument at 128 KiB.
_MAX_INLINE_SCRIPT = 100 * 1024
_VARIABLE = re.compile(r"\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")

SUCCESS = "success"
FAILED = "failed"


def expand_variables(text: str, env: Mapping[str, str]) -> str:
    """One pass of ``$NAME``/``${NAME}`` (unknown: empty; ``$$``: ``$``), as the runner expands paths."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return "$" if name is None else env.get(name, "")

    return _VARIABLE.sub(value, text)


def describe_duration(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{seconds:g}s"


class ShellExecutor:
    """Runs job attempts as local processes; see the module docstring."""

    name = "shell"

    def __init__(
        self,
        store: ArtifactStore,
        workspaces: Workspaces,
        *,
        kill_grace: float = 5.0,
        default_path: str = DEFAULT_PATH,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.workspaces = workspaces
        self.kill_grace = kill_grace
        self.default_path = default_path
        self.clock = clock

    def check(self) -> None:
        """Raise :class:`ExecutorError` when this executor cannot run jobs here (the shell can)."""

    async def run(self, request: JobRequest, cancel: CancelToken) -> JobOutcome:
        started = self.clock()
        secrets = [request.env[name] for name in request.masked if name in request.env]
        coverage = None
        coverage_problem = None
        if request.coverage_regex:
            try:
                coverage = compile_coverage_regex(request.coverage_regex)
            except ValueError as exc:
                coverage_problem = str(exc)
        try:
            log = LogWriter(
                request.log_path, limit=request.log_limit, secrets=secrets, coverage=coverage
            )
        except OSError as exc:
            raise ExecutorError(f"cannot write the job log {request.log_path}: {exc}") from exc
        try:
            if coverage_problem:
                log.note(f"WARNING: coverage: {coverage_problem}")
            attempt = _Attempt(self, request, cancel, log)
            exit_code, reason, archive, reports = await attempt.run()
        finally:
            summary = log.close()
        return JobOutcome(
            exit_code=exit_code,
            failure_reason=reason,
            started_at=started,
            finished_at=self.clock(),
            artifacts=archive,
            reports=reports,
            log_bytes=summary.bytes_written,
            log_truncated=summary.truncated,
            coverage=summary.coverage,
        )

    # -------------------------------------------------------------- hooks for the sandbox

    def job_env(self, request: JobRequest, job: JobDir) -> dict[str, str]:
        env = dict(request.env)
        env.setdefault("PATH", self.default_path)
        env.setdefault("HOME", job.home)
        env.setdefault("TMPDIR", job.tmp)
        env["CI_PROJECT_DIR"] = job.workspace
        env["CI_BUILDS_DIR"] = job.path
        return env

    def command(self, request: JobRequest, job: JobDir, script: str) -> list[str]:  # noqa: ARG002
        return [request.shell, "-c", script, request.shell]

    async def prepare(self, request: JobRequest, job: JobDir) -> None:
        """Called before the first process of an attempt (the sandbox checks bwrap here)."""

    spare_leader = False


class _Attempt:
    """The phases of one attempt (see the module docstring); one instance per run."""

    def __init__(
        self, executor: ShellExecutor, request: JobRequest, cancel: CancelToken, log: LogWriter
    ) -> None:
        self.executor = executor
        self.request = request
        self.cancel = cancel
        self.log = log

    async def run(
        self,
    ) -> tuple[
        int | None, FailureReason | None, ArtifactManifest | None, dict[str, ArtifactManifest]
    ]:
        request, log = self.request, self.log
        log.note(f"Running {request.job_name} with the gatehouse {self.executor.name} executor")
        try:
            job = await asyncio.to_thread(
                self.executor.workspaces.create, request.attempt_id, request.source
            )
        except (GatehouseError, OSError) as exc:
            log.note(f"ERROR: could not prepare the workspace: {_reason(exc)}")
            return None, FailureReason.RUNNER_SYSTEM_FAILURE, None, {}
        failed = True
        try:
            result = await self._in_workspace(job)
            failed = result[1] is not None
            return result
        finally:
            kept = await asyncio.to_thread(self.executor.workspaces.release, job, failed=failed)
            if kept:
                log.note(f"Workspace kept for debugging: {kept}")

    async def _in_workspace(
        self, job: JobDir
    ) -> tuple[
        int | None, FailureReason | None, ArtifactManifest | None, dict[str, ArtifactManifest]
    ]:
        request, log, store = self.request, self.log, self.executor.store
        if request.artifacts_in:
            missing = artifacts.missing_inputs(store, request.artifacts_in)
            if missing:
                for item in missing:
                    log.note(
                        f"ERROR: needed artifact is missing from the store: {item.path} "
                        f"(sha256 {item.blob.sha256})"
                    )
                log.note("ERROR: Job failed: could not retrieve the needed artifacts")
                return None, FailureReason.UNMET_PREREQUISITES, None, {}
            problems = await asyncio.to_thread(
                artifacts.restore, store, job.workspace, request.artifacts_in
            )
            if problems:
                for problem in problems:
                    log.note(f"ERROR: could not restore artifact {problem}")
                log.note("ERROR: Job failed: could not retrieve the needed artifacts")
                return None, FailureReason.UNMET_PREREQUISITES, None, {}
            count = sum(len(m.files) for m in request.artifacts_in)
            log.note(f"Restored {count} artifact file(s)")
        if self.cancel.is_set():
            log.note("ERROR: Job failed: canceled before it started")
            return None, FailureReason.CANCELED, None, {}
        try:
            await self.executor.prepare(request, job)
            env = self.executor.job_env(request, job)
            end = await self._shell(job, request.scripts, env, request.timeout, self.cancel)
        except (GatehouseError, OSError) as exc:
            log.note(f"ERROR: could not start the job's shell: {_reason(exc)}")
            return None, FailureReason.RUNNER_SYSTEM_FAILURE, None, {}

        if end.reason == TIMED_OUT:
            status = "timeout"
        elif end.reason == CANCELED:
            status = "canceled"
        else:
            status = SUCCESS if end.exit_code == 0 else FAILED

        if request.after_script and status != "timeout":
            status = await self._after_script(job, env, status)

        archive: ArtifactManifest | None = None
        reports: dict[str, ArtifactManifest] = {}
        if status in (SUCCESS, FAILED) and request.artifacts_out is not None:
            try:
                archive, reports = await self._collect(job, request.artifacts_out, env, status)
            except (GatehouseError, OSError) as exc:
                log.note(f"ERROR: could not store the job's artifacts: {_reason(exc)}")
                return end.exit_code, FailureReason.RUNNER_SYSTEM_FAILURE, None, {}

        if status == SUCCESS:
            log.note("Job succeeded")
            return 0, None, archive, reports
        if status == FAILED:
            log.note(f"ERROR: Job failed: exit code {end.exit_code}")
            return end.exit_code, FailureReason.SCRIPT_FAILURE, archive, reports
        if status == "timeout":
            log.note(
                "ERROR: Job failed: execution took longer than "
                f"{describe_duration(request.timeout)}"
            )
            return None, FailureReason.JOB_EXECUTION_TIMEOUT, None, {}
        log.note("ERROR: Job failed: canceled")
        return None, FailureReason.CANCELED, None, {}

    async def _shell(
        self,
        job: JobDir,
        commands: tuple[str, ...],
        env: Mapping[str, str],
        timeout: float,
        cancel: CancelToken | None,
    ) -> ProcessEnd:
        request = self.request
        script = render_script(commands, shell=request.shell)
        if len(script.encode()) > _MAX_INLINE_SCRIPT:
            path = os.path.join(job.path, f"script-{len(os.listdir(job.path))}.sh")
            with open(path, "w") as stream:
                stream.write(script)
            script = f". {path}\n"
        return await run_process(
            self.executor.command(request, job, script),
            env=env,
            cwd=job.workspace,
            log=self.log,
            timeout=timeout,
            cancel=cancel,
            kill_grace=self.executor.kill_grace,
            spare_leader=self.executor.spare_leader,
        )

    async def _after_script(self, job: JobDir, env: Mapping[str, str], status: str) -> str:
        request, log = self.request, self.log
        log.note("Running after_script")
        after_env = {**env, "CI_JOB_STATUS": status}
        # After a cancel, after_script is what the cancel asked for: it runs to its
        # own timeout. Otherwise a cancel arriving now stops it and the job.
        watch = None if status == "canceled" else self.cancel
        end = await self._shell(
            job, request.after_script, after_env, request.after_script_timeout, watch
        )
        if end.reason == TIMED_OUT:
            log.note(
                "WARNING: after_script timed out after "
                f"{describe_duration(request.after_script_timeout)} (ignored)"
            )
        elif end.reason == CANCELED:
            log.note("WARNING: after_script canceled")
            return "canceled"
        elif end.exit_code != 0:
            log.note(f"WARNING: after_script failed with exit code {end.exit_code} (ignored)")
        return status

    async def _collect(
        self, job: JobDir, spec: ArtifactSpec, env: Mapping[str, str], status: str
    ) -> tuple[ArtifactManifest | None, dict[str, ArtifactManifest]]:
        log = self.log
        wanted = spec.when in ("always", "on_success" if status == SUCCESS else "on_failure")
        notes: list[str] = []

        def select() -> dict[str, artifacts.Selection]:
            chosen: dict[str, artifacts.Selection] = {}
            exclude = [expand_variables(p, env) for p in spec.exclude]
            if wanted and (spec.paths or spec.untracked):
                chosen[""] = artifacts.select(
                    job.workspace,
                    [expand_variables(p, env) for p in spec.paths],
                    exclude=exclude,
                    untracked=spec.untracked,
                    tracked=job.tracked,
                    note=notes.append,
                )
            for kind, patterns in spec.reports.items():
                chosen[kind] = artifacts.select(
                    job.workspace,
                    [expand_variables(p, env) for p in patterns],
                    note=notes.append,
                    what=f"reports:{kind}",
                )
            return chosen

        selections = await asyncio.to_thread(select)
        for line in notes:
            log.note(line)
        if not selections:
            return None, {}
        keep = status == FAILED and self.executor.workspaces.keep_failed
        manifests = await asyncio.to_thread(
            artifacts.store_selections,
            self.executor.store,
            job.workspace,
            selections,
            consume=not keep,
        )
        archive = manifests.pop("", None)
        if archive is not None:
            log.note(f"Uploading artifacts: {len(archive.files)} file(s), {archive.size} bytes")
        for kind, manifest in manifests.items():
            log.note(f"Uploading {kind} report: {len(manifest.files)} file(s)")
        return archive, manifests


def _reason(exc: BaseException) -> str:
    if isinstance(exc, GatehouseError):
        return exc.message
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc)
