"""Predefined ``CI_*`` variables for a pipeline context (documented in docs/variables.md).

GitLab sets two kinds: those known when the pipeline is created (usable in
``rules:if``, ``include`` and ``workflow:rules``) and *persisted* ones that
exist only once the job runs (``CI_JOB_ID``, ``CI_PIPELINE_ID``,
``CI_JOB_TOKEN`` …). This module computes the first kind from a
:class:`PipelineContext` and a job; the engine adds the persisted ones.

Semantics follow GitLab: ``CI_COMMIT_BRANCH`` only in branch pipelines (not
for tags or merge requests), ``CI_COMMIT_TAG`` only for tags,
``CI_COMMIT_REF_NAME`` the branch or tag (the source branch in a merge-request
pipeline), ``CI_MERGE_REQUEST_*`` only in merge-request pipelines,
``CI_NODE_INDEX`` only on ``parallel`` jobs and ``CI_NODE_TOTAL`` on every job.
"""

from __future__ import annotations

import re

from gatehouse.core.model import JobSpec, PipelineContext

ZERO_SHA = "0" * 40


def slugify(text: str) -> str:
    """GitLab's ref slug: lowercase, non-alphanumerics → '-', ≤ 63 bytes, no edge '-'."""
    slug = re.sub(r"[^a-z0-9]", "-", text.lower())[:63]
    return slug.strip("-")


def pipeline_variables(ctx: PipelineContext) -> dict[str, str]:
    """Variables known at pipeline creation, for the whole pipeline."""
    host = ctx.server_host
    url = f"https://{host}"
    path = ctx.project_path
    mr = ctx.merge_request if ctx.event == "merge_request_event" else None
    ref = mr.source_branch if mr else ctx.ref
    title, _, description = ctx.commit_message.partition("\n")
    registry = f"registry.{host}"
    out = {
        "CI": "true",
        "GITLAB_CI": "true",
        "GATEHOUSE": "true",
        "CI_SERVER": "yes",
        "CI_SERVER_HOST": host,
        "CI_SERVER_FQDN": host,
        "CI_SERVER_URL": url,
        "CI_SERVER_PORT": "443",
        "CI_SERVER_PROTOCOL": "https",
        "CI_SERVER_NAME": "GitLab",
        "CI_API_V4_URL": f"{url}/api/v4",
        "CI_PROJECT_ID": str(ctx.project_id),
        "CI_PROJECT_NAME": ctx.project_name,
        "CI_PROJECT_TITLE": ctx.project_name,
        "CI_PROJECT_PATH": path,
        "CI_PROJECT_PATH_SLUG": slugify(path),
        "CI_PROJECT_NAMESPACE": ctx.project_namespace,
        "CI_PROJECT_ROOT_NAMESPACE": ctx.project_namespace.split("/")[0],
        "CI_PROJECT_URL": f"{url}/{path}",
        "CI_PROJECT_DIR": ctx.project_dir,
        "CI_PROJECT_VISIBILITY": "private",
        "CI_REPOSITORY_URL": f"{url}/{path}.git",
        "CI_REGISTRY": registry,
        "CI_REGISTRY_IMAGE": f"{registry}/{path.lower()}",
        "CI_DEFAULT_BRANCH": ctx.default_branch,
        "CI_CONFIG_PATH": ctx.config_path,
        "CI_COMMIT_SHA": ctx.sha,
        "CI_COMMIT_SHORT_SHA": ctx.sha[:8],
        "CI_COMMIT_BEFORE_SHA": ctx.before_sha,
        "CI_COMMIT_REF_NAME": ref,
        "CI_COMMIT_REF_SLUG": slugify(ref),
        "CI_COMMIT_REF_PROTECTED": "true" if ref == ctx.default_branch else "false",
        "CI_COMMIT_MESSAGE": ctx.commit_message,
        "CI_COMMIT_TITLE": title,
        "CI_COMMIT_DESCRIPTION": description.lstrip("\n"),
        "CI_COMMIT_AUTHOR": ctx.commit_author,
        "CI_COMMIT_TIMESTAMP": ctx.commit_timestamp,
        "CI_PIPELINE_SOURCE": ctx.event,
        "CI_PIPELINE_IID": str(ctx.pipeline_iid),
        "CI_PIPELINE_TRIGGERED": "true" if ctx.event in ("trigger", "pipeline") else "false",
    }
    if ctx.is_tag:
        out["CI_COMMIT_TAG"] = ctx.ref
        out["CI_COMMIT_TAG_MESSAGE"] = ctx.commit_message
    elif mr is None:
        out["CI_COMMIT_BRANCH"] = ctx.ref
    if mr is not None:
        out.update(
            {
                "CI_MERGE_REQUEST_ID": str(mr.iid),
                "CI_MERGE_REQUEST_IID": str(mr.iid),
                "CI_MERGE_REQUEST_TITLE": mr.title,
                "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": mr.source_branch,
                "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA": ctx.sha,
                "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": mr.target_branch,
                "CI_MERGE_REQUEST_TARGET_BRANCH_SHA": mr.target_branch_sha or "",
                "CI_MERGE_REQUEST_DIFF_BASE_SHA": mr.diff_base_sha or "",
                "CI_MERGE_REQUEST_SOURCE_PROJECT_PATH": mr.source_project_path or path,
                "CI_MERGE_REQUEST_SOURCE_PROJECT_URL": f"{url}/{mr.source_project_path or path}",
                "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": str(ctx.project_id),
                "CI_MERGE_REQUEST_PROJECT_ID": str(ctx.project_id),
                "CI_MERGE_REQUEST_PROJECT_PATH": path,
                "CI_MERGE_REQUEST_PROJECT_URL": f"{url}/{path}",
                "CI_MERGE_REQUEST_REF_PATH": f"refs/merge-requests/{mr.iid}/head",
                "CI_MERGE_REQUEST_EVENT_TYPE": mr.event_type,
                "CI_MERGE_REQUEST_LABELS": ",".join(mr.labels),
                "CI_MERGE_REQUEST_APPROVED": "true",
                "CI_OPEN_MERGE_REQUESTS": f"{path}!{mr.iid}",
            }
        )
    return out


