"""The gate's state, inbox and build links in SQL (the GateStore port).

Tables of ``migrations/0003_gate.sql``. :meth:`SqlGateStore.save_gate` is
the driver's one write per step: the state (a compare-and-swap on its
version), the step's audit lines and the inbox requests it consumed, in one
transaction. The compare-and-swap is an ``UPDATE … WHERE version = ?`` whose
row count says whether it won, so it holds on PostgreSQL's read-committed
transactions as well as under SQLite's single writer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gatehouse.core.ports import AuditLine, GateBuildLink, GateRequest, StoredGate
from gatehouse.errors import GateError
from gatehouse.storage.database import Database, Session
from gatehouse.storage.rows import dump_json, load_json

_REQUEST_COLUMNS = "id, queue, kind, payload, posted_at, done_at, outcome"


class SqlGateStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def load_gate(self, queue: str) -> StoredGate | None:
        with self._db.read(f"read the gate state of {queue!r}") as s:
            row = s.one(
                "SELECT version, state, updated_at FROM gate_state WHERE queue = ?", (queue,)
            )
        if row is None:
            return None
        return StoredGate(queue, int(row[0]), load_json(row[1]), float(row[2]))

    def save_gate(
        self,
        queue: str,
        state: Mapping[str, Any],
        *,
        version: int,
        at: float,
        audit: Sequence[AuditLine] = (),
        done: Sequence[tuple[int, str]] = (),
    ) -> int:
        text = dump_json(dict(state))
        with self._db.write(f"save the gate state of {queue!r}") as s:
            _close_requests(s, queue, done, at)
            if version == 0:
                if s.one("SELECT version FROM gate_state WHERE queue = ?", (queue,)) is not None:
                    raise _lost_race(queue, version)
                s.execute(
                    "INSERT INTO gate_state (queue, version, state, updated_at) VALUES (?, 1, ?, ?)",
                    (queue, text, float(at)),
                )
            else:
                s.execute(
                    "UPDATE gate_state SET version = version + 1, state = ?, updated_at = ? "
                    "WHERE queue = ? AND version = ?",
                    (text, float(at), queue, version),
                )
                if s.cursor.rowcount != 1:
                    raise _lost_race(queue, version)
            for line in audit:
                s.insert(
                    "INSERT INTO audit_log (queue, time, action, item, detail) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (queue, float(line.time), line.action, line.item, dump_json(dict(line.detail))),
                )
        return version + 1

    def post_request(
        self, queue: str, kind: str, payload: Mapping[str, Any], *, at: float
    ) -> GateRequest:
        text = dump_json(dict(payload))
        with self._db.write(f"post a {kind} request to the gate {queue!r}") as s:
            new_id = s.insert(
                "INSERT INTO gate_inbox (queue, kind, payload, posted_at) VALUES (?, ?, ?, ?)",
                (queue, kind, text, float(at)),
            )
        return GateRequest(new_id, queue, kind, load_json(text), float(at))

    def list_requests(
        self, queue: str, *, pending_only: bool = True, after_id: int = 0
    ) -> Sequence[GateRequest]:
        sql = f"SELECT {_REQUEST_COLUMNS} FROM gate_inbox WHERE queue = ? AND id > ?"
        if pending_only:
            sql += " AND done_at IS NULL"
        with self._db.read(f"read the inbox of the gate {queue!r}") as s:
            rows = s.all(sql + " ORDER BY id", (queue, after_id))
        return [_request(row) for row in rows]

    def link_build(self, queue: str, *, build: int, item: int, pipeline_id: int) -> None:
        with self._db.write(f"link gate build {build} to pipeline {pipeline_id}") as s:
            known = s.one(
                "SELECT item FROM gate_builds WHERE queue = ? AND build = ? AND pipeline_id = ?",
                (queue, build, pipeline_id),
            )
            if known is None:
                s.execute(
                    "INSERT INTO gate_builds (queue, build, item, pipeline_id) VALUES (?, ?, ?, ?)",
                    (queue, build, item, pipeline_id),
                )

    def build_links(
        self, queue: str, *, builds: Sequence[int] | None = None, item: int | None = None
    ) -> Sequence[GateBuildLink]:
        sql = "SELECT queue, build, item, pipeline_id FROM gate_builds WHERE queue = ?"
        params: list[Any] = [queue]
        if item is not None:
            sql += " AND item = ?"
            params.append(item)
        if builds is not None:
            if not builds:
                return []
            sql += f" AND build IN ({', '.join('?' for _ in builds)})"
            params.extend(builds)
        with self._db.read(f"read the builds of the gate {queue!r}") as s:
            rows = s.all(sql + " ORDER BY pipeline_id", params)
        return [GateBuildLink(str(r[0]), int(r[1]), int(r[2]), int(r[3])) for r in rows]


def _close_requests(s: Session, queue: str, done: Sequence[tuple[int, str]], at: float) -> None:
    for request_id, outcome in done:
        row = s.one(
            "SELECT done_at FROM gate_inbox WHERE id = ? AND queue = ?", (request_id, queue)
        )
        if row is None or row[0] is not None:
            raise GateError(
                f"gate {queue!r}: inbox request {request_id} is not pending "
                "(is another `gatehouse gate run` driving this queue?)"
            )
        s.execute(
            "UPDATE gate_inbox SET done_at = ?, outcome = ? WHERE id = ?",
            (float(at), outcome, request_id),
        )


def _lost_race(queue: str, version: int) -> GateError:
    return GateError(
        f"gate {queue!r}: the stored state is no longer version {version}; "
        "another process changed it (is another `gatehouse gate run` driving this queue?)",
        hint="run one `gatehouse gate run` per target branch",
    )


def _request(row: tuple[Any, ...]) -> GateRequest:
    return GateRequest(
        id=int(row[0]),
        queue=str(row[1]),
        kind=str(row[2]),
        payload=load_json(row[3]),
        posted_at=float(row[4]),
        done_at=None if row[5] is None else float(row[5]),
        outcome=row[6],
    )
