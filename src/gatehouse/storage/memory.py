"""In-memory RunStore and AuditLog: plain Python structures, for fast tests elsewhere.

They ship in the package and pass the same contract tests as SQLite and
PostgreSQL (``tests/contracts/``), including the refusals (an unknown
pipeline, a duplicate attempt, a duplicate artifact set), so code tested
against them behaves the same on a real database. Records are frozen
dataclasses, so handing them out needs no copying.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from gatehouse.core.ports import (
    JOB_MUTABLE_FIELDS,
    PIPELINE_MUTABLE_FIELDS,
    ArtifactSetRecord,
    AuditEntry,
    JobRecord,
    JobStatus,
    PipelineRecord,
    PipelineStatus,
)
from gatehouse.errors import StorageError
from gatehouse.storage.rows import as_float, dump_json, job_value, load_json
from gatehouse.storage.sql_runs import check_changes

MEMORY_URL = "memory:"


def _copy_json(value: Any) -> Any:
    """A deep, JSON-shaped copy, so a caller mutating its input cannot change the store."""
    return load_json(dump_json(value))


class MemoryRunStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pipelines: dict[int, PipelineRecord] = {}
        self._jobs: dict[int, JobRecord] = {}
        self._artifacts: dict[tuple[int, str], ArtifactSetRecord] = {}
        self._next_pipeline = 1
        self._next_job = 1

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
        with self._lock:
            record = PipelineRecord(
                id=self._next_pipeline,
                project_dir=project_dir,
                ref=ref,
                sha=sha,
                event=event,
                status=PipelineStatus.CREATED,
                created_at=float(created_at),
                source=source,
                plan=_copy_json(dict(plan)) if plan is not None else None,
                variables=dict(variables or {}),
            )
            self._pipelines[record.id] = record
            self._next_pipeline += 1
            return record

    def update_pipeline(self, pipeline_id: int, **changes: Any) -> PipelineRecord:
        check_changes("pipeline", changes, PIPELINE_MUTABLE_FIELDS)
        with self._lock:
            record = self._pipelines.get(pipeline_id)
            if record is None:
                raise StorageError(f"{MEMORY_URL}: no pipeline {pipeline_id}")
            values = dict(changes)
            for name in ("started_at", "finished_at"):
                if name in values:
                    values[name] = as_float(values[name])
            if "status" in values:
                values["status"] = PipelineStatus(values["status"])
            if "plan" in values:
                values["plan"] = _copy_json(values["plan"])
            if "variables" in values:
                values["variables"] = dict(values["variables"] or {})
            record = replace(record, **values)
            self._pipelines[pipeline_id] = record
            return record

    def get_pipeline(self, pipeline_id: int) -> PipelineRecord | None:
        return self._pipelines.get(pipeline_id)

    def list_pipelines(
        self, *, limit: int = 20, project_dir: str | None = None
    ) -> Sequence[PipelineRecord]:
        with self._lock:
            found = [
                p
                for p in self._pipelines.values()
                if project_dir is None or not project_dir or p.project_dir == project_dir
            ]
        return sorted(found, key=lambda p: p.id, reverse=True)[: max(limit, 0)]

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
        if attempt < 1:
            raise StorageError(f"{MEMORY_URL}: attempt must be 1 or more, not {attempt}")
        with self._lock:
            if pipeline_id not in self._pipelines:
                raise StorageError(f"{MEMORY_URL}: no pipeline {pipeline_id}")
            siblings = [
                j for j in self._jobs.values() if j.pipeline_id == pipeline_id and j.name == name
            ]
            if any(j.attempt == attempt for j in siblings):
                raise StorageError(
                    f"{MEMORY_URL}: attempt {attempt} of job {name!r} in pipeline "
                    f"{pipeline_id} already exists; attempts are never overwritten",
                    hint="record a retry as the next attempt number",
                )
            for j in siblings:
                if j.attempt < attempt and not j.retried:
                    self._jobs[j.id] = replace(j, retried=True)
            record = JobRecord(
                id=self._next_job,
                pipeline_id=pipeline_id,
                name=name,
                stage=stage,
                attempt=attempt,
                status=status,
                allow_failure=bool(allow_failure),
                when=when,
                created_at=as_float(created_at),
                retried=any(j.attempt > attempt for j in siblings),
            )
            self._jobs[record.id] = record
            self._next_job += 1
            return record

    def update_job(self, job_id: int, **changes: Any) -> JobRecord:
        check_changes("job", changes, JOB_MUTABLE_FIELDS)
        with self._lock:
            record = self._jobs.get(job_id)
            if record is None:
                raise StorageError(f"{MEMORY_URL}: no job {job_id}")
            values = {name: job_value(name, value) for name, value in changes.items()}
            if "status" in values:
                values["status"] = JobStatus(values["status"])
            record = replace(record, **values)
            self._jobs[job_id] = record
            return record

    def get_job(self, job_id: int) -> JobRecord | None:
        return self._jobs.get(job_id)

    def list_jobs(self, pipeline_id: int, *, include_retried: bool = True) -> Sequence[JobRecord]:
        with self._lock:
            jobs = [
                j
                for j in self._jobs.values()
                if j.pipeline_id == pipeline_id and (include_retried or not j.retried)
            ]
        return sorted(jobs, key=lambda j: j.id)

    def add_artifacts(self, record: ArtifactSetRecord) -> None:
        with self._lock:
            if record.job_id not in self._jobs:
                raise StorageError(f"{MEMORY_URL}: no job {record.job_id}")
            if (record.job_id, record.kind) in self._artifacts:
                raise StorageError(
                    f"{MEMORY_URL}: job {record.job_id} already has {record.kind} "
                    "artifacts; an artifact set is recorded once"
                )
            paths = [f.path for f in record.manifest.files]
            if len(set(paths)) != len(paths):
                raise StorageError(
                    f"{MEMORY_URL}: the {record.kind} artifacts of job {record.job_id} "
                    "name a path twice"
                )
            self._artifacts[(record.job_id, record.kind)] = record

    def list_artifacts(self, job_id: int) -> Sequence[ArtifactSetRecord]:
        with self._lock:
            return [a for (j, _), a in self._artifacts.items() if j == job_id]

    def expired_artifacts(self, now: float) -> Sequence[ArtifactSetRecord]:
        with self._lock:
            return [
                a
                for a in self._artifacts.values()
                if a.expire_at is not None and a.expire_at <= now
            ]

    def delete_artifacts(self, job_id: int, kind: str) -> None:
        with self._lock:
            self._artifacts.pop((job_id, kind), None)

    def referenced_blobs(self) -> set[str]:
        with self._lock:
            return {f.blob.sha256 for a in self._artifacts.values() for f in a.manifest.files}


class MemoryAuditLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[AuditEntry] = []

    def append_audit(
        self,
        *,
        queue: str,
        time: float,
        action: str,
        item: str,
        detail: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        with self._lock:
            entry = AuditEntry(
                id=len(self._entries) + 1,
                queue=queue,
                time=float(time),
                action=action,
                item=item,
                detail=_copy_json(dict(detail or {})),
            )
            self._entries.append(entry)
            return entry

    def list_audit(
        self,
        *,
        queue: str | None = None,
        item: str | None = None,
        after_id: int = 0,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> Sequence[AuditEntry]:
        with self._lock:
            found = [
                e
                for e in self._entries
                if e.id > after_id
                and (queue is None or e.queue == queue)
                and (item is None or e.item == item)
            ]
        if newest_first:
            found.reverse()
        return found if limit is None else found[: max(limit, 0)]
