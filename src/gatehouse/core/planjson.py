"""The JSON form of a planned pipeline (``gatehouse plan --json``), version 1.

Stable and documented in ``docs/plan-json.md``: fields are only ever added
within a version. The engine stores the same document with each pipeline so
``gatehouse show`` can tell what was planned.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gatehouse.core.model import JobSpec, PlannedJob, PlannedPipeline
from gatehouse.core.predefined import PERSISTED, job_variables, pipeline_variables
from gatehouse.errors import Diagnostic

FORMAT_VERSION = 1


def _loc(job: JobSpec) -> dict[str, Any] | None:
    if job.loc is None:
        return None
    return {"file": job.loc.file, "line": job.loc.line}


def _user_variables(job: PlannedJob, predefined: Mapping[str, str]) -> dict[str, str]:
    """The job's environment without the predefined values nobody overrode, sorted by name."""
    hidden = {**predefined, **job_variables(job.spec, job.when)}
    return {
        k: v
        for k, v in sorted(job.variables.items())
        if k not in PERSISTED and (k not in hidden or hidden[k] != v)
    }


def job_to_json(job: PlannedJob, predefined: Mapping[str, str]) -> dict[str, Any]:
    """One job of ``plan --json`` (every field documented in docs/plan-json.md)."""
    spec = job.spec
    artifacts = None
    if spec.artifacts is not None:
        a = spec.artifacts
        artifacts = {
            "paths": list(a.paths),
            "exclude": list(a.exclude),
            "untracked": a.untracked,
            "when": a.when,
            "expire_in": a.expire_in,
            "name": a.name,
            "reports": {k: list(v) for k, v in a.reports.items()},
        }
    return {
        "name": job.name,
        "stage": job.stage,
        "when": job.when,
        "start_in": job.start_in,
        "allow_failure": job.allow_failure.allowed,
        "allow_failure_exit_codes": list(job.allow_failure.exit_codes),
        "manual_blocking": job.blocking_manual,
        "needs": None
        if job.needs is None
        else [{"job": n.job, "artifacts": n.artifacts, "optional": n.optional} for n in job.needs],
        "artifacts_from": list(job.artifact_sources),
        "tags": list(job.tags),
        "image": job.image,
        "services": [s.name for s in spec.services],
        "variables": _user_variables(job, predefined),
        "before_script": list(spec.before_script),
        "script": list(spec.script),
        "after_script": list(spec.after_script),
        "timeout": job.timeout,
        "retry": {
            "max": spec.retry.max,
            "when": list(spec.retry.when),
            "exit_codes": list(spec.retry.exit_codes),
        },
        "interruptible": job.interruptible,
        "resource_group": job.resource_group,
        "artifacts": artifacts,
        "cache": [
            {"key": c.key, "paths": list(c.paths), "policy": c.policy, "when": c.when}
            for c in spec.cache
        ],
        "coverage": spec.coverage,
        "environment": spec.environment.name if spec.environment else None,
        "trigger": None
        if spec.trigger is None
        else {
            "project": spec.trigger.project,
            "branch": spec.trigger.branch,
            "strategy": spec.trigger.strategy,
        },
        "parallel": None
        if spec.parallel is None
        else {
            "index": spec.parallel.index,
            "total": spec.parallel.total,
            "matrix": dict(spec.parallel.matrix) if spec.parallel.matrix else None,
        },
        "incomplete": list(spec.unresolved),
        "source": _loc(spec),
    }


def pipeline_to_json(
    pipeline: PlannedPipeline, extra_diagnostics: tuple[Diagnostic, ...] = ()
) -> dict[str, Any]:
    """The whole ``plan --json`` document: context, stages, jobs, diagnostics."""
    ctx = pipeline.context
    predefined = pipeline_variables(ctx)
    return {
        "version": FORMAT_VERSION,
        "created": pipeline.created,
        "reason": pipeline.reason,
        "name": pipeline.name,
        "context": {
            "ref": ctx.ref,
            "tag": ctx.is_tag,
            "event": ctx.event,
            "sha": ctx.sha,
            "default_branch": ctx.default_branch,
            "project_path": ctx.project_path,
            "changed_files": None if ctx.changed_files is None else list(ctx.changed_files),
            "variables": dict(ctx.variables),
        },
        "stages": list(pipeline.used_stages),
        "jobs": [job_to_json(j, predefined) for j in pipeline.jobs],
        "diagnostics": [d.to_json() for d in (*extra_diagnostics, *pipeline.diagnostics)],
    }
