"""The gate's builds: each ``StartBuild`` becomes a pipeline of the engine, several at once.

For a build of a queue item the project's pipeline is planned *from the
speculative commit itself* (its ``.gitlab-ci.yml`` — a change to the CI
configuration is tested with the configuration it brings) with a
merge-request context: event ``merge_request_event``, source branch the
change's, target branch the gate's, and the changed files of the item
(``base..commit``), so ``rules: changes`` and ``$CI_MERGE_REQUEST_*`` rules
behave as they would for a GitLab merge train. The pipeline runs on a
snapshot of that commit's tree through the same
:class:`~gatehouse.engine.runner.PipelineRunner` as ``gatehouse run``,
recorded in the runs store with ``source="gate"`` and linked to the gate
build and item (:meth:`GateStore.link_build`).

All builds share one job queue (one ``concurrency``): each runner gets a
lane of it (:mod:`gatehouse.engine.lanes`), prioritised by the item's place
in the queue. A flaky retry (``StartBuild.jobs``) re-runs the failed job and
every job its failure skipped (those that need it, or come in later stages
without ``needs``), with the artifacts of the earlier jobs taken from the
pipeline that already ran on the same commit.

Answers go back to the driver as events: ``JobFailed`` as soon as a voting
job's failure is final (the engine will not retry it itself), so fail-fast
and re-parenting need not wait for the whole pipeline, then
``BuildFinished`` with every failure (:mod:`.failures`). A build the gate
cancels, or one stopped because the driver is shutting down, answers
nothing: after a restart the persisted state starts it again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from gatehouse.core.gate import BuildFinished, Change, Event, JobFailed, JobFailure, StartBuild
from gatehouse.core.model import PlannedJob, PlannedPipeline
from gatehouse.core.ports import (
    ArtifactManifest,
    GateStore,
    JobRecord,
    JobStatus,
    PipelineRecord,
    PipelineStatus,
    Repository,
    ResultsStore,
    RunStore,
    WorkspaceSource,
)
from gatehouse.core.progress import should_retry
from gatehouse.core.selection import Selection
from gatehouse.engine.gate.failures import (
    PIPELINE,
    LogTail,
    job_failure,
    log_excerpt,
    pipeline_failures,
)
from gatehouse.engine.lanes import QueueLanes
from gatehouse.engine.observer import NullObserver, ResultsReporter
from gatehouse.engine.runner import ArtifactLookup, PipelineRunner, RunOptions
from gatehouse.engine.settings import EngineSettings
from gatehouse.errors import GatehouseError

Answer = Callable[[Event | BaseException], None]


@dataclass(frozen=True, slots=True)
class BuildTarget:
    """What one gate build tests, and the merge-request context its pipeline is planned with."""

    build: int
    item: int
    commit: str
    base: str
    changes: tuple[Change, ...]
    target_branch: str
    changed_files: tuple[str, ...]

    @property
    def source_branch(self) -> str:
        """The change the item brings (the last one of a car: its merge completes the state)."""
        return self.changes[-1].id


@dataclass(frozen=True, slots=True)
class NoPipeline:
    """The commit yields no pipeline to run (configuration errors, ``workflow:rules``)."""

    reason: str


class GateProject(Protocol):
    """What the gate needs from the project: a plan at a commit, and that commit's files."""

    def plan(self, target: BuildTarget) -> PlannedPipeline | NoPipeline:
        """Plan the pipeline of ``target.commit`` (blocking; called in a thread)."""
        ...

    def snapshot(self, commit: str) -> WorkspaceSource:
        """A pipeline-wide copy of the commit's tree for the jobs (blocking)."""
        ...

    def discard(self, source: WorkspaceSource) -> None: ...


def retry_scope(pipeline: PlannedPipeline, jobs: Sequence[str]) -> frozenset[str]:
    """The jobs to re-run for a flaky retry: ``jobs`` and every job their failure skipped."""
    by_name = {job.name: job for job in pipeline.jobs}
    chosen = {name for name in jobs if name in by_name}
    grew = True
    while grew:
        grew = False
        for job in pipeline.jobs:
            if job.name in chosen or job.when != "on_success":
                continue
            if job.needs is not None:
                hit = any(need.job in chosen for need in job.needs)
            else:
                hit = any(by_name[name].stage_index < job.stage_index for name in chosen)
            if hit:
                chosen.add(job.name)
                grew = True
    return frozenset(chosen)


