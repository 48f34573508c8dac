"""Workspaces: snapshots of tracked files, per-job private copies, isolation, removal."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from gatehouse.core.ports import JobRequest, WorkspaceSource
from gatehouse.errors import UsageError
from gatehouse.executors.shell import ShellExecutor
from gatehouse.executors.workspace import Workspaces

from .conftest import git, output_lines, run

Make = Callable[..., JobRequest]


def _files(root: Path) -> dict[str, str]:
    found = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if rel.startswith(".git"):
            continue
        if path.is_symlink():
            found[rel] = "-> " + os.readlink(path)
        elif path.is_file():
            found[rel] = path.read_text()
    return found


def test_snapshot_of_the_working_tree(workspaces: Workspaces, project: Path) -> None:
    snapshot = workspaces.snapshot(WorkspaceSource(str(project)))
    tree = Path(snapshot.path) / "tree"
    assert _files(tree) == {
        "README": "committed\nplus an uncommitted change\n",  # uncommitted change included
        "link": "-> README",
        "run.sh": "#!/bin/sh\necho run\n",
        "src/main.c": "int main(void) { return 0; }\n",
    }  # untracked.txt is not there, and neither is the deleted gone.txt
    assert (tree / "run.sh").stat().st_mode & 0o777 == 0o755
    assert (tree / "README").stat().st_mode & 0o777 == 0o644
    assert snapshot.files == 4
    assert snapshot.source.snapshot_dir == snapshot.path
    workspaces.discard(snapshot)
    assert not Path(snapshot.path).exists()


def test_snapshot_includes_staged_new_files(workspaces: Workspaces, project: Path) -> None:
    (project / "new.txt").write_text("staged\n")
    git(project, "add", "new.txt")
    snapshot = workspaces.snapshot(WorkspaceSource(str(project)))
    assert (Path(snapshot.path) / "tree" / "new.txt").read_text() == "staged\n"


def test_snapshot_at_a_commit(workspaces: Workspaces, project: Path) -> None:
    first = git(project, "rev-parse", "HEAD").strip()
    git(project, "add", "-A")
    git(project, "commit", "-qm", "second")
    snapshot = workspaces.snapshot(WorkspaceSource(str(project), commit=first))
    files = _files(Path(snapshot.path) / "tree")
    assert files["README"] == "committed\n"
    assert files["gone.txt"] == "deleted later\n"
    assert "untracked.txt" not in files
    # the user's index and working tree are untouched
    assert git(project, "status", "--porcelain") == ""
    assert (project / "README").read_text() == "committed\nplus an uncommitted change\n"


def test_snapshot_by_branch_name(workspaces: Workspaces, project: Path) -> None:
    snapshot = workspaces.snapshot(WorkspaceSource(str(project), commit="HEAD"))
    assert (Path(snapshot.path) / "tree" / "README").read_text() == "committed\n"


def test_unknown_commit_is_a_usage_error(workspaces: Workspaces, project: Path) -> None:
    with pytest.raises(UsageError, match="not a commit"):
        workspaces.snapshot(WorkspaceSource(str(project), commit="no-such-branch"))
    assert list(Path(workspaces.root, "snapshots").iterdir()) == []


def test_not_a_git_repository(workspaces: Workspaces, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(UsageError, match="not a git repository") as info:
        workspaces.snapshot(WorkspaceSource(str(plain)))
    assert info.value.hint is not None
    assert "git init" in info.value.hint


def test_submodules_are_empty_directories(workspaces: Workspaces, project: Path) -> None:
    sub = project.parent / "sub"
    sub.mkdir()
    git(sub, "init", "-q")
    (sub / "f").write_text("x")
    git(sub, "add", "f")
    git(sub, "commit", "-qm", "s")
    git(
        project,
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        str(sub),
        "vendor/sub",
    )
    for commit in (None, "HEAD"):
        if commit:
            git(project, "commit", "-qam", "with submodule")
        snapshot = workspaces.snapshot(WorkspaceSource(str(project), commit=commit))
        vendored = Path(snapshot.path) / "tree" / "vendor" / "sub"
        assert vendored.is_dir()
        assert list(vendored.iterdir()) == []


def test_jobs_see_the_snapshot_not_later_edits(
    shell: ShellExecutor, workspaces: Workspaces, request_for: Make, project: Path
) -> None:
    snapshot = workspaces.snapshot(WorkspaceSource(str(project)))
    (project / "README").write_text("edited while the pipeline runs\n")
    request = request_for("cat README", source=snapshot.source)
    assert run(shell, request).succeeded
    assert output_lines(request)[1:] == ["committed", "plus an uncommitted change"]


def test_workspace_without_a_snapshot(shell: ShellExecutor, request_for: Make) -> None:
    request = request_for("ls -A", "cat README")
    assert run(shell, request).succeeded
    lines = output_lines(request)
    listing = lines[1 : lines.index("$ cat README")]
    assert listing == ["README", "link", "run.sh", "src"]
    assert lines[-1] == "plus an uncommitted change"


def test_jobs_cannot_touch_the_user_tree_or_each_other(
    shell: ShellExecutor, workspaces: Workspaces, request_for: Make, project: Path
) -> None:
    snapshot = workspaces.snapshot(WorkspaceSource(str(project)))
    before = _files(project)
    writer = request_for(
        "echo appended >> README",
        "echo appended >> src/main.c",
        "rm run.sh",
        "chmod 000 src",
        source=snapshot.source,
    )
    reader = request_for("cat README", "ls", source=snapshot.source)

    async def both() -> None:
        # run concurrently: one job's changes must not show in the other's workspace
        await asyncio.gather(shell.run(writer, asyncio.Event()), shell.run(reader, asyncio.Event()))

    asyncio.run(both())
    assert _files(project) == before
    assert "appended" not in output_lines(reader)
    assert "run.sh" in output_lines(reader)
    # a later job still starts from the untouched snapshot
    later = request_for("cat README", "test -x run.sh", source=snapshot.source)
    assert run(shell, later).succeeded
    assert "appended" not in output_lines(later)


def test_workspaces_are_removed_after_the_job(
    shell: ShellExecutor, workspaces: Workspaces, request_for: Make
) -> None:
    request = request_for("mkdir -p deep/dir && touch deep/dir/f && chmod 500 deep/dir")
    assert run(shell, request).succeeded
    assert list(Path(workspaces.root, "jobs").iterdir()) == []


def test_failed_workspace_kept_when_asked(store: object, tmp_path: Path, request_for: Make) -> None:
    workspaces = Workspaces(str(tmp_path / "work"), keep_failed=True)
    shell = ShellExecutor(store, workspaces, kill_grace=0.3)  # type: ignore[arg-type]
    ok = request_for("touch made-by-ok")
    bad = request_for("touch made-by-bad", "exit 1")
    run(shell, ok)
    run(shell, bad)
    kept = list(Path(workspaces.root, "jobs").iterdir())
    assert len(kept) == 1
    assert (kept[0] / "myproject" / "made-by-bad").exists()
    assert f"Workspace kept for debugging: {kept[0]}" in Path(bad.log_path).read_text()


def test_a_discarded_snapshot_fails_the_job_cleanly(
    shell: ShellExecutor, workspaces: Workspaces, request_for: Make, project: Path
) -> None:
    snapshot = workspaces.snapshot(WorkspaceSource(str(project)))
    workspaces.discard(snapshot)
    request = request_for("true", source=snapshot.source)
    outcome = run(shell, request)
    assert outcome.failure_reason is not None
    assert outcome.failure_reason.value == "runner_system_failure"
    assert "is gone" in Path(request.log_path).read_text()


def test_git_variables_from_a_hook_do_not_mislead_the_snapshot(
    workspaces: Workspaces, project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q")
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_INDEX_FILE", str(other / ".git" / "index"))
    snapshot = workspaces.snapshot(WorkspaceSource(str(project)))
    assert snapshot.files == 4
