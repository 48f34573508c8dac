"""The engine loop, driven by the scriptable fake executor against the in-memory store.

These are stories about what the engine decides and persists, settled
deterministically (a held attempt finishes when the test says so); the same
behaviour against real processes is in tests/cli/test_run.py.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gatehouse.artifacts.memory import MemoryBlobStore
from gatehouse.core.config import MemoryFiles, load_config
from gatehouse.core.model import PipelineContext, PlannedPipeline
from gatehouse.core.planner import PlanOptions, plan
from gatehouse.core.ports import FailureReason, JobStatus, PipelineStatus
from gatehouse.core.selection import select
from gatehouse.engine.observer import RecordingObserver
from gatehouse.engine.runner import PipelineRunner, RunOptions
from gatehouse.engine.settings import EngineSettings
from gatehouse.executors.fake import FakeAttempt, FakeExecutor
from gatehouse.queues.memory import LocalQueue
from gatehouse.storage import open_memory_store


def planned(yaml: str, **context: object) -> PlannedPipeline:
    config = load_config(MemoryFiles({".gitlab-ci.yml": yaml}))
    assert config.ok, [d.render() for d in config.diagnostics]
    pipeline = plan(config, PipelineContext(ref="main", **context), PlanOptions())  # type: ignore[arg-type]
    assert pipeline.ok, [d.render() for d in pipeline.diagnostics]
    return pipeline


class World:
    def __init__(self, tmp_path: Path, concurrency: int = 4, **settings: object) -> None:
        self.blobs = MemoryBlobStore()
        self.executor = FakeExecutor(self.blobs)
        self.store = open_memory_store()
        self.observer = RecordingObserver()
        self.tmp = tmp_path
        self.concurrency = concurrency
        self.settings = EngineSettings(**settings)  # type: ignore[arg-type]
        self.runner: PipelineRunner | None = None

    async def run(
        self, pipeline: PlannedPipeline, jobs: list[str] | None = None, **options: object
    ):
        queue = LocalQueue(self.executor, self.concurrency)
        self.runner = PipelineRunner(
            pipeline,
            RunOptions(selection=select(pipeline, jobs or []), **options),  # type: ignore[arg-type]
            store=self.store.runs,
            queue=queue,
            settings=self.settings,
            data_dir=self.tmp,
            observer=self.observer,
        )
        try:
            return await self.runner.run()
        finally:
            await queue.close()

    def jobs(self, record) -> dict[str, list]:
        out: dict[str, list] = {}
        for job in self.store.runs.list_jobs(record.id):
            out.setdefault(job.name, []).append(job)
        return out

    def status(self, record) -> dict[str, str]:
        return {name: attempts[-1].status.value for name, attempts in self.jobs(record).items()}


STAGES = """
stages: [build, test, deploy]
build: {stage: build, script: [make], artifacts: {paths: [out/]}}
unit: {stage: test, script: [test]}
lint: {stage: test, script: [lint], allow_failure: true}
deploy: {stage: deploy, script: [ship]}
cleanup: {stage: deploy, script: [rm], when: always}
notify: {stage: deploy, script: [mail], when: on_failure}
"""


async def test_a_green_pipeline_runs_in_stage_order_and_passes_artifacts(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.executor.script("build", FakeAttempt(artifacts={"out/bin": b"binary"}))
    record = await world.run(planned(STAGES))
    assert record.status is PipelineStatus.SUCCESS
    assert world.status(record) == {
        "build": "success",
        "unit": "success",
        "lint": "success",
        "deploy": "success",
        "cleanup": "success",
        "notify": "skipped",
    }
    started = [name for kind, name, _ in world.observer.events if kind == "started"]
    assert started[0] == "build"
    assert set(started[1:3]) == {"unit", "lint"}
    (unit,) = world.executor.requests_for("unit")
    assert [f.path for m in unit.artifacts_in for f in m.files] == ["out/bin"]
    assert unit.env["CI_JOB_NAME"] == "unit"
    assert unit.env["CI_PIPELINE_ID"] == str(record.id)


async def test_failure_skips_on_success_and_runs_on_failure_and_always(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.executor.script("unit", FakeAttempt(exit_code=1))
    record = await world.run(planned(STAGES))
    assert record.status is PipelineStatus.FAILED
    statuses = world.status(record)
    assert statuses["unit"] == "failed"
    assert statuses["deploy"] == "skipped"
    assert statuses["cleanup"] == "success"
    assert statuses["notify"] == "success"
    assert world.jobs(record)["unit"][0].failure_reason == "script_failure"


async def test_allowed_failure_is_a_warning_and_the_pipeline_passes(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.executor.script("lint", FakeAttempt(exit_code=1))
    record = await world.run(planned(STAGES))
    assert record.status is PipelineStatus.SUCCESS
    assert world.status(record)["lint"] == "warning"
    assert world.status(record)["deploy"] == "success"


async def test_allow_failure_exit_codes(tmp_path: Path) -> None:
    yaml = "a: {script: [x], allow_failure: {exit_codes: [3]}}\nb: {script: [x], allow_failure: {exit_codes: [3]}}\n"
    world = World(tmp_path)
    world.executor.script("a", FakeAttempt(exit_code=3))
    world.executor.script("b", FakeAttempt(exit_code=4))
    record = await world.run(planned(yaml))
    assert world.status(record) == {"a": "warning", "b": "failed"}
    assert record.status is PipelineStatus.FAILED


async def test_retry_by_exit_code_keeps_every_attempt(tmp_path: Path) -> None:
    yaml = "t: {script: [x], retry: {max: 2, exit_codes: [137]}}\nu: {script: [x], retry: {max: 2, exit_codes: [137]}}\n"
    world = World(tmp_path)
    world.executor.script("t", FakeAttempt(exit_code=137), FakeAttempt(exit_code=0))
    world.executor.script("u", FakeAttempt(exit_code=1))
    record = await world.run(planned(yaml))
    attempts = world.jobs(record)
    assert [(j.attempt, j.status.value, j.retried) for j in attempts["t"]] == [
        (1, "failed", True),
        (2, "success", False),
    ]
    # exit 1 is not in retry:exit_codes: no retry.
    assert [(j.attempt, j.status.value) for j in attempts["u"]] == [(1, "failed")]
    assert record.status is PipelineStatus.FAILED


async def test_retry_when_infra_only(tmp_path: Path) -> None:
    yaml = "t: {script: [x], retry: {max: 1, when: [runner_system_failure]}}\n"
    world = World(tmp_path)
    world.executor.script(
        "t",
        FakeAttempt(failure_reason=FailureReason.RUNNER_SYSTEM_FAILURE),
        FakeAttempt(exit_code=1),
    )
    record = await world.run(planned(yaml))
    assert [(j.attempt, j.failure_reason) for j in world.jobs(record)["t"]] == [
        (1, "runner_system_failure"),
        (2, "script_failure"),
    ]


async def test_needs_and_artifacts_false_and_dependencies(tmp_path: Path) -> None:
    yaml = """
