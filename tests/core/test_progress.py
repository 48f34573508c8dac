"""GitLab's job ordering and `when` semantics, as decided by core/progress.py."""

from __future__ import annotations

from gatehouse.core.config import MemoryFiles, load_config
from gatehouse.core.model import PipelineContext, PlannedPipeline, Retry
from gatehouse.core.planner import PlanOptions, plan
from gatehouse.core.ports import JobStatus, PipelineStatus
from gatehouse.core.progress import (
    JobState,
    RunScope,
    advance,
    final_status,
    pipeline_status,
    should_retry,
)


def planned(yaml: str) -> PlannedPipeline:
    config = load_config(MemoryFiles({".gitlab-ci.yml": yaml}))
    assert config.ok, [d.render() for d in config.diagnostics]
    pipeline = plan(config, PipelineContext(ref="main"), PlanOptions())
    assert pipeline.ok, [d.render() for d in pipeline.diagnostics]
    return pipeline


def scope(p: PlannedPipeline, **kw) -> RunScope:
    return RunScope(selected=frozenset(j.name for j in p.jobs), **kw)


STAGED = """
stages: [build, test, deploy]
build: {stage: build, script: [make]}
unit: {stage: test, script: [test]}
lint: {stage: test, script: [lint], allow_failure: true}
cleanup: {stage: deploy, script: [rm], when: always}
notify: {stage: deploy, script: [mail], when: on_failure}
deploy: {stage: deploy, script: [ship]}
"""


def states(**kw: JobStatus) -> dict[str, JobState]:
    return {name: JobState(status) for name, status in kw.items()}


def test_only_the_first_stage_starts() -> None:
    p = planned(STAGED)
    step = advance(p, {}, scope(p))
    assert step.start == ("build",)
    assert step.skip == ()


def test_later_stage_waits_for_all_earlier_jobs() -> None:
    p = planned(STAGED)
    s = states(build=JobStatus.SUCCESS, unit=JobStatus.SUCCESS, lint=JobStatus.RUNNING)
    assert advance(p, s, scope(p)).start == ()


def test_allowed_failure_counts_as_success() -> None:
    p = planned(STAGED)
    s = states(build=JobStatus.SUCCESS, unit=JobStatus.SUCCESS, lint=JobStatus.WARNING)
    step = advance(p, s, scope(p))
    assert set(step.start) == {"cleanup", "deploy"}
    assert step.skip == (("notify", "skipped: when: on_failure, and nothing failed"),)


def test_failure_skips_on_success_runs_on_failure_and_always() -> None:
    p = planned(STAGED)
    s = states(build=JobStatus.SUCCESS, unit=JobStatus.FAILED, lint=JobStatus.SUCCESS)
    step = advance(p, s, scope(p))
    assert set(step.start) == {"cleanup", "notify"}
    assert [name for name, _ in step.skip] == ["deploy"]


def test_fail_fast_skips_everything_left() -> None:
    p = planned(STAGED)
    s = states(build=JobStatus.FAILED)
    step = advance(p, s, scope(p, fail_fast=True))
    assert step.start == ()
    assert {n for n, _ in step.skip} == {"unit", "lint", "cleanup", "notify", "deploy"}


def test_needs_start_as_soon_as_their_needs_finish() -> None:
    p = planned(
        """
stages: [build, test]
a: {stage: build, script: [x]}
b: {stage: build, script: [x]}
t1: {stage: test, script: [x], needs: [a]}
t2: {stage: test, script: [x], needs: []}
"""
    )
    step = advance(p, {}, scope(p))
    assert set(step.start) == {"a", "b", "t2"}
    step = advance(
        p, states(a=JobStatus.SUCCESS, b=JobStatus.RUNNING, t2=JobStatus.RUNNING), scope(p)
    )
    assert step.start == ("t1",)


def test_skipped_need_skips_the_dependent_but_not_a_later_stage() -> None:
    p = planned(
        """
stages: [one, two, three]
a: {stage: one, script: [x]}
b: {stage: two, script: [x], when: on_failure}
c: {stage: three, script: [x], needs: [b]}
d: {stage: three, script: [x]}
"""
    )
    s = states(a=JobStatus.SUCCESS, b=JobStatus.SKIPPED)
    step = advance(p, s, scope(p))
    assert step.start == ("d",)
    assert [n for n, _ in step.skip] == ["c"]


