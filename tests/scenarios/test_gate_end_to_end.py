"""The gate on a real git repository with real shell pipelines, end to end.

Ten changes are queued; two add a check that fails, one edits the same line
of a shared file as an earlier change. The "pipeline" runs ``sh test.sh`` in
a fresh export of the speculative commit. Exactly the other seven land, in
queue order, and every landed commit is one whose test run passed.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
import threading
from pathlib import Path

from gate_driver import LocalGateDriver
from gatehouse.core.gate import (
    Change,
    Enqueue,
    GateSettings,
    JobFailure,
    OutcomeKind,
    StartBuild,
    explain,
    new_gate,
    render,
)
from gatehouse.core.gate.known_flakes import KnownFlakes
from gatehouse.vcs.git import GitRepository
from git_builders import GitBuilder, git, init_repo

TEST_SH = """\
set -e
for check in checks/*.sh; do
    sh "$check"
done
echo all checks passed
"""

BROKEN = {"c04", "c06"}
CONFLICTING = "c08"  # edits the line c02 edits


def _make_project(path: Path) -> tuple[GitBuilder, str, dict[str, str]]:
    builder = GitBuilder(path)
    base = builder.commit(
        {
            "test.sh": TEST_SH,
            "checks/base.sh": "test -f test.sh\n",
            "shared.txt": "line one\nline two\nline three\n",
        },
        message="base",
    )
    builder.set_branch("main", base)
    branches = {}
    for number in range(1, 11):
        name = f"c{number:02d}"
        files = {
            f"features/{name}.txt": f"{name}\n",
            f"checks/{name}.sh": f"test -f features/{name}.txt\n",
        }
        if name in BROKEN:
            files[f"checks/{name}.sh"] = f"echo '{name}: assertion failed' >&2\nexit 1\n"
        if name == "c02":
            files["shared.txt"] = "line one\nline two (c02)\nline three\n"
        if name == CONFLICTING:
            files["shared.txt"] = "line one\nline two (c08)\nline three\n"
        commit = builder.commit(files, [base], f"change {name}")
        builder.set_branch(f"change/{name}", commit)
        branches[name] = f"change/{name}"
    return builder, base, branches


class ShellPipeline:
    """Runs ``sh test.sh`` in a fresh export of the commit; records what passed."""

    def __init__(self, repo_path: Path) -> None:
        self.repo_path = repo_path
        self.passed: set[str] = set()
        self.runs: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, command: StartBuild) -> tuple[JobFailure, ...]:
        archive = subprocess.run(
            ["git", "-C", str(self.repo_path), "archive", "--format=tar", command.commit],
            capture_output=True,
            check=True,
        ).stdout
        with tempfile.TemporaryDirectory(prefix="gate-e2e-") as workspace:
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extractall(workspace, filter="data")
            done = subprocess.run(
                ["sh", "test.sh"], cwd=workspace, capture_output=True, text=True, check=False
            )
        with self._lock:
            self.runs.append(command.commit)
            if done.returncode == 0:
                self.passed.add(command.commit)
                return ()
        lines = done.stderr.strip().splitlines()
        return (JobFailure("test", detail=lines[-1] if lines else f"exit {done.returncode}"),)


def test_ten_changes_two_broken_one_conflicting_land_exactly_the_other_seven(
    tmp_path: Path,
) -> None:
    path = init_repo(tmp_path / "project.git", bare=True)
    _, base, branches = _make_project(path)
    repo = GitRepository(str(path))
    pipeline = ShellPipeline(path)
    driver = LocalGateDriver(
        new_gate(base, GateSettings(window=4, window_floor=2)), repo, pipeline, KnownFlakes()
    )
    for name, branch in branches.items():
        driver.submit(Enqueue(Change(name, repo.resolve(branch))))
    state = driver.run_until_quiet()

    expected = [f"c{n:02d}" for n in range(1, 11) if f"c{n:02d}" not in {*BROKEN, CONFLICTING}]
    assert [name for land in driver.landed for name in land.changes] == expected
    assert len(expected) == 7
    for land in driver.landed:
        assert land.commit in pipeline.passed, "only a commit whose test passed is landed"
    # The target moved by fast-forwards only, through exactly the landed commits.
    history = git(path, "rev-list", "--first-parent", f"{base}..main").splitlines()
    assert history[::-1] == [land.commit for land in driver.landed]
    assert state.tip == repo.branch_tip("main") == driver.landed[-1].commit
    assert state.queue == ()
    tree = git(path, "ls-tree", "-r", "--name-only", "main").splitlines()
    for name in expected:
        assert f"features/{name}.txt" in tree
    for name in (*BROKEN, CONFLICTING):
        assert f"features/{name}.txt" not in tree
    assert repo.pins() == (), "every temporary ref was released"

    # `gate status` explains the three rejected changes.
    rejected = {o.changes[0]: o for o in state.recent if o.kind is not OutcomeKind.MERGED}
    assert set(rejected) == {*BROKEN, CONFLICTING}
    assert rejected[CONFLICTING].kind is OutcomeKind.CONFLICT
    assert "shared.txt" in rejected[CONFLICTING].detail
    for name in BROKEN:
        assert rejected[name].kind is OutcomeKind.FAILED
        assert f"{name}: assertion failed" in rejected[name].detail
    text = render(explain(state))
    for name in (*BROKEN, CONFLICTING):
        assert name in text
