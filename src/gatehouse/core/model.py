"""The pipeline model: what a loaded configuration says, and what a planned pipeline runs.

Two levels, both frozen:

- :class:`PipelineConfig` and :class:`JobSpec` are the configuration after
  loading (include, extends, ``!reference``, defaults, matrix expansion): one
  ``JobSpec`` per concrete job (``build 1/3``, ``test: [a, b]``), with its
  ``rules`` not yet evaluated. They depend only on the files.
- :class:`PlannedPipeline` and :class:`PlannedJob` are one pipeline for one
  context (ref, event, changed files, variables): the jobs that exist after
  ``workflow:rules`` and ``rules``, each with its effective ``when``,
  ``allow_failure``, ``needs``, expanded variables and tags, and the set of
  jobs whose artifacts it downloads. The engine runs a ``PlannedPipeline``.

The JSON form of a planned pipeline (``gatehouse plan --json``) is
:func:`gatehouse.core.planjson.pipeline_to_json`, documented in
``docs/plan-json.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gatehouse.core.expressions import Expression
from gatehouse.core.variables import Variable
from gatehouse.errors import Diagnostic, Location

DEFAULT_STAGES = ("build", "test", "deploy")
WHEN_VALUES = ("on_success", "on_failure", "always", "manual", "delayed", "never")

# ---------------------------------------------------------------- job parts


@dataclass(frozen=True, slots=True)
class AllowFailure:
    """``allow_failure``: a bool, or only for some exit codes."""

    allowed: bool
    exit_codes: tuple[int, ...] = ()

    def permits(self, exit_code: int | None) -> bool:
        """Whether a failure with this exit code is allowed (a warning, not a failure)."""
        if self.exit_codes:
            return exit_code is not None and exit_code in self.exit_codes
        return self.allowed


@dataclass(frozen=True, slots=True)
class Retry:
    """``retry``: how many more attempts, for which failures."""

    max: int = 0
    when: tuple[str, ...] = ("always",)
    exit_codes: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Need:
    """One ``needs`` entry, as written (``job`` may name a parallel job's base name)."""

    job: str
    artifacts: bool = True
    optional: bool = False
    matrix: tuple[Mapping[str, tuple[str, ...]], ...] | None = None
    project: str | None = None  # needs:project — another project's job, not run locally
    pipeline: str | None = None  # needs:pipeline — another pipeline, not run locally
    loc: Location | None = None


@dataclass(frozen=True, slots=True)
class Artifacts:
    paths: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    untracked: bool = False
    when: str = "on_success"
    expire_in: str | None = None  # as written; "never" keeps them
    expire_seconds: float | None = None  # parsed; None = never (or the configured default)
    name: str | None = None
    reports: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    expose_as: str | None = None
    access: str | None = None


@dataclass(frozen=True, slots=True)
class Cache:
    key: str | None = None
    key_files: tuple[str, ...] = ()
    key_prefix: str | None = None
    paths: tuple[str, ...] = ()
    untracked: bool = False
    when: str = "on_success"
    policy: str = "pull-push"
    fallback_keys: tuple[str, ...] = ()
    unprotect: bool = False


@dataclass(frozen=True, slots=True)
class Image:
    name: str
    entrypoint: tuple[str, ...] | None = None
    pull_policy: tuple[str, ...] = ()
    docker: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    alias: str | None = None
    entrypoint: tuple[str, ...] | None = None
    command: tuple[str, ...] | None = None
    variables: tuple[Variable, ...] = ()


@dataclass(frozen=True, slots=True)
class Environment:
    name: str
    url: str | None = None
    action: str | None = None
    on_stop: str | None = None
    deployment_tier: str | None = None
    auto_stop_in: str | None = None


@dataclass(frozen=True, slots=True)
class Trigger:
    """A bridge job to another pipeline; kept in the model, not executed locally."""

    project: str | None = None
    branch: str | None = None
    include: tuple[Any, ...] = ()
    strategy: str | None = None
    forward: Mapping[str, bool] | None = None


@dataclass(frozen=True, slots=True)
class Changes:
    paths: tuple[str, ...]
    compare_to: str | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    """One ``rules`` entry. ``if``/``changes``/``exists`` are ANDed; absent parts hold."""

    if_: Expression | None = None
    changes: Changes | None = None
    exists: tuple[str, ...] | None = None
    when: str | None = None
    allow_failure: AllowFailure | None = None
    variables: tuple[Variable, ...] = ()
    needs: tuple[Need, ...] | None = None
    interruptible: bool | None = None
    start_in: str | None = None
    auto_cancel: Mapping[str, str] | None = None  # workflow rules only
    loc: Location | None = None


@dataclass(frozen=True, slots=True)
class OnlyExcept:
    """Legacy ``only``/``except``: refs, variables (ORed expressions), changes, kubernetes."""

    refs: tuple[str, ...] = ()
    variables: tuple[Expression, ...] = ()
    changes: tuple[str, ...] = ()
    kubernetes: str | None = None
    loc: Location | None = None


@dataclass(frozen=True, slots=True)
class ParallelIndex:
    """Which instance of a ``parallel`` job this is."""

    index: int  # 1-based CI_NODE_INDEX
    total: int  # CI_NODE_TOTAL
    matrix: Mapping[str, str] | None = None  # the matrix values, for needs:parallel:matrix


# ---------------------------------------------------------------- configuration


@dataclass(frozen=True, slots=True)
class JobSpec:
    """One concrete job of the configuration, before rules are evaluated."""

    name: str
    base_name: str
    loc: Location | None
    stage: str
    script: tuple[str, ...] = ()
    before_script: tuple[str, ...] = ()
    after_script: tuple[str, ...] = ()
    variables: tuple[Variable, ...] = ()
    inherit_variables: bool | tuple[str, ...] = True
    rules: tuple[Rule, ...] | None = None
    only: OnlyExcept | None = None
    except_: OnlyExcept | None = None
    when: str = "on_success"
    start_in: str | None = None
    allow_failure: AllowFailure | None = None  # None: the default for `when`
    needs: tuple[Need, ...] | None = None  # None: no `needs` (stage order)
    dependencies: tuple[str, ...] | None = None
    retry: Retry = field(default_factory=Retry)
    timeout: float | None = None
    interruptible: bool | None = None
    resource_group: str | None = None
    tags: tuple[str, ...] = ()
    artifacts: Artifacts | None = None
    cache: tuple[Cache, ...] = ()
    image: Image | None = None
    services: tuple[Service, ...] = ()
    coverage: str | None = None
    environment: Environment | None = None
    trigger: Trigger | None = None
    parallel: ParallelIndex | None = None
    unresolved: tuple[str, ...] = ()  # templates from unavailable includes: the job is incomplete
    extra: Mapping[str, Any] = field(
        default_factory=dict
    )  # kept, not interpreted (release, pages, secrets …)


@dataclass(frozen=True, slots=True)
class Workflow:
    name: str | None = None
    rules: tuple[Rule, ...] | None = None
    auto_cancel: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """A loaded configuration: stages, global variables, workflow, concrete jobs."""

    stages: tuple[str, ...]
    variables: tuple[Variable, ...]
    workflow: Workflow | None
    jobs: tuple[JobSpec, ...]
    files: tuple[str, ...]
    visible_job_count: int  # top-level job definitions before parallel expansion
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)

    def job(self, name: str) -> JobSpec | None:
        for job in self.jobs:
            if job.name == name:
                return job
        return None