def job_variables(job: JobSpec, when: str) -> dict[str, str]:
    """Job-level predefined variables (usable in ``rules:if`` as well).

    ``when`` is accepted for callers that know it; nothing here depends on it
    any more (``CI_JOB_MANUAL`` says a person started the job, which only the
    engine knows, at run time).
    """
    del when
    out = {
        "CI_JOB_NAME": job.name,
        "CI_JOB_NAME_SLUG": slugify(job.name),
        "CI_JOB_GROUP_NAME": job.base_name,
        "CI_JOB_STAGE": job.stage,
        "CI_NODE_TOTAL": str(job.parallel.total if job.parallel else 1),
    }
    if job.parallel is not None:
        out["CI_NODE_INDEX"] = str(job.parallel.index)
    return out


# Persisted variables: set by the engine when a job runs, never visible to rules.
PERSISTED = (
    "CI_JOB_ID",
    "CI_JOB_URL",
    "CI_JOB_TOKEN",
    "CI_JOB_STARTED_AT",
    "CI_JOB_TIMEOUT",
    "CI_JOB_STATUS",
    "CI_JOB_MANUAL",
    "CI_PIPELINE_ID",
    "CI_PIPELINE_URL",
    "CI_PIPELINE_CREATED_AT",
    "CI_BUILDS_DIR",
    "CI_CONCURRENT_ID",
    "CI_RUNNER_ID",
    "CI_RUNNER_DESCRIPTION",
    "CI_RUNNER_TAGS",
    "CI_RUNNER_EXECUTABLE_ARCH",
)
