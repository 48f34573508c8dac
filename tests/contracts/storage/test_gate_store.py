"""The GateStore contract: state compare-and-swap, atomic saves, the inbox, build links."""

from __future__ import annotations

import pytest

from gatehouse.core.ports import AuditLine
from gatehouse.errors import GateError
from gatehouse.storage import Store

QUEUE = "/srv/project:main"


def test_a_queue_without_state_loads_as_none(store: Store) -> None:
    assert store.gate.load_gate(QUEUE) is None


def test_saves_are_versioned_and_loaded_back_equal(store: Store) -> None:
    first = {"format": 1, "queue": [{"id": 1, "changes": ["a"]}], "paused": None}
    assert store.gate.save_gate(QUEUE, first, version=0, at=10.0) == 1
    loaded = store.gate.load_gate(QUEUE)
    assert loaded is not None
    assert (loaded.version, loaded.state, loaded.updated_at) == (1, first, 10.0)
    second = {**first, "paused": "frozen for the release"}
    assert store.gate.save_gate(QUEUE, second, version=1, at=11.0) == 2
    loaded = store.gate.load_gate(QUEUE)
    assert loaded is not None
    assert (loaded.version, loaded.state) == (2, second)
    assert store.gate.load_gate("/srv/project:stable") is None


def test_a_stale_version_is_refused_and_changes_nothing(store: Store) -> None:
    store.gate.save_gate(QUEUE, {"n": 1}, version=0, at=1.0)
    store.gate.save_gate(QUEUE, {"n": 2}, version=1, at=2.0)
    request = store.gate.post_request(QUEUE, "pause", {"reason": "x"}, at=3.0)
    for stale in (0, 1, 5):
        with pytest.raises(GateError, match="another process"):
            store.gate.save_gate(
                QUEUE,
                {"n": 99},
                version=stale,
                at=4.0,
                audit=[AuditLine(4.0, "pause", "", {"by": "stale"})],
                done=[(request.id, "accepted")],
            )
    loaded = store.gate.load_gate(QUEUE)
    assert loaded is not None
    assert (loaded.version, loaded.state) == (2, {"n": 2})
    assert store.audit.list_audit(queue=QUEUE) == []
    assert [r.id for r in store.gate.list_requests(QUEUE)] == [request.id]


def test_a_save_appends_its_audit_lines_and_closes_its_requests(store: Store) -> None:
    first = store.gate.post_request(QUEUE, "enqueue", {"change": "a", "commit": "1" * 40}, at=1.0)
    second = store.gate.post_request(QUEUE, "enqueue", {"change": "b", "commit": "2" * 40}, at=2.0)
    other = store.gate.post_request("/srv/project:stable", "pause", {}, at=2.5)
    assert [r.id for r in store.gate.list_requests(QUEUE)] == [first.id, second.id]
    assert first.pending
    assert first.payload == {"change": "a", "commit": "1" * 40}
    store.gate.save_gate(
        QUEUE,
        {"n": 1},
        version=0,
        at=3.0,
        audit=[
            AuditLine(3.0, "enqueue", "1", {"changes": ["a"], "position": 1}),
            AuditLine(3.0, "rejected", "", {"reason": "already queued"}),
        ],
        done=[(first.id, "accepted"), (second.id, "rejected: already queued")],
    )
    assert store.gate.list_requests(QUEUE) == []
    closed = store.gate.list_requests(QUEUE, pending_only=False)
    assert [(r.id, r.outcome, r.done_at) for r in closed] == [
        (first.id, "accepted", 3.0),
        (second.id, "rejected: already queued", 3.0),
    ]
    assert [
        r.id for r in store.gate.list_requests(QUEUE, pending_only=False, after_id=first.id)
    ] == [second.id]
    entries = store.audit.list_audit(queue=QUEUE)
    assert [(e.action, e.item, e.time) for e in entries] == [
        ("enqueue", "1", 3.0),
        ("rejected", "", 3.0),
    ]
    assert entries[0].detail == {"changes": ["a"], "position": 1}
    assert [r.id for r in store.gate.list_requests("/srv/project:stable")] == [other.id]