# ---------------------------------------------------------------- planned pipeline


@dataclass(frozen=True, slots=True)
class MergeRequest:
    source_branch: str
    target_branch: str
    iid: int = 1
    title: str = ""
    source_project_path: str | None = None
    target_branch_sha: str | None = None
    diff_base_sha: str | None = None
    labels: tuple[str, ...] = ()
    event_type: str = "detached"  # detached | merged_result | merge_train


@dataclass(frozen=True, slots=True)
class PipelineContext:
    """What a pipeline is created for. ``changed_files`` ``None`` means unknown."""

    ref: str = "main"
    is_tag: bool = False
    event: str = "push"  # push | merge_request_event | schedule | web | api | trigger …
    sha: str = "0" * 40
    before_sha: str = "0" * 40
    default_branch: str = "main"
    commit_message: str = ""
    commit_author: str = ""
    commit_timestamp: str = ""
    project_dir: str = "."
    project_name: str = "project"
    project_namespace: str = "local"
    project_id: int = 1
    server_host: str = "gitlab.example.com"
    changed_files: tuple[str, ...] | None = None
    variables: Mapping[str, str] = field(default_factory=dict)  # pipeline variables (--var)
    merge_request: MergeRequest | None = None
    pipeline_id: int = 0
    pipeline_iid: int = 0
    config_path: str = ".gitlab-ci.yml"

    @property
    def project_path(self) -> str:
        return f"{self.project_namespace}/{self.project_name}"


@dataclass(frozen=True, slots=True)
class PlannedJob:
    """A job of one pipeline, with every decision of the planner made."""

    spec: JobSpec
    stage_index: int
    when: str
    allow_failure: AllowFailure
    needs: tuple[Need, ...] | None  # concrete job names; None: stage order
    artifact_sources: tuple[str, ...]  # jobs whose artifacts this job downloads
    variables: Mapping[str, str]  # the job's environment, expanded (predefined included)
    tags: tuple[str, ...]
    interruptible: bool
    start_in: str | None = None
    image: str | None = None
    timeout: float | None = None
    resource_group: str | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def stage(self) -> str:
        return self.spec.stage

    @property
    def blocking_manual(self) -> bool:
        """A manual job that holds the pipeline until someone starts it."""
        return self.when == "manual" and not self.allow_failure.allowed


@dataclass(frozen=True, slots=True)
class PlannedPipeline:
    """One pipeline: the jobs that exist for a context, in stage then definition order."""

    context: PipelineContext
    stages: tuple[str, ...]  # every declared stage, .pre and .post included
    jobs: tuple[PlannedJob, ...]
    variables: Mapping[str, str]  # pipeline-level (global + workflow + pipeline + predefined)
    created: bool
    reason: str | None = None  # why no pipeline was created
    name: str | None = None
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)

    def job(self, name: str) -> PlannedJob | None:
        for job in self.jobs:
            if job.name == name:
                return job
        return None

    @property
    def used_stages(self) -> tuple[str, ...]:
        present = {j.stage for j in self.jobs}
        return tuple(s for s in self.stages if s in present)
