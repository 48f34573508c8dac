"""The gate's audit log in SQL: append and list, nothing else (the AuditLog port).

Append-only by construction: the port has no way to change or remove an
entry, and ids come from the database's identity column, so they increase in
append order and a reader can page with ``after_id``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gatehouse.core.ports import AuditEntry
from gatehouse.storage.database import Database
from gatehouse.storage.rows import AUDIT_COLUMNS, decode_audit, dump_json, load_json


class SqlAuditLog:
    def __init__(self, db: Database) -> None:
        self._db = db

    def append_audit(
        self,
        *,
        queue: str,
        time: float,
        action: str,
        item: str,
        detail: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        detail_json = dump_json(dict(detail or {}))
        time = float(time)
        with self._db.write(f"append to the audit log of queue {queue!r}") as s:
            new_id = s.insert(
                "INSERT INTO audit_log (queue, time, action, item, detail) VALUES (?, ?, ?, ?, ?)",
                (queue, time, action, item, detail_json),
            )
        # What was stored, not the caller's (mutable) object.
        detail = load_json(detail_json)
        return AuditEntry(
            id=new_id, queue=queue, time=time, action=action, item=item, detail=detail
        )

    def list_audit(
        self,
        *,
        queue: str | None = None,
        item: str | None = None,
        after_id: int = 0,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> Sequence[AuditEntry]:
        conditions = ["id > ?"]
        params: list[Any] = [after_id]
        if queue is not None:
            conditions.append("queue = ?")
            params.append(queue)
        if item is not None:
            conditions.append("item = ?")
            params.append(item)
        sql = (
            f"SELECT {AUDIT_COLUMNS} FROM audit_log WHERE {' AND '.join(conditions)} "
            f"ORDER BY id {'DESC' if newest_first else 'ASC'}"
        )
        if limit is not None:
            sql += " LIMIT ?"
            params.append(max(int(limit), 0))
        with self._db.read("read the audit log") as s:
            rows = s.all(sql, params)
        return [decode_audit(row) for row in rows]
