"""Static checks across jobs, independent of any pipeline context.

What can be known from the files alone is checked at load time, so that
``gatehouse lint`` finds it without choosing a ref or an event:

- every ``needs`` (the job's and its rules') names a job that exists (unless
  ``optional: true``), in the same or an earlier stage, once, and
  ``needs:parallel:matrix`` names existing matrix instances;
- with both ``needs`` and ``dependencies``, every dependency is needed;
- ``needs`` has no cycle;
- every ``dependencies`` entry names a job of an earlier stage;
- job names (matrix names included) are at most 255 characters.

Whether a needed job is *in the pipeline* depends on rules and is checked by
the planner for each pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gatehouse.core.config.parallel import matrix_combinations, matrix_job_name
from gatehouse.core.model import JobSpec, Need, Rule, Workflow
from gatehouse.errors import Diagnostic, error, warning

MAX_JOB_NAME = 255


def index_jobs(jobs: Sequence[JobSpec]) -> dict[str, list[JobSpec]]:
    """Concrete names and parallel base names → the concrete jobs they denote."""
    index: dict[str, list[JobSpec]] = {}
    for job in jobs:
        index.setdefault(job.name, []).append(job)
        if job.parallel is not None and job.base_name != job.name:
            index.setdefault(job.base_name, []).append(job)
    return index


def need_targets(need: Need, index: Mapping[str, Sequence[JobSpec]]) -> list[JobSpec]:
    """The concrete jobs a ``needs`` entry denotes.

    A name denotes that job, or every instance of a parallel job. With
    ``parallel: matrix`` GitLab builds instance names from the given values
    in the order they are written (``build: [linux, amd64]``) and needs
    exactly those, so the identifiers must be listed in the matrix's order.
    """
    if need.matrix is None:
        return list(index.get(need.job, ()))
    selected: list[JobSpec] = []
    for combo in matrix_combinations(need.matrix):
        for job in index.get(matrix_job_name(need.job, combo.values()), ()):
            if job not in selected:
                selected.append(job)
    return selected


def validate_jobs(jobs: Sequence[JobSpec], stages: Sequence[str], diags: list[Diagnostic]) -> None:
    index = index_jobs(jobs)
    stage_pos = {s: i for i, s in enumerate(stages)}
    graph: dict[str, list[str]] = {}
    for job in jobs:
        if len(job.name) > MAX_JOB_NAME:
            diags.append(
                error(
                    "job-name-too-long",
                    f"job name {job.name[:40]!r}… is {len(job.name)} characters long; "
                    f"GitLab allows {MAX_JOB_NAME}",
                    job.loc,
                    hint="shorten the name or the matrix values that make it up",
                )
            )
        edges = _check_needs(job, job.needs or (), index, stage_pos, diags)
        for rule in job.rules or ():
            if rule.needs is not None:
                _check_needs(job, rule.needs, index, stage_pos, diags)
        graph[job.name] = edges
        if job.needs and job.dependencies:
            needed = {n.job for n in job.needs}
            missing = [d for d in job.dependencies if d not in needed]
            if missing:
                diags.append(
                    error(
                        "dependency-not-in-needs",
                        f"job {job.name!r}: dependencies the {', '.join(missing)} should be part "
                        "of needs",
                        job.loc,
                        hint="with needs, a job can only download artifacts of jobs it needs",
                    )
                )
        for dep in job.dependencies or ():
            targets = index.get(dep, [])
            if not targets:
                diags.append(
                    error(
                        "missing-dependency",
                        f"job {job.name!r}: dependency {dep!r} is not defined",
                        job.loc,
                    )
                )
                continue
            for target in targets:
                if (
                    stage_pos.get(target.stage, 0) >= stage_pos.get(job.stage, 0)
                    and job.needs is None
                ):
                    diags.append(
                        error(
                            "dependency-not-earlier",
                            f"job {job.name!r}: dependency {dep!r} must be in an earlier stage "
                            f"(it is in {target.stage})",
                            job.loc,
                        )
                    )
    for cycle in find_cycles(graph):
        first = next(j for j in jobs if j.name == cycle[0])
        diags.append(
            error(
                "needs-cycle",
                "needs form a cycle: " + " -> ".join([*cycle, cycle[0]]),
                first.loc,
                hint="a job cannot (indirectly) need itself",
            )
        )


def _check_needs(
    job: JobSpec,
    needs: Sequence[Need],
    index: Mapping[str, Sequence[JobSpec]],
    stage_pos: Mapping[str, int],
    diags: list[Diagnostic],
) -> list[str]:
    """Check one ``needs`` list (the job's or a rule's); return the jobs it waits for."""
    edges: list[str] = []
    seen: set[tuple[str, str]] = set()
    for need in needs:
        if need.project is not None or need.pipeline is not None:
            continue
        key = (need.job, repr(need.matrix))
        if key in seen:
            diags.append(
                error(
                    "duplicate-need",
                    f"job {job.name!r} has the following needs duplicated: {need.job}",
                    need.loc or job.loc,
                )
            )
        seen.add(key)
        targets = need_targets(need, index)
        if not targets:
            if need.optional:
                continue
            what = "matrix instance of " if need.matrix is not None and need.job in index else ""
            diags.append(
                error(
                    "missing-need",
                    f"job {job.name!r} needs {what}{need.job!r}, which is not defined",
                    need.loc or job.loc,
                    hint="needs must name jobs of this configuration (or add optional: true)",
                )
            )
            continue
        for target in targets:
            if stage_pos.get(target.stage, 0) > stage_pos.get(job.stage, 0):
                diags.append(
                    error(
                        "need-later-stage",
                        f"job {job.name!r} (stage {job.stage}) needs {target.name!r}, "
                        f"which is in the later stage {target.stage}",
                        need.loc or job.loc,
                    )
                )
            edges.append(target.name)
    return edges


_WHITE, _GREY, _BLACK = 0, 1, 2


def find_cycles(graph: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Each elementary cycle found by depth-first search, reported once."""
    colour = dict.fromkeys(graph, _WHITE)
    stack: list[str] = []
    cycles: list[list[str]] = []
    seen: set[frozenset[str]] = set()

    def visit(node: str) -> None:
        colour[node] = _GREY
        stack.append(node)
        for nxt in graph.get(node, ()):
            if colour.get(nxt, _BLACK) == _GREY:
                cycle = stack[stack.index(nxt) :]
                key = frozenset(cycle)
                if key not in seen:
                    seen.add(key)
                    cycles.append(list(cycle))
            elif colour.get(nxt) == _WHITE:
                visit(nxt)
        stack.pop()
        colour[node] = _BLACK

    for node in graph:
        if colour[node] == _WHITE:
            visit(node)
    return cycles


