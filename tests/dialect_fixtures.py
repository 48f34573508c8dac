"""Small helpers shared by the dialect tests: load a YAML tree from text, plan it, look at the result.

Every test writes its own tiny configuration; these helpers only remove the
ceremony (dedenting, wrapping the text in a :class:`MemoryFiles`, building a
context) so that each test shows the YAML and the answer it expects.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping
from typing import Any

from gatehouse.core.config import IncludeContext, MemoryFiles, load_config
from gatehouse.core.model import MergeRequest, PipelineConfig, PipelineContext, PlannedPipeline
from gatehouse.core.planner import PlanOptions, plan
from gatehouse.core.predefined import pipeline_variables
from gatehouse.errors import Diagnostic, Severity

MAIN = ".gitlab-ci.yml"


def files_of(tree: str | Mapping[str, str]) -> MemoryFiles:
    if isinstance(tree, str):
        tree = {MAIN: tree}
    return MemoryFiles({path: textwrap.dedent(text) for path, text in tree.items()})


def load(
    tree: str | Mapping[str, str],
    *,
    variables: Mapping[str, str] | None = None,
    changed: tuple[str, ...] | None = None,
    mirror: Mapping[str, str] | None = None,
    context: PipelineContext | None = None,
) -> PipelineConfig:
    """Load a configuration; ``tree`` is the main file's text or a path → text mapping.

    Include rules see the predefined variables of ``context`` (a push on
    ``main`` by default) plus ``variables``.
    """
    ctx = context or PipelineContext()
    include_vars = {**pipeline_variables(ctx), **(variables or {})}
    return load_config(
        files_of(tree),
        context=IncludeContext(include_vars, changed),
        mirror=files_of(mirror) if mirror is not None else None,
    )


def context(
    *,
    ref: str = "main",
    event: str = "push",
    tag: bool = False,
    changed: Iterable[str] | None = None,
    variables: Mapping[str, str] | None = None,
    target: str = "main",
    default_branch: str = "main",
    **extra: Any,
) -> PipelineContext:
    merge_request = (
        MergeRequest(source_branch=ref, target_branch=target)
        if event == "merge_request_event"
        else None
    )
    return PipelineContext(
        ref=ref,
        is_tag=tag,
        event=event,
        default_branch=default_branch,
        changed_files=tuple(changed) if changed is not None else None,
        variables=dict(variables or {}),
        merge_request=merge_request,
        **extra,
    )


def plan_of(
    tree: str | Mapping[str, str] | PipelineConfig,
    *,
    all_jobs: bool = False,
    files: Iterable[str] | None = None,
    changes_against: Mapping[str, tuple[str, ...]] | None = None,
    **ctx: Any,
) -> PlannedPipeline:
    """Load (unless given a config) and plan for the context described by ``ctx``."""
    pipeline_context = context(**ctx)
    if isinstance(tree, PipelineConfig):
        config = tree
    else:
        config = load(tree, context=pipeline_context)
        assert config.ok, render(config.diagnostics)
    listing = list(files) if files is not None else []
    if files is None and not isinstance(tree, PipelineConfig):
        listing = files_of(tree).list_files()
    options = PlanOptions(
        evaluate_rules=not all_jobs, files=listing, changes_against=dict(changes_against or {})
    )
    return plan(config, pipeline_context, options)


def names(pipeline: PlannedPipeline | PipelineConfig) -> list[str]:
    return [job.name for job in pipeline.jobs]


def codes(diagnostics: Iterable[Diagnostic], severity: Severity | None = None) -> list[str]:
    return [d.code for d in diagnostics if severity is None or d.severity is severity]


def errors(diagnostics: Iterable[Diagnostic]) -> list[str]:
    return codes(diagnostics, Severity.ERROR)


def warnings(diagnostics: Iterable[Diagnostic]) -> list[str]:
    return codes(diagnostics, Severity.WARNING)


def only(diagnostics: Iterable[Diagnostic], code: str) -> Diagnostic:
    """The one diagnostic with this code (fails when there are none or several)."""
    found = [d for d in diagnostics if d.code == code]
    assert len(found) == 1, render(diagnostics)
    return found[0]


def render(diagnostics: Iterable[Diagnostic]) -> str:
    return "\n".join(d.render() for d in diagnostics) or "(no diagnostics)"


def job(config: PipelineConfig, name: str) -> Any:
    found = config.job(name)
    assert found is not None, f"no job {name!r} in {names(config)}"
    return found
