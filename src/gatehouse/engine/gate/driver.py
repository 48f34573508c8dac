"""The gate driver: the pure gate core connected to git, the engine and the database.

The core (:func:`gatehouse.core.gate.step`) decides; this loop does what it
says and tells it what happened:

    events in   (inbox requests, answers of merges, builds, classifications,
                 landings, the target branch moved by someone else)
      → step      state, commands = step(state, event)       (pure)
      → persist   the new state + its audit records + the inbox requests it
                  consumed, in ONE transaction (GateStore.save_gate)
      → execute   the commands in order; their answers are new events

Persisting *before* executing is what makes the driver restartable: the
saved state names every question in flight (a merge being built, builds
running, a failure being classified, a landing), so a process that stops at
any point — Ctrl-C, a crash, ``kill -9`` — is replaced by one that loads the
state and asks those questions again with the same ids
(:func:`gatehouse.core.gate.recovery.in_flight`). Nothing is lost (requests
stay in the inbox until the state they changed is saved) and nothing lands
twice (a landing is a compare-and-swap that answers "landed" when the branch
is already at the commit).

Speculative merges, releases, classifications and landings are short and
run one at a time, in order, in a worker thread; builds run concurrently
(:class:`~gatehouse.engine.gate.builds.GateBuilds`) and answer through a
queue. The inbox and the target branch are looked at every ``poll_interval``
seconds: a request posted by another process is picked up, and a target
moved by someone else (a push) is reported to the core as ``TipChanged``, so
every item is re-tested on the new tip rather than replayed.

With ``once`` the driver returns when there is nothing left to do: the queue
is empty, or the gate is paused (by the circuit breaker, a refused landing or
a person) and no build is running.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from gatehouse.core.gate import (
    AuditRecord,
    BuildSpeculativeCommit,
    CancelBuild,
    ClassifyFailure,
    Command,
    Event,
    FailureClassified,
    GateSettings,
    GateState,
    Land,
    Landed,
    LandRefused,
    RecordAudit,
    ReleaseSpeculativeCommit,
    Report,
    SpeculativeCommitBuilt,
    SpeculativeCommitConflicted,
    StartBuild,
    TargetMoved,
    TipChanged,
    new_gate,
    step,
)
from gatehouse.core.gate.codec import state_from_json, state_to_json
from gatehouse.core.gate.recovery import in_flight
from gatehouse.core.ports import (
    AuditLine,
    FlakeOracle,
    FlakeQuery,
    GateRequest,
    GateStore,
    LandOutcome,
    Repository,
)
from gatehouse.engine.gate.builds import GateBuilds
from gatehouse.engine.gate.failures import PIPELINE
from gatehouse.engine.gate.inbox import event_of
from gatehouse.errors import GateError, GatehouseError, VcsError

REJECTED = "rejected"  # the audit action of a request the gate refused


class GateNotifier(Protocol):
    """How the driver tells a person what happens (a terminal, a web page); must not raise."""

    def audit(self, record: AuditRecord) -> None: ...

    def rejected(self, request: GateRequest, reason: str) -> None: ...


class _Silent:
    def audit(self, record: AuditRecord) -> None:
        pass

    def rejected(self, request: GateRequest, reason: str) -> None:
        pass


@dataclass(frozen=True, slots=True)
class DriverResult:
    """Why :meth:`GateDriver.run` returned, and the state it left."""

    reason: str  # "empty" | "paused" | "stopped"
    state: GateState


def audit_line(record: AuditRecord) -> AuditLine:
    """An audit record of the core as a row of the audit log (item ``""`` for the whole queue)."""
    fields = record.to_json()
    for key in ("at", "action", "item"):
        fields.pop(key)
    return AuditLine(
        record.at, record.action.value, "" if record.item is None else str(record.item), fields
    )


def pin_prefix(target_branch: str) -> str:
    """Pins of one queue's speculative commits share a prefix, so a restart finds its own."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", target_branch).strip("-.") or "gate"


