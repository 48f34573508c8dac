"""The engine's results feed: pipeline → checkout, job attempt → build, JUnit reports → tests."""

from __future__ import annotations

import io
from pathlib import Path

from gatehouse.artifacts.memory import MemoryBlobStore
from gatehouse.core.known_issues import IssuePattern, KnownIssue
from gatehouse.core.model import PipelineContext, PlannedPipeline
from gatehouse.core.ports import (
    ArtifactFile,
    ArtifactManifest,
    JobOutcome,
    JobRecord,
    JobStatus,
    PipelineRecord,
    PipelineStatus,
)
from gatehouse.core.results import Culprit, Status
from gatehouse.errors import StorageError
from gatehouse.resultsdb import known
from gatehouse.resultsdb.feed import PipelineResultsFeed, log_tail
from gatehouse.storage import Store

SHA = "f" * 40


class Job:
    """The little of a PlannedJob the feed reads."""

    def __init__(self, name: str, tags: tuple[str, ...] = ()) -> None:
        self.name = name
        self.tags = tags


def planned() -> PlannedPipeline:
    context = PipelineContext(ref="main", sha=SHA, project_name="calc")
    return PlannedPipeline(context=context, stages=("test",), jobs=(), variables={}, created=True)


def pipeline(status: PipelineStatus = PipelineStatus.RUNNING, **more: object) -> PipelineRecord:
    return PipelineRecord(
        id=3, project_dir="/p", ref="main", sha=SHA, event="push", status=status,
        created_at=1000.0, started_at=1000.0, **more,  # type: ignore[arg-type]
    )  # fmt: skip


def job(job_id: int, status: JobStatus, attempt: int = 1, log: str | None = None) -> JobRecord:
    return JobRecord(
        id=job_id, pipeline_id=3, name="unit", stage="test", attempt=attempt, status=status,
        started_at=1001.0, finished_at=1003.0, exit_code=0 if status is JobStatus.SUCCESS else 1,
        failure_reason=None if status is JobStatus.SUCCESS else "script_failure", log_path=log,
    )  # fmt: skip


def outcome_with_report(blobs: MemoryBlobStore, xml: str) -> JobOutcome:
    blob = blobs.put_stream(io.BytesIO(xml.encode()))
    return JobOutcome(
        exit_code=1,
        failure_reason=None,
        started_at=1001.0,
        finished_at=1003.0,
        reports={"junit": ArtifactManifest((ArtifactFile("out/report.xml", blob),))},
    )


REPORT = (
    '<testsuite name="unit"><testcase classname="calc" name="adds"/>'
    '<testcase classname="calc" name="muls"><failure message="assert 6 == 5">'
    "kernel BUG at mm/slab.c:42</failure></testcase></testsuite>"
)


def test_a_run_is_stored_as_checkout_builds_and_tests(store: Store, tmp_path: Path) -> None:
    blobs = MemoryBlobStore()
    log = tmp_path / "12.log"
    log.write_text(
        "2025-01-02T03:04:05.678Z O $ python3 make_report.py\n"
        "2025-01-02T03:04:05.912Z O AssertionError: assert 6 == 5\n"
        "2025-01-02T03:04:06.001Z G ERROR: Job failed: exit code 1\n"
    )
    problems: list[str] = []
    feed = PipelineResultsFeed(
        store.results, blobs, architecture="x86_64", clock=lambda: 50.0, on_problem=problems.append
    )
    feed.pipeline_started(pipeline(), planned())
    feed.job_finished(
        job(12, JobStatus.FAILED, log=str(log)), Job("unit", ("kvm",)),  # type: ignore[arg-type]
        outcome_with_report(blobs, REPORT),
    )  # fmt: skip
    feed.pipeline_finished(pipeline(PipelineStatus.FAILED, finished_at=1010.0))
    assert problems == []
    checkout = store.results.get_checkout("gatehouse:p3")
    assert checkout is not None
    assert (checkout.git_commit_hash, checkout.tree_name, checkout.git_repository_branch) == (
        SHA,
        "calc",
        "main",
    )
    assert checkout.origin_tests_finish_time == "1970-01-01T00:16:50+00:00"
    assert (checkout.misc or {})["pipeline_status"] == "failed"
    (build,) = store.results.builds_of_checkout("gatehouse:p3")
    assert (build.id, build.status, build.config_name, build.architecture) == (
        "gatehouse:j12",
        Status.FAIL,
        "unit",
        "x86_64",
    )
    assert build.log_excerpt == (
        "$ python3 make_report.py\nAssertionError: assert 6 == 5\nERROR: Job failed: exit code 1"
    )
    assert build.log_url == f"file://{log}"
    assert (build.misc or {})["tags"] == ["kvm"]
    tests = {t.path: t for t in store.results.tests_of_build("gatehouse:j12")}
    assert {p: t.status for p, t in tests.items()} == {
        "unit.calc.adds": Status.PASS,
        "unit.calc.muls": Status.FAIL,
    }
    assert store.results.test_history("unit.calc.muls")[0].git_commit_hash == SHA


