"""Lanes: several pipeline runners on one job queue, each seeing only its own attempts."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gatehouse.core.config import MemoryFiles, load_config
from gatehouse.core.model import PipelineContext, PlannedPipeline
from gatehouse.core.planner import PlanOptions, plan
from gatehouse.core.ports import JobStatus, PipelineStatus
from gatehouse.core.selection import select
from gatehouse.engine.lanes import QueueLanes
from gatehouse.engine.runner import PipelineRunner, RunOptions
from gatehouse.engine.settings import EngineSettings
from gatehouse.executors.fake import FakeAttempt, FakeExecutor
from gatehouse.queues.memory import LocalQueue
from gatehouse.storage import open_memory_store

YAML = """
stages: [build, test]
build: {stage: build, script: [make]}
unit: {stage: test, script: [test]}
lint: {stage: test, script: [lint]}
"""


def planned(ref: str) -> PlannedPipeline:
    config = load_config(MemoryFiles({".gitlab-ci.yml": YAML}))
    return plan(config, PipelineContext(ref=ref), PlanOptions())


def test_runners_sharing_a_queue_each_finish_with_their_own_results(tmp_path: Path) -> None:
    executor = FakeExecutor()
    executor.script("unit", FakeAttempt(exit_code=1), FakeAttempt(exit_code=0))
    store = open_memory_store()

    async def scenario() -> list[object]:
        queue = LocalQueue(executor, 2)
        lanes = QueueLanes(queue)
        runners = []
        for ref in ("one", "two", "three"):
            pipeline = planned(ref)
            runners.append(
                PipelineRunner(
                    pipeline,
                    RunOptions(selection=select(pipeline)),
                    store=store.runs,
                    queue=lanes.lane(),
                    settings=EngineSettings(),
                    data_dir=tmp_path,
                )
            )
        try:
            return list(await asyncio.gather(*(r.run() for r in runners)))
        finally:
            await lanes.close()
            await queue.close()

    records = asyncio.run(asyncio.wait_for(scenario(), timeout=30))
    statuses = {r.ref: r.status for r in records}  # type: ignore[attr-defined]
    # Exactly one `unit` attempt failed (the first one run), in whichever pipeline got it.
    assert sorted(s.value for s in statuses.values()) == ["failed", "success", "success"]
    for record in records:
        jobs = store.runs.list_jobs(record.id)  # type: ignore[attr-defined]
        assert {j.name for j in jobs} == {"build", "unit", "lint"}
        assert all(j.status.is_final for j in jobs)
    failed = [
        j for r in records for j in store.runs.list_jobs(r.id) if j.status is JobStatus.FAILED
    ]  # type: ignore[attr-defined]
    assert [j.name for j in failed] == ["unit"]
    assert executor.max_running <= 2


def test_the_lane_of_higher_priority_gets_the_executor_first(tmp_path: Path) -> None:
    executor = FakeExecutor()
    store = open_memory_store()

    async def scenario() -> None:
        hold = asyncio.Event()
        executor.script("build", FakeAttempt(hold=hold))  # occupies the only executor
        queue = LocalQueue(executor, 1)
        lanes = QueueLanes(queue)
        first = planned("first")
        blocker = PipelineRunner(
            first,
            RunOptions(selection=select(first, ["build"])),
            store=store.runs,
            queue=lanes.lane(priority=5),
            settings=EngineSettings(),
            data_dir=tmp_path,
        )
        blocking = asyncio.ensure_future(blocker.run())
        while not executor.running:
            await asyncio.sleep(0)
        low, high = planned("low"), planned("high")
        runs = [
            PipelineRunner(
                p,
                RunOptions(selection=select(p, ["lint"])),
                store=store.runs,
                queue=lanes.lane(priority=priority),
                settings=EngineSettings(),
                data_dir=tmp_path,
            ).run()
            for p, priority in ((low, -3), (high, 0))
        ]
        pending = [asyncio.ensure_future(r) for r in runs]
        for _ in range(20):  # let both submit while the executor is busy
            await asyncio.sleep(0)
        hold.set()
        await asyncio.gather(blocking, *pending)
        await lanes.close()
        await queue.close()

    asyncio.run(asyncio.wait_for(scenario(), timeout=30))
    order = [r.env["CI_COMMIT_REF_NAME"] for r in executor.requests]
    assert order == ["first", "high", "low"]
    assert all(p.status is PipelineStatus.SUCCESS for p in store.runs.list_pipelines())
