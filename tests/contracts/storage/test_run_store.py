"""The RunStore contract: one suite, run against the in-memory, SQLite and PostgreSQL adapters."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatehouse.core.ports import (
    ArtifactFile,
    ArtifactManifest,
    ArtifactSetRecord,
    BlobRef,
    FailureReason,
    JobStatus,
    PipelineStatus,
)
from gatehouse.errors import StorageError
from gatehouse.storage import Store


def _pipeline(store: Store, project_dir: str = "/src/qemu", **kw: object):  # type: ignore[no-untyped-def]
    args: dict[str, object] = {
        "project_dir": project_dir,
        "ref": "main",
        "sha": "a" * 40,
        "event": "push",
        "created_at": 1000.0,
    }
    args.update(kw)
    return store.runs.create_pipeline(**args)  # type: ignore[arg-type]


def _blob(n: int) -> BlobRef:
    return BlobRef(f"{n:064x}", n * 10)


def _artifacts(job_id: int, kind: str = "archive", expire_at: float | None = None, blobs=(1, 2)):  # type: ignore[no-untyped-def]
    files = tuple(
        ArtifactFile(f"out/file{n}.bin", _blob(n), 0o755 if n % 2 else 0o644) for n in blobs
    )
    return ArtifactSetRecord(job_id, kind, f"{kind}-{job_id}", expire_at, ArtifactManifest(files))


# --------------------------------------------------------------------------- pipelines


def test_a_created_pipeline_reads_back_equal(store: Store) -> None:
    plan = {"jobs": [{"name": "build", "needs": []}], "stages": ["build", "test"]}
    created = _pipeline(store, plan=plan, variables={"CI": "true", "ARCH": "x86_64"}, source="gate")
    assert created.id >= 1
    assert created.status is PipelineStatus.CREATED
    assert store.runs.get_pipeline(created.id) == created
    assert created.plan == plan
    assert created.variables == {"CI": "true", "ARCH": "x86_64"}
    assert created.source == "gate"


def test_an_unknown_pipeline_reads_as_none(store: Store) -> None:
    assert store.runs.get_pipeline(12345) is None


def test_pipelines_list_newest_first_with_limit_and_project(store: Store) -> None:
    a = _pipeline(store, "/a")
    b = _pipeline(store, "/b")
    c = _pipeline(store, "/a")
    assert b.id > a.id
    assert c.id > b.id
    assert [p.id for p in store.runs.list_pipelines()] == [c.id, b.id, a.id]
    assert [p.id for p in store.runs.list_pipelines(limit=2)] == [c.id, b.id]
    assert [p.id for p in store.runs.list_pipelines(project_dir="/a")] == [c.id, a.id]


def test_update_pipeline_persists_the_changes(store: Store) -> None:
    p = _pipeline(store)
    updated = store.runs.update_pipeline(
        p.id, status=PipelineStatus.RUNNING, started_at=1001, sha="b" * 40
    )
    assert updated.status is PipelineStatus.RUNNING
    assert updated.started_at == 1001.0
    assert updated.sha == "b" * 40
    assert store.runs.get_pipeline(p.id) == updated
    final = store.runs.update_pipeline(p.id, status="success", finished_at=1002.5)
    assert final.status is PipelineStatus.SUCCESS
    assert final.started_at == 1001.0


def test_update_pipeline_refuses_fields_that_never_change(store: Store) -> None:
    p = _pipeline(store)
    with pytest.raises(TypeError, match="ref"):
        store.runs.update_pipeline(p.id, ref="other")
    with pytest.raises(TypeError, match="colour"):
        store.runs.update_pipeline(p.id, colour="red")
    assert store.runs.get_pipeline(p.id) == p


def test_update_pipeline_of_an_unknown_id_is_a_storage_error(store: Store) -> None:
    with pytest.raises(StorageError, match="no pipeline 999"):
        store.runs.update_pipeline(999, status=PipelineStatus.FAILED)


def test_update_pipeline_refuses_an_unknown_status(store: Store) -> None:
    p = _pipeline(store)
    with pytest.raises(ValueError, match="bogus"):
        store.runs.update_pipeline(p.id, status="bogus")
    assert store.runs.get_pipeline(p.id) == p


# --------------------------------------------------------------------------- jobs


def test_a_created_job_reads_back_equal(store: Store) -> None:
    p = _pipeline(store)
    job = store.runs.create_job(
        pipeline_id=p.id,
        name="test: [x86_64]",
        stage="test",
        allow_failure=True,
        when="always",
        created_at=1000,
        status=JobStatus.PENDING,
    )
    assert job.attempt == 1
    assert not job.retried
    assert job.created_at == 1000.0
    assert store.runs.get_job(job.id) == job
    assert store.runs.list_jobs(p.id) == [job]


def test_a_job_needs_an_existing_pipeline(store: Store) -> None:
    with pytest.raises(StorageError, match="no pipeline 4242"):
        store.runs.create_job(pipeline_id=4242, name="build", stage="build")


def test_update_job_records_a_whole_run(store: Store) -> None:
    p = _pipeline(store)
    job = store.runs.create_job(pipeline_id=p.id, name="build", stage="build")
    store.runs.update_job(job.id, status=JobStatus.PENDING, queued_at=1)
    store.runs.update_job(job.id, status=JobStatus.RUNNING, started_at=2, executor="shell")
    done = store.runs.update_job(
        job.id,
        status=JobStatus.FAILED,
        finished_at=3.5,
        exit_code=2,
        failure_reason=FailureReason.SCRIPT_FAILURE,
        log_path=".gatehouse/logs/1/1.log",
        log_bytes=4 * 1024 * 1024,
        log_truncated=True,
        coverage=81.25,
    )
    assert done == store.runs.get_job(job.id)
    assert (done.status, done.exit_code, done.failure_reason) == (
        JobStatus.FAILED,
        2,
        "script_failure",
    )
    assert (done.queued_at, done.started_at, done.finished_at) == (1.0, 2.0, 3.5)
    assert done.executor == "shell"
    assert done.log_bytes == 4 * 1024 * 1024
    assert done.log_truncated
    assert done.coverage == 81.25


def test_update_job_refuses_identity_fields_and_unknown_ids(store: Store) -> None:
    p = _pipeline(store)
    job = store.runs.create_job(pipeline_id=p.id, name="build", stage="build")
    for field in ("attempt", "name", "pipeline_id", "id"):
        with pytest.raises(TypeError, match=field):
            store.runs.update_job(job.id, **{field: 7})
    assert store.runs.get_job(job.id) == job
    with pytest.raises(StorageError, match="no job 777"):
        store.runs.update_job(777, status=JobStatus.RUNNING)


def test_a_retry_is_a_new_attempt_and_never_overwrites_the_first(store: Store) -> None:
    p = _pipeline(store)
    first = store.runs.create_job(pipeline_id=p.id, name="test", stage="test")
    first = store.runs.update_job(
        first.id, status=JobStatus.FAILED, exit_code=1, failure_reason="script_failure"
    )
    second = store.runs.create_job(pipeline_id=p.id, name="test", stage="test", attempt=2)
    assert second.id != first.id
    assert second.attempt == 2
    assert not second.retried
    old = store.runs.get_job(first.id)
    assert old is not None
    assert old.retried
    assert (old.status, old.exit_code, old.failure_reason) == (
        JobStatus.FAILED,
        1,
        "script_failure",
    )
    assert [j.id for j in store.runs.list_jobs(p.id)] == [first.id, second.id]
    assert [j.id for j in store.runs.list_jobs(p.id, include_retried=False)] == [second.id]


def test_an_existing_attempt_cannot_be_created_again(store: Store) -> None:
    p = _pipeline(store)
    job = store.runs.create_job(pipeline_id=p.id, name="test", stage="test")
    job = store.runs.update_job(job.id, status=JobStatus.SUCCESS)
    with pytest.raises(StorageError, match="never overwritten"):
        store.runs.create_job(pipeline_id=p.id, name="test", stage="test", attempt=1)
    assert store.runs.list_jobs(p.id) == [job]


def test_attempts_start_at_one(store: Store) -> None:
    p = _pipeline(store)
    with pytest.raises(StorageError, match="attempt"):
        store.runs.create_job(pipeline_id=p.id, name="test", stage="test", attempt=0)
    assert store.runs.list_jobs(p.id) == []


def test_same_job_name_in_two_pipelines_is_two_jobs(store: Store) -> None:
    a, b = _pipeline(store), _pipeline(store)
    ja = store.runs.create_job(pipeline_id=a.id, name="build", stage="build")
    jb = store.runs.create_job(pipeline_id=b.id, name="build", stage="build")
    assert not store.runs.get_job(ja.id).retried  # type: ignore[union-attr]
    assert store.runs.list_jobs(b.id) == [jb]


_ids = itertools.count(1)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    creations=st.lists(
        st.tuples(st.sampled_from(["build", "test", "lint"]), st.integers(1, 4)),
        max_size=12,
        unique=True,
    )
)
def test_only_the_highest_attempt_of_a_job_is_current(
    store: Store, creations: list[tuple[str, int]]
) -> None:
    """Whatever order attempts are created in, ``retried`` marks all but the highest."""
    p = _pipeline(store, f"/prop/{next(_ids)}")
    for name, attempt in creations:
        store.runs.create_job(pipeline_id=p.id, name=name, stage="s", attempt=attempt)
    jobs = store.runs.list_jobs(p.id)
    assert sorted((j.name, j.attempt) for j in jobs) == sorted(creations)
    highest = {name: max(a for n, a in creations if n == name) for name, _ in creations}
    for job in jobs:
        assert job.retried == (job.attempt < highest[job.name])
    current = store.runs.list_jobs(p.id, include_retried=False)
    assert sorted((j.name, j.attempt) for j in current) == sorted(highest.items())


# --------------------------------------------------------------------------- artifacts


def test_artifact_sets_read_back_in_order(store: Store) -> None:
    p = _pipeline(store)
    job = store.runs.create_job(pipeline_id=p.id, name="build", stage="build")
    archive = _artifacts(job.id, "archive", expire_at=5000.0, blobs=(3, 1, 2))
    junit = _artifacts(job.id, "junit", blobs=(4,))
    store.runs.add_artifacts(archive)
    store.runs.add_artifacts(junit)
    assert store.runs.list_artifacts(job.id) == [archive, junit]
    assert [f.path for f in store.runs.list_artifacts(job.id)[0].manifest.files] == [
        "out/file3.bin",
        "out/file1.bin",
        "out/file2.bin",
    ]


def test_an_empty_artifact_set_is_kept(store: Store) -> None:
    p = _pipeline(store)
    job = store.runs.create_job(pipeline_id=p.id, name="build", stage="build")
    empty = _artifacts(job.id, blobs=())
    store.runs.add_artifacts(empty)
    assert store.runs.list_artifacts(job.id) == [empty]


def test_an_artifact_set_is_recorded_once(store: Store) -> None:
    p = _pipeline(store)
    job = store.runs.create_job(pipeline_id=p.id, name="build", stage="build")
    first = _artifacts(job.id, blobs=(1,))
    store.runs.add_artifacts(first)
    with pytest.raises(StorageError, match="already has archive artifacts"):
        store.runs.add_artifacts(_artifacts(job.id, blobs=(2,)))
    assert store.runs.list_artifacts(job.id) == [first]


def test_artifacts_need_an_existing_job(store: Store) -> None:
    with pytest.raises(StorageError, match="no job 31337"):
        store.runs.add_artifacts(_artifacts(31337))


def test_a_set_naming_a_path_twice_is_refused_whole(store: Store) -> None:
    p = _pipeline(store)
    job = store.runs.create_job(pipeline_id=p.id, name="build", stage="build")
    twice = ArtifactSetRecord(
        job.id,
        "archive",
        "a",
        None,
        ArtifactManifest((ArtifactFile("x", _blob(1)), ArtifactFile("x", _blob(2)))),
    )
    with pytest.raises(StorageError):
        store.runs.add_artifacts(twice)
    assert store.runs.list_artifacts(job.id) == []
    assert store.runs.referenced_blobs() == set()


def test_expired_artifacts_are_those_due_at_or_before_now(store: Store) -> None:
    p = _pipeline(store)
    jobs = [store.runs.create_job(pipeline_id=p.id, name=f"j{n}", stage="s") for n in range(4)]
    early = _artifacts(jobs[0].id, expire_at=100.0)
    due = _artifacts(jobs[1].id, expire_at=200.0)
    later = _artifacts(jobs[2].id, expire_at=300.0)
    never = _artifacts(jobs[3].id, expire_at=None)
    for record in (early, due, later, never):
        store.runs.add_artifacts(record)
    assert store.runs.expired_artifacts(99.0) == []
    assert store.runs.expired_artifacts(200.0) == [early, due]
    assert store.runs.expired_artifacts(1e12) == [early, due, later]


def test_deleting_a_set_releases_only_its_own_blobs(store: Store) -> None:
    p = _pipeline(store)
    a = store.runs.create_job(pipeline_id=p.id, name="a", stage="s")
    b = store.runs.create_job(pipeline_id=p.id, name="b", stage="s")
    store.runs.add_artifacts(_artifacts(a.id, blobs=(1, 2)))
    store.runs.add_artifacts(_artifacts(b.id, blobs=(2, 3)))
    store.runs.add_artifacts(_artifacts(b.id, "junit", blobs=(4,)))
    assert store.runs.referenced_blobs() == {_blob(n).sha256 for n in (1, 2, 3, 4)}
    store.runs.delete_artifacts(a.id, "archive")
    assert store.runs.list_artifacts(a.id) == []
    assert store.runs.referenced_blobs() == {_blob(n).sha256 for n in (2, 3, 4)}
    store.runs.delete_artifacts(b.id, "junit")
    assert [s.kind for s in store.runs.list_artifacts(b.id)] == ["archive"]
    assert store.runs.referenced_blobs() == {_blob(n).sha256 for n in (2, 3)}
    store.runs.delete_artifacts(b.id, "junit")  # already gone: nothing to do
    assert store.runs.referenced_blobs() == {_blob(n).sha256 for n in (2, 3)}


def test_a_deleted_set_can_be_recorded_again(store: Store) -> None:
    p = _pipeline(store)
    job = store.runs.create_job(pipeline_id=p.id, name="a", stage="s")
    store.runs.add_artifacts(_artifacts(job.id, blobs=(1,)))
    store.runs.delete_artifacts(job.id, "archive")
    again = _artifacts(job.id, blobs=(5,))
    store.runs.add_artifacts(again)
    assert store.runs.list_artifacts(job.id) == [again]


def test_the_stored_plan_is_a_copy_of_the_callers(store: Store) -> None:
    plan = {"jobs": [{"name": "a"}]}
    p = _pipeline(store, plan=plan)
    plan["jobs"].append({"name": "b"})
    assert p.plan == {"jobs": [{"name": "a"}]}
    assert store.runs.get_pipeline(p.id).plan == {"jobs": [{"name": "a"}]}  # type: ignore[union-attr]


def test_a_negative_limit_lists_nothing(store: Store) -> None:
    _pipeline(store)
    assert store.runs.list_pipelines(limit=-1) == []
