"""The GitLab-CI dialect: load a project's pipeline configuration in GitLab's order.

    load → include → extends → !reference → stages/defaults/jobs → matrix → static checks

Each phase sees only what the previous one produced (as in GitLab's
``Config#build_config``); every problem found is collected as a located
:class:`~gatehouse.errors.Diagnostic`, so one run reports all of them. The
result is a :class:`~gatehouse.core.model.PipelineConfig`; the planner turns it
into a pipeline for one context.
"""

from __future__ import annotations

from collections.abc import Mapping
from difflib import get_close_matches
from typing import TYPE_CHECKING

from gatehouse.core.config.extends import resolve_extends, resolve_references
from gatehouse.core.config.include import IncludeContext, load_tree
from gatehouse.core.config.jobs import (
    GLOBAL_KEYWORDS,
    build_job,
    read_defaults,
    read_stages,
    read_workflow,
)
from gatehouse.core.config.nodes import LocDict
from gatehouse.core.config.validate import validate_jobs, warn_duplicate_pipelines
from gatehouse.core.config.values import parse_variables
from gatehouse.core.model import JobSpec, PipelineConfig
from gatehouse.errors import Diagnostic, error, sort_diagnostics, warning

if TYPE_CHECKING:  # the ports module is heavy and only needed for typing
    from gatehouse.core.ports import ProjectFiles

__all__ = ["IncludeContext", "MemoryFiles", "load_config"]


class MemoryFiles:
    """An in-memory :class:`ProjectFiles` (tests, and configs built in code)."""

    def __init__(self, files: Mapping[str, str]) -> None:
        self._files = {path.lstrip("/"): text for path, text in files.items()}

    def read_text(self, path: str) -> str | None:
        return self._files.get(path.lstrip("/"))

    def list_files(self) -> list[str]:
        return sorted(self._files)


def load_config(
    files: ProjectFiles,
    *,
    main_file: str = ".gitlab-ci.yml",
    context: IncludeContext | None = None,
    mirror: ProjectFiles | None = None,
) -> PipelineConfig:
    """Load and check a pipeline configuration; never raises for a bad config."""
    diags: list[Diagnostic] = []
    tree, loaded, load_diags = load_tree(files, main_file, context or IncludeContext(), mirror)
    diags.extend(load_diags)
    external_missing = any(d.code == "unavailable-include" for d in diags)
    tree, incomplete = resolve_extends(tree, diags, external_missing=external_missing)
    tree, broken = resolve_references(tree, diags, external_missing=external_missing)
    stages = read_stages(tree, diags)
    variables = parse_variables(
        tree.get("variables"), tree.key_loc("variables"), "variables", diags
    )
    workflow = read_workflow(tree, diags)
    defaults = read_defaults(tree, diags)
    jobs: dict[str, JobSpec] = {}
    visible = 0
    for key, value in tree.items():
        loc = tree.key_loc(key)
        if not isinstance(key, str):
            diags.append(error("invalid-key", f"top-level key {key!r} is not a name", loc))
            continue
        if key in GLOBAL_KEYWORDS or key.startswith("."):
            continue
        if not isinstance(value, LocDict):
            close = get_close_matches(key, sorted(GLOBAL_KEYWORDS), n=1)
            diags.append(
                warning(
                    "unknown-keyword",
                    f"top-level key {key!r} is neither a keyword nor a job (jobs are mappings); ignored",
                    loc,
                    hint=f"did you mean {close[0]!r}?"
                    if close
                    else "start its name with '.' if it is a template value",
                )
            )
            continue
        visible += 1
        built = build_job(
            key,
            value,
            loc,
            defaults,
            stages,
            diags,
            unresolved=incomplete.get(key, ()),
            external_missing=external_missing,
            broken_reference=key in broken,
        )
        for job in built:
            if job.name in jobs:
                diags.append(
                    warning(
                        "duplicate-job",
                        f"job name {job.name!r} is produced twice; the later definition wins",
                        loc,
                    )
                )
            jobs[job.name] = job
    if not jobs and not any(d.is_error for d in diags):
        diags.append(
            error(
                "no-jobs",
                "the configuration defines no jobs",
                tree.loc,
                hint="a job is a top-level mapping whose name does not start with '.' and that has a script",
            )
        )
    validate_jobs(list(jobs.values()), stages, diags)
    warn_duplicate_pipelines(list(jobs.values()), workflow, diags)
    return PipelineConfig(
        stages=stages,
        variables=variables,
        workflow=workflow,
        jobs=tuple(jobs.values()),
        files=tuple(loaded),
        visible_job_count=visible,
        diagnostics=tuple(sort_diagnostics(dict.fromkeys(diags))),
    )
