"""The AuditLog contract: append-only, ordered, filterable; every adapter."""

from __future__ import annotations

import pytest

from gatehouse.core.ports import AuditEntry
from gatehouse.storage import Store


def _fill(store: Store) -> list[AuditEntry]:
    rows = [
        ("gate/main", "enqueue", "change 1", {"sha": "a" * 40}),
        ("gate/main", "enqueue", "change 2", {}),
        ("gate/stable", "enqueue", "change 3", None),
        ("gate/main", "start", "change 1", {"builds": [1, 2], "window": 2}),
        ("gate/main", "eject", "change 2", {"reason": "test failed", "nested": {"x": None}}),
        ("gate/main", "merge", "change 1", {"into": "main"}),
    ]
    return [
        store.audit.append_audit(queue=q, time=100.0 + n, action=a, item=i, detail=d)
        for n, (q, a, i, d) in enumerate(rows)
    ]


def test_appended_entries_read_back_in_order(store: Store) -> None:
    entries = _fill(store)
    assert [e.id for e in entries] == sorted(e.id for e in entries)
    assert len({e.id for e in entries}) == len(entries)
    assert store.audit.list_audit() == entries
    assert entries[2].detail == {}
    assert entries[4].detail == {"reason": "test failed", "nested": {"x": None}}
    assert entries[3].time == 103.0


def test_filters_by_queue_and_item(store: Store) -> None:
    entries = _fill(store)
    assert store.audit.list_audit(queue="gate/stable") == [entries[2]]
    assert store.audit.list_audit(item="change 1") == [entries[0], entries[3], entries[5]]
    assert store.audit.list_audit(queue="gate/main", item="change 2") == [entries[1], entries[4]]
    assert store.audit.list_audit(queue="nope") == []


def test_pages_with_after_id_and_limit(store: Store) -> None:
    entries = _fill(store)
    first = store.audit.list_audit(limit=2)
    assert first == entries[:2]
    rest = store.audit.list_audit(after_id=first[-1].id, limit=10)
    assert rest == entries[2:]
    assert store.audit.list_audit(after_id=entries[-1].id) == []


def test_newest_first(store: Store) -> None:
    entries = _fill(store)
    assert store.audit.list_audit(newest_first=True, limit=2) == [entries[5], entries[4]]
    assert store.audit.list_audit(queue="gate/main", newest_first=True) == [
        entries[5],
        entries[4],
        entries[3],
        entries[1],
        entries[0],
    ]


def test_appending_never_changes_earlier_entries(store: Store) -> None:
    entries = _fill(store)
    detail = {"mutable": [1]}
    later = store.audit.append_audit(
        queue="gate/main", time=1.0, action="x", item="y", detail=detail
    )
    detail["mutable"].append(2)  # the caller's object is not the stored one
    assert later.id > entries[-1].id  # ids follow append order, not the time given
    assert store.audit.list_audit() == [*entries, later]
    assert store.audit.list_audit(after_id=entries[-1].id)[0].detail == {"mutable": [1]}


def test_the_log_offers_no_way_to_change_or_remove_an_entry(store: Store) -> None:
    public = {name for name in dir(store.audit) if not name.startswith("_")}
    assert public == {"append_audit", "list_audit"}


@pytest.mark.parametrize("limit", [-1, 0, 1, 100])
def test_limit_bounds_the_answer(store: Store, limit: int) -> None:
    entries = _fill(store)
    assert store.audit.list_audit(limit=limit) == entries[: max(limit, 0)]
