"""Records ⇄ table rows: the column lists and the conversions, in one place.

Both SQL adapters store the same rows, so the mapping between the port's
frozen dataclasses and the tables of ``migrations/`` (0001, then the KCIDB
fields 0002 appends to each results table) lives here once. Conventions:
JSON (plans, variables, ``misc``, a test's environment and number, issue
categories, commit tags, file lists) is TEXT written with sorted keys, so
equal values are equal text; booleans are Python ``bool`` (SQLite stores 0/1 and
gives back ints, hence ``bool(...)`` on the way out); enums are stored by
value.

The result-object builders are on the ingest hot path (a million tests per
run), so they are plain functions with no per-row allocation beyond the tuple.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from gatehouse.core.ports import (
    ArtifactFile,
    ArtifactManifest,
    ArtifactSetRecord,
    AuditEntry,
    BlobRef,
    JobRecord,
    JobStatus,
    PipelineRecord,
    PipelineStatus,
    TestRun,
)
from gatehouse.core.results import (
    Build,
    Checkout,
    Culprit,
    Incident,
    Issue,
    Resource,
    Status,
    Test,
    TestEnvironment,
    TestNumber,
)

Row = tuple[Any, ...]

_encode = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode


def dump_json(value: Any) -> str | None:
    return None if value is None else _encode(value)


def load_json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def as_float(value: Any) -> float | None:
    """Times and ratios come back from the database as floats; give them as floats too."""
    return None if value is None else float(value)


def _bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


# --------------------------------------------------------------------------- engine state

PIPELINE_COLUMNS = (
    "id, project_dir, ref, sha, event, source, status, created_at, started_at, "
    "finished_at, plan, variables"
)


def decode_pipeline(row: Row) -> PipelineRecord:
    return PipelineRecord(
        id=int(row[0]),
        project_dir=row[1],
        ref=row[2],
        sha=row[3],
        event=row[4],
        source=row[5],
        status=PipelineStatus(row[6]),
        created_at=row[7],
        started_at=row[8],
        finished_at=row[9],
        plan=load_json(row[10]),
        variables=load_json(row[11]),
    )


def pipeline_value(name: str, value: Any) -> Any:
    """A pipeline field's value as stored (for updates)."""
    if name in ("started_at", "finished_at"):
        return as_float(value)
    if name == "status":
        return PipelineStatus(value).value
    if name == "plan":
        return dump_json(None if value is None else dict(value))
    if name == "variables":
        return dump_json(dict(value or {}))
    return value


JOB_COLUMNS = (
    "id, pipeline_id, name, stage, attempt, status, allow_failure, run_when, executor, "
    "created_at, queued_at, started_at, finished_at, exit_code, failure_reason, log_path, "
    "log_bytes, log_truncated, coverage, retried"
)

# JobRecord field -> column, where they differ (`when` is an SQL keyword).
JOB_FIELD_COLUMNS = {"when": "run_when"}


def decode_job(row: Row) -> JobRecord:
    return JobRecord(
        id=int(row[0]),
        pipeline_id=int(row[1]),
        name=row[2],
        stage=row[3],
        attempt=int(row[4]),
        status=JobStatus(row[5]),
        allow_failure=bool(row[6]),
        when=row[7],
        executor=row[8],
        created_at=row[9],
        queued_at=row[10],
        started_at=row[11],
        finished_at=row[12],
        exit_code=row[13],
        failure_reason=row[14],
        log_path=row[15],
        log_bytes=int(row[16]),
        log_truncated=bool(row[17]),
        coverage=row[18],
        retried=bool(row[19]),
    )


JOB_FLOAT_FIELDS = frozenset({"queued_at", "started_at", "finished_at", "coverage"})


def job_value(name: str, value: Any) -> Any:
    """A job field's value as stored (for updates): enums by value, flags as bool."""
    if name in JOB_FLOAT_FIELDS:
        return as_float(value)
    if name == "status":
        return JobStatus(value).value
    if name == "failure_reason" and value is not None:
        return getattr(value, "value", value)
    if name in ("log_truncated", "retried"):
        return bool(value)
    if name == "log_bytes":
        return int(value)
    return value


ARTIFACT_COLUMNS = "s.id, s.job_id, s.kind, s.name, s.expire_at, f.path, f.sha256, f.size, f.mode"


def decode_artifact_sets(rows: list[Row]) -> list[ArtifactSetRecord]:
    """Group joined (set, file) rows, ordered by set id then file position."""
    grouped: dict[int, tuple[Row, list[ArtifactFile]]] = {}
    for row in rows:
        _, files = grouped.setdefault(int(row[0]), (row, []))
        if row[5] is not None:
            files.append(ArtifactFile(row[5], BlobRef(row[6], int(row[7])), int(row[8])))
    return [
        ArtifactSetRecord(
            job_id=int(head[1]),
            kind=head[2],
            name=head[3],
            expire_at=head[4],
            manifest=ArtifactManifest(tuple(files)),
        )
        for head, files in grouped.values()
    ]


