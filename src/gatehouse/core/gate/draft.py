"""A step's scratch pad: a mutable draft of the next state and the commands emitted so far.

:func:`gatehouse.core.gate.step` copies the frozen state into a :class:`Draft`,
lets the event handler and the queue pass change it, and freezes it again.
Items stay frozen dataclasses (replaced, never mutated); only the draft's
containers change. The operations that every rule shares — emit a command,
write an audit record, reset or remove an item — live here so they are
written once.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from gatehouse.core.gate.commands import (
    CancelBuild,
    Command,
    RecordAudit,
    ReleaseSpeculativeCommit,
    Report,
)
from gatehouse.core.gate.model import (
    AuditAction,
    AuditRecord,
    AuditValue,
    GateState,
    Item,
    Outcome,
    OutcomeKind,
)
from gatehouse.errors import GateError


class Draft:
    """The next state under construction. Not shared across steps."""

    def __init__(self, state: GateState) -> None:
        self.settings = state.settings
        self.tip = state.tip
        self.window = state.window
        self.next_id = state.next_id
        self.now = state.now
        self.paused = state.paused
        self.consecutive_failures = state.consecutive_failures
        self.recent = list(state.recent)
        self.order = [item.id for item in state.queue]
        self.items = {item.id: item for item in state.queue}
        self.commands: list[Command] = []

    def freeze(self) -> GateState:
        keep = self.settings.history
        return GateState(
            settings=self.settings,
            tip=self.tip,
            window=self.window,
            queue=tuple(self.items[item_id] for item_id in self.order),
            next_id=self.next_id,
            now=self.now,
            paused=self.paused,
            consecutive_failures=self.consecutive_failures,
            recent=tuple(self.recent[-keep:]) if keep else (),
        )

    # ------------------------------------------------------------------ lookups

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def get(self, item_id: int) -> Item:
        return self.items[item_id]

    def position(self, item_id: int) -> int:
        return self.order.index(item_id)

    def item_of_change(self, change_id: str) -> Item:
        for item_id in self.order:
            if change_id in self.items[item_id].change_ids:
                return self.items[item_id]
        raise GateError(f"change {change_id!r} is not in the gate queue")

    def item_of_build(self, build_id: int) -> Item | None:
        for item in self.items.values():
            if any(build.id == build_id for build in item.builds):
                return item
        return None

    def base_of(self, item: Item) -> str | None:
        """The commit ``item`` must be built on: the tip, or its parent's speculative commit."""
        if item.parent is None:
            return self.tip
        parent = self.items.get(item.parent)
        return parent.commit if parent is not None else None

    def stack(self, item: Item) -> frozenset[str]:
        """Every change in ``item``'s speculative state on top of the tip (parents included)."""
        changes: set[str] = set()
        node: Item | None = item
        while node is not None:
            changes.update(node.change_ids)
            node = self.items.get(node.parent) if node.parent is not None else None
        return frozenset(changes)

    # ------------------------------------------------------------------ changes

    def update(self, item_id: int, **changes: Any) -> Item:
        item = dataclasses.replace(self.items[item_id], **changes)
        self.items[item_id] = item
        return item

    def emit(self, command: Command) -> None:
        self.commands.append(command)

    def audit(
        self,
        action: AuditAction,
        item: Item | None,
        detail: str,
        **fields: AuditValue,
    ) -> None:
        record = AuditRecord(
            at=self.now,
            action=action,
            item=item.id if item is not None else None,
            changes=item.change_ids if item is not None else (),
            detail=detail,
            fields=fields,
        )
        self.emit(RecordAudit(record))

    def cancel_builds(self, item: Item) -> None:
        """Emit a cancel for each of the item's builds (the caller updates the item)."""
        for build in item.builds:
            self.emit(CancelBuild(build.id, item.id))

    def drop_work(self, item: Item) -> None:
        """Cancel the item's builds and release its speculative commit (no state change)."""
        self.cancel_builds(item)
        if item.commit is not None and item.spec_request is not None:
            self.emit(ReleaseSpeculativeCommit(item.spec_request, item.id, item.commit))

    def reset(self, item_id: int, action: AuditAction, detail: str, **fields: AuditValue) -> Item:
        """Throw away everything of the item's current generation; it will be re-tested.

        Audited only when there was something to throw away, so re-parenting
        an item that never started is silent.
        """
        item = self.items[item_id]
        if item.started or item.presumed is not None:
            self.drop_work(item)
            self.audit(action, item, detail, **fields)
        return self.update(
            item_id,
            spec_request=None,
            base_commit=None,
            commit=None,
            tree=None,
            builds=(),
            pipeline_done=False,
            checks=(),
            seen=frozenset(),
            retries=(),
            failure=None,
            presumed=None,
            landing=None,
            generation=item.generation + (1 if item.started else 0),
        )

    def remove(
        self, item_id: int, kind: OutcomeKind, detail: str, commit: str | None = None
    ) -> None:
        """Take the item out of the queue and report how it left."""
        item = self.items.pop(item_id)
        self.order.remove(item_id)
        self.drop_work(item)
        self.emit(Report(item.id, item.change_ids, kind, detail, commit))
        self.recent.append(Outcome(kind, item.id, item.change_ids, self.now, detail, commit))
