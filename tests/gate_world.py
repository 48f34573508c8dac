"""A scripted world for gate scenarios: the in-memory git, scripted builds, known flakes, a clock.

The world executes the gate's commands against real package components
(:class:`MemoryRepository`, :class:`KnownFlakes`) and holds builds until the
test (or :meth:`GateWorld.run`) finishes them, so every ordering of build
completions can be played deterministically — no threads, no sleeps.

A build's result is computed from what its commit contains: a change
declared with ``breaks=("test",)`` makes job ``test`` fail on every
speculative commit that includes it; ``flaky={"test": 1}`` makes the next
run of ``test`` fail once whatever it tests. The world also checks the
gate's promises on every landing (the commit passed its pipeline; the
target only moves by fast-forward).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from gatehouse.core.gate import (
    AuditAction,
    AuditRecord,
    BuildFinished,
    BuildSpeculativeCommit,
    CancelBuild,
    Change,
    ClassifyFailure,
    Command,
    Event,
    FailureClassified,
    GateSettings,
    GateState,
    JobFailed,
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
    new_gate,
    settle,
)
from gatehouse.core.gate.known_flakes import KnownFlake, KnownFlakes
from gatehouse.core.ports import FlakeQuery, LandOutcome
from gatehouse.vcs.memory import MemoryRepository

JOBS = ("build", "test")


@dataclass
class Landing:
    commit: str
    changes: tuple[str, ...]
    old_tip: str


@dataclass
class GateWorld:
    settings: GateSettings = field(default_factory=GateSettings)
    flakes: Iterable[KnownFlake] = ()
    build_time: float = 600.0
    jobs: tuple[str, ...] = JOBS

    def __post_init__(self) -> None:
        self.repo = MemoryRepository()
        self.base = self.repo.commit({"README": "base\n"}, [], "base")
        self.repo.set_branch(self.settings.target_branch, self.base)
        self.state: GateState = new_gate(self.base, self.settings)
        self.oracle = KnownFlakes(self.flakes)
        self.now = 0.0
        self.changes: dict[str, Change] = {}
        self.breaks: dict[str, tuple[str, ...]] = {}
        self.flaky_runs: dict[str, int] = {}
        self.running: dict[int, StartBuild] = {}
        self.started: list[StartBuild] = []
        self.cancelled: list[int] = []
        self.commands: list[Command] = []
        self.audit: list[AuditRecord] = []
        self.reports: list[Report] = []
        self.landings: list[Landing] = []
        self.merges: list[BuildSpeculativeCommit] = []
        self.classified: list[ClassifyFailure] = []
        self.job_results: dict[str, dict[str, bool]] = {}  # commit -> job -> last result
        self.pipeline_done: set[str] = set()
        self.land_answers: list[str] = []  # scripted: "moved" or "refused" for the next Land

    # ------------------------------------------------------------------ scripting

    def change(
        self,
        name: str,
        *,
        breaks: Iterable[str] = (),
        files: Mapping[str, str] | None = None,
    ) -> Change:
        """A change made on the initial tip; by default it adds its own file."""
        commit = self.repo.commit(files or {f"{name}.txt": f"{name}\n"}, [self.base], name)
        change = Change(name, commit)
        self.changes[name] = change
        self.breaks[name] = tuple(breaks)
        return change

    def flaky(self, job: str, times: int = 1) -> None:
        """The next ``times`` runs of ``job`` fail, whatever they test."""
        self.flaky_runs[job] = self.flaky_runs.get(job, 0) + times

    # ------------------------------------------------------------------ driving

    def send(self, *events: Event) -> GateState:
        stamped = [_stamp(event, self.now) for event in events]
        self.state = settle(self.state, stamped, self.execute)
        self.check_invariants()
        return self.state

    def finish(self, build: int | None = None, failures: Iterable[JobFailure] | None = None) -> int:
        """Finish one running build (the oldest by default) with its computed result."""
        if build is None:
            build = next(iter(self.running))
        command = self.running.pop(build)
        self.now += self.build_time
        result = tuple(failures) if failures is not None else self.result_of(command)
        self._record(command, result)
        self.send(BuildFinished(build, result))
        return build

    def finish_reporting_early(self, build: int) -> None:
        """Finish a build, first sending its first failure as JobFailed (as a streaming engine would)."""
        command = self.running[build]
        failures = self.result_of(command)
        if failures:
            self.send(JobFailed(build, failures[0]))
        if self.running.pop(build, None) is None:
            return  # cancelled by fail-fast
        self.now += self.build_time
        self._record(command, failures)
        self.send(BuildFinished(build, failures))

    def fail_early(self, build: int, job: str) -> None:
        """Report one job failure of a running build before the build ends (fail-fast)."""
        self.send(JobFailed(build, JobFailure(job)))

    def run(self, rng: random.Random | None = None, limit: int = 10_000) -> GateState:
        """Finish running builds (oldest first, or in a random order) until nothing runs."""
        for _ in range(limit):
            if not self.running:
                return self.state
            build = rng.choice(sorted(self.running)) if rng else None
            self.finish(build)
        raise AssertionError("the gate kept building")

    def build_of(self, change: str) -> int:
        """The running whole-pipeline build of the item holding ``change``."""
        for build, command in self.running.items():
            item = self.state.item(command.item)
            if command.jobs is None and item is not None and change in item.change_ids:
                return build
        raise AssertionError(f"no running build for {change}")

    # ------------------------------------------------------------------ the world's side

    def contained(self, commit: str) -> list[str]:
        return [name for name, c in self.changes.items() if self.repo.is_ancestor(c.commit, commit)]

    def result_of(self, command: StartBuild) -> tuple[JobFailure, ...]:
        inside = self.contained(command.commit)
        failures = []
        for job in command.jobs or self.jobs:
            culprits = [name for name in inside if job in self.breaks.get(name, ())]
            if self.flaky_runs.get(job, 0) > 0:
                self.flaky_runs[job] -= 1
                failures.append(JobFailure(job, ("t_flaky",), "intermittent"))
            elif culprits:
                failures.append(JobFailure(job, (f"t_{culprits[0]}",), f"broken by {culprits[0]}"))
        return tuple(failures)

    def _record(self, command: StartBuild, failures: tuple[JobFailure, ...]) -> None:
        failed = {f.job for f in failures}
        results = self.job_results.setdefault(command.commit, {})
        for job in command.jobs or self.jobs:
            results[job] = job not in failed
        if command.jobs is None:
            self.pipeline_done.add(command.commit)

    def green(self, commit: str) -> bool:
        results = self.job_results.get(commit, {})
        return commit in self.pipeline_done and all(results.get(job) for job in self.jobs)

    def execute(self, command: Command) -> list[Event]:
        self.commands.append(command)
        match command:
            case BuildSpeculativeCommit():
                self.merges.append(command)
                result = self.repo.speculative_merge(
                    command.base,
                    [c.commit for c in command.changes],
                    pin=str(command.request),
                    titles=[c.id for c in command.changes],
                )
                if result.conflict is not None:
                    names = [c.id for c in command.changes if c.commit == result.conflict.change]
                    return [
                        SpeculativeCommitConflicted(
                            command.request,
                            result.conflict.files,
                            names[0] if names else None,
                            at=self.now,
                        )
                    ]
                assert result.commit is not None
                assert result.tree is not None
                return [
                    SpeculativeCommitBuilt(command.request, result.commit, result.tree, at=self.now)
                ]
            case ReleaseSpeculativeCommit():
                self.repo.release(str(command.request))
            case StartBuild():
                self.running[command.build] = command
                self.started.append(command)
            case CancelBuild():
                if self.running.pop(command.build, None) is not None:
                    self.cancelled.append(command.build)
            case ClassifyFailure():
                self.classified.append(command)
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
                return [
                    FailureClassified(command.request, verdict.flaky, verdict.evidence, at=self.now)
                ]
            case Land():
                return [self._land(command)]
            case Report():
                self.reports.append(command)
            case RecordAudit():
                self.audit.append(command.record)
        return []

    def _land(self, command: Land) -> Event:
        assert self.green(command.commit), f"landing {command.commit} whose pipeline did not pass"
        if self.land_answers:
            answer = self.land_answers.pop(0)
            if answer == "refused":
                return LandRefused(command.request, "scripted refusal", at=self.now)
            # Someone pushed to the target just before the gate landed.
            pushed = self.repo.commit({"pushed.txt": "pushed\n"}, [command.expected_tip], "push")
            self.repo.set_branch(command.target, pushed)
        old = self.repo.branch_tip(command.target)
        result = self.repo.land(
            command.target,
            command.commit,
            expected_tip=command.expected_tip,
            expected_tree=command.tree,
        )
        if result.outcome is LandOutcome.LANDED:
            assert old is not None
            self.landings.append(Landing(command.commit, command.changes, old))
            return Landed(command.request, at=self.now)
        if result.outcome is LandOutcome.TARGET_MOVED:
            assert result.tip is not None
            return TargetMoved(command.request, result.tip, at=self.now)
        return LandRefused(command.request, result.reason, at=self.now)

    # ------------------------------------------------------------------ reading

    @property
    def landed(self) -> list[str]:
        """Change ids in landing order."""
        return [name for landing in self.landings for name in landing.changes]

    def reported(self, outcome: str) -> list[str]:
        return [c for r in self.reports if r.outcome.value == outcome for c in r.changes]

    def actions(self, action: AuditAction) -> list[AuditRecord]:
        return [record for record in self.audit if record.action is action]

    def check_invariants(self) -> None:
        queue = self.state.queue
        ids = [item.id for item in queue]
        for index, item in enumerate(queue):
            if item.landing is not None:
                continue
            # NNFI: an item is built on the nearest non-failing item ahead of it.
            ahead = [other for other in queue[:index] if other.failure is None]
            assert item.parent == (ahead[-1].id if ahead else None), f"#{item.id} on a wrong parent"
            assert item.parent is None or item.parent in ids
            if item.commit is not None and item.parent is None:
                assert item.base_commit == self.state.tip
        assert sum(1 for item in queue if item.landing is not None) <= 1
        if queue and queue[0].landing is None:
            assert queue[0].parent is None
        tip = self.repo.branch_tip(self.settings.target_branch)
        for landing in self.landings:
            assert self.repo.is_ancestor(landing.old_tip, landing.commit), (
                "landing was not a fast-forward"
            )
            assert self.green(landing.commit)
        if self.landings and tip is not None:
            assert self.repo.is_ancestor(self.landings[-1].commit, tip)


def _stamp(event: Event, now: float) -> Event:
    import dataclasses

    return event if event.at is not None else dataclasses.replace(event, at=now)
