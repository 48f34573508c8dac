"""Our pipelines in the results model: the pure mapping of pipelines and job attempts."""

from __future__ import annotations

import pytest

from gatehouse.core import pipeline_results as mapping
from gatehouse.core.model import PipelineContext
from gatehouse.core.ports import JobRecord, JobStatus, PipelineRecord, PipelineStatus
from gatehouse.core.results import Status

SHA = "ab" * 20


def pipeline(**changes: object) -> PipelineRecord:
    fields: dict[str, object] = {
        "id": 7,
        "project_dir": "/src/qemu",
        "ref": "main",
        "sha": SHA,
        "event": "push",
        "status": PipelineStatus.RUNNING,
        "created_at": 1_700_000_000.0,
        "started_at": 1_700_000_001.0,
    }
    fields.update(changes)
    return PipelineRecord(**fields)  # type: ignore[arg-type]


def job(status: JobStatus, reason: str | None = None, **changes: object) -> JobRecord:
    fields: dict[str, object] = {
        "id": 42,
        "pipeline_id": 7,
        "name": "unit",
        "stage": "test",
        "attempt": 1,
        "status": status,
        "failure_reason": reason,
        "started_at": 100.0,
        "finished_at": 112.5,
        "exit_code": 0 if status is JobStatus.SUCCESS else 1,
    }
    fields.update(changes)
    return JobRecord(**fields)  # type: ignore[arg-type]


def test_a_pipeline_is_a_checkout_of_its_commit_and_branch() -> None:
    context = PipelineContext(ref="main", sha=SHA, project_name="qemu", commit_message="fix\nbody")
    checkout = mapping.pipeline_checkout(pipeline(), context, working_tree=True)
    assert checkout.id == "gatehouse:p7"
    assert (checkout.origin, checkout.tree_name, checkout.git_commit_hash) == (
        "gatehouse",
        "qemu",
        SHA,
    )
    assert checkout.git_repository_branch == "main"
    assert checkout.git_commit_message == "fix"
    assert checkout.start_time == "2023-11-14T22:13:21+00:00"
    assert checkout.misc == {
        "pipeline_id": 7,
        "event": "push",
        "source": "local",
        "project_dir": "/src/qemu",
        "working_tree": True,
    }


def test_a_tag_pipeline_names_the_tag_and_no_branch() -> None:
    context = PipelineContext(ref="v1.0", is_tag=True, project_name="qemu")
    checkout = mapping.pipeline_checkout(pipeline(ref="v1.0"), context, working_tree=False)
    assert checkout.git_commit_tags == ("v1.0",)
    assert checkout.git_repository_branch is None
    assert "working_tree" not in (checkout.misc or {})


def test_outside_git_there_is_no_commit() -> None:
    checkout = mapping.pipeline_checkout(
        pipeline(sha="0" * 40), PipelineContext(), working_tree=True
    )
    assert checkout.git_commit_hash is None


def test_a_finished_pipeline_sets_the_latency_markers() -> None:
    done = mapping.finished_checkout(
        pipeline(status=PipelineStatus.FAILED, finished_at=1_700_000_061.0)
    )
    assert done.origin_builds_finish_time == "2023-11-14T22:14:21+00:00"
    assert done.origin_tests_finish_time == done.origin_builds_finish_time
    assert done.misc == {"pipeline_status": "failed"}


@pytest.mark.parametrize(
    ("status", "reason", "expected"),
    [
        (JobStatus.SUCCESS, None, Status.PASS),
        (JobStatus.FAILED, "script_failure", Status.FAIL),
        (JobStatus.FAILED, None, Status.FAIL),
        (JobStatus.WARNING, "script_failure", Status.FAIL),
        (JobStatus.FAILED, "job_execution_timeout", Status.ERROR),
        (JobStatus.FAILED, "runner_system_failure", Status.MISS),
        (JobStatus.FAILED, "unmet_prerequisites", Status.MISS),
        (JobStatus.FAILED, "something_new", Status.MISS),
        (JobStatus.CANCELED, "canceled", None),
        (JobStatus.SKIPPED, None, None),
    ],
)
def test_build_status_of_an_attempt(
    status: JobStatus, reason: str | None, expected: Status | None
) -> None:
    assert mapping.build_status(job(status, reason)) is expected


def test_a_job_attempt_is_a_build_with_its_facts_in_misc() -> None:
    build = mapping.job_build(
        job(JobStatus.WARNING, "script_failure", allow_failure=True, attempt=2, coverage=81.5),
        tags=("kvm", "x86"),
        architecture="x86_64",
        log_url="file:///tmp/42.log",
        log_excerpt="boom",
    )
    assert (build.id, build.checkout_id, build.origin) == (
        "gatehouse:j42",
        "gatehouse:p7",
        "gatehouse",
    )
    assert (build.status, build.config_name, build.architecture) == (Status.FAIL, "unit", "x86_64")
    assert build.duration == 12.5
    assert build.log_excerpt == "boom"
    assert build.misc == {
        "job_id": 42,
        "job": "unit",
        "stage": "test",
        "attempt": 2,
        "job_status": "warning",
        "exit_code": 1,
        "failure_reason": "script_failure",
        "allowed_failure": True,
        "tags": ["kvm", "x86"],
        "coverage": 81.5,
    }


def test_a_passing_build_keeps_no_excerpt_and_a_retry_marks_the_attempt_it_replaced() -> None:
    assert mapping.job_build(job(JobStatus.SUCCESS), log_excerpt="noise").log_excerpt is None
    superseded = mapping.superseded_build(41, 7)
    assert (superseded.id, superseded.checkout_id, superseded.misc) == (
        "gatehouse:j41",
        "gatehouse:p7",
        {"retried": True},
    )