@dataclass
class _Build:
    command: StartBuild
    priority: int
    answer: Answer
    task: asyncio.Task[None] | None = None
    runner: PipelineRunner | None = None
    pipeline_id: int | None = None
    running: set[str] = field(default_factory=set)
    cancelled: bool = False


class GateBuilds:
    """Runs the gate's builds as engine pipelines and answers how they ended."""

    def __init__(
        self,
        *,
        queue: str,
        project: GateProject,
        project_dir: str,
        repo: Repository,
        runs: RunStore,
        results: ResultsStore,
        links: GateStore,
        lanes: QueueLanes,
        settings: EngineSettings,
        data_dir: Path,
        read_log: LogTail,
        target_branch: str,
        base_env: Mapping[str, str] | None = None,
        masked: frozenset[str] = frozenset(),
        reporter: ResultsReporter | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.queue = queue
        self.project = project
        self.project_dir = project_dir
        self.repo = repo
        self.runs = runs
        self.results = results
        self.links = links
        self.lanes = lanes
        # The gate decides what a failure means (flaky retry, fail-fast), so a
        # pipeline never cancels its own jobs at the first failure.
        self.settings = replace(settings, fail_fast=False)
        self.data_dir = data_dir
        self.read_log = read_log
        self.target_branch = target_branch
        self.base_env = dict(base_env or {})
        self.masked = masked
        self.reporter = reporter
        self.clock = clock
        self._builds: dict[int, _Build] = {}
        self._stopping = False

    # ------------------------------------------------------------------ driver side

    @property
    def active(self) -> int:
        return len(self._builds)

    def running_jobs(self) -> dict[int, list[str]]:
        return {build: sorted(entry.running) for build, entry in self._builds.items()}

    def start(self, command: StartBuild, *, priority: int, answer: Answer) -> None:
        entry = _Build(command, priority, answer)
        self._builds[command.build] = entry
        entry.task = asyncio.get_running_loop().create_task(self._run(entry))

    def cancel(self, build: int) -> None:
        entry = self._builds.get(build)
        if entry is None:
            return
        entry.cancelled = True
        if entry.runner is not None:
            entry.runner.request_cancel()

    def stop_all(self, *, force: bool = False) -> None:
        """Stop every build without answering (the persisted state restarts them)."""
        self._stopping = True
        for entry in list(self._builds.values()):
            if entry.runner is not None:
                entry.runner.request_cancel(force=force)

    async def wait_all(self) -> None:
        tasks = [e.task for e in self._builds.values() if e.task is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def abandon(self, *, recent: int = 200) -> None:
        """Close the pipelines a stopped process left running for this queue (blocking).

        Only the last ``recent`` builds are looked at: a stopped process can
        only have left its latest builds running.
        """
        now = self.clock()
        for link in list(self.links.build_links(self.queue))[-recent:]:
            record = self.runs.get_pipeline(link.pipeline_id)
            if record is None or record.status.is_final:
                continue
            for job in self.runs.list_jobs(record.id):
                if not job.status.is_final:
                    self.runs.update_job(job.id, status=JobStatus.CANCELED, finished_at=now)
            self.runs.update_pipeline(record.id, status=PipelineStatus.CANCELED, finished_at=now)

    def excerpt(self, build: int, job: str) -> str:
        """The end of the failed ``job``'s log in the latest pipeline of ``build`` (blocking)."""
        links = self.links.build_links(self.queue, builds=[build])
        if not links:
            return ""
        for record in reversed(self.runs.list_jobs(links[-1].pipeline_id)):
            if record.name == job and record.log_path:
                return log_excerpt(self.read_log(record.log_path))
        return ""

    # ------------------------------------------------------------------ one build

    async def _run(self, entry: _Build) -> None:
        command = entry.command
        try:
            failures = await self._execute(entry)
            if failures is not None and not (entry.cancelled or self._stopping):
                entry.answer(BuildFinished(command.build, failures, at=self.clock()))
        except GatehouseError as exc:
            if not (entry.cancelled or self._stopping):
                failure = JobFailure(PIPELINE, (), f"could not run the pipeline: {exc.message}")
                entry.answer(BuildFinished(command.build, (failure,), at=self.clock()))
        except Exception as exc:  # noqa: BLE001 - a bug must stop the driver, loudly
            entry.answer(exc)
        finally:
            self._builds.pop(command.build, None)

    async def _execute(self, entry: _Build) -> tuple[JobFailure, ...] | None:
        command = entry.command
        changed = await asyncio.to_thread(self.repo.changed_files, command.base, command.commit)
        target = BuildTarget(
            command.build,
            command.item,
            command.commit,
            command.base,
            command.changes,
            self.target_branch,
            changed,
        )
        planned = await asyncio.to_thread(self.project.plan, target)
        if isinstance(planned, NoPipeline):
            return (JobFailure(PIPELINE, (), planned.reason),)
        if command.jobs is None:
            selection = Selection(frozenset(j.name for j in planned.jobs), frozenset())
        else:
            missing = [name for name in command.jobs if planned.job(name) is None]
            if missing:
                why = f"job(s) {', '.join(missing)} are not in the pipeline of this commit"
                return (JobFailure(PIPELINE, (), why),)
            selection = Selection(retry_scope(planned, command.jobs), frozenset())
        if entry.cancelled or self._stopping:
            return None
        source = await asyncio.to_thread(self.project.snapshot, command.commit)
        lane = self.lanes.lane(priority=entry.priority)
        try:
            if entry.cancelled or self._stopping:
                return None
            runner = PipelineRunner(
                planned,
                RunOptions(
                    selection=selection,
                    masked=self.masked,
                    origin="gate",
                    workspace=source,
                    base_env=self.base_env,
                ),
                store=self.runs,
                queue=lane,
                settings=self.settings,
                data_dir=self.data_dir,
                observer=_BuildObserver(self, entry),
                clock=self.clock,
                earlier_artifacts=self._artifacts_at(command.commit),
                reporter=self.reporter,
            )
            entry.runner = runner
            record = await runner.run()
        finally:
            await lane.close()
            await asyncio.to_thread(self.project.discard, source)
        if entry.cancelled or self._stopping:
            return None
        jobs = await asyncio.to_thread(self.runs.list_jobs, record.id)
        return await asyncio.to_thread(
            pipeline_failures, record, jobs, results=self.results, read_log=self.read_log
        )

    def _artifacts_at(self, commit: str) -> ArtifactLookup:
        """Artifacts of a job from the latest pipeline on the same commit where it passed."""
        runs = self.runs
        project_dir = self.project_dir

        def lookup(name: str) -> ArtifactManifest | None:
            for pipeline in runs.list_pipelines(limit=50, project_dir=project_dir):
                if pipeline.sha != commit:
                    continue
                for job in reversed(runs.list_jobs(pipeline.id, include_retried=False)):
                    if job.name == name and job.status in (JobStatus.SUCCESS, JobStatus.WARNING):
                        for artifact_set in runs.list_artifacts(job.id):
                            if artifact_set.kind == "archive":
                                return artifact_set.manifest
                        return None
            return None

        return lookup

    # ------------------------------------------------------------------ observer hooks

    def linked(self, entry: _Build, record: PipelineRecord) -> None:
        entry.pipeline_id = record.id
        command = entry.command
        self.links.link_build(
            self.queue, build=command.build, item=command.item, pipeline_id=record.id
        )

    def job_failed(self, entry: _Build, job: PlannedJob, record: JobRecord) -> None:
        """A voting job failed for good: tell the gate now (fail-fast, re-parenting)."""
        if record.status is not JobStatus.FAILED or record.allow_failure:
            return
        if should_retry(job.spec.retry, record.attempt, record.failure_reason, record.exit_code):
            return  # the engine retries it itself (GitLab's `retry:`)
        loop = asyncio.get_running_loop()
        # Scheduled, not done here: the results reporter stores the job's tests
        # right after this hook, and the failure should name them.
        loop.call_soon(lambda: loop.create_task(self._announce(entry, record)))

    async def _announce(self, entry: _Build, record: JobRecord) -> None:
        failure = await asyncio.to_thread(
            job_failure, record, results=self.results, read_log=self.read_log
        )
        if not (entry.cancelled or self._stopping):
            entry.answer(JobFailed(entry.command.build, failure, at=self.clock()))


class _BuildObserver(NullObserver):
    """Links the pipeline to its gate build, tracks running jobs, announces final failures."""

    def __init__(self, builds: GateBuilds, entry: _Build) -> None:
        self.builds = builds
        self.entry = entry

    def pipeline_started(self, record: PipelineRecord, jobs: list[PlannedJob]) -> None:  # noqa: ARG002
        self.builds.linked(self.entry, record)

    def job_started(self, job: PlannedJob, record: JobRecord) -> None:  # noqa: ARG002
        self.entry.running.add(job.name)

    def job_finished(self, job: PlannedJob, record: JobRecord, note: str | None) -> None:  # noqa: ARG002
        self.entry.running.discard(job.name)
        self.builds.job_failed(self.entry, job, record)
