"""The engine's state in SQL: pipelines, job attempts, artifact sets (the RunStore port).

One implementation for SQLite and PostgreSQL over :class:`Database`. Every
method is one transaction. Attempts are rows of their own: a retry is a new
row, and creating it marks the earlier attempts of the same job ``retried`` in
the same transaction, so no reader ever sees two "current" attempts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from gatehouse.core.ports import (
    JOB_MUTABLE_FIELDS,
    PIPELINE_MUTABLE_FIELDS,
    ArtifactSetRecord,
    JobRecord,
    JobStatus,
    PipelineRecord,
    PipelineStatus,
)
from gatehouse.errors import StorageError
from gatehouse.storage.database import Database, Session
from gatehouse.storage.rows import (
    ARTIFACT_COLUMNS,
    JOB_COLUMNS,
    JOB_FIELD_COLUMNS,
    PIPELINE_COLUMNS,
    as_float,
    decode_artifact_sets,
    decode_job,
    decode_pipeline,
    dump_json,
    job_value,
    load_json,
    pipeline_value,
)

_ARTIFACTS_JOINED = (
    f"SELECT {ARTIFACT_COLUMNS} FROM artifact_sets s LEFT JOIN artifact_files f ON f.set_id = s.id"
)


def check_changes(kind: str, changes: Mapping[str, Any], allowed: frozenset[str]) -> None:
    """Refuse fields that never change after creation (a programming error)."""
    bad = sorted(set(changes) - allowed)
    if bad:
        raise TypeError(
            f"cannot update {kind} field(s) {', '.join(bad)}; "
            f"updatable: {', '.join(sorted(allowed))}"
        )


class SqlRunStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # ------------------------------------------------------------------ pipelines

    def create_pipeline(
        self,
        *,
        project_dir: str,
        ref: str,
        sha: str | None,
        event: str,
        created_at: float,
        source: str = "local",
        plan: Mapping[str, Any] | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> PipelineRecord:
        record = PipelineRecord(
            id=0,
            project_dir=project_dir,
            ref=ref,
            sha=sha,
            event=event,
            status=PipelineStatus.CREATED,
            created_at=float(created_at),
            source=source,
            # What will be stored (a JSON copy), not the caller's mutable objects.
            plan=load_json(dump_json(None if plan is None else dict(plan))),
            variables=dict(variables or {}),
        )
        with self._db.write("create a pipeline") as s:
            new_id = s.insert(
                "INSERT INTO pipelines (project_dir, ref, sha, event, source, status, "
                "created_at, plan, variables) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    project_dir,
                    ref,
                    sha,
                    event,
                    source,
                    record.status.value,
                    record.created_at,
                    dump_json(record.plan),
                    dump_json(record.variables),
                ),
            )
        return replace(record, id=new_id)

    def update_pipeline(self, pipeline_id: int, **changes: Any) -> PipelineRecord:
        check_changes("pipeline", changes, PIPELINE_MUTABLE_FIELDS)
        with self._db.write(f"update pipeline {pipeline_id}") as s:
            if changes:
                assignments = ", ".join(f"{name} = ?" for name in changes)
                values = [pipeline_value(name, value) for name, value in changes.items()]
                s.execute(
                    f"UPDATE pipelines SET {assignments} WHERE id = ?", (*values, pipeline_id)
                )
            row = s.one(f"SELECT {PIPELINE_COLUMNS} FROM pipelines WHERE id = ?", (pipeline_id,))
        if row is None:
            raise StorageError(f"{self._db.display_url}: no pipeline {pipeline_id}")
        return decode_pipeline(row)

    def get_pipeline(self, pipeline_id: int) -> PipelineRecord | None:
        with self._db.read(f"read pipeline {pipeline_id}") as s:
            row = s.one(f"SELECT {PIPELINE_COLUMNS} FROM pipelines WHERE id = ?", (pipeline_id,))
        return None if row is None else decode_pipeline(row)

    def list_pipelines(
        self, *, limit: int = 20, project_dir: str | None = None
    ) -> Sequence[PipelineRecord]:
        where, params = ("WHERE project_dir = ? ", [project_dir]) if project_dir else ("", [])
        with self._db.read("list pipelines") as s:
            rows = s.all(
                f"SELECT {PIPELINE_COLUMNS} FROM pipelines {where}ORDER BY id DESC LIMIT ?",
                (*params, max(int(limit), 0)),
            )
        return [decode_pipeline(row) for row in rows]

    # ------------------------------------------------------------------ jobs

    def create_job(
        self,
        *,
        pipeline_id: int,
        name: str,
        stage: str,
        attempt: int = 1,
        status: JobStatus = JobStatus.CREATED,
        allow_failure: bool = False,
        when: str = "on_success",
        created_at: float | None = None,
    ) -> JobRecord:
        status = JobStatus(status)
        created_at = as_float(created_at)
        with self._db.write(f"create job {name!r} in pipeline {pipeline_id}") as s:
            pipelines, last_attempt, same = _attempt_facts(s, pipeline_id, name, attempt)
            if not pipelines:
                raise StorageError(f"{self._db.display_url}: no pipeline {pipeline_id}")
            if same:
                raise StorageError(
                    f"{self._db.display_url}: attempt {attempt} of job {name!r} in pipeline "
                    f"{pipeline_id} already exists; attempts are never overwritten",
                    hint="record a retry as the next attempt number",
                )
            retried = last_attempt is not None and last_attempt > attempt
            new_id = s.insert(
                "INSERT INTO jobs (pipeline_id, name, stage, attempt, status, allow_failure, "
                "run_when, created_at, retried) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    pipeline_id,
                    name,
                    stage,
                    attempt,
                    status.value,
                    bool(allow_failure),
                    when,
                    created_at,
                    retried,
                ),
            )
            s.execute(
                "UPDATE jobs SET retried = ? WHERE pipeline_id = ? AND name = ? AND attempt < ?",
                (True, pipeline_id, name, attempt),
            )
        return JobRecord(
            id=new_id,
            pipeline_id=pipeline_id,
            name=name,
            stage=stage,
            attempt=attempt,
            status=status,
            allow_failure=bool(allow_failure),
            when=when,
            created_at=created_at,
            retried=retried,
        )

    def update_job(self, job_id: int, **changes: Any) -> JobRecord:
        check_changes("job", changes, JOB_MUTABLE_FIELDS)
        with self._db.write(f"update job {job_id}") as s:
            if changes:
                assignments = ", ".join(
                    f"{JOB_FIELD_COLUMNS.get(name, name)} = ?" for name in changes
                )
                values = [job_value(name, value) for name, value in changes.items()]
                s.execute(f"UPDATE jobs SET {assignments} WHERE id = ?", (*values, job_id))
            row = s.one(f"SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,))
        if row is None:
            raise StorageError(f"{self._db.display_url}: no job {job_id}")
        return decode_job(row)

    def get_job(self, job_id: int) -> JobRecord | None:
        with self._db.read(f"read job {job_id}") as s:
            row = s.one(f"SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,))
        return None if row is None else decode_job(row)

    def list_jobs(self, pipeline_id: int, *, include_retried: bool = True) -> Sequence[JobRecord]:
        only_current = "" if include_retried else "AND retried = ? "
        params: tuple[Any, ...] = (pipeline_id,) if include_retried else (pipeline_id, False)
        with self._db.read(f"list the jobs of pipeline {pipeline_id}") as s:
            rows = s.all(
                f"SELECT {JOB_COLUMNS} FROM jobs WHERE pipeline_id = ? {only_current}ORDER BY id",
                params,
            )
        return [decode_job(row) for row in rows]

    # ------------------------------------------------------------------ artifacts

    def add_artifacts(self, record: ArtifactSetRecord) -> None:
        action = f"record the {record.kind} artifacts of job {record.job_id}"
        with self._db.write(action) as s:
            row = s.one(
                "SELECT (SELECT COUNT(*) FROM jobs WHERE id = ?), "
                "(SELECT COUNT(*) FROM artifact_sets WHERE job_id = ? AND kind = ?)",
                (record.job_id, record.job_id, record.kind),
            )
            assert row is not None
            if not row[0]:
                raise StorageError(f"{self._db.display_url}: no job {record.job_id}")
            if row[1]:
                raise StorageError(
                    f"{self._db.display_url}: job {record.job_id} already has "
                    f"{record.kind} artifacts; an artifact set is recorded once"
                )
            set_id = s.insert(
                "INSERT INTO artifact_sets (job_id, kind, name, expire_at) VALUES (?, ?, ?, ?)",
                (record.job_id, record.kind, record.name, record.expire_at),
            )
            s.executemany(
                "INSERT INTO artifact_files (set_id, position, path, sha256, size, mode) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (set_id, n, f.path, f.blob.sha256, f.blob.size, f.mode)
                    for n, f in enumerate(record.manifest.files)
                ],
            )

    def list_artifacts(self, job_id: int) -> Sequence[ArtifactSetRecord]:
        with self._db.read(f"list the artifacts of job {job_id}") as s:
            rows = s.all(
                f"{_ARTIFACTS_JOINED} WHERE s.job_id = ? ORDER BY s.id, f.position", (job_id,)
            )
        return decode_artifact_sets(rows)

    def expired_artifacts(self, now: float) -> Sequence[ArtifactSetRecord]:
        with self._db.read("list expired artifacts") as s:
            rows = s.all(
                f"{_ARTIFACTS_JOINED} WHERE s.expire_at IS NOT NULL AND s.expire_at <= ? "
                "ORDER BY s.id, f.position",
                (now,),
            )
        return decode_artifact_sets(rows)

    def delete_artifacts(self, job_id: int, kind: str) -> None:
        with self._db.write(f"delete the {kind} artifacts of job {job_id}") as s:
            s.execute(
                "DELETE FROM artifact_files WHERE set_id IN "
                "(SELECT id FROM artifact_sets WHERE job_id = ? AND kind = ?)",
                (job_id, kind),
            )
            s.execute("DELETE FROM artifact_sets WHERE job_id = ? AND kind = ?", (job_id, kind))

    def referenced_blobs(self) -> set[str]:
        with self._db.read("list referenced blobs") as s:
            rows = s.all("SELECT DISTINCT sha256 FROM artifact_files")
        return {row[0] for row in rows}


def _attempt_facts(
    s: Session, pipeline_id: int, name: str, attempt: int
) -> tuple[int, int | None, int]:
    """(pipeline exists, highest attempt so far, this attempt exists) in one query."""
    row = s.one(
        "SELECT (SELECT COUNT(*) FROM pipelines WHERE id = ?), "
        "(SELECT MAX(attempt) FROM jobs WHERE pipeline_id = ? AND name = ?), "
        "(SELECT COUNT(*) FROM jobs WHERE pipeline_id = ? AND name = ? AND attempt = ?)",
        (pipeline_id, pipeline_id, name, pipeline_id, name, attempt),
    )
    assert row is not None
    return int(row[0]), None if row[1] is None else int(row[1]), int(row[2])
