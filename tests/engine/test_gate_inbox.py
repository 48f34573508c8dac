"""Inbox requests as gate events: every kind, and the refusals of malformed ones."""

from __future__ import annotations

import pytest

from gatehouse.core.gate import Change, Dequeue, Enqueue, Pause, Priority, Promote, Resume
from gatehouse.engine.gate.inbox import (
    dequeue_request,
    describe,
    enqueue_request,
    event_of,
    pause_request,
    promote_request,
)
from gatehouse.errors import GateError

CHANGE = Change("change/a", "a" * 40)


def test_each_request_becomes_its_event() -> None:
    assert event_of("enqueue", enqueue_request(CHANGE, Priority.EXPEDITE), at=5.0) == Enqueue(
        CHANGE, Priority.EXPEDITE, at=5.0
    )
    assert event_of("dequeue", dequeue_request("change/a", "stale"), at=1.0) == Dequeue(
        "change/a", "stale", at=1.0
    )
    assert event_of("promote", promote_request("change/a", Priority.PREEMPT), at=1.0) == Promote(
        "change/a", Priority.PREEMPT, at=1.0
    )
    assert event_of("pause", pause_request("freeze"), at=1.0) == Pause("freeze", at=1.0)
    assert event_of("resume", {}, at=1.0) == Resume(at=1.0)


@pytest.mark.parametrize(
    ("kind", "payload", "message"),
    [
        ("enqueue", {"change": "a"}, "malformed enqueue request"),
        ("enqueue", {"change": "", "commit": "a" * 40}, "change must be a non-empty string"),
        ("enqueue", {"change": "a", "commit": "a" * 40, "priority": "urgent"}, "urgent"),
        ("promote", {"change": "a"}, "malformed promote request"),
        ("dequeue", {}, "malformed dequeue request"),
        ("merge", {}, "unknown request kind 'merge'"),
    ],
)
def test_a_malformed_request_is_refused(kind: str, payload: dict[str, str], message: str) -> None:
    with pytest.raises(GateError, match=message):
        event_of(kind, payload, at=0.0)


def test_requests_are_described_for_people() -> None:
    assert describe("enqueue", enqueue_request(CHANGE)) == f"enqueue change/a at {'a' * 12}"
    assert describe("enqueue", enqueue_request(CHANGE, Priority.PREEMPT)).endswith("(preempt)")
    assert describe("dequeue", dequeue_request("change/a", "stale")) == "dequeue change/a (stale)"
    assert describe("pause", pause_request("")) == "pause (no reason given)"
    assert describe("resume", {}) == "resume"