def test_a_retry_marks_the_attempt_it_replaced(store: Store) -> None:
    feed = PipelineResultsFeed(store.results, None, clock=lambda: 5.0)
    feed.pipeline_started(pipeline(), planned())
    feed.job_finished(job(12, JobStatus.FAILED), Job("unit"), None)  # type: ignore[arg-type]
    feed.job_finished(job(13, JobStatus.SUCCESS, attempt=2), Job("unit"), None)  # type: ignore[arg-type]
    first, second = store.results.builds_of_checkout("gatehouse:p3")
    assert (first.id, first.status, (first.misc or {}).get("retried")) == (
        "gatehouse:j12",
        Status.FAIL,
        True,
    )
    assert (second.id, second.status, (second.misc or {}).get("attempt")) == (
        "gatehouse:j13",
        Status.PASS,
        2,
    )


def test_failures_of_a_job_are_triaged_as_they_are_stored(store: Store) -> None:
    known.add(
        store.results,
        KnownIssue(
            id="gatehouse:slab",
            version=1,
            origin="gatehouse",
            title="slab bug",
            culprit=Culprit(code=True),
            owner="mm",
            patterns=(
                IssuePattern(log_regex=r"kernel BUG at mm/slab\.c", branches=frozenset({"main"})),
            ),
        ),
        received_at=1.0,
    )
    blobs = MemoryBlobStore()
    feed = PipelineResultsFeed(store.results, blobs, clock=lambda: 5.0)
    feed.pipeline_started(pipeline(), planned())
    feed.job_finished(
        job(12, JobStatus.FAILED),
        Job("unit"),
        outcome_with_report(blobs, REPORT),  # type: ignore[arg-type]
    )
    muls = next(
        t for t in store.results.tests_of_build("gatehouse:j12") if t.path == "unit.calc.muls"
    )
    assert [n.issue_id for n in store.results.incidents_of_test(muls.id)] == ["gatehouse:slab"]


def test_an_unreadable_report_is_a_miss_test(store: Store) -> None:
    blobs = MemoryBlobStore()
    problems: list[str] = []
    feed = PipelineResultsFeed(store.results, blobs, clock=lambda: 5.0, on_problem=problems.append)
    feed.pipeline_started(pipeline(), planned())
    feed.job_finished(
        job(12, JobStatus.FAILED), Job("unit"),  # type: ignore[arg-type]
        outcome_with_report(blobs, "<testsuite><testcase name='x'>"),
    )  # fmt: skip
    (test,) = store.results.tests_of_build("gatehouse:j12")
    assert (test.status, test.path) == (Status.MISS, "out/report.xml")
    assert any("out/report.xml" in p for p in problems)


class RefusingStore:
    """A results store whose every write fails, as a full disk or a lost server would."""

    def submit(self, batch: object, *, received_at: float) -> None:
        raise StorageError("sqlite:///x.db: submit results failed: disk I/O error")

    def list_issues(self) -> list[object]:
        return []


def test_storage_problems_are_reported_and_never_raise() -> None:
    problems: list[str] = []
    feed = PipelineResultsFeed(RefusingStore(), None, on_problem=problems.append)  # type: ignore[arg-type]
    feed.pipeline_started(pipeline(), planned())
    feed.job_finished(job(13, JobStatus.FAILED), Job("unit"), None)  # type: ignore[arg-type]
    feed.pipeline_finished(pipeline(PipelineStatus.FAILED, finished_at=1010.0))
    assert len(problems) == 3
    assert all("results not stored" in p and "disk I/O error" in p for p in problems)


def test_log_tail_keeps_the_end_and_drops_the_line_prefixes(tmp_path: Path) -> None:
    log = tmp_path / "j.log"
    log.write_text("".join(f"2025-01-02T03:04:05.678Z O line {n}\n" for n in range(3000)))
    tail = log_tail(str(log), limit=100)
    assert tail is not None
    assert tail.endswith("line 2999")
    assert len(tail) <= 100
    assert "2025-01-02" not in tail
    assert log_tail(str(tmp_path / "none.log")) is None
    assert log_tail(None) is None
