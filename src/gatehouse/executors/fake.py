"""A scriptable executor for the engine's scenario tests: no processes, no workspaces.

A test says, per job name, what each successive attempt does — exit code,
failure reason, log lines, the artifacts and reports it "produces" — and may
hold an attempt on an :class:`asyncio.Event` to control the order in which
jobs finish. Every request is recorded, and the executor tracks which
attempts are running at once (``max_running``), which is what a test of
``resource_group`` or ``--concurrency`` asserts on.

It keeps the real executors' rules where they are observable from outside
(the executor contract tests check both): a needed blob missing from the
store fails with ``unmet_prerequisites``; a set cancel token gives
``canceled`` without artifacts; ``artifacts:when`` decides whether the
scripted archive is stored; timed-out and canceled attempts store nothing;
log lines go through the same writer (timestamps, masking, cap).
"""

from __future__ import annotations

import asyncio
import io
import time
from collections import defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from gatehouse.core.ports import (
    ArtifactFile,
    ArtifactManifest,
    ArtifactStore,
    CancelToken,
    Clock,
    FailureReason,
    JobOutcome,
    JobRequest,
)

from .artifacts import missing_inputs
from .joblog import LogWriter


@dataclass(frozen=True)
class FakeAttempt:
    """What one scripted attempt does.

    ``failure_reason`` defaults to ``script_failure`` for a non-zero exit code.
    ``artifacts`` maps workspace paths to content; ``reports`` maps a report
    type (``junit``) to such a mapping. ``hold`` keeps the attempt running
    until the event is set (or the attempt is canceled).
    """

    exit_code: int = 0
    failure_reason: FailureReason | None = None
    log: tuple[str, ...] = ()
    artifacts: Mapping[str, bytes] = field(default_factory=dict)
    reports: Mapping[str, Mapping[str, bytes]] = field(default_factory=dict)
    coverage: float | None = None
    hold: asyncio.Event | None = None

    @property
    def reason(self) -> FailureReason | None:
        if self.failure_reason is not None:
            return self.failure_reason
        return FailureReason.SCRIPT_FAILURE if self.exit_code != 0 else None


class FakeExecutor:
    """An :class:`~gatehouse.core.ports.Executor` that plays scripted attempts."""

    name = "fake"

    def __init__(
        self,
        store: ArtifactStore | None = None,
        *,
        clock: Clock | None = None,
        default: FakeAttempt | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.default = default or FakeAttempt()
        self.requests: list[JobRequest] = []
        self.running: set[str] = set()
        self.max_running = 0
        self._scripts: defaultdict[str, deque[FakeAttempt]] = defaultdict(deque)

    def script(self, job_name: str, *attempts: FakeAttempt) -> None:
        """Queue what the next attempts of ``job_name`` do; afterwards ``default`` applies."""
        self._scripts[job_name].extend(attempts)

    def requests_for(self, job_name: str) -> list[JobRequest]:
        return [r for r in self.requests if r.job_name == job_name]

    def _now(self) -> float:
        return self.clock.now() if self.clock is not None else time.time()

    async def run(self, request: JobRequest, cancel: CancelToken) -> JobOutcome:
        self.requests.append(request)
        queue = self._scripts.get(request.job_name)
        attempt = queue.popleft() if queue else self.default
        started = self._now()
        self.running.add(request.attempt_id)
        self.max_running = max(self.max_running, len(self.running))
        secrets = [request.env[n] for n in request.masked if n in request.env]
        log = LogWriter(request.log_path, limit=request.log_limit, secrets=secrets)
        try:
            exit_code, reason, archive, reports = await self._play(request, cancel, attempt, log)
        finally:
            self.running.discard(request.attempt_id)
            summary = log.close()
        return JobOutcome(
            exit_code=exit_code,
            failure_reason=reason,
            started_at=started,
            finished_at=self._now(),
            artifacts=archive,
            reports=reports,
            log_bytes=summary.bytes_written,
            log_truncated=summary.truncated,
            coverage=attempt.coverage if exit_code is not None else None,
        )

    async def _play(
        self, request: JobRequest, cancel: CancelToken, attempt: FakeAttempt, log: LogWriter
    ) -> tuple[
        int | None, FailureReason | None, ArtifactManifest | None, dict[str, ArtifactManifest]
    ]:
        if request.artifacts_in and self.store is not None:
            missing = missing_inputs(self.store, request.artifacts_in)
            if missing:
                for item in missing:
                    log.note(f"ERROR: needed artifact is missing from the store: {item.path}")
                return None, FailureReason.UNMET_PREREQUISITES, None, {}
        if attempt.hold is not None and not cancel.is_set():
            holding = asyncio.ensure_future(attempt.hold.wait())
            canceling = asyncio.ensure_future(cancel.wait())
            try:
                await asyncio.wait({holding, canceling}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                holding.cancel()
                canceling.cancel()
        else:
            await asyncio.sleep(0)  # let other jobs start, as a real attempt would
        if cancel.is_set():
            log.note("ERROR: Job failed: canceled")
            return None, FailureReason.CANCELED, None, {}
        for line in attempt.log:
            log.write(line.encode() + b"\n")
        reason = attempt.reason
        if reason in (FailureReason.JOB_EXECUTION_TIMEOUT, FailureReason.CANCELED):
            log.note(f"ERROR: Job failed: {reason.value}")
            return None, reason, None, {}
        if reason is not None and reason is not FailureReason.SCRIPT_FAILURE:
            log.note(f"ERROR: Job failed: {reason.value}")
            return None, reason, None, {}
        succeeded = reason is None
        spec = request.artifacts_out
        archive = None
        if spec is not None and attempt.artifacts:
            wanted = spec.when in ("always", "on_success" if succeeded else "on_failure")
            if wanted:
                archive = self._produce(attempt.artifacts)
        reports = {kind: self._produce(files) for kind, files in attempt.reports.items()}
        log.note(
            "Job succeeded" if succeeded else f"ERROR: Job failed: exit code {attempt.exit_code}"
        )
        return attempt.exit_code, reason, archive, reports

    def _produce(self, files: Mapping[str, bytes]) -> ArtifactManifest:
        if self.store is None:
            raise ValueError("FakeExecutor needs a store to produce artifacts")
        return ArtifactManifest(
            tuple(
                ArtifactFile(path, self.store.put_stream(io.BytesIO(content)))
                for path, content in sorted(files.items())
            )
        )
