"""Lanes: one job queue shared by several pipelines running at once.

A :class:`~gatehouse.core.ports.JobQueue` reports every attempt's events on
one stream, and a :class:`~gatehouse.engine.runner.PipelineRunner` reads that
stream as if it were alone. When the gate runs the pipelines of several
queue items in parallel they must share one set of executors (one
``concurrency``), so :class:`QueueLanes` gives each runner a *lane*: a
JobQueue whose ``next_event`` yields only the events of the attempts
submitted through it. One pump task reads the shared stream and routes each
event by its attempt id; attempt ids are unique across pipelines
(``<pipeline id>/<job id>``).

A lane may carry a priority: every attempt submitted through it goes to the
shared queue with that priority, so the jobs of the item nearest the head
of the gate run first when executors are scarce (Zuul's relative priority).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace

from gatehouse.core.ports import JobQueue, WorkEvent, WorkItem


class Lane:
    """A JobQueue view of the shared queue: the attempts submitted here, their events only."""

    def __init__(self, lanes: QueueLanes, priority: int) -> None:
        self._lanes = lanes
        self.priority = priority
        self._events: asyncio.Queue[WorkEvent] = asyncio.Queue()
        self._attempts: set[str] = set()

    async def submit(self, item: WorkItem) -> None:
        self._attempts.add(item.request.attempt_id)
        self._lanes.route(item.request.attempt_id, self)
        await self._lanes.queue.submit(replace(item, priority=self.priority))

    async def cancel(self, attempt_id: str, *, force: bool = False) -> None:
        await self._lanes.queue.cancel(attempt_id, force=force)

    async def next_event(self) -> WorkEvent:
        return await self._events.get()

    async def close(self) -> None:
        """Forget this lane's attempts; the shared queue stays open for the others."""
        self._lanes.forget(self._attempts)
        self._attempts.clear()

    def deliver(self, event: WorkEvent) -> None:
        self._events.put_nowait(event)


class QueueLanes:
    """Routes the events of one shared JobQueue to the lanes that submitted the attempts."""

    def __init__(self, queue: JobQueue) -> None:
        self.queue = queue
        self._routes: dict[str, Lane] = {}
        self._pump: asyncio.Task[None] | None = None

    def lane(self, *, priority: int = 0) -> Lane:
        if self._pump is None:
            self._pump = asyncio.get_running_loop().create_task(self._run())
        return Lane(self, priority)

    def route(self, attempt_id: str, lane: Lane) -> None:
        self._routes[attempt_id] = lane

    def forget(self, attempts: set[str]) -> None:
        for attempt_id in attempts:
            self._routes.pop(attempt_id, None)

    async def close(self) -> None:
        """Stop routing (the shared queue itself is closed by its owner)."""
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
            self._pump = None

    async def _run(self) -> None:
        while True:
            event = await self.queue.next_event()
            lane = self._routes.get(event.attempt_id)
            if lane is not None:  # a lane that closed no longer wants late events
                lane.deliver(event)
