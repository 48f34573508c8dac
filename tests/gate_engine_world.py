"""The gate driver over the package's in-memory adapters: fast, deterministic engine stories.

- :class:`MemoryProject` implements the driver's ``GateProject`` port over a
  :class:`MemoryRepository`: it plans each speculative commit from that
  commit's own ``.gitlab-ci.yml`` (the real loader and planner, a
  merge-request context) and needs no workspace.
- :class:`TreeExecutor` is an executor whose jobs look at the tree they
  test: a file ``fail/<job>`` makes job ``<job>`` fail, ``flaky/<job>``
  makes its first run fail, and a job listed in ``hold`` waits on an event
  the test sets. Logs are written like real ones (the oracle reads them).

The store is the in-memory one, the queue the real LocalQueue; the driver,
builds, lanes and runner are the production ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gatehouse.cli.gate_wiring import read_log_tail
from gatehouse.core.config import MemoryFiles, load_config
from gatehouse.core.gate import GateSettings
from gatehouse.core.gate.known_flakes import KnownFlake, KnownFlakes
from gatehouse.core.model import MergeRequest, PipelineContext, PlannedPipeline
from gatehouse.core.planner import PlanOptions, plan
from gatehouse.core.ports import (
    CancelToken,
    FailureReason,
    FlakeOracle,
    JobOutcome,
    JobRequest,
    WorkspaceSource,
)
from gatehouse.engine.gate.builds import BuildTarget, GateBuilds, NoPipeline
from gatehouse.engine.gate.driver import DriverResult, GateDriver
from gatehouse.engine.gate.inbox import enqueue_request
from gatehouse.engine.lanes import QueueLanes
from gatehouse.engine.settings import EngineSettings
from gatehouse.executors.joblog import LogWriter
from gatehouse.queues.memory import LocalQueue
from gatehouse.storage import Store, open_memory_store
from gatehouse.vcs.memory import MemoryRepository

QUEUE = "/memory/project:main"


class MemoryProject:
    def __init__(self, repo: MemoryRepository) -> None:
        self.repo = repo
        self.planned: list[BuildTarget] = []

    def plan(self, target: BuildTarget) -> PlannedPipeline | NoPipeline:
        self.planned.append(target)
        config = load_config(MemoryFiles(self.repo.files_of(target.commit)))
        if not config.ok:
            return NoPipeline("configuration errors")
        context = PipelineContext(
            ref=target.source_branch,
            event="merge_request_event",
            sha=target.commit,
            changed_files=target.changed_files,
            project_dir="/memory/project",
            merge_request=MergeRequest(target.source_branch, target.target_branch, iid=target.item),
        )
        pipeline = plan(config, context, PlanOptions(files=config_files(self.repo, target.commit)))
        if not pipeline.created or not pipeline.jobs:
            return NoPipeline(pipeline.reason or "no job")
        return pipeline

    def snapshot(self, commit: str) -> WorkspaceSource:
        return WorkspaceSource("/memory/project", commit)

    def discard(self, source: WorkspaceSource) -> None:
        pass


def config_files(repo: MemoryRepository, commit: str) -> list[str]:
    return sorted(repo.files_of(commit))


class TreeExecutor:
    name = "tree"

    def __init__(self, repo: MemoryRepository) -> None:
        self.repo = repo
        self.hold: dict[str, asyncio.Event] = {}
        self.runs: list[tuple[str, str]] = []  # (job, commit)
        self.running = 0
        self.max_running = 0
        self.canceled: list[str] = []

    async def run(self, request: JobRequest, cancel: CancelToken) -> JobOutcome:
        commit = request.source.commit or ""
        job = request.job_name
        self.runs.append((job, commit))
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        log = LogWriter(request.log_path, limit=request.log_limit)
        try:
            event = self.hold.get(job)
            if event is not None:
                waiting = asyncio.ensure_future(event.wait())
                stop = asyncio.ensure_future(cancel.wait())
                await asyncio.wait({waiting, stop}, return_when=asyncio.FIRST_COMPLETED)
                waiting.cancel()
                stop.cancel()
            else:
                await asyncio.sleep(0)
            if cancel.is_set():
                self.canceled.append(job)
                log.note("Job failed: canceled")
                return JobOutcome(None, FailureReason.CANCELED, 0.0, 0.0)
            files = self.repo.files_of(commit)
            earlier = sum(1 for j, _ in self.runs if j == job) - 1
            failing = f"fail/{job}" in files or (f"flaky/{job}" in files and earlier == 0)
            if failing:
                log.write(
                    f"{job}: {files.get(f'fail/{job}') or files.get(f'flaky/{job}')}".encode()
                )
                log.write(b"\n")
                log.note("Job failed: exit code 1")
                return JobOutcome(1, FailureReason.SCRIPT_FAILURE, 0.0, 0.0)
            log.write(f"{job} passed\n".encode())
            return JobOutcome(0, None, 0.0, 0.0)
        finally:
            log.close()
            self.running -= 1


CI = """
workflow:
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
stages: [build, test, deploy]
build: {stage: build, script: [make]}
test: {stage: test, script: [make test]}
lint: {stage: test, script: [lint], allow_failure: true}
deploy: {stage: deploy, script: [deploy]}
"""


@dataclass
class EngineWorld:
    tmp: Path
    settings: GateSettings = field(default_factory=lambda: GateSettings(window=4, window_floor=1))
    concurrency: int = 2
    flakes: Iterable[KnownFlake] = ()
    ci: str = CI

    def __post_init__(self) -> None:
        self.repo = MemoryRepository()
        self.base = self.repo.commit({".gitlab-ci.yml": self.ci, "README": "base\n"}, [], "base")
        self.repo.set_branch("main", self.base)
        self.store: Store = open_memory_store()
        self.executor = TreeExecutor(self.repo)
        self.project = MemoryProject(self.repo)
        self.oracle: FlakeOracle = KnownFlakes(self.flakes)
        self.drivers: list[GateDriver] = []

    def change(self, name: str, files: Mapping[str, str] | None = None) -> str:
        commit = self.repo.commit(files or {f"{name}.txt": f"{name}\n"}, [self.base], name)
        self.store.gate.post_request(
            QUEUE, "enqueue", enqueue_request(_change(name, commit)), at=0.0
        )
        return commit

    async def drive(self, *, once: bool = True, stop_when: str | None = None) -> DriverResult:
        """Run a driver; with ``stop_when`` it is stopped after that audit action is saved."""
        queue = LocalQueue(self.executor, self.concurrency)
        lanes = QueueLanes(queue)
        builds = GateBuilds(
            queue=QUEUE,
            project=self.project,
            project_dir="/memory/project",
            repo=self.repo,
            runs=self.store.runs,
            results=self.store.results,
            links=self.store.gate,
            lanes=lanes,
            settings=EngineSettings(),
            data_dir=self.tmp,
            read_log=read_log_tail,
            target_branch=self.settings.target_branch,
        )
        notifier = _StopAfter(stop_when)
        driver = GateDriver(
            queue=QUEUE,
            settings=self.settings,
            store=self.store.gate,
            repo=self.repo,
            oracle=self.oracle,
            builds=builds,
            notifier=notifier,
        )
        notifier.driver = driver
        self.drivers.append(driver)
        try:
            return await asyncio.wait_for(driver.run(once=once, poll_interval=0.01), timeout=30)
        finally:
            await lanes.close()
            await queue.close()

    def actions(self) -> list[str]:
        return [e.action for e in self.store.audit.list_audit(queue=QUEUE)]

    def landed(self) -> list[str]:
        return [
            e.detail["changes"][0] for e in self.store.audit.list_audit() if e.action == "merge"
        ]


class _StopAfter:
    def __init__(self, action: str | None) -> None:
        self.action = action
        self.driver: GateDriver | None = None
        self.records: list[object] = []

    def audit(self, record: object) -> None:
        self.records.append(record)
        action = getattr(record, "action", None)
        if self.action is not None and action is not None and action.value == self.action:
            assert self.driver is not None
            self.driver.stop()

    def rejected(self, request: object, reason: str) -> None:
        self.records.append((request, reason))


def _change(name: str, commit: str) -> object:
    from gatehouse.core.gate import Change

    return Change(name, commit)