def test_manual_jobs_wait_and_non_blocking_ones_let_later_stages_run() -> None:
    p = planned(
        """
stages: [build, deploy, verify]
build: {stage: build, script: [x]}
deploy: {stage: deploy, script: [x], when: manual}
verify: {stage: verify, script: [x]}
"""
    )
    step = advance(p, states(build=JobStatus.SUCCESS), scope(p))
    assert step.manual == (("deploy", "manual: start it with --manual or by naming it"),)
    step = advance(p, states(build=JobStatus.SUCCESS, deploy=JobStatus.MANUAL), scope(p))
    assert step.start == ("verify",)


def test_blocking_manual_job_from_rules_holds_later_stages() -> None:
    p = planned(
        """
stages: [build, deploy, verify]
build: {stage: build, script: [x]}
deploy: {stage: deploy, script: [x], rules: [{when: manual}]}
verify: {stage: verify, script: [x]}
"""
    )
    assert p.job("deploy").blocking_manual
    s = states(build=JobStatus.SUCCESS, deploy=JobStatus.MANUAL)
    step = advance(p, s, scope(p))
    assert step.start == ()
    assert step.skip[0][0] == "verify"
    assert "blocked" in step.skip[0][1]
    s["verify"] = JobState(JobStatus.SKIPPED)
    assert pipeline_status(p, s, scope(p).selected) is PipelineStatus.BLOCKED


def test_a_named_manual_job_starts() -> None:
    p = planned("stages: [a]\nm: {stage: a, script: [x], when: manual}\n")
    assert advance(p, {}, scope(p, start_manual=frozenset({"m"}))).start == ("m",)


def test_delayed_job_waits_for_its_timer() -> None:
    p = planned("stages: [a]\nd: {stage: a, script: [x], when: delayed, start_in: 5 minutes}\n")
    assert advance(p, {}, scope(p)).delay == (("d", "5 minutes"),)
    assert advance(p, {}, scope(p, delays_elapsed=frozenset({"d"}))).start == ("d",)


def test_unselected_jobs_are_ignored() -> None:
    p = planned(STAGED)
    only_deploy = RunScope(selected=frozenset({"deploy"}))
    assert advance(p, {}, only_deploy).start == ("deploy",)


def test_retry_rules() -> None:
    infra = Retry(2, ("runner_system_failure",))
    assert should_retry(infra, 1, "runner_system_failure", None)
    assert not should_retry(infra, 1, "script_failure", 1)
    assert not should_retry(infra, 3, "runner_system_failure", None)
    assert should_retry(Retry(1), 1, "script_failure", 1)
    assert not should_retry(Retry(1), 1, "canceled", None)
    by_code = Retry(2, ("always",), (137,))
    assert should_retry(by_code, 1, "script_failure", 137)
    assert not should_retry(by_code, 1, "script_failure", 1)
    assert not should_retry(Retry(0), 1, "script_failure", 1)


def test_final_status_with_allowed_exit_codes() -> None:
    p = planned("stages: [a]\nj: {stage: a, script: [x], allow_failure: {exit_codes: [3]}}\n")
    job = p.job("j")
    assert final_status(job, 0, None) is JobStatus.SUCCESS
    assert final_status(job, 3, "script_failure") is JobStatus.WARNING
    assert final_status(job, 4, "script_failure") is JobStatus.FAILED
    assert final_status(job, None, "canceled") is JobStatus.CANCELED


def test_pipeline_status_roll_up() -> None:
    p = planned(STAGED)
    sel = scope(p).selected
    done = {n: JobState(JobStatus.SUCCESS) for n in sel}
    assert pipeline_status(p, done, sel) is PipelineStatus.SUCCESS
    done["lint"] = JobState(JobStatus.WARNING)
    assert pipeline_status(p, done, sel) is PipelineStatus.SUCCESS
    done["unit"] = JobState(JobStatus.FAILED)
    assert pipeline_status(p, done, sel) is PipelineStatus.FAILED
    done["deploy"] = JobState(JobStatus.RUNNING)
    assert pipeline_status(p, done, sel) is PipelineStatus.RUNNING
    assert pipeline_status(p, {}, frozenset()) is PipelineStatus.SKIPPED