def test_closing_a_request_twice_or_of_another_queue_is_refused(store: Store) -> None:
    request = store.gate.post_request(QUEUE, "resume", {}, at=1.0)
    elsewhere = store.gate.post_request("/srv/project:stable", "resume", {}, at=1.0)
    version = store.gate.save_gate(
        QUEUE, {"n": 1}, version=0, at=2.0, done=[(request.id, "accepted")]
    )
    with pytest.raises(GateError, match="not pending"):
        store.gate.save_gate(QUEUE, {"n": 2}, version=version, at=3.0, done=[(request.id, "x")])
    with pytest.raises(GateError, match="not pending"):
        store.gate.save_gate(QUEUE, {"n": 2}, version=version, at=3.0, done=[(elsewhere.id, "x")])
    with pytest.raises(GateError, match="not pending"):
        store.gate.save_gate(QUEUE, {"n": 2}, version=version, at=3.0, done=[(10_000, "x")])
    loaded = store.gate.load_gate(QUEUE)
    assert loaded is not None
    assert loaded.state == {"n": 1}
    assert [r.id for r in store.gate.list_requests("/srv/project:stable")] == [elsewhere.id]


def test_build_links_are_idempotent_and_filtered(store: Store) -> None:
    pipelines = [
        store.runs.create_pipeline(
            project_dir="/srv/project",
            ref="c1",
            sha="a" * 40,
            event="merge_request_event",
            created_at=1.0,
            source="gate",
        ).id
        for _ in range(3)
    ]
    store.gate.link_build(QUEUE, build=7, item=3, pipeline_id=pipelines[0])
    store.gate.link_build(QUEUE, build=7, item=3, pipeline_id=pipelines[0])
    store.gate.link_build(QUEUE, build=9, item=4, pipeline_id=pipelines[1])
    store.gate.link_build(
        QUEUE, build=7, item=3, pipeline_id=pipelines[2]
    )  # re-run after a restart
    store.gate.link_build("/srv/project:stable", build=7, item=1, pipeline_id=pipelines[1])
    links = store.gate.build_links(QUEUE)
    assert [(link.build, link.item, link.pipeline_id) for link in links] == [
        (7, 3, pipelines[0]),
        (9, 4, pipelines[1]),
        (7, 3, pipelines[2]),
    ]
    assert [link.pipeline_id for link in store.gate.build_links(QUEUE, builds=[7])] == [
        pipelines[0],
        pipelines[2],
    ]
    assert [link.build for link in store.gate.build_links(QUEUE, item=4)] == [9]
    assert store.gate.build_links(QUEUE, builds=[]) == []
    assert store.gate.build_links("/srv/other:main") == []


def test_stored_state_is_a_copy(store: Store) -> None:
    state = {"queue": [{"id": 1}]}
    store.gate.save_gate(QUEUE, state, version=0, at=1.0)
    state["queue"].append({"id": 2})
    loaded = store.gate.load_gate(QUEUE)
    assert loaded is not None
    assert loaded.state == {"queue": [{"id": 1}]}


def test_the_gate_migration_is_portable_sql() -> None:
    from gatehouse.storage.migrate import split_statements
    from gatehouse.storage.migrations import MIGRATIONS, migration_text

    version = MIGRATIONS.index("0003_gate") + 1
    statements = split_statements(migration_text(version), "{{identity}}")
    text = "\n".join(statements).upper()
    for word in ("AUTOINCREMENT", "SERIAL", "JSONB", "PRAGMA", "::"):
        assert word not in text
    assert [s.split("(")[0].split()[-1].upper() for s in statements] == [
        "GATE_STATE",
        "GATE_INBOX",
        "GATE_INBOX",
        "GATE_BUILDS",
        "GATE_BUILDS",
    ]