class GateDriver:
    """Drives one queue (one target branch of one repository) until told to stop."""

    def __init__(
        self,
        *,
        queue: str,
        settings: GateSettings,
        store: GateStore,
        repo: Repository,
        oracle: FlakeOracle,
        builds: GateBuilds,
        notifier: GateNotifier | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.queue = queue
        self.settings = settings
        self.store = store
        self.repo = repo
        self.oracle = oracle
        self.builds = builds
        self.notifier: GateNotifier = notifier or _Silent()
        self.clock = clock
        self.state = new_gate("0" * 40, settings)
        self.version = 0
        self._pins = pin_prefix(settings.target_branch)
        self._pending: deque[tuple[Event | GateError, GateRequest | None]] = deque()
        self._answers: asyncio.Queue[Event | BaseException] = asyncio.Queue()
        self._stop = asyncio.Event()
        self._force = False
        self._taken: set[int] = set()  # inbox requests read but not yet applied
        self._last_poll = float("-inf")

    # ------------------------------------------------------------------ control

    def stop(self, *, force: bool = False) -> None:
        """Stop soon: running builds are cancelled (``force``: killed) and not answered."""
        self._force = self._force or force
        self._stop.set()
        self.builds.stop_all(force=self._force)

    async def run(self, *, once: bool = False, poll_interval: float = 1.0) -> DriverResult:
        await asyncio.to_thread(self._load)
        try:
            await self._recover()
            while not self._stop.is_set():
                await self._drain()
                if self._stop.is_set():
                    break
                if await self._poll(poll_interval):
                    continue
                if once and self._idle():
                    return DriverResult(self._finished_reason(), self.state)
                await self._wait(poll_interval)
            return DriverResult("stopped", self.state)
        finally:
            self.builds.stop_all(force=self._force)
            await self.builds.wait_all()

    # ------------------------------------------------------------------ state

    def _load(self) -> None:
        stored = self.store.load_gate(self.queue)
        if stored is not None:
            self.state = state_from_json(stored.state, self.settings)
            self.version = stored.version
            return
        target = self.settings.target_branch
        tip = self.repo.branch_tip(target)
        if tip is None:
            raise GateError(
                f"the target branch {target!r} does not exist in the repository",
                hint="create it, or set gate.target_branch in gatehouse.toml",
            )
        self.state = new_gate(tip, self.settings, now=self.clock())

    async def _recover(self) -> None:
        """Ask again what the stored state waits for; drop what a stopped process left behind."""
        commands = in_flight(self.state)
        await asyncio.to_thread(self.builds.abandon)
        await asyncio.to_thread(self._release_stale_pins)
        for command in commands:
            await self._execute(command)

    def _release_stale_pins(self) -> None:
        wanted = {
            self._pin(item.spec_request)
            for item in self.state.queue
            if item.spec_request is not None and (item.commit is not None or item.merging)
        }
        for pin in self.repo.pins():
            if pin.startswith(f"{self._pins}-r") and pin not in wanted:
                self.repo.release(pin)

    def _pin(self, request: int) -> str:
        return f"{self._pins}-r{request}"

    def _save(
        self,
        state: GateState,
        records: list[AuditRecord],
        done: list[tuple[int, str]],
        extra: list[AuditLine] | None = None,
    ) -> None:
        lines = [audit_line(r) for r in records] + list(extra or ())
        self.version = self.store.save_gate(
            self.queue,
            state_to_json(state),
            version=self.version,
            at=self.clock(),
            audit=lines,
            done=done,
        )
        self.state = state

    # ------------------------------------------------------------------ the loop

    def _idle(self) -> bool:
        return not self._pending and self._answers.empty() and self.builds.active == 0

    def _finished_reason(self) -> str:
        if not self.state.queue:
            return "empty"
        if self.state.paused is not None:
            return "paused"
        raise GateError(
            "the gate has items but nothing to do; this is a bug",
            hint="`gatehouse gate status` shows the queue; `gatehouse gate log` its history",
        )

    async def _wait(self, poll_interval: float) -> None:
        answer = asyncio.ensure_future(self._answers.get())
        stop = asyncio.ensure_future(self._stop.wait())
        try:
            done, _ = await asyncio.wait(
                {answer, stop}, timeout=poll_interval, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            stop.cancel()
            if not answer.done():
                answer.cancel()
        if answer in done:
            self._pending.append((_event_or_raise(answer.result()), None))

    async def _poll(self, poll_interval: float) -> bool:
        """Read the inbox and the target branch when due; True when it found something."""
        now = time.monotonic()
        if now - self._last_poll < poll_interval:
            return False
        self._last_poll = now
        # The target first: requests taken now must be tested on the tip as it is.
        if not self._pending and not any(i.landing is not None for i in self.state.queue):
            tip = await asyncio.to_thread(self.repo.branch_tip, self.settings.target_branch)
            if tip is not None and tip != self.state.tip:
                self._pending.append((TipChanged(tip, at=self.clock()), None))
        requests = await asyncio.to_thread(self.store.list_requests, self.queue)
        for request in requests:
            if request.id in self._taken:
                continue
            self._taken.add(request.id)
            try:
                event: Event | GateError = event_of(request.kind, request.payload, at=self.clock())
            except GateError as exc:
                event = exc  # refused in its turn, after the requests posted before it
            self._pending.append((event, request))
        return bool(self._pending)

    async def _drain(self) -> None:
        while not self._stop.is_set():
            while not self._answers.empty():
                self._pending.append((_event_or_raise(self._answers.get_nowait()), None))
            if not self._pending:
                return
            event, request = self._pending.popleft()
            await self._apply(event, request)

    async def _apply(self, event: Event | GateError, request: GateRequest | None) -> None:
        if isinstance(event, GateError):
            assert request is not None
            await asyncio.to_thread(self._reject, request, event.message)
            return
        try:
            state, commands = step(self.state, event)
        except GateError as exc:
            if request is None:
                raise
            await asyncio.to_thread(self._reject, request, exc.message)
            return
        records = [c.record for c in commands if isinstance(c, RecordAudit)]
        done = [(request.id, "accepted")] if request is not None else []
        await asyncio.to_thread(self._save, state, records, done)
        if request is not None:
            self._taken.discard(request.id)
        for record in records:
            self.notifier.audit(record)
        for command in commands:
            if not isinstance(command, RecordAudit):
                await self._execute(command)

    def _reject(self, request: GateRequest, reason: str) -> None:
        line = AuditLine(
            self.clock(),
            REJECTED,
            "",
            {"request": request.id, "kind": request.kind, **request.payload, "reason": reason},
        )
        self._save(self.state, [], [(request.id, f"rejected: {reason}")], [line])
        self._taken.discard(request.id)
        self.notifier.rejected(request, reason)

    # ------------------------------------------------------------------ commands

    async def _execute(self, command: Command) -> None:
        match command:
            case BuildSpeculativeCommit():
                await self._merge(command)
            case ReleaseSpeculativeCommit():
                await asyncio.to_thread(self.repo.release, self._pin(command.request))
            case StartBuild():
                position = next(
                    (n for n, item in enumerate(self.state.queue) if item.id == command.item), 0
                )
                self.builds.start(command, priority=-position, answer=self._answers.put_nowait)
            case CancelBuild():
                self.builds.cancel(command.build)
            case ClassifyFailure():
                await self._classify(command)
            case Land():
                await self._land(command)
            case Report() | RecordAudit():
                pass  # reported through the audit records, already saved

    async def _merge(self, command: BuildSpeculativeCommit) -> None:
        try:
            result = await asyncio.to_thread(
                self.repo.speculative_merge,
                command.base,
                [change.commit for change in command.changes],
                pin=self._pin(command.request),
                titles=[change.id for change in command.changes],
            )
        except VcsError as exc:
            # A change git cannot merge at all (its commit is gone, say) fails its own
            # item instead of stopping the gate on every restart.
            answer = SpeculativeCommitConflicted(
                command.request, (), None, f"git could not merge it: {exc.message}", at=self.clock()
            )
            self._pending.append((answer, None))
            return
        if result.conflict is not None:
            culprit = next(
                (c.id for c in command.changes if c.commit == result.conflict.change), None
            )
            self._pending.append(
                (
                    SpeculativeCommitConflicted(
                        command.request,
                        result.conflict.files,
                        culprit,
                        result.conflict.message,
                        at=self.clock(),
                    ),
                    None,
                )
            )
            return
        assert result.commit is not None
        assert result.tree is not None
        self._pending.append(
            (
                SpeculativeCommitBuilt(
                    command.request, result.commit, result.tree, at=self.clock()
                ),
                None,
            )
        )

    async def _classify(self, command: ClassifyFailure) -> None:
        failure = command.failure
        if failure.job == PIPELINE:
            why = "the pipeline itself did not pass: there is no job to retry"
            self._pending.append(
                (FailureClassified(command.request, False, why, at=self.clock()), None)
            )
            return
        excerpt = await asyncio.to_thread(self.builds.excerpt, command.build, failure.job)
        query = FlakeQuery(
            failure.job,
            failure.tests,
            excerpt or failure.detail,
            command.commit,
            command.base,
            command.changes,
        )
        try:
            verdict = await asyncio.to_thread(self.oracle.classify, query)
        except GatehouseError as exc:
            # An oracle that cannot answer must not wedge the gate: the failure stands.
            answer = FailureClassified(
                command.request, False, f"could not classify: {exc.message}", at=self.clock()
            )
        else:
            answer = FailureClassified(
                command.request, verdict.flaky, verdict.evidence, at=self.clock()
            )
        self._pending.append((answer, None))

    async def _land(self, command: Land) -> None:
        result = await asyncio.to_thread(
            self.repo.land,
            command.target,
            command.commit,
            expected_tip=command.expected_tip,
            expected_tree=command.tree,
        )
        now = self.clock()
        answer: Event
        if result.outcome is LandOutcome.LANDED:
            answer = Landed(command.request, at=now)
        elif result.outcome is LandOutcome.TARGET_MOVED and result.tip is not None:
            answer = TargetMoved(command.request, result.tip, at=now)
        else:
            answer = LandRefused(command.request, result.reason or "refused", at=now)
        self._pending.append((answer, None))


def _event_or_raise(answer: Event | BaseException) -> Event:
    if isinstance(answer, BaseException):
        raise answer
    return answer
