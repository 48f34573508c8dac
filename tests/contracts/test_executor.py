"""The Executor contract, run against the shell, sandbox and fake executors.

Each case describes what a job *does* (its output, exit code, files); a small
adapter turns that into shell commands for the real executors and into a
scripted attempt for the fake one, then the same assertions apply.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from gatehouse.artifacts.store import LocalBlobStore
from gatehouse.core.ports import (
    ArtifactFile,
    ArtifactManifest,
    ArtifactSpec,
    BlobRef,
    Executor,
    FailureReason,
    JobOutcome,
    JobRequest,
    WorkspaceSource,
)
from gatehouse.errors import ExecutorError
from gatehouse.executors.fake import FakeAttempt, FakeExecutor
from gatehouse.executors.sandbox import SandboxExecutor
from gatehouse.executors.shell import ShellExecutor
from gatehouse.executors.workspace import Workspaces

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@dataclass
class Behaviour:
    """What a job does, independent of the executor."""

    output: tuple[str, ...] = ()
    exit_code: int = 0
    files: Mapping[str, str] = field(default_factory=dict)
    reports: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


@dataclass
class Harness:
    kind: str
    executor: Any
    store: LocalBlobStore
    root: Path
    counter: Iterator[int]

    def request(self, behaviour: Behaviour, **fields: Any) -> JobRequest:
        n = next(self.counter)
        name = f"job{n}"
        if self.kind == "fake":
            self.executor.script(
                name,
                FakeAttempt(
                    exit_code=behaviour.exit_code,
                    log=behaviour.output,
                    artifacts={p: c.encode() for p, c in behaviour.files.items()},
                    reports={
                        k: {p: c.encode() for p, c in files.items()}
                        for k, files in behaviour.reports.items()
                    },
                ),
            )
            scripts: tuple[str, ...] = ("true",)
        else:
            commands = [f"echo {shlex.quote(line)}" for line in behaviour.output]
            everything = dict(behaviour.files)
            for files in behaviour.reports.values():
                everything.update(files)
            for path, content in everything.items():
                commands.append(
                    f'mkdir -p "$(dirname {shlex.quote(path)})" && '
                    f"printf %s {shlex.quote(content)} > {shlex.quote(path)}"
                )
            commands.append(f"exit {behaviour.exit_code}")
            scripts = tuple(commands)
        spec = fields.pop("artifacts_out", None)
        if spec is None and (behaviour.files or behaviour.reports):
            spec = ArtifactSpec(
                paths=tuple(behaviour.files),
                reports={k: tuple(files) for k, files in behaviour.reports.items()},
            )
        defaults: dict[str, Any] = {
            "attempt_id": f"7/{n}",
            "job_name": name,
            "scripts": scripts,
            "env": {"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            "source": WorkspaceSource(str(self.root / "project")),
            "log_path": str(self.root / f"{name}.log"),
            "artifacts_out": spec,
        }
        defaults.update(fields)
        return JobRequest(**defaults)

    def run(self, request: JobRequest, *, canceled: bool = False) -> JobOutcome:
        async def main() -> JobOutcome:
            cancel = asyncio.Event()
            if canceled:
                cancel.set()
            executor: Executor = self.executor
            return await executor.run(request, cancel)

        return asyncio.run(main())


@pytest.fixture(params=["shell", "sandbox", "fake"])
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    # Outside /tmp: the sandbox gives jobs their own empty /tmp.
    root = Path(tempfile.mkdtemp(prefix="gatehouse-contract-", dir="/var/tmp"))
    try:
        project = root / "project"
        project.mkdir()
        (project / "README").write_text("hello\n")
        git = ["git", "-c", "user.name=T", "-c", "user.email=t@example.com", "-C", str(project)]
        subprocess.run([*git, "init", "-q"], check=True)
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-qm", "init"], check=True)
        store = LocalBlobStore(str(root / "store"))
        workspaces = Workspaces(str(root / "work"))
        executor: Any
        if request.param == "shell":
            executor = ShellExecutor(store, workspaces, kill_grace=0.3)
        elif request.param == "sandbox":
            executor = SandboxExecutor(store, workspaces, kill_grace=0.3, hide=(store.root,))
            try:
                executor.check()
            except ExecutorError as exc:
                if IN_CI:
                    pytest.fail(f"bubblewrap does not work here: {exc.message}")
                pytest.skip(f"bubblewrap does not work here: {exc.message}")
        else:
            executor = FakeExecutor(store)
        yield Harness(request.param, executor, store, root, iter(range(1, 1000)))
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _outputs(request: JobRequest) -> list[str]:
    lines = Path(request.log_path).read_text().splitlines()
    return [line[27:] for line in lines if line[25:26] == "O"]


def test_success(harness: Harness) -> None:
    request = harness.request(Behaviour(output=("hello world",)))
    outcome = harness.run(request)
    assert outcome.succeeded
    assert outcome.exit_code == 0
    assert outcome.failure_reason is None
    assert "hello world" in _outputs(request)
    assert outcome.log_bytes == Path(request.log_path).stat().st_size
    assert outcome.started_at <= outcome.finished_at


def test_failure_is_a_result(harness: Harness) -> None:
    outcome = harness.run(harness.request(Behaviour(exit_code=5)))
    assert not outcome.succeeded
    assert outcome.exit_code == 5
    assert outcome.failure_reason is FailureReason.SCRIPT_FAILURE


def test_masked_values_are_masked(harness: Harness) -> None:
    request = harness.request(
        Behaviour(output=("the key is abcd-1234-SECRET",)),
        env={"PATH": os.environ.get("PATH", ""), "KEY": "abcd-1234-SECRET"},
        masked=frozenset({"KEY"}),
    )
    harness.run(request)
    text = Path(request.log_path).read_text()
    assert "abcd-1234-SECRET" not in text
    assert "the key is [MASKED]" in text


def test_canceled_before_start(harness: Harness) -> None:
    request = harness.request(Behaviour(files={"out.txt": "x"}))
    outcome = harness.run(request, canceled=True)
    assert outcome.failure_reason is FailureReason.CANCELED
    assert outcome.exit_code is None
    assert outcome.artifacts is None


def test_missing_input_blob(harness: Harness) -> None:
    manifest = ArtifactManifest((ArtifactFile("lib.so", BlobRef("cd" * 32, 4)),))
    outcome = harness.run(harness.request(Behaviour(), artifacts_in=(manifest,)))
    assert outcome.failure_reason is FailureReason.UNMET_PREREQUISITES


def test_artifacts_are_stored(harness: Harness) -> None:
    outcome = harness.run(harness.request(Behaviour(files={"out/a.bin": "AAA", "b.txt": "B"})))
    assert outcome.artifacts is not None
    assert sorted(f.path for f in outcome.artifacts.files) == ["b.txt", "out/a.bin"]
    for item in outcome.artifacts.files:
        with harness.store.open(item.blob) as stream:
            assert stream.read() in (b"AAA", b"B")


def test_artifacts_when_on_success_after_a_failure(harness: Harness) -> None:
    outcome = harness.run(harness.request(Behaviour(exit_code=1, files={"out.txt": "x"})))
    assert outcome.artifacts is None


def test_reports_after_a_failure(harness: Harness) -> None:
    behaviour = Behaviour(exit_code=1, reports={"junit": {"junit.xml": "<testsuite/>"}})
    outcome = harness.run(harness.request(behaviour))
    assert [f.path for f in outcome.reports["junit"].files] == ["junit.xml"]


def test_inputs_are_available(harness: Harness) -> None:
    blob = harness.store.put_path(__file__)
    manifest = ArtifactManifest((ArtifactFile("in/this_test.py", blob),))
    outcome = harness.run(harness.request(Behaviour(), artifacts_in=(manifest,)))
    assert outcome.succeeded
