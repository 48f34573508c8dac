"""The gate's state as JSON-ready data, and back: what the engine persists between events.

``state_to_json`` gives plain dicts, lists, strings and numbers (no tuples
or sets); ``state_from_json`` rebuilds an equal :class:`GateState`. A
restarted controller loads the last state, so nothing about the queue is
lost; the settings may be replaced on load (a changed gatehouse.toml takes
effect, the window in force is kept). Malformed data raises
:class:`gatehouse.errors.GateError` naming the field.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from gatehouse.core.gate.model import (
    Build,
    Change,
    Failure,
    FailureCheck,
    FailureKind,
    GateState,
    Item,
    JobFailure,
    Outcome,
    OutcomeKind,
    Presumption,
    Priority,
)
from gatehouse.core.gate.settings import GateSettings
from gatehouse.errors import GateError

FORMAT = 1


def state_to_json(state: GateState) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "settings": {
            f.name: getattr(state.settings, f.name) for f in dataclasses.fields(GateSettings)
        },
        "tip": state.tip,
        "window": state.window,
        "queue": [_item(item) for item in state.queue],
        "next_id": state.next_id,
        "now": state.now,
        "paused": state.paused,
        "consecutive_failures": state.consecutive_failures,
        "recent": [
            {
                "kind": o.kind.value,
                "item": o.item,
                "changes": list(o.changes),
                "at": o.at,
                "detail": o.detail,
                "commit": o.commit,
            }
            for o in state.recent
        ],
    }


def state_from_json(data: Mapping[str, Any], settings: GateSettings | None = None) -> GateState:
    try:
        if data.get("format") != FORMAT:
            raise GateError(
                f"gate state: unsupported format {data.get('format')!r} (expected {FORMAT})"
            )
        return GateState(
            settings=settings or GateSettings(**data["settings"]),
            tip=str(data["tip"]),
            window=int(data["window"]),
            queue=tuple(_load_item(item) for item in data["queue"]),
            next_id=int(data["next_id"]),
            now=float(data["now"]),
            paused=data["paused"],
            consecutive_failures=int(data["consecutive_failures"]),
            recent=tuple(
                Outcome(
                    OutcomeKind(o["kind"]),
                    int(o["item"]),
                    tuple(o["changes"]),
                    float(o["at"]),
                    str(o["detail"]),
                    o["commit"],
                )
                for o in data["recent"]
            ),
        )
    except GateError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise GateError(f"gate state: malformed data ({type(exc).__name__}: {exc})") from exc


# --------------------------------------------------------------------------- items


def _item(item: Item) -> dict[str, Any]:
    return {
        "id": item.id,
        "changes": [{"id": c.id, "commit": c.commit} for c in item.changes],
        "priority": item.priority.value,
        "enqueued_at": item.enqueued_at,
        "parent": item.parent,
        "spec_request": item.spec_request,
        "base_commit": item.base_commit,
        "commit": item.commit,
        "tree": item.tree,
        "builds": [
            {"id": b.id, "jobs": _opt_list(b.jobs), "started_at": b.started_at} for b in item.builds
        ],
        "pipeline_done": item.pipeline_done,
        "checks": [
            {
                "failure": _job(c.failure),
                "request": c.request,
                "retry_build": c.retry_build,
                "evidence": list(c.evidence),
            }
            for c in item.checks
        ],
        "seen": sorted([build, job] for build, job in item.seen),
        "retries": [[job, count] for job, count in item.retries],
        "failure": _failure(item.failure) if item.failure else None,
        "presumed": (
            {
                "changes": sorted(item.presumed.changes),
                "car": item.presumed.car,
                "failure": _failure(item.presumed.failure),
            }
            if item.presumed
            else None
        ),
        "landing": item.landing,
        "generation": item.generation,
        "split_of": item.split_of,
    }


def _load_item(data: Mapping[str, Any]) -> Item:
    presumed = data["presumed"]
    failure = _load_failure(data["failure"]) if data["failure"] else None
    loaded_presumption = (
        Presumption(
            frozenset(presumed["changes"]), int(presumed["car"]), _load_failure(presumed["failure"])
        )
        if presumed
        else None
    )
    if (
        failure is not None
        and loaded_presumption is not None
        and failure == loaded_presumption.failure
    ):
        failure = loaded_presumption.failure  # keep them one object, as the machine made them
    return Item(
        id=int(data["id"]),
        changes=tuple(Change(str(c["id"]), str(c["commit"])) for c in data["changes"]),
        priority=Priority(data["priority"]),
        enqueued_at=float(data["enqueued_at"]),
        parent=data["parent"],
        spec_request=data["spec_request"],
        base_commit=data["base_commit"],
        commit=data["commit"],
        tree=data["tree"],
        builds=tuple(
            Build(int(b["id"]), _opt_tuple(b["jobs"]), float(b["started_at"]))
            for b in data["builds"]
        ),
        pipeline_done=bool(data["pipeline_done"]),
        checks=tuple(
            FailureCheck(
                _load_job(c["failure"]), c["request"], c["retry_build"], tuple(c["evidence"])
            )
            for c in data["checks"]
        ),
        seen=frozenset((int(build), str(job)) for build, job in data["seen"]),
        retries=tuple((str(job), int(count)) for job, count in data["retries"]),
        failure=failure,
        presumed=loaded_presumption,
        landing=data["landing"],
        generation=int(data["generation"]),
        split_of=data["split_of"],
    )


def _job(job: JobFailure) -> dict[str, Any]:
    return {"job": job.job, "tests": list(job.tests), "detail": job.detail}


def _load_job(data: Mapping[str, Any]) -> JobFailure:
    return JobFailure(str(data["job"]), tuple(data["tests"]), str(data["detail"]))


def _failure(failure: Failure) -> dict[str, Any]:
    return {
        "kind": failure.kind.value,
        "jobs": [_job(j) for j in failure.jobs],
        "files": list(failure.files),
        "change": failure.change,
        "evidence": list(failure.evidence),
    }


def _load_failure(data: Mapping[str, Any]) -> Failure:
    return Failure(
        FailureKind(data["kind"]),
        tuple(_load_job(j) for j in data["jobs"]),
        tuple(data["files"]),
        data["change"],
        tuple(data["evidence"]),
    )


def _opt_list(values: tuple[str, ...] | None) -> list[str] | None:
    return None if values is None else list(values)


def _opt_tuple(values: list[str] | None) -> tuple[str, ...] | None:
    return None if values is None else tuple(values)
