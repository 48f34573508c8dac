"""What ``gatehouse gate status`` shows, read from the database by any process.

The driver's state is persisted after every step, so another process (the
CLI, the web dashboard) can explain the queue without talking to the driver:
:func:`read_status` loads the state, asks the runs store which jobs of each
running build are running now (through the build → pipeline links) and how
long recent gate pipelines took (the median of the last successful ones is
the ``T`` of the ETA), and adds the requests still waiting in the inbox. The
explaining itself is the core's (:func:`gatehouse.core.gate.explain`).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from gatehouse.core.gate import GateExplanation, GateSettings, explain, render
from gatehouse.core.gate.codec import state_from_json
from gatehouse.core.ports import GateRequest, GateStore, JobStatus, PipelineStatus, RunStore
from gatehouse.engine.gate.inbox import describe

DURATION_SAMPLE = 20  # successful gate pipelines the ETA's build time is measured on


@dataclass(frozen=True, slots=True)
class GateStatus:
    queue: str
    target: str
    explanation: GateExplanation | None  # None: no `gatehouse gate run` has saved a state yet
    pending: tuple[GateRequest, ...]
    pipelines: Mapping[int, int]  # item → the latest pipeline that tested it
    build_duration: float | None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = (
            self.explanation.to_json()
            if self.explanation is not None
            else {"target": self.target, "items": [], "recent": [], "started": False}
        )
        data["build_duration"] = self.build_duration
        data["pipelines"] = {str(item): p for item, p in sorted(self.pipelines.items())}
        data["pending"] = [
            {
                "id": r.id,
                "kind": r.kind,
                "payload": dict(r.payload),
                "posted_at": r.posted_at,
                "what": describe(r.kind, r.payload),
            }
            for r in self.pending
        ]
        return data

    def render(self) -> str:
        if self.explanation is None:
            lines = [f"gate {self.target}: not started (no `gatehouse gate run` yet)"]
        else:
            lines = [render(self.explanation)]
            shown = [i.item for i in self.explanation.items] + [
                o.item for o in reversed(self.explanation.recent[-10:])
            ]
            labels = {i.item: "+".join(i.changes) for i in self.explanation.items}
            labels.update({o.item: "+".join(o.changes) for o in self.explanation.recent})
            listed = [item for item in dict.fromkeys(shown) if item in self.pipelines]
            if listed:
                lines.append("pipelines (gatehouse show ID):")
                lines.extend(
                    f"  #{item} {labels.get(item, '')}: pipeline {self.pipelines[item]}"
                    for item in listed
                )
        if self.pending:
            lines.append("waiting in the inbox (picked up by `gatehouse gate run`):")
            lines.extend(f"  {describe(r.kind, r.payload)}" for r in self.pending)
        return "\n".join(lines)


def read_status(
    queue: str,
    settings: GateSettings,
    *,
    gate: GateStore,
    runs: RunStore,
    project_dir: str,
    now: float,
) -> GateStatus:
    pending = tuple(gate.list_requests(queue))
    duration = measured_build_duration(runs, project_dir)
    stored = gate.load_gate(queue)
    if stored is None:
        return GateStatus(queue, settings.target_branch, None, pending, {}, duration)
    state = replace(state_from_json(stored.state, settings), now=max(now, stored.updated_at))
    running: dict[int, list[str]] = {}
    builds = [build.id for item in state.queue for build in item.builds]
    by_build: dict[int, int] = {}
    for link in gate.build_links(queue, builds=builds):
        by_build[link.build] = link.pipeline_id  # the latest pipeline of each build wins
    for build, pipeline_id in by_build.items():
        running[build] = [
            job.name
            for job in runs.list_jobs(pipeline_id, include_retried=False)
            if job.status is JobStatus.RUNNING
        ]
    items = {item.id for item in state.queue} | {o.item for o in state.recent}
    pipelines: dict[int, int] = {}
    for item in sorted(items):
        links = gate.build_links(queue, item=item)
        if links:
            pipelines[item] = links[-1].pipeline_id
    explanation = explain(state, build_duration=duration, running_jobs=running)
    return GateStatus(queue, settings.target_branch, explanation, pending, pipelines, duration)


def measured_build_duration(runs: RunStore, project_dir: str) -> float | None:
    """The median duration of the latest successful gate pipelines (None: none yet)."""
    durations = [
        p.finished_at - p.started_at
        for p in runs.list_pipelines(limit=5 * DURATION_SAMPLE, project_dir=project_dir)
        if p.source == "gate"
        and p.status is PipelineStatus.SUCCESS
        and p.started_at is not None
        and p.finished_at is not None
    ][:DURATION_SAMPLE]
    return statistics.median(durations) if durations else None