AUDIT_COLUMNS = "id, queue, time, action, item, detail"


def decode_audit(row: Row) -> AuditEntry:
    return AuditEntry(
        id=int(row[0]),
        queue=row[1],
        time=row[2],
        action=row[3],
        item=row[4],
        detail=load_json(row[5]),
    )


# --------------------------------------------------------------------------- results

CHECKOUT_FIELDS = (
    "id",
    "origin",
    "tree_name",
    "git_repository_url",
    "git_commit_hash",
    "git_commit_name",
    "git_commit_message",
    "git_repository_branch",
    "patchset_hash",
    "start_time",
    "log_url",
    "log_excerpt",
    "comment",
    "valid",
    "misc",
    "git_commit_tags",
    "git_repository_branch_tip",
    "patchset_files",
    "message_id",
    "origin_builds_finish_time",
    "origin_tests_finish_time",
)
BUILD_FIELDS = (
    "id",
    "origin",
    "checkout_id",
    "status",
    "architecture",
    "config_name",
    "compiler",
    "command",
    "start_time",
    "duration",
    "log_url",
    "log_excerpt",
    "comment",
    "misc",
    "config_url",
    "input_files",
    "output_files",
)
TEST_FIELDS = (
    "id",
    "origin",
    "build_id",
    "path",
    "status",
    "environment",
    "start_time",
    "duration",
    "log_url",
    "log_excerpt",
    "comment",
    "misc",
    "number",
    "input_files",
    "output_files",
)
ISSUE_FIELDS = (
    "id",
    "version",
    "origin",
    "report_url",
    "report_subject",
    "culprit_code",
    "culprit_tool",
    "culprit_harness",
    "comment",
    "categories",
    "misc",
)
INCIDENT_FIELDS = (
    "id",
    "origin",
    "issue_id",
    "issue_version",
    "build_id",
    "test_id",
    "present",
    "comment",
    "misc",
)


def _misc(value: Mapping[str, Any] | None) -> str | None:
    return None if value is None else _encode(value if type(value) is dict else dict(value))


def _resources(value: tuple[Resource, ...] | None) -> str | None:
    if value is None:
        return None
    return _encode([{"name": r.name, "url": r.url} for r in value])


def _resources_from(text: str | None) -> tuple[Resource, ...] | None:
    if text is None:
        return None
    return tuple(Resource(item["name"], item["url"]) for item in json.loads(text))


def _strings(value: tuple[str, ...] | None) -> str | None:
    return None if value is None else _encode(list(value))


