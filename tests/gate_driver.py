"""A small real driver for the gate: a Repository, a pipeline runner, a FlakeOracle, threads.

It is what the engine will do, minus persistence and the pipeline engine:
feed events to :func:`gatehouse.core.gate.step`, execute each command
against real adapters, run builds concurrently (a thread pool; the pipeline
runner is any callable, e.g. a shell script in an exported checkout) and
feed their results back, until nothing is pending or running. No sleeps:
it blocks on the build futures themselves.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from gatehouse.core.gate import (
    AuditRecord,
    BuildFinished,
    BuildSpeculativeCommit,
    CancelBuild,
    ClassifyFailure,
    Command,
    Event,
    FailureClassified,
    GateState,
    JobFailure,
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
    step,
)
from gatehouse.core.ports import FlakeOracle, FlakeQuery, LandOutcome, Repository

PipelineRunner = Callable[[StartBuild], tuple[JobFailure, ...]]


class LocalGateDriver:
    def __init__(
        self,
        state: GateState,
        repo: Repository,
        run_pipeline: PipelineRunner,
        oracle: FlakeOracle,
        *,
        workers: int = 2,
    ) -> None:
        self.state = state
        self.repo = repo
        self.run_pipeline = run_pipeline
        self.oracle = oracle
        self.pool = ThreadPoolExecutor(max_workers=workers)
        self.builds: dict[Future[tuple[JobFailure, ...]], StartBuild] = {}
        self.pending: deque[Event] = deque()
        self.audit: list[AuditRecord] = []
        self.reports: list[Report] = []
        self.landed: list[Land] = []

    def submit(self, *events: Event) -> None:
        self.pending.extend(events)

    def run_until_quiet(self) -> GateState:
        while self.pending or self.builds:
            while self.pending:
                self.state, commands = step(self.state, self.pending.popleft())
                for command in commands:
                    self.pending.extend(self.execute(command))
            if self.builds:
                done, _ = wait(list(self.builds), return_when=FIRST_COMPLETED)
                for future in done:
                    command = self.builds.pop(future)
                    self.pending.append(BuildFinished(command.build, future.result()))
        self.pool.shutdown()
        return self.state

    def execute(self, command: Command) -> list[Event]:
        match command:
            case BuildSpeculativeCommit():
                result = self.repo.speculative_merge(
                    command.base,
                    [c.commit for c in command.changes],
                    pin=f"r{command.request}",
                    titles=[c.id for c in command.changes],
                )
                if result.conflict is not None:
                    culprit = [c.id for c in command.changes if c.commit == result.conflict.change]
                    return [
                        SpeculativeCommitConflicted(
                            command.request, result.conflict.files, culprit[0] if culprit else None
                        )
                    ]
                assert result.commit is not None
                assert result.tree is not None
                return [SpeculativeCommitBuilt(command.request, result.commit, result.tree)]
            case ReleaseSpeculativeCommit():
                self.repo.release(f"r{command.request}")
            case StartBuild():
                self.builds[self.pool.submit(self.run_pipeline, command)] = command
            case CancelBuild():
                for future, build in list(self.builds.items()):
                    if build.build == command.build:
                        future.cancel()  # a running one finishes; its answer is ignored
                        if future.cancelled():
                            del self.builds[future]
            case ClassifyFailure():
                verdict = self.oracle.classify(
                    FlakeQuery(
                        command.failure.job,
                        command.failure.tests,
                        command.failure.detail,
                        command.commit,
                        command.base,
                        command.changes,
                    )
                )
                return [FailureClassified(command.request, verdict.flaky, verdict.evidence)]
            case Land():
                result = self.repo.land(
                    command.target,
                    command.commit,
                    expected_tip=command.expected_tip,
                    expected_tree=command.tree,
                )
                if result.outcome is LandOutcome.LANDED:
                    self.landed.append(command)
                    return [Landed(command.request)]
                if result.outcome is LandOutcome.TARGET_MOVED:
                    assert result.tip is not None
                    return [TargetMoved(command.request, result.tip)]
                return [LandRefused(command.request, result.reason)]
            case Report():
                self.reports.append(command)
            case RecordAudit():
                self.audit.append(command.record)
        return []
