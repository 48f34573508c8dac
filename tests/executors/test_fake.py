"""The fake executor: scripted attempts, ordering control, recorded requests."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gatehouse.artifacts.memory import MemoryBlobStore
from gatehouse.core.ports import ArtifactSpec, FailureReason, JobRequest


def request(name: str, attempt: str = "1/1", **fields: object) -> JobRequest:
    return JobRequest(attempt_id=attempt, job_name=name, scripts=("true",), **fields)  # type: ignore[arg-type]


def test_scripted_attempts_then_the_default() -> None:
    from gatehouse.executors.fake import FakeAttempt, FakeExecutor

    fake = FakeExecutor(default=FakeAttempt(exit_code=0))
    fake.script(
        "flaky",
        FakeAttempt(exit_code=1),
        FakeAttempt(failure_reason=FailureReason.RUNNER_SYSTEM_FAILURE),
    )

    async def main() -> list[tuple[int | None, FailureReason | None]]:
        results = []
        for i in range(3):
            outcome = await fake.run(request("flaky", f"1/{i}"), asyncio.Event())
            results.append((outcome.exit_code, outcome.failure_reason))
        return results

    assert asyncio.run(main()) == [
        (1, FailureReason.SCRIPT_FAILURE),
        (None, FailureReason.RUNNER_SYSTEM_FAILURE),
        (0, None),
    ]
    assert [r.attempt_id for r in fake.requests_for("flaky")] == ["1/0", "1/1", "1/2"]


def test_hold_controls_the_order_of_completion() -> None:
    from gatehouse.executors.fake import FakeAttempt, FakeExecutor

    fake = FakeExecutor()
    first_gate, second_gate = asyncio.Event(), asyncio.Event()
    fake.script("a", FakeAttempt(hold=first_gate))
    fake.script("b", FakeAttempt(hold=second_gate))
    finished: list[str] = []

    async def job(name: str) -> None:
        await fake.run(request(name, f"1/{name}"), asyncio.Event())
        finished.append(name)

    async def main() -> None:
        tasks = [asyncio.create_task(job("a")), asyncio.create_task(job("b"))]
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert fake.running == {"1/a", "1/b"}
        second_gate.set()
        await tasks[1]
        assert finished == ["b"]
        first_gate.set()
        await tasks[0]

    asyncio.run(main())
    assert finished == ["b", "a"]
    assert fake.max_running == 2
    assert fake.running == set()


def test_cancel_releases_a_held_attempt() -> None:
    from gatehouse.executors.fake import FakeAttempt, FakeExecutor

    fake = FakeExecutor()
    fake.script("long", FakeAttempt(hold=asyncio.Event(), artifacts={"x": b"1"}))

    async def main() -> object:
        cancel = asyncio.Event()
        task = asyncio.create_task(fake.run(request("long"), cancel))
        await asyncio.sleep(0)
        cancel.set()
        return await task

    outcome = asyncio.run(main())
    assert outcome.failure_reason is FailureReason.CANCELED  # type: ignore[attr-defined]
    assert outcome.artifacts is None  # type: ignore[attr-defined]


def test_artifacts_log_and_coverage(tmp_path: Path) -> None:
    from gatehouse.executors.fake import FakeAttempt, FakeExecutor

    store = MemoryBlobStore()
    fake = FakeExecutor(store)
    fake.script(
        "build",
        FakeAttempt(
            log=("compiling", "token=hunter2222"),
            artifacts={"bin/app": b"ELF"},
            reports={"junit": {"junit.xml": b"<testsuite/>"}},
            coverage=71.5,
        ),
    )
    req = request(
        "build",
        log_path=str(tmp_path / "build.log"),
        env={"T": "hunter2222"},
        masked=frozenset({"T"}),
        artifacts_out=ArtifactSpec(paths=("bin/",)),
    )
    outcome = asyncio.run(fake.run(req, asyncio.Event()))
    assert outcome.succeeded
    assert outcome.coverage == 71.5
    assert outcome.artifacts is not None
    assert [f.path for f in outcome.artifacts.files] == ["bin/app"]
    assert store.exists(outcome.artifacts.files[0].blob)
    assert [f.path for f in outcome.reports["junit"].files] == ["junit.xml"]
    log = (tmp_path / "build.log").read_text()
    assert "O compiling" in log
    assert "hunter2222" not in log
    assert log.rstrip().endswith("G Job succeeded")


def test_timeout_produces_nothing() -> None:
    from gatehouse.executors.fake import FakeAttempt, FakeExecutor

    fake = FakeExecutor(MemoryBlobStore())
    fake.script(
        "slow",
        FakeAttempt(failure_reason=FailureReason.JOB_EXECUTION_TIMEOUT, artifacts={"x": b"1"}),
    )
    outcome = asyncio.run(
        fake.run(
            request("slow", artifacts_out=ArtifactSpec(paths=("x",), when="always")),
            asyncio.Event(),
        )
    )
    assert outcome.failure_reason is FailureReason.JOB_EXECUTION_TIMEOUT
    assert outcome.exit_code is None
    assert outcome.artifacts is None


def test_producing_artifacts_needs_a_store() -> None:
    from gatehouse.executors.fake import FakeAttempt, FakeExecutor

    fake = FakeExecutor()
    fake.script("x", FakeAttempt(artifacts={"a": b"1"}))
    with pytest.raises(ValueError, match="needs a store"):
        asyncio.run(
            fake.run(request("x", artifacts_out=ArtifactSpec(paths=("a",))), asyncio.Event())
        )


def test_uses_the_clock_port() -> None:
    from gatehouse.executors.fake import FakeExecutor

    class Clock:
        def __init__(self) -> None:
            self.t = 100.0

        def now(self) -> float:
            self.t += 1
            return self.t

        def monotonic(self) -> float:
            return self.t

    outcome = asyncio.run(FakeExecutor(clock=Clock()).run(request("j"), asyncio.Event()))
    assert (outcome.started_at, outcome.finished_at) == (101.0, 102.0)