def _strings_from(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(json.loads(text))


def _number(value: TestNumber | None) -> str | None:
    if value is None:
        return None
    return _encode({"value": value.value, "unit": value.unit, "prefix": value.prefix})


def _number_from(text: str | None) -> TestNumber | None:
    if text is None:
        return None
    data = json.loads(text)
    return TestNumber(data["value"], data.get("unit"), data.get("prefix"))


def _status(value: Status | None) -> str | None:
    # ``_value_`` is the member's plain attribute; ``.value`` goes through a
    # Python-level descriptor that costs more than the rest of a row's encoding.
    return None if value is None else value._value_


def encode_checkout(c: Checkout, received_at: float) -> Row:
    return (
        c.id,
        c.origin,
        c.tree_name,
        c.git_repository_url,
        c.git_commit_hash,
        c.git_commit_name,
        c.git_commit_message,
        c.git_repository_branch,
        c.patchset_hash,
        c.start_time,
        c.log_url,
        c.log_excerpt,
        c.comment,
        c.valid,
        _misc(c.misc),
        _strings(c.git_commit_tags),
        c.git_repository_branch_tip,
        _resources(c.patchset_files),
        c.message_id,
        c.origin_builds_finish_time,
        c.origin_tests_finish_time,
        received_at,
    )


def decode_checkout(r: Row) -> Checkout:
    return Checkout(
        id=r[0],
        origin=r[1],
        tree_name=r[2],
        git_repository_url=r[3],
        git_commit_hash=r[4],
        git_commit_name=r[5],
        git_commit_message=r[6],
        git_repository_branch=r[7],
        patchset_hash=r[8],
        start_time=r[9],
        log_url=r[10],
        log_excerpt=r[11],
        comment=r[12],
        valid=_bool(r[13]),
        misc=load_json(r[14]),
        git_commit_tags=_strings_from(r[15]),
        git_repository_branch_tip=_bool(r[16]),
        patchset_files=_resources_from(r[17]),
        message_id=r[18],
        origin_builds_finish_time=r[19],
        origin_tests_finish_time=r[20],
    )


def encode_build(b: Build, received_at: float) -> Row:
    return (
        b.id,
        b.origin,
        b.checkout_id,
        _status(b.status),
        b.architecture,
        b.config_name,
        b.compiler,
        b.command,
        b.start_time,
        b.duration,
        b.log_url,
        b.log_excerpt,
        b.comment,
        _misc(b.misc),
        b.config_url,
        _resources(b.input_files),
        _resources(b.output_files),
        received_at,
    )


def decode_build(r: Row) -> Build:
    return Build(
        id=r[0],
        origin=r[1],
        checkout_id=r[2],
        status=None if r[3] is None else Status(r[3]),
        architecture=r[4],
        config_name=r[5],
        compiler=r[6],
        command=r[7],
        start_time=r[8],
        duration=r[9],
        log_url=r[10],
        log_excerpt=r[11],
        comment=r[12],
        misc=load_json(r[13]),
        config_url=r[14],
        input_files=_resources_from(r[15]),
        output_files=_resources_from(r[16]),
    )


def _environment(env: TestEnvironment | None) -> str | None:
    if env is None:
        return None
    return _encode(
        {
            "comment": env.comment,
            "compatible": None if env.compatible is None else list(env.compatible),
            "misc": None if env.misc is None else dict(env.misc),
        }
    )


def _environment_from(text: str | None) -> TestEnvironment | None:
    if text is None:
        return None
    data = json.loads(text)
    compatible = data.get("compatible")
    return TestEnvironment(
        comment=data.get("comment"),
        compatible=None if compatible is None else tuple(compatible),
        misc=data.get("misc"),
    )


def encode_test(t: Test, received_at: float) -> Row:
    status, environment, misc = t.status, t.environment, t.misc
    return (
        t.id,
        t.origin,
        t.build_id,
        t.path,
        None if status is None else status._value_,
        None if environment is None else _environment(environment),
        t.start_time,
        t.duration,
        t.log_url,
        t.log_excerpt,
        t.comment,
        None if misc is None else _misc(misc),
        None if t.number is None else _number(t.number),
        None if t.input_files is None else _resources(t.input_files),
        None if t.output_files is None else _resources(t.output_files),
        received_at,
    )


def decode_test(r: Row) -> Test:
    return Test(
        id=r[0],
        origin=r[1],
        build_id=r[2],
        path=r[3],
        status=None if r[4] is None else Status(r[4]),
        environment=_environment_from(r[5]),
        start_time=r[6],
        duration=r[7],
        log_url=r[8],
        log_excerpt=r[9],
        comment=r[10],
        misc=load_json(r[11]),
        number=_number_from(r[12]),
        input_files=_resources_from(r[13]),
        output_files=_resources_from(r[14]),
    )


def decode_test_run(r: Row) -> TestRun:
    """A row of :data:`TEST_RUN_COLUMNS`: the test, its _timestamp, then its context."""
    n = len(TEST_FIELDS)
    return TestRun(decode_test(r[:n]), *r[n:])


TEST_RUN_COLUMNS = (
    ", ".join(f"t.{name}" for name in TEST_FIELDS)
    + ", t._timestamp, b.checkout_id, c.git_commit_hash, c.tree_name, "
    "c.git_repository_branch, b.architecture, b.config_name, b.compiler"
)
TEST_RUN_FROM = (
    "tests t LEFT JOIN builds b ON b.id = t.build_id LEFT JOIN checkouts c ON c.id = b.checkout_id"
)


def encode_issue(i: Issue, received_at: float) -> Row:
    culprit = i.culprit
    return (
        i.id,
        i.version,
        i.origin,
        i.report_url,
        i.report_subject,
        None if culprit is None else bool(culprit.code),
        None if culprit is None else bool(culprit.tool),
        None if culprit is None else bool(culprit.harness),
        i.comment,
        None if i.categories is None else _encode(list(i.categories)),
        _misc(i.misc),
        received_at,
    )


def decode_issue(r: Row) -> Issue:
    culprit = None if r[5] is None else Culprit(bool(r[5]), bool(r[6]), bool(r[7]))
    categories = load_json(r[9])
    return Issue(
        id=r[0],
        version=int(r[1]),
        origin=r[2],
        report_url=r[3],
        report_subject=r[4],
        culprit=culprit,
        comment=r[8],
        categories=None if categories is None else tuple(categories),
        misc=load_json(r[10]),
    )


def encode_incident(i: Incident, received_at: float) -> Row:
    return (
        i.id,
        i.origin,
        i.issue_id,
        i.issue_version,
        i.build_id,
        i.test_id,
        i.present,
        i.comment,
        _misc(i.misc),
        received_at,
    )


def decode_incident(r: Row) -> Incident:
    return Incident(
        r[0],
        r[1],
        r[2],
        int(r[3]),
        r[4],
        r[5],
        _bool(r[6]),
        r[7],
        misc=load_json(r[8]),
    )


def full_row(all_fields: Sequence[str], fields: Sequence[str], row: Row) -> Row:
    """A row of ``fields`` (then ``_timestamp``) widened to every column, NULL where left out."""
    values = dict(zip(fields, row, strict=False))
    return (*(values.get(f) for f in all_fields), row[-1])


def columns(fields: tuple[str, ...], alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(prefix + name for name in fields)
