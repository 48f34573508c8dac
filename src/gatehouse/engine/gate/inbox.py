"""The inbox: requests other processes post for a queue's driver, as events of the gate.

``gatehouse gate enqueue`` (and ``dequeue``, ``promote``, ``pause``,
``resume``) does not touch the queue's state: only the process that drives
the queue writes it. The command posts a request (a kind and a small JSON
payload) to the store's inbox; the driver turns each pending request into a
:mod:`gatehouse.core.gate` event, in the order they were posted, and closes
it in the same transaction as the state it changed — so a request is applied
exactly once even if the driver stops at any moment. A request the gate
refuses (a change already queued, an unknown change) is closed with the
reason, and the reason is written to the audit log.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gatehouse.core.gate import Change, Dequeue, Enqueue, Event, Pause, Priority, Promote, Resume
from gatehouse.errors import GateError

KINDS = ("enqueue", "dequeue", "promote", "pause", "resume")


def enqueue_request(change: Change, priority: Priority = Priority.NORMAL) -> dict[str, Any]:
    return {"change": change.id, "commit": change.commit, "priority": priority.value}


def dequeue_request(change_id: str, reason: str = "") -> dict[str, Any]:
    return {"change": change_id, "reason": reason}


def promote_request(change_id: str, priority: Priority) -> dict[str, Any]:
    return {"change": change_id, "priority": priority.value}


def pause_request(reason: str) -> dict[str, Any]:
    return {"reason": reason}


def event_of(kind: str, payload: Mapping[str, Any], *, at: float) -> Event:
    """The gate event a request asks for; GateError for a request that makes no sense."""
    try:
        if kind == "enqueue":
            change = Change(_text(payload, "change"), _text(payload, "commit"))
            return Enqueue(change, Priority(payload.get("priority", "normal")), at=at)
        if kind == "dequeue":
            return Dequeue(_text(payload, "change"), str(payload.get("reason", "")), at=at)
        if kind == "promote":
            return Promote(_text(payload, "change"), Priority(payload["priority"]), at=at)
        if kind == "pause":
            return Pause(str(payload.get("reason", "")), at=at)
        if kind == "resume":
            return Resume(at=at)
    except (KeyError, ValueError) as exc:
        raise GateError(f"malformed {kind} request: {exc}") from exc
    raise GateError(f"unknown request kind {kind!r} (known: {', '.join(KINDS)})")


def describe(kind: str, payload: Mapping[str, Any]) -> str:
    """One line for people: what the request asks."""
    change = payload.get("change")
    if kind == "enqueue":
        priority = payload.get("priority", "normal")
        extra = f" ({priority})" if priority != "normal" else ""
        return f"enqueue {change} at {str(payload.get('commit', ''))[:12]}{extra}"
    if kind in ("dequeue", "promote"):
        what = payload.get("reason") if kind == "dequeue" else payload.get("priority")
        return f"{kind} {change}" + (f" ({what})" if what else "")
    if kind == "pause":
        return f"pause ({payload.get('reason') or 'no reason given'})"
    return kind


def _text(payload: Mapping[str, Any], key: str) -> str:
    value = payload[key]
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} must be a non-empty string, not {value!r}")
    return value