stages: [build, test]
a: {stage: build, script: [x], artifacts: {paths: [a]}}
b: {stage: build, script: [x], artifacts: {paths: [b]}}
n1: {stage: test, script: [x], needs: [a, {job: b, artifacts: false}]}
d1: {stage: test, script: [x], dependencies: [b]}
d0: {stage: test, script: [x], dependencies: []}
"""
    world = World(tmp_path)
    world.executor.script("a", FakeAttempt(artifacts={"a": b"A"}))
    world.executor.script("b", FakeAttempt(artifacts={"b": b"B"}))
    await world.run(planned(yaml))

    def got(name: str) -> list[str]:
        (req,) = world.executor.requests_for(name)
        return sorted(f.path for m in req.artifacts_in for f in m.files)

    assert got("n1") == ["a"]
    assert got("d1") == ["b"]
    assert got("d0") == []


async def test_concurrency_is_respected(tmp_path: Path) -> None:
    yaml = "\n".join(f"j{i}: {{script: [x], needs: []}}" for i in range(12))
    world = World(tmp_path, concurrency=3)
    record = await world.run(planned(yaml))
    assert record.status is PipelineStatus.SUCCESS
    assert world.executor.max_running == 3


async def test_resource_group_never_runs_two_at_once(tmp_path: Path) -> None:
    yaml = "\n".join(f"d{i}: {{script: [x], needs: [], resource_group: prod}}" for i in range(4))
    world = World(tmp_path, concurrency=4)
    record = await world.run(planned(yaml))
    assert record.status is PipelineStatus.SUCCESS
    assert world.executor.max_running == 1


async def test_cancel_stops_running_and_cancels_pending(tmp_path: Path) -> None:
    yaml = "stages: [a, b]\nlong: {stage: a, script: [x]}\nlater: {stage: b, script: [x]}\n"
    world = World(tmp_path)
    hold = asyncio.Event()
    world.executor.script("long", FakeAttempt(hold=hold))
    task = asyncio.create_task(world.run(planned(yaml)))
    while not world.executor.running:
        await asyncio.sleep(0)
    assert world.runner is not None
    world.runner.request_cancel()
    record = await task
    assert record.status is PipelineStatus.CANCELED
    assert world.status(record) == {"long": "canceled", "later": "canceled"}


async def test_fail_fast_skips_the_rest(tmp_path: Path) -> None:
    world = World(tmp_path, fail_fast=True)
    world.executor.script("build", FakeAttempt(exit_code=2))
    record = await world.run(planned(STAGES))
    assert world.status(record)["unit"] == "skipped"
    assert world.status(record)["cleanup"] == "skipped"


async def test_timeout_is_capped_by_the_maximum(tmp_path: Path) -> None:
    yaml = "a: {script: [x], timeout: 3h}\nb: {script: [x]}\n"
    world = World(tmp_path, max_timeout=3600.0, default_timeout=600.0)
    await world.run(planned(yaml))
    assert world.executor.requests_for("a")[0].timeout == 3600.0
    assert world.executor.requests_for("b")[0].timeout == 600.0
    assert world.executor.requests_for("a")[0].env["CI_JOB_TIMEOUT"] == "3600"


async def test_manual_jobs_wait_unless_named(tmp_path: Path) -> None:
    yaml = "stages: [a, b]\nbuild: {stage: a, script: [x]}\nship: {stage: b, script: [x], when: manual}\n"
    world = World(tmp_path)
    record = await world.run(planned(yaml))
    assert world.status(record) == {"build": "success", "ship": "manual"}
    assert record.status is PipelineStatus.SUCCESS
    record = await world.run(planned(yaml), ["ship"])
    assert world.status(record) == {"ship": "success"}
    assert world.executor.requests_for("ship")[0].env["CI_JOB_MANUAL"] == "true"


async def test_a_blocking_manual_job_blocks_the_pipeline(tmp_path: Path) -> None:
    yaml = "stages: [a, b]\ngate: {stage: a, script: [x], rules: [{when: manual}]}\nafter: {stage: b, script: [x]}\n"
    world = World(tmp_path)
    record = await world.run(planned(yaml))
    assert record.status is PipelineStatus.BLOCKED
    assert world.status(record)["after"] == "skipped"


async def test_delayed_job_starts_after_its_delay(tmp_path: Path) -> None:
    world = World(tmp_path)
    record = await world.run(planned("d: {script: [x], when: delayed, start_in: '0.05'}\n"))
    assert world.status(record) == {"d": "success"}
    assert ("note", "d", "delayed: starts in 0.05") in world.observer.events


async def test_trigger_jobs_are_skipped_and_incomplete_jobs_fail(tmp_path: Path) -> None:
    yaml = "bridge: {trigger: other/project}\nok: {script: [x]}\n"
    world = World(tmp_path)
    record = await world.run(planned(yaml))
    assert world.status(record) == {"bridge": "skipped", "ok": "success"}


async def test_masked_variable_names_reach_the_executor(tmp_path: Path) -> None:
    world = World(tmp_path)
    await world.run(
        planned("a: {script: [x]}\n", variables={"TOKEN": "s3cr3t-value"}),
        masked=frozenset({"TOKEN"}),
    )
    (req,) = world.executor.requests_for("a")
    assert req.masked == frozenset({"TOKEN"})
    assert req.env["TOKEN"] == "s3cr3t-value"


async def test_every_transition_is_persisted_as_it_happens(tmp_path: Path) -> None:
    yaml = "a: {script: [x]}\n"
    world = World(tmp_path)
    hold = asyncio.Event()
    world.executor.script("a", FakeAttempt(hold=hold))
    task = asyncio.create_task(world.run(planned(yaml)))
    for _ in range(1000):  # let the "started" report travel through the queue
        await asyncio.sleep(0)
        pipelines = world.store.runs.list_pipelines()
        if pipelines and world.store.runs.list_jobs(pipelines[0].id)[0].status is JobStatus.RUNNING:
            break
    (pipeline,) = world.store.runs.list_pipelines()
    (job,) = world.store.runs.list_jobs(pipeline.id)
    assert pipeline.status is PipelineStatus.RUNNING
    assert job.status is JobStatus.RUNNING
    assert job.started_at is not None
    hold.set()
    record = await task
    (job,) = world.store.runs.list_jobs(record.id)
    assert job.status is JobStatus.SUCCESS
    assert job.finished_at is not None


@pytest.mark.parametrize("when", ["on_success", "on_failure", "always"])
async def test_artifacts_when_follows_the_outcome(tmp_path: Path, when: str) -> None:
    yaml = f"stages: [a, b]\nmake: {{stage: a, script: [x], artifacts: {{paths: [f], when: {when}}}}}\nuse: {{stage: b, script: [x], when: always}}\n"
    world = World(tmp_path)
    world.executor.script("make", FakeAttempt(exit_code=1, artifacts={"f": b"1"}))
    record = await world.run(planned(yaml))
    sets = world.store.runs.list_artifacts(world.jobs(record)["make"][0].id)
    assert bool(sets) == (when in ("on_failure", "always"))
