"""What a gate build's failure says: voting jobs, failing tests from the results DB, log lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatehouse.core.config import MemoryFiles, load_config
from gatehouse.core.model import PipelineContext
from gatehouse.core.planner import PlanOptions, plan
from gatehouse.core.ports import JobStatus, PipelineStatus
from gatehouse.core.results import Build, Checkout, ResultsBatch, Status, Test
from gatehouse.engine.gate.builds import retry_scope
from gatehouse.engine.gate.failures import (
    PIPELINE,
    failure_detail,
    job_build_id,
    log_excerpt,
    pipeline_failures,
)
from gatehouse.storage import Store, open_store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return open_store(f"sqlite:///{tmp_path}/gatehouse.db")


def no_log(path: str) -> list[tuple[str, str]]:
    return []


def test_only_voting_failures_count_and_name_their_failing_tests(store: Store) -> None:
    runs = store.runs
    pipeline = runs.create_pipeline(
        project_dir="/p",
        ref="c1",
        sha="a" * 40,
        event="merge_request_event",
        created_at=1.0,
        source="gate",
    )
    unit = runs.create_job(pipeline_id=pipeline.id, name="unit", stage="test")
    lint = runs.create_job(pipeline_id=pipeline.id, name="lint", stage="test", allow_failure=True)
    flaky = runs.create_job(pipeline_id=pipeline.id, name="e2e", stage="test")
    runs.update_job(unit.id, status=JobStatus.FAILED, exit_code=1, failure_reason="script_failure")
    runs.update_job(lint.id, status=JobStatus.WARNING, exit_code=1)
    runs.update_job(flaky.id, status=JobStatus.FAILED, exit_code=2)
    again = runs.create_job(pipeline_id=pipeline.id, name="e2e", stage="test", attempt=2)
    runs.update_job(again.id, status=JobStatus.SUCCESS, exit_code=0)  # GitLab's retry: passed
    record = runs.update_pipeline(pipeline.id, status=PipelineStatus.FAILED)
    build = job_build_id(unit.id)
    store.results.submit(
        ResultsBatch(
            checkouts=(Checkout(id="gatehouse:p1", origin="gatehouse"),),
            builds=(Build(id=build, origin="gatehouse", checkout_id="gatehouse:p1"),),
            tests=(
                Test(
                    id="gatehouse:t1",
                    origin="gatehouse",
                    build_id=build,
                    path="net.resolve",
                    status=Status.FAIL,
                ),
                Test(
                    id="gatehouse:t2",
                    origin="gatehouse",
                    build_id=build,
                    path="net.connect",
                    status=Status.ERROR,
                ),
                Test(
                    id="gatehouse:t3",
                    origin="gatehouse",
                    build_id=build,
                    path="net.ok",
                    status=Status.PASS,
                ),
                Test(
                    id="gatehouse:t4",
                    origin="gatehouse",
                    build_id=build,
                    path="net.xfail",
                    status=Status.FAIL,
                    misc={"waived": True},
                ),
            ),
        ),
        received_at=2.0,
    )
    jobs = runs.list_jobs(pipeline.id)
    (failure,) = pipeline_failures(record, jobs, results=store.results, read_log=no_log)
    assert failure.job == "unit"
    assert failure.tests == ("net.resolve", "net.connect")
    assert failure.detail == "script_failure (exit code 1)"


def test_a_pipeline_that_did_not_pass_without_a_failed_job_is_a_pipeline_failure(
    store: Store,
) -> None:
    runs = store.runs
    pipeline = runs.create_pipeline(
        project_dir="/p",
        ref="c1",
        sha=None,
        event="merge_request_event",
        created_at=1.0,
        source="gate",
    )
    deploy = runs.create_job(pipeline_id=pipeline.id, name="approve", stage="deploy", when="manual")
    runs.update_job(deploy.id, status=JobStatus.MANUAL)
    record = runs.update_pipeline(pipeline.id, status=PipelineStatus.BLOCKED)
    (failure,) = pipeline_failures(
        record, runs.list_jobs(pipeline.id), results=store.results, read_log=no_log
    )
    assert failure.job == PIPELINE
    assert "blocked" in failure.detail
    assert "approve" in failure.detail
    passed = runs.update_pipeline(pipeline.id, status=PipelineStatus.SUCCESS)
    assert pipeline_failures(passed, [], results=store.results, read_log=no_log) == ()


def test_the_detail_is_the_last_thing_the_job_said() -> None:
    lines = [
        ("G", "Running on local"),
        ("O", "$ sh test.sh"),
        ("O", "test_resolve ... FAILED: expected 3, got 4"),
        ("O", "$ echo done"),
        ("O", "   "),
        ("G", "Job failed: exit code 1"),
    ]
    assert failure_detail(lines) == "test_resolve ... FAILED: expected 3, got 4"
    assert failure_detail([("G", "Job failed: exit code 1")]) == "Job failed: exit code 1"
    assert failure_detail([]) == ""
    excerpt = log_excerpt([("O", "a" * 10), ("O", "b" * 10), ("O", "c" * 10)], limit=25)
    assert excerpt == "b" * 10 + "\n" + "c" * 10


def test_a_flaky_retry_covers_the_jobs_its_failure_skipped() -> None:
    yaml = """
stages: [build, test, deploy, cleanup]
build: {stage: build, script: [b]}
unit: {stage: test, script: [u]}
lint: {stage: test, script: [l]}
package: {stage: deploy, script: [p], needs: [unit]}
docs: {stage: deploy, script: [d], needs: [lint]}
publish: {stage: cleanup, script: [x]}
notify: {stage: cleanup, script: [n], when: always}
manual: {stage: cleanup, script: [m], when: manual}
"""
    config = load_config(MemoryFiles({".gitlab-ci.yml": yaml}))
    pipeline = plan(config, PipelineContext(), PlanOptions())
    assert retry_scope(pipeline, ["unit"]) == {"unit", "package", "publish"}
    assert retry_scope(pipeline, ["lint"]) == {"lint", "docs", "publish"}
    assert retry_scope(pipeline, ["publish"]) == {"publish"}
    assert retry_scope(pipeline, ["gone"]) == frozenset()
