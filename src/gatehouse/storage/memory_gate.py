"""In-memory GateStore: the gate's state, inbox and build links in dictionaries.

Ships for fast tests of the gate driver and passes the same contract tests
as SQLite and PostgreSQL (``tests/contracts/storage/test_gate_store.py``),
including the refusals: a stale version or a request that is no longer
pending changes nothing. Audit lines go to the store's
:class:`~gatehouse.storage.memory.MemoryAuditLog`, under the same lock, so a
save is all-or-nothing here too.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from gatehouse.core.ports import AuditLine, GateBuildLink, GateRequest, StoredGate
from gatehouse.errors import GateError
from gatehouse.storage.memory import MemoryAuditLog
from gatehouse.storage.rows import dump_json, load_json


def _copy(value: Mapping[str, Any]) -> Any:
    return load_json(dump_json(dict(value)))


class MemoryGateStore:
    def __init__(self, audit: MemoryAuditLog) -> None:
        self._audit = audit
        self._lock = threading.Lock()
        self._states: dict[str, StoredGate] = {}
        self._requests: dict[int, GateRequest] = {}
        self._links: list[GateBuildLink] = []

    def load_gate(self, queue: str) -> StoredGate | None:
        with self._lock:
            stored = self._states.get(queue)
        return None if stored is None else replace(stored, state=_copy(stored.state))

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
        with self._lock:
            stored = self._states.get(queue)
            if (stored.version if stored else 0) != version:
                raise GateError(
                    f"gate {queue!r}: the stored state is no longer version {version}; "
                    "another process changed it (is another `gatehouse gate run` driving this queue?)",
                    hint="run one `gatehouse gate run` per target branch",
                )
            for request_id, _ in done:
                request = self._requests.get(request_id)
                if request is None or request.queue != queue or not request.pending:
                    raise GateError(
                        f"gate {queue!r}: inbox request {request_id} is not pending "
                        "(is another `gatehouse gate run` driving this queue?)"
                    )
            for request_id, outcome in done:
                self._requests[request_id] = replace(
                    self._requests[request_id], done_at=float(at), outcome=outcome
                )
            self._states[queue] = StoredGate(queue, version + 1, _copy(state), float(at))
            for line in audit:
                self._audit.append_audit(
                    queue=queue,
                    time=line.time,
                    action=line.action,
                    item=line.item,
                    detail=line.detail,
                )
        return version + 1

    def post_request(
        self, queue: str, kind: str, payload: Mapping[str, Any], *, at: float
    ) -> GateRequest:
        with self._lock:
            request = GateRequest(len(self._requests) + 1, queue, kind, _copy(payload), float(at))
            self._requests[request.id] = request
        return request

    def list_requests(
        self, queue: str, *, pending_only: bool = True, after_id: int = 0
    ) -> Sequence[GateRequest]:
        with self._lock:
            return [
                r
                for _, r in sorted(self._requests.items())
                if r.queue == queue and r.id > after_id and (r.pending or not pending_only)
            ]

    def link_build(self, queue: str, *, build: int, item: int, pipeline_id: int) -> None:
        link = GateBuildLink(queue, build, item, pipeline_id)
        with self._lock:
            if not any(
                (old.queue, old.build, old.pipeline_id) == (queue, build, pipeline_id)
                for old in self._links
            ):
                self._links.append(link)

    def build_links(
        self, queue: str, *, builds: Sequence[int] | None = None, item: int | None = None
    ) -> Sequence[GateBuildLink]:
        wanted = None if builds is None else set(builds)
        with self._lock:
            found = [
                link
                for link in self._links
                if link.queue == queue
                and (wanted is None or link.build in wanted)
                and (item is None or link.item == item)
            ]
        return sorted(found, key=lambda link: link.pipeline_id)
