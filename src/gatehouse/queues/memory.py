"""The in-process job queue: the embedded default behind the JobQueue port.

Submitted attempts wait in a priority queue; ``concurrency`` worker tasks take
them in order and run them through an :class:`Executor`; every start and
finish is reported as a :class:`WorkEvent`. Cancelling a queued attempt
drops it (reported as a canceled outcome at once); cancelling a running one
sets its cancel token, and the executor kills the process group and runs
``after_script`` before reporting. ``force`` sets a second token the executor
treats as "kill now, skip after_script".
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field

from gatehouse.core.ports import Executor, FailureReason, JobOutcome, WorkEvent, WorkItem


@dataclass(order=True)
class _Queued:
    priority: int
    seq: int
    item: WorkItem = field(compare=False)


class ForceableCancel(asyncio.Event):
    """A cancel token with a second level: ``force`` means skip after_script."""

    def __init__(self) -> None:
        super().__init__()
        self.forced = False


class LocalQueue:
    """Runs attempts in this process, at most ``concurrency`` at a time."""

    def __init__(self, executor: Executor, concurrency: int, *, worker_name: str = "local") -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._executor = executor
        self._pending: asyncio.PriorityQueue[_Queued] = asyncio.PriorityQueue()
        self._events: asyncio.Queue[WorkEvent] = asyncio.Queue()
        self._seq = itertools.count()
        self._dropped: set[str] = set()
        self._tokens: dict[str, ForceableCancel] = {}
        self._name = worker_name
        self._workers = [asyncio.create_task(self._work(i)) for i in range(concurrency)]

    async def submit(self, item: WorkItem) -> None:
        await self._pending.put(_Queued(-item.priority, next(self._seq), item))

    async def cancel(self, attempt_id: str, *, force: bool = False) -> None:
        token = self._tokens.get(attempt_id)
        if token is not None:
            token.forced = token.forced or force
            token.set()
            return
        if attempt_id not in self._dropped:
            self._dropped.add(attempt_id)
            now = time.time()
            outcome = JobOutcome(None, FailureReason.CANCELED, now, now)
            await self._events.put(WorkEvent(attempt_id, "finished", now, self._name, outcome))

    async def next_event(self) -> WorkEvent:
        return await self._events.get()

    async def close(self) -> None:
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)

    async def _work(self, index: int) -> None:
        name = f"{self._name}#{index + 1}"
        while True:
            queued = await self._pending.get()
            request = queued.item.request
            if request.attempt_id in self._dropped:
                continue
            token = ForceableCancel()
            self._tokens[request.attempt_id] = token
            await self._events.put(WorkEvent(request.attempt_id, "started", time.time(), name))
            try:
                outcome = await self._executor.run(request, token)
            except Exception as exc:  # noqa: BLE001 - an executor bug must not wedge the pipeline
                now = time.time()
                outcome = JobOutcome(None, FailureReason.RUNNER_SYSTEM_FAILURE, now, now)
                detail = f"the executor failed: {type(exc).__name__}: {exc}"
                await self._events.put(
                    WorkEvent(request.attempt_id, "finished", now, name, outcome, detail)
                )
                continue
            finally:
                self._tokens.pop(request.attempt_id, None)
            await self._events.put(
                WorkEvent(request.attempt_id, "finished", time.time(), name, outcome)
            )
