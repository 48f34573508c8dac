"""The gate driver with the production engine over in-memory git, store and executor.

Each story runs the real driver, builds, lanes, runner and LocalQueue; only
git (MemoryRepository), the database (memory store) and the job processes
(an executor that looks at the tested tree) are the package's in-memory
adapters, so a story takes milliseconds and is settled by events, not time.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from gate_engine_world import QUEUE, EngineWorld
from gatehouse.core.gate import GateSettings
from gatehouse.core.gate.known_flakes import KnownFlake
from gatehouse.core.ports import JobStatus, PipelineStatus


def gate_pipelines(world: EngineWorld) -> list[object]:
    return list(reversed(world.store.runs.list_pipelines(limit=200)))


def test_builds_of_several_items_share_one_queue_and_all_land(tmp_path: Path) -> None:
    world = EngineWorld(tmp_path, concurrency=2)
    for name in ("a", "b", "c", "d"):
        world.change(name)
    result = asyncio.run(world.drive())
    assert result.reason == "empty"
    assert world.landed() == ["a", "b", "c", "d"]
    assert world.executor.max_running == 2, "the queue's concurrency bounds every pipeline"
    pipelines = gate_pipelines(world)
    assert {p.source for p in pipelines} == {"gate"}
    assert {p.event for p in pipelines} == {"merge_request_event"}
    links = world.store.gate.build_links(QUEUE)
    assert sorted(link.pipeline_id for link in links) == sorted(p.id for p in pipelines)
    assert world.repo.pins() == ()


def test_an_allowed_failure_does_not_fail_the_item(tmp_path: Path) -> None:
    world = EngineWorld(tmp_path)
    world.change("a", {"a.txt": "a\n", "fail/lint": "style nit"})
    assert asyncio.run(world.drive()).reason == "empty"
    assert world.landed() == ["a"]
    (pipeline,) = gate_pipelines(world)
    statuses = {j.name: j.status for j in world.store.runs.list_jobs(pipeline.id)}
    assert statuses["lint"] is JobStatus.WARNING
    assert pipeline.status is PipelineStatus.SUCCESS


def test_a_failed_job_is_reported_before_its_pipeline_ends_and_fail_fast_cancels_it(
    tmp_path: Path,
) -> None:
    ci = """
workflow: {rules: [{if: $CI_PIPELINE_SOURCE == "merge_request_event"}]}
quick: {script: [check]}
slow: {script: [soak]}
"""
    world = EngineWorld(tmp_path, ci=ci, settings=GateSettings(window=3, window_floor=1))
    world.executor.hold["slow"] = asyncio.Event()  # never set: only a cancel ends it
    world.change("a", {"a.txt": "a\n", "fail/quick": "assertion failed"})
    result = asyncio.run(world.drive())
    assert result.reason == "empty"
    assert world.landed() == []
    assert world.executor.canceled == ["slow"], "fail-fast cancelled the rest of the pipeline"
    (pipeline,) = gate_pipelines(world)
    assert pipeline.status is PipelineStatus.CANCELED
    report = next(e for e in world.store.audit.list_audit() if e.action == "report")
    assert "job quick" in report.detail["detail"]
    assert "quick: assertion failed" in report.detail["detail"]


def test_a_flaky_retry_reruns_the_job_and_what_its_failure_skipped(tmp_path: Path) -> None:
    world = EngineWorld(tmp_path, flakes=[KnownFlake("gatehouse:flaky-test", job="test")])
    world.change("a", {"a.txt": "a\n", "flaky/test": "timeout talking to the cache"})
    assert asyncio.run(world.drive()).reason == "empty"
    assert world.landed() == ["a"]
    first, retry = gate_pipelines(world)
    first_jobs = {j.name: j.status for j in world.store.runs.list_jobs(first.id)}
    assert first_jobs["test"] is JobStatus.FAILED
    assert first_jobs["deploy"] is JobStatus.SKIPPED
    assert [j.name for j in world.store.runs.list_jobs(retry.id)] == ["test", "deploy"]
    assert retry.status is PipelineStatus.SUCCESS
    actions = world.actions()
    assert actions.index("retry") < actions.index("retry-passed") < actions.index("merge")


def test_a_failure_that_is_not_a_known_flake_fails_the_item(tmp_path: Path) -> None:
    world = EngineWorld(tmp_path, flakes=[KnownFlake("gatehouse:other", job="build")])
    world.change("a", {"a.txt": "a\n", "flaky/test": "timeout"})
    world.change("b")
    assert asyncio.run(world.drive()).reason == "empty"
    assert world.landed() == ["b"]
    fail = next(e for e in world.store.audit.list_audit() if e.action == "fail")
    assert "matches no known flake" in fail.detail["evidence"]


def test_a_stopped_driver_leaves_its_builds_to_the_next_one(tmp_path: Path) -> None:
    world = EngineWorld(tmp_path, settings=GateSettings(window=2, window_floor=1))
    hold = asyncio.Event()
    world.executor.hold["deploy"] = hold
    world.change("a")
    world.change("b")
    first = asyncio.run(world.drive(once=False, stop_when="start"))
    assert first.reason == "stopped"
    assert world.landed() == []
    stored = world.store.gate.load_gate(QUEUE)
    assert stored is not None
    in_flight = [b for item in stored.state["queue"] for b in item["builds"]]
    assert in_flight, "the stopped driver's builds are still in the saved state"

    world.executor.hold.clear()
    second = asyncio.run(world.drive())
    assert second.reason == "empty"
    assert world.landed() == ["a", "b"]
    assert all(p.status.is_final for p in gate_pipelines(world))
    restarted = {link.build for link in world.store.gate.build_links(QUEUE)}
    assert {b["id"] for b in in_flight} <= restarted
    assert world.repo.pins() == ()


def test_the_window_limits_the_builds_started(tmp_path: Path) -> None:
    world = EngineWorld(
        tmp_path,
        settings=GateSettings(window=1, window_floor=1, window_increase=0),
        concurrency=4,
    )
    for name in ("a", "b", "c"):
        world.change(name)
    assert asyncio.run(world.drive()).reason == "empty"
    assert world.landed() == ["a", "b", "c"]
    starts = [e for e in world.store.audit.list_audit() if e.action == "start"]
    merges = [e for e in world.store.audit.list_audit() if e.action == "merge"]
    assert [e.item for e in starts] == [e.item for e in merges], "one item at a time"


def test_a_change_git_cannot_merge_fails_alone(tmp_path: Path) -> None:
    world = EngineWorld(tmp_path)
    world.store.gate.post_request(QUEUE, "enqueue", {"change": "ghost", "commit": "f" * 40}, at=0.0)
    world.change("b")
    assert asyncio.run(world.drive()).reason == "empty"
    assert world.landed() == ["b"]
    report = next(e for e in world.store.audit.list_audit() if e.action == "report")
    assert report.detail["changes"] == ["ghost"]
    assert "git could not merge it" in report.detail["evidence"]


def test_a_commit_whose_configuration_is_broken_fails_without_a_retry(tmp_path: Path) -> None:
    world = EngineWorld(tmp_path, flakes=[KnownFlake("gatehouse:everything", job="*")])
    world.change("a", {".gitlab-ci.yml": "test: [this is not a job\n"})
    world.change("b")
    assert asyncio.run(world.drive()).reason == "empty"
    assert world.landed() == ["b"]
    actions = world.actions()
    assert "retry" not in actions
    fail = next(e for e in world.store.audit.list_audit() if e.action == "fail")
    assert "job (pipeline): configuration errors" in fail.detail["detail"]
    assert "no job to retry" in fail.detail["evidence"]
