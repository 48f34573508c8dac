"""The engine: one asyncio loop that runs a planned pipeline.

The loop is the same for a local run and, later, for a controller with remote
workers; only the adapters behind its ports differ:

    events in  (a worker started/finished an attempt, a timer fired, Ctrl-C)
      → decisions (pure: :func:`gatehouse.core.progress.advance`, retries, statuses)
      → persist   (RunStore: every transition as it happens)
      → dispatch  (JobQueue: submit or cancel attempts)

Every job of the run has a record per attempt in the store from the start,
so a restarted process (or ``gatehouse show`` in another terminal) can tell
what finished. Ctrl-C cancels: jobs not started are canceled, running ones
are asked to stop (the executor kills the process group and runs
``after_script``), and the pipeline ends ``canceled``; a second Ctrl-C kills
at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from gatehouse.core.model import PlannedJob, PlannedPipeline
from gatehouse.core.planjson import pipeline_to_json
from gatehouse.core.ports import (
    ArtifactManifest,
    ArtifactSetRecord,
    ArtifactSpec,
    JobOutcome,
    JobQueue,
    JobRecord,
    JobRequest,
    JobStatus,
    PipelineRecord,
    PipelineStatus,
    RunStore,
    WorkEvent,
    WorkItem,
    WorkspaceSource,
)
from gatehouse.core.progress import (
    Graph,
    JobState,
    RunScope,
    advance,
    final_status,
    pipeline_status,
    should_retry,
)
from gatehouse.core.selection import Selection
from gatehouse.core.variables import expand_with
from gatehouse.engine import liveness
from gatehouse.engine.observer import NullObserver, Observer, ResultsReporter
from gatehouse.engine.resources import ResourceGroups
from gatehouse.engine.settings import EngineSettings
from gatehouse.settings import parse_duration

ArtifactLookup = Callable[[str], ArtifactManifest | None]
RETRYING = "will retry"  # the start of the note given with a failed attempt that is retried


@dataclass
class _Job:
    planned: PlannedJob
    record: JobRecord
    state: JobState = field(default_factory=JobState)
    attempt_id: str | None = None
    submitted: bool = False
    holds_resource: bool = False


@dataclass(frozen=True, slots=True)
class RunOptions:
    """What a person asked of this run."""

    selection: Selection
    start_manual: frozenset[str] = frozenset()
    masked: frozenset[str] = frozenset()  # names of variables whose values are masked in logs
    origin: str = "local"  # what started the pipeline: local, gate …
    workspace: WorkspaceSource | None = None  # default: the working tree of the context's project
    base_env: Mapping[str, str] = field(
        default_factory=dict
    )  # host variables jobs inherit (PATH …)


class PipelineRunner:
    """Runs one planned pipeline to its end through the ports it is given."""

    def __init__(
        self,
        pipeline: PlannedPipeline,
        options: RunOptions,
        *,
        store: RunStore,
        queue: JobQueue,
        settings: EngineSettings,
        data_dir: Path,
        observer: Observer | None = None,
        clock: Callable[[], float] = time.time,
        earlier_artifacts: ArtifactLookup | None = None,
        reporter: ResultsReporter | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.options = options
        self.store = store
        self.queue = queue
        self.settings = settings
        self.data_dir = data_dir
        self.observer: Observer = observer or NullObserver()
        self.clock = clock
        self.earlier_artifacts = earlier_artifacts
        self.reporter = reporter
        self.resources = ResourceGroups(data_dir / "locks")
        self._events: asyncio.Queue[tuple[str, object]] = asyncio.Queue()
        self._jobs: dict[str, _Job] = {}
        self._by_attempt: dict[str, str] = {}
        self._manifests: dict[str, ArtifactManifest] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._delays_elapsed: set[str] = set()
        self._canceling = False
        self._forced = False
        self.record: PipelineRecord | None = None
        scope_selected = frozenset(options.selection.jobs)
        self._graph = Graph.of(pipeline, options.selection.jobs)
        self._scope = RunScope(
            selected=scope_selected,
            start_manual=frozenset(options.start_manual) | options.selection.named,
            fail_fast=settings.fail_fast,
        )

    # ------------------------------------------------------------------ public

    def request_cancel(self, *, force: bool = False) -> None:
        """Cancel the run (thread-safe from a signal handler via call_soon_threadsafe)."""
        self._events.put_nowait(("cancel", force))

    async def run(self) -> PipelineRecord:
        now = self.clock()
        ctx = self.pipeline.context
        record = self.store.create_pipeline(
            project_dir=ctx.project_dir,
            ref=ctx.ref,
            sha=ctx.sha,
            event=ctx.event,
            created_at=now,
            source=self.options.origin,
            plan=pipeline_to_json(self.pipeline),
            variables=dict(ctx.variables),
        )
        for job in self.pipeline.jobs:
            if job.name not in self._scope.selected:
                continue
            rec = self.store.create_job(
                pipeline_id=record.id,
                name=job.name,
                stage=job.stage,
                attempt=1,
                status=JobStatus.CREATED,
                allow_failure=job.allow_failure.allowed,
                when=job.when,
                created_at=now,
            )
            self._jobs[job.name] = _Job(job, rec)
        self.record = self.store.update_pipeline(
            record.id, status=PipelineStatus.RUNNING, started_at=now
        )
        self.observer.pipeline_started(self.record, [j.planned for j in self._jobs.values()])
        if self.reporter is not None:
            self.reporter.pipeline_started(self.record, self.pipeline)
        pump = asyncio.create_task(self._pump())
        poll = asyncio.create_task(self._poll_cancel_requests(record.id))
        with liveness.hold(self.data_dir, record.id):
            try:
                self._step()
                while not self._finished():
                    kind, payload = await self._events.get()
                    await self._handle(kind, payload)
                    self._step()
            finally:
                for task in (pump, poll):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                for handle in self._timers.values():
                    handle.cancel()
        status = pipeline_status(
            self.pipeline,
            {n: j.state for n, j in self._jobs.items()},
            self._scope.selected,
            canceled=self._canceling,
        )
        self.record = self.store.update_pipeline(record.id, status=status, finished_at=self.clock())
        self.observer.pipeline_finished(self.record)
        if self.reporter is not None:
            self.reporter.pipeline_finished(self.record)
        return self.record

    # ------------------------------------------------------------------ loop

    async def _poll_cancel_requests(self, pipeline_id: int) -> None:
        """Apply cancel requests other processes leave for this pipeline (liveness.request_cancel)."""
        while True:
            await asyncio.sleep(self.settings.cancel_poll)
            request = liveness.take_cancel_request(self.data_dir, pipeline_id)
            if request is None:
                continue
            jobs, force = request
            if jobs is None:
                await self._events.put(("cancel", force))
            else:
                await self._events.put(("cancel-jobs", (tuple(jobs), force)))

    async def _pump(self) -> None:
        while True:
            event = await self.queue.next_event()
            await self._events.put(("work", event))

    def _finished(self) -> bool:
        return all(
            j.state.status.is_final or j.state.status is JobStatus.MANUAL
            for j in self._jobs.values()
        )

    async def _handle(self, kind: str, payload: object) -> None:
        if kind == "work":
            assert isinstance(payload, WorkEvent)
            await self._on_work(payload)
        elif kind == "timer":
            name = str(payload)
            self._timers.pop(name, None)
            self._delays_elapsed.add(name)
        elif kind == "resource":
            await self._submit(self._jobs[str(payload)])
        elif kind == "cancel":
            await self._cancel(force=bool(payload))
        elif kind == "cancel-jobs":
            assert isinstance(payload, tuple)
            names: tuple[str, ...] = payload[0]
            await self._cancel_jobs(names, force=bool(payload[1]))

    def _step(self) -> None:
        if self._canceling:
            return
        states = {n: j.state for n, j in self._jobs.items()}
        scope = replace(self._scope, delays_elapsed=frozenset(self._delays_elapsed))
        decisions = advance(self.pipeline, states, scope, self._graph)
        for name, note in decisions.skip:
            self._settle(self._jobs[name], JobStatus.SKIPPED, note)
        for name, note in decisions.manual:
            self._settle(self._jobs[name], JobStatus.MANUAL, note)
        for name, start_in in decisions.delay:
            if name in self._timers:
                continue
            try:
                seconds = parse_duration(start_in)
            except ValueError:
                seconds = 0.0
            job = self._jobs[name]
            self.observer.job_note(job.planned, f"delayed: starts in {start_in}")
            loop = asyncio.get_running_loop()
            self._timers[name] = loop.call_later(seconds, self._events.put_nowait, ("timer", name))
        for name in decisions.start:
            self._launch(self._jobs[name])
        if decisions.skip or decisions.manual:
            # Settling jobs can make others ready.
            self._step()

    # ------------------------------------------------------------------ jobs

    def _settle(self, job: _Job, status: JobStatus, note: str | None) -> None:
        job.state = replace(job.state, status=status, note=note)
        job.record = self.store.update_job(
            job.record.id, status=status, finished_at=self.clock() if status.is_final else None
        )
        self.observer.job_finished(job.planned, job.record, note)

    def _launch(self, job: _Job) -> None:
        planned = job.planned
        spec = planned.spec
        if spec.trigger is not None:
            self._settle(
                job, JobStatus.SKIPPED, "trigger job: downstream pipelines are not run locally"
            )
            return
        if not spec.script:
            reason = "incomplete job: it has no script here"
            if spec.unresolved:
                reason += f" (missing from an unavailable include: {', '.join(spec.unresolved)})"
            job.state = replace(job.state, failure_reason="unmet_prerequisites")
            status = final_status(planned, None, "unmet_prerequisites")
            job.state = replace(job.state, status=status, note=reason)
            job.record = self.store.update_job(
                job.record.id,
                status=status,
                failure_reason="unmet_prerequisites",
                finished_at=self.clock(),
            )
            self.observer.job_finished(planned, job.record, reason)
            return
        if planned.image:
            self.observer.job_note(
                planned,
                f"image {planned.image!r} ignored: runs on the {'local'} executor (no container executor yet)",
            )
        job.state = replace(job.state, status=JobStatus.PENDING)
        job.record = self.store.update_job(
            job.record.id, status=JobStatus.PENDING, queued_at=self.clock()
        )
        group = planned.resource_group
        if group:
            if not self.resources.is_free(group):
                self.observer.job_note(planned, f"waiting for resource_group {group!r}")

            async def wait_for_group() -> None:
                await self.resources.acquire(group)
                job.holds_resource = True
                await self._events.put(("resource", planned.name))

            asyncio.get_running_loop().create_task(wait_for_group())
            return
        asyncio.get_running_loop().create_task(self._submit(job))

    async def _submit(self, job: _Job) -> None:
        if self._canceling or job.state.status is not JobStatus.PENDING:
            if job.holds_resource and job.planned.resource_group:
                self.resources.release(job.planned.resource_group)
                job.holds_resource = False
            return
        assert self.record is not None
        request = self._request(job)
        job.attempt_id = request.attempt_id
        job.submitted = True
        self._by_attempt[request.attempt_id] = job.planned.name
        job.record = self.store.update_job(job.record.id, log_path=request.log_path)
        await self.queue.submit(WorkItem(request, job.planned.tags))

    def _request(self, job: _Job) -> JobRequest:
        assert self.record is not None
        planned = job.planned
        spec = planned.spec
        pipeline_id = self.record.id
        attempt_id = f"{pipeline_id}/{job.record.id}"
        log_path = self.data_dir / "logs" / str(pipeline_id) / f"{job.record.id}.log"
        timeout = min(planned.timeout or self.settings.default_timeout, self.settings.max_timeout)
        env = {**self.options.base_env, **planned.variables}
        if planned.when == "manual":
            env["CI_JOB_MANUAL"] = "true"
        env.update(
            {
                "CI_JOB_ID": str(job.record.id),
                "CI_PIPELINE_ID": str(pipeline_id),
                "CI_PIPELINE_URL": f"gatehouse://pipelines/{pipeline_id}",
                "CI_JOB_URL": f"gatehouse://jobs/{job.record.id}",
                "CI_JOB_STARTED_AT": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.clock())),
                "CI_PIPELINE_CREATED_AT": time.strftime(
                    "%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.record.created_at)
                ),
                "CI_JOB_TIMEOUT": str(int(timeout)),
                "CI_RUNNER_DESCRIPTION": "gatehouse local",
                "CI_RUNNER_TAGS": ",".join(planned.tags),
            }
        )
        artifacts_in = []
        for source in planned.artifact_sources:
            manifest = self._manifests.get(source)
            if manifest is None and source not in self._jobs and self.earlier_artifacts is not None:
                manifest = self.earlier_artifacts(source)
            if manifest is not None and manifest.files:
                artifacts_in.append(manifest)
        artifacts_out = None
        if spec.artifacts is not None:
            a = spec.artifacts
            expire = (
                a.expire_seconds if a.expire_in is not None else self.settings.artifacts_expire_in
            )
            if a.expire_in is not None and a.expire_in.strip().lower() == "never":
                expire = None
            artifacts_out = ArtifactSpec(
                # The executor expands $VARS in paths against the job's final environment.
                paths=a.paths,
                exclude=a.exclude,
                untracked=a.untracked,
                when=a.when,
                name=expand_with(a.name, env) if a.name else "artifacts",
                expire_in=expire,
                reports={k: tuple(v) for k, v in a.reports.items()},
            )
        network = env.get("GATEHOUSE_SANDBOX_NETWORK", "").lower() in ("1", "true", "yes")
        return JobRequest(
            attempt_id=attempt_id,
            job_name=planned.name,
            scripts=(*spec.before_script, *spec.script),
            after_script=spec.after_script,
            env=env,
            masked=self.options.masked,
            timeout=timeout,
            after_script_timeout=self.settings.after_script_timeout,
            source=self.options.workspace or WorkspaceSource(self.pipeline.context.project_dir),
            artifacts_in=tuple(artifacts_in),
            artifacts_out=artifacts_out,
            network=network,
            coverage_regex=spec.coverage,
            log_path=str(log_path),
            log_limit=self.settings.log_limit,
        )

    async def _on_work(self, event: WorkEvent) -> None:
        name = self._by_attempt.get(event.attempt_id)
        if name is None:
            return
        job = self._jobs[name]
        if event.attempt_id != job.attempt_id:
            return  # a stale report about an earlier attempt
        if event.kind == "started":
            job.state = replace(job.state, status=JobStatus.RUNNING)
            job.record = self.store.update_job(
                job.record.id, status=JobStatus.RUNNING, started_at=event.at, executor=event.worker
            )
            self.observer.job_started(job.planned, job.record)
            return
        if event.kind != "finished" or event.outcome is None:
            return
        await self._on_finished(job, event.outcome, event.detail)

    async def _on_finished(self, job: _Job, outcome: JobOutcome, detail: str | None) -> None:
        planned = job.planned
        reason = outcome.failure_reason.value if outcome.failure_reason else None
        if reason is None and outcome.exit_code not in (0, None):
            reason = "script_failure"
        status = final_status(planned, outcome.exit_code, reason)
        if job.holds_resource and planned.resource_group:
            self.resources.release(planned.resource_group)
            job.holds_resource = False
        started = job.record.started_at or outcome.started_at
        job.record = self.store.update_job(
            job.record.id,
            status=status,
            started_at=started,
            finished_at=outcome.finished_at,
            exit_code=outcome.exit_code,
            failure_reason=reason,
            log_bytes=outcome.log_bytes,
            log_truncated=outcome.log_truncated,
            coverage=outcome.coverage,
        )
        self._store_artifacts(job, outcome)
        retrying = (
            status in (JobStatus.FAILED, JobStatus.WARNING)
            and not self._canceling
            and should_retry(planned.spec.retry, job.record.attempt, reason, outcome.exit_code)
        )
        note = detail
        if status is JobStatus.CANCELED:
            note = note or "canceled"
        elif retrying:
            note = f"{RETRYING} (attempt {job.record.attempt + 1} of {planned.spec.retry.max + 1})"
        job.state = JobState(status, job.record.attempt, outcome.exit_code, reason, note)
        self.observer.job_finished(planned, job.record, note)
        if self.reporter is not None:
            self.reporter.job_finished(job.record, planned, outcome)
        if retrying:
            await self._retry(job)

    def _store_artifacts(self, job: _Job, outcome: JobOutcome) -> None:
        spec = job.planned.spec.artifacts
        expire: float | None = self.settings.artifacts_expire_in
        if spec is not None and spec.expire_in is not None:
            expire = None if spec.expire_in.strip().lower() == "never" else spec.expire_seconds
        expire_at = outcome.finished_at + expire if expire is not None else None
        if outcome.artifacts is not None:
            name = spec.name if spec and spec.name else "artifacts"
            self.store.add_artifacts(
                ArtifactSetRecord(job.record.id, "archive", name, expire_at, outcome.artifacts)
            )
            self._manifests[job.planned.name] = outcome.artifacts
        for kind, manifest in outcome.reports.items():
            self.store.add_artifacts(
                ArtifactSetRecord(job.record.id, kind, kind, expire_at, manifest)
            )

    async def _retry(self, job: _Job) -> None:
        old = job.record
        self.store.update_job(old.id, retried=True)
        rec = self.store.create_job(
            pipeline_id=old.pipeline_id,
            name=old.name,
            stage=old.stage,
            attempt=old.attempt + 1,
            status=JobStatus.PENDING,
            allow_failure=old.allow_failure,
            when=old.when,
            created_at=self.clock(),
        )
        job.record = rec
        job.state = JobState(JobStatus.PENDING, rec.attempt)
        self.observer.job_note(
            job.planned, f"retrying (attempt {rec.attempt}) after {old.failure_reason}"
        )
        if job.planned.resource_group:
            self._launch_pending_again(job)
            return
        await self._submit(job)

    def _launch_pending_again(self, job: _Job) -> None:
        group = job.planned.resource_group
        assert group is not None

        async def wait_for_group() -> None:
            await self.resources.acquire(group)
            job.holds_resource = True
            await self._events.put(("resource", job.planned.name))

        asyncio.get_running_loop().create_task(wait_for_group())

    async def _cancel_jobs(self, names: tuple[str, ...], *, force: bool) -> None:
        """Cancel some jobs (auto-cancel of interruptible jobs); the pipeline goes on."""
        for name in names:
            job = self._jobs.get(name)
            if job is None:
                continue
            status = job.state.status
            if status in (JobStatus.CREATED, JobStatus.MANUAL) or (
                status is JobStatus.PENDING and not job.submitted
            ):
                self._settle(job, JobStatus.CANCELED, "canceled by a newer pipeline")
            elif job.submitted and not status.is_final and job.attempt_id:
                await self.queue.cancel(job.attempt_id, force=force)

    async def _cancel(self, *, force: bool) -> None:
        if self._canceling and not force:
            return
        self._canceling = True
        self._forced = self._forced or force
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for job in self._jobs.values():
            status = job.state.status
            if status in (JobStatus.CREATED, JobStatus.MANUAL) or (
                status is JobStatus.PENDING and not job.submitted
            ):
                self._settle(job, JobStatus.CANCELED, "canceled before it started")
            elif job.submitted and not status.is_final and job.attempt_id:
                await self.queue.cancel(job.attempt_id, force=force)


def states_of(runner: PipelineRunner) -> Mapping[str, JobState]:
    """The engine's current view of every job (for tests and status displays)."""
    return {name: job.state for name, job in runner._jobs.items()}
