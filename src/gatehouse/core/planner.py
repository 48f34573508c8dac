"""The planner: (pipeline configuration, context) → the concrete pipeline to run.

Planning follows GitLab's pipeline creation, in order:

1. ``workflow:rules`` decide whether a pipeline exists at all (no matching
   rule, or ``when: never``, means no pipeline); the matched rule's
   ``variables`` override global variables.
2. Each concrete job's ``rules`` (or ``only``/``except``) decide whether it is
   in the pipeline and with which ``when``, ``allow_failure``, ``variables``,
   ``needs``, ``interruptible`` and ``start_in`` (see :mod:`gatehouse.core.rules`).
   ``rules:if`` sees predefined, global, job and pipeline variables as written.
3. ``needs`` are resolved to concrete jobs: a parallel job's base name means
   all its instances, ``needs:parallel:matrix`` a subset. A needed job that is
   not in the pipeline is an error unless the need is ``optional``; when every
   need is optional and absent the job starts at once, like ``needs: []``.
4. The artifacts each job downloads: with ``needs``, those of its direct needs
   with ``artifacts: true``; without, those of every job in earlier stages,
   restricted by ``dependencies`` when given.
5. Each job's environment: predefined < global (``inherit:variables``) <
   ``workflow:rules:variables`` < job < ``rules:variables`` < pipeline
   variables, expanded recursively (``$$`` is a literal ``$``, ``expand:
   false`` keeps a value raw). ``tags`` and ``resource_group`` are expanded
   from it (after ``rules:variables``; empty tags dropped), ``image`` with a
   single pass.
6. A pipeline whose only jobs are in ``.pre``/``.post`` is not created.

With ``evaluate_rules=False`` (``plan --all``) steps 1 and 2 are skipped and
every job is kept with its own ``when``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from gatehouse.core.config.validate import index_jobs, need_targets
from gatehouse.core.model import (
    AllowFailure,
    JobSpec,
    Need,
    PipelineConfig,
    PipelineContext,
    PlannedJob,
    PlannedPipeline,
)
from gatehouse.core.predefined import job_variables, pipeline_variables
from gatehouse.core.rules import Decision, RuleFacts, decide, first_match
from gatehouse.core.variables import (
    Variable,
    VariableCycleError,
    expand_all,
    expand_with,
    merge_layers,
    plain,
)
from gatehouse.errors import Diagnostic, Location, error, info, sort_diagnostics, warning


@dataclass(frozen=True, slots=True)
class PlanOptions:
    evaluate_rules: bool = True
    files: Sequence[str] = ()  # the project's files, for rules:exists
    changes_against: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def _inherited_globals(job: JobSpec, globals_: Sequence[Variable]) -> list[Variable]:
    if job.inherit_variables is True:
        return list(globals_)
    if job.inherit_variables is False:
        return []
    allowed = set(job.inherit_variables)
    return [v for v in globals_ if v.name in allowed]


def _raw_lookup(*layers: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for layer in layers:
        out.update(layer)
    return out


def _expand(
    layers: Mapping[str, Variable], fallback: Location | None, diags: list[Diagnostic]
) -> dict[str, str]:
    """Expand a job's (or the pipeline's) variables; a cycle is an error, values stay raw.

    The error is located at the definition of the first variable of the cycle,
    so a cycle among global variables is reported once, not once per job.
    """
    try:
        return expand_all(layers)
    except VariableCycleError as exc:
        first = layers.get(exc.chain[0])
        diags.append(
            error(
                "variable-cycle",
                str(exc),
                (first.loc if first else None) or fallback,
                hint="a variable must not refer to itself, directly or through others",
            )
        )
        return {k: v.value for k, v in layers.items()}


def plan(
    config: PipelineConfig, context: PipelineContext, options: PlanOptions | None = None
) -> PlannedPipeline:
    """Plan one pipeline. Never raises for a bad configuration: problems become diagnostics."""
    options = options or PlanOptions()
    diags: list[Diagnostic] = []
    predefined = pipeline_variables(context)
    pipeline_vars = plain(context.variables)
    predefined_vars = plain(predefined)  # built once: every job starts from them
    globals_ = list(config.variables)
    facts = RuleFacts(
        context,
        options.files,
        options.changes_against,
        default_only=config.workflow is None or config.workflow.rules is None,
    )
    name = config.workflow.name if config.workflow else None

    # 1. workflow:rules
    workflow_vars: tuple[Variable, ...] = ()
    if options.evaluate_rules and config.workflow is not None and config.workflow.rules is not None:
        lookup_map = _raw_lookup(predefined, {v.name: v.value for v in globals_}, context.variables)
        rule = first_match(config.workflow.rules, lookup_map.get, facts)
        if rule is None or rule.when == "never":
            why = (
                "workflow:rules: no rule matched"
                if rule is None
                else f"workflow:rules: the rule at {rule.loc} says when: never"
            )
            return PlannedPipeline(context, config.stages, (), {}, False, why, name, tuple(diags))
        workflow_vars = rule.variables
    global_layer = merge_layers(globals_, workflow_vars)

    # 2. rules
    decided: list[tuple[JobSpec, Decision]] = []
    for job in config.jobs:
        if not options.evaluate_rules:
            decided.append(
                (
                    job,
                    Decision(
                        True,
                        job.when,
                        job.allow_failure or AllowFailure(job.when == "manual"),
                        needs=job.needs,
                        interruptible=job.interruptible,
                        start_in=job.start_in,
                    ),
                )
            )
            continue
        job_globals = _inherited_globals(job, list(global_layer.values()))
        lookup_map = _raw_lookup(
            predefined,
            job_variables(job, job.when),
            {v.name: v.value for v in job_globals},
            {v.name: v.value for v in job.variables},
            context.variables,
        )
        decision = decide(job, lookup_map.get, facts)
        if decision.included:
            decided.append((job, decision))

    # A job in an unknown stage is a load error already; it cannot be placed.
    decided = [(job, d) for job, d in decided if job.stage in config.stages]
    present = [job for job, _ in decided]
    index = index_jobs(present)
    all_index = index_jobs(config.jobs)
    stage_pos = {s: i for i, s in enumerate(config.stages)}

    planned: list[PlannedJob] = []
    for job, decision in decided:
        # 3. needs
        needs: tuple[Need, ...] | None = None
        if decision.needs is not None:
            resolved: list[Need] = []
            for need in decision.needs:
                if need.project is not None or need.pipeline is not None:
                    diags.append(
                        info(
                            "external-need",
                            f"job {job.name!r}: needs on another "
                            f"{'project' if need.project else 'pipeline'} is not waited for locally",
                            need.loc,
                        )
                    )
                    continue
                targets = need_targets(need, index)
                if not targets:
                    if need.optional:
                        continue
                    defined = bool(need_targets(need, all_index))
                    diags.append(
                        error(
                            "need-not-in-pipeline",
                            f"'{job.name}' job needs '{need.job}' job, but '{need.job}' "
                            + ("was not added to the pipeline" if defined else "is not defined"),
                            need.loc or job.loc,
                            hint="add optional: true to the need, or make the rules agree",
                        )
                    )
                    continue
                resolved.extend(
                    Need(t.name, need.artifacts, need.optional, loc=need.loc) for t in targets
                )
            needs = tuple({n.job: n for n in resolved}.values())
        # 4. artifacts
        if needs is not None:
            sources = [n.job for n in needs if n.artifacts]
            if job.dependencies is not None:
                allowed = set(job.dependencies) | {
                    t.name for d in job.dependencies for t in index.get(d, ())
                }
                sources = [s for s in sources if s in allowed]
        else:
            earlier = [j for j in present if stage_pos[j.stage] < stage_pos[job.stage]]
            if job.dependencies is not None:
                names = {t.name for d in job.dependencies for t in index.get(d, ())}
                for dep in job.dependencies:
                    if dep not in index:
                        diags.append(
                            warning(
                                "dependency-not-in-pipeline",
                                f"job {job.name!r}: dependency {dep!r} is not in this pipeline; no artifacts from it",
                                job.loc,
                            )
                        )
                sources = [j.name for j in earlier if j.name in names]
            else:
                sources = [j.name for j in earlier]
        # 5. variables
        layers = merge_layers(
            predefined_vars,
            plain(job_variables(job, decision.when)),
            _inherited_globals(job, list(global_layer.values())),
            job.variables,
            decision.variables,
            pipeline_vars,
        )
        env = _expand(layers, job.loc, diags)
        # env is fully expanded, so one pass over it expands recursively.
        tags = tuple(t for t in (expand_with(tag, env) for tag in job.tags) if t.strip())
        image = expand_with(job.image.name, env) if job.image else None
        resource_group = expand_with(job.resource_group, env) if job.resource_group else None
        planned.append(
            PlannedJob(
                spec=job,
                stage_index=stage_pos[job.stage],
                when=decision.when,
                allow_failure=decision.allow_failure,
                needs=needs,
                artifact_sources=tuple(sources),
                variables=env,
                tags=tags,
                interruptible=bool(decision.interruptible),
                start_in=decision.start_in,
                image=image,
                timeout=job.timeout,
                resource_group=resource_group,
            )
        )

    planned.sort(key=lambda j: j.stage_index)
    pipeline_env = _expand(
        merge_layers(predefined_vars, global_layer.values(), pipeline_vars), None, diags
    )
    created = True
    reason: str | None = None
    if not planned:
        created, reason = False, "no job is in this pipeline (every job's rules excluded it)"
    elif all(j.stage in (".pre", ".post") for j in planned):
        created, reason = False, "only .pre/.post jobs are in this pipeline, so GitLab creates none"
    return PlannedPipeline(
        context=context,
        stages=config.stages,
        jobs=tuple(planned),
        variables=pipeline_env,
        created=created,
        reason=reason,
        name=name,
        diagnostics=tuple(sort_diagnostics(dict.fromkeys(diags))),
    )