def _bare_when(rule: Rule) -> bool:
    """A rule that is only ``when: <not never>``: it matches every pipeline."""
    return (
        rule.when not in (None, "never")
        and rule.if_ is None
        and rule.changes is None
        and rule.exists is None
        and rule.allow_failure is None
        and not rule.variables
        and rule.needs is None
        and rule.interruptible is None
        and rule.start_in is None
    )


def warn_duplicate_pipelines(
    jobs: Sequence[JobSpec], workflow: Workflow | None, diags: list[Diagnostic]
) -> None:
    """GitLab's pipeline warning: a catch-all last rule without ``workflow:rules``.

    Such a job is added to a branch pipeline *and* to the merge-request
    pipeline of the same push, so one push runs two pipelines.
    """
    if workflow is not None and workflow.rules is not None:
        return
    seen: set[str] = set()
    for job in jobs:
        if job.base_name in seen or not job.rules:
            continue
        seen.add(job.base_name)
        last = job.rules[-1]
        if _bare_when(last):
            diags.append(
                warning(
                    "multiple-pipelines",
                    f"job {job.base_name!r} may allow multiple pipelines to run for a single "
                    "action due to `rules:when` clause with no `workflow:rules`",
                    last.loc or job.loc,
                    hint="add workflow:rules that choose between branch and merge-request pipelines",
                )
            )
