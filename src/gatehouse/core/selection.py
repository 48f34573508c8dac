"""Which jobs of a planned pipeline a run covers (``gatehouse run [JOB…] [--needs] [--stage S]``).

With no job names and no stage, the whole pipeline. A name selects that job,
or every instance of a ``parallel`` job when it is the base name. ``--stage``
selects the jobs of one stage. ``--needs`` adds, transitively, what the
selected jobs depend on: their ``needs``, and for jobs in stage order the jobs
whose artifacts they download (every earlier-stage job, or its
``dependencies``). Naming a manual job starts it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from difflib import get_close_matches

from gatehouse.core.model import PlannedPipeline


@dataclass(frozen=True, slots=True)
class Selection:
    jobs: frozenset[str]
    named: frozenset[str]  # jobs the user named (manual ones among them are started)
    unknown: tuple[tuple[str, str | None], ...] = ()  # (name, suggestion)


def select(
    pipeline: PlannedPipeline,
    names: Sequence[str] = (),
    *,
    stage: str | None = None,
    with_needs: bool = False,
) -> Selection:
    all_names = [j.name for j in pipeline.jobs]
    if not names and stage is None:
        return Selection(frozenset(all_names), frozenset())
    chosen: set[str] = set()
    unknown: list[tuple[str, str | None]] = []
    for name in names:
        matches = [j.name for j in pipeline.jobs if name in (j.name, j.spec.base_name)]
        if not matches:
            close = get_close_matches(name, all_names, n=1)
            unknown.append((name, close[0] if close else None))
        chosen.update(matches)
    if stage is not None:
        in_stage = [j.name for j in pipeline.jobs if j.stage == stage]
        if not in_stage:
            close = get_close_matches(stage, list(pipeline.used_stages), n=1)
            unknown.append((f"stage {stage}", close[0] if close else None))
        chosen.update(in_stage)
    named = frozenset(chosen)
    if with_needs:
        by_name = {j.name: j for j in pipeline.jobs}
        todo = list(chosen)
        while todo:
            job = by_name[todo.pop()]
            deps = (
                [n.job for n in job.needs] if job.needs is not None else list(job.artifact_sources)
            )
            for dep in deps:
                if dep in by_name and dep not in chosen:
                    chosen.add(dep)
                    todo.append(dep)
    return Selection(frozenset(chosen), named, tuple(unknown))
