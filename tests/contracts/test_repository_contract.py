"""The Repository port's contract, run against real git and the in-memory twin."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gatehouse.core.ports import LandOutcome, Repository
from gatehouse.errors import VcsError
from gatehouse.vcs.git import GitRepository
from gatehouse.vcs.memory import MemoryRepository
from git_builders import GitBuilder, git, init_repo


@pytest.fixture(params=["git", "memory"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Repository, Any]]:
    if request.param == "git":
        path = init_repo(tmp_path / "repo.git", bare=True)
        yield GitRepository(str(path)), GitBuilder(path)
    else:
        memory = MemoryRepository()
        yield memory, memory


def _history(builder: Any) -> dict[str, str]:
    """main: base; a: edits a.txt; b: edits b.txt; c: edits a.txt differently (conflicts with a)."""
    base = builder.commit({"a.txt": "one\n", "b.txt": "two\n", "c.txt": "three\n"}, message="base")
    builder.set_branch("main", base)
    return {
        "base": base,
        "a": builder.commit({"a.txt": "one from a\n"}, [base], "a"),
        "b": builder.commit({"b.txt": "two from b\n", "new.txt": "new\n"}, [base], "b"),
        "c": builder.commit({"a.txt": "one from c\n"}, [base], "c"),
        "d": builder.commit({"c.txt": None}, [base], "d deletes c.txt"),
    }


def test_resolve_branches_and_commits(world: tuple[Repository, Any]) -> None:
    repo, builder = world
    h = _history(builder)
    assert repo.resolve("main") == h["base"]
    assert repo.resolve("refs/heads/main") == h["base"]
    assert repo.resolve(h["a"]) == h["a"]
    assert repo.branch_tip("main") == h["base"]
    assert repo.branch_tip("nope") is None
    with pytest.raises(VcsError, match="unknown revision"):
        repo.resolve("no-such-branch")
    with pytest.raises(VcsError):
        repo.resolve("--all")


def test_merge_of_independent_changes_makes_a_pinned_merge_commit(
    world: tuple[Repository, Any],
) -> None:
    repo, builder = world
    h = _history(builder)
    result = repo.speculative_merge(
        h["base"], [h["a"], h["b"], h["d"]], pin="7", titles=["A", "B", "D"]
    )
    assert not result.conflicted
    assert result.commit is not None
    assert result.tree is not None
    assert repo.tree_of(result.commit) == result.tree
    for change in ("base", "a", "b", "d"):
        assert repo.is_ancestor(h[change], result.commit)
    assert repo.changed_files(h["base"], result.commit) == ("a.txt", "b.txt", "c.txt", "new.txt")
    assert repo.pins() == ("7",)
    assert repo.resolve("refs/gatehouse/spec/7") == result.commit
    assert repo.branch_tip("main") == h["base"], "a speculative merge never moves a branch"


def test_merge_fast_forwards_when_the_change_is_built_on_the_base(
    world: tuple[Repository, Any],
) -> None:
    repo, builder = world
    h = _history(builder)
    result = repo.speculative_merge(h["base"], [h["a"]], pin="1")
    assert result.commit == h["a"]
    again = repo.speculative_merge(h["a"], [h["a"]], pin="2")
    assert again.commit == h["a"], "a change already contained is skipped"


def test_conflict_is_a_result_naming_the_change_and_files(world: tuple[Repository, Any]) -> None:
    repo, builder = world
    h = _history(builder)
    result = repo.speculative_merge(h["base"], [h["a"], h["b"], h["c"]], pin="3")
    assert result.conflicted
    assert result.commit is None
    assert result.conflict is not None
    assert result.conflict.change == h["c"]
    assert result.conflict.files == ("a.txt",)
    assert repo.pins() == (), "nothing is pinned for a conflict"


def test_unrelated_history_is_a_conflict_not_a_crash(world: tuple[Repository, Any]) -> None:
    repo, builder = world
    h = _history(builder)
    stranger = builder.commit({"x.txt": "x\n"}, [], "unrelated root")
    stranger2 = builder.commit({"x.txt": "y\n"}, [stranger], "unrelated child")
    base2 = builder.commit({"z.txt": "z\n"}, [h["base"]], "z")
    result = repo.speculative_merge(base2, [stranger2], pin="4")
    assert result.conflicted


def test_release_drops_pins(world: tuple[Repository, Any]) -> None:
    repo, builder = world
    h = _history(builder)
    repo.speculative_merge(h["base"], [h["a"], h["b"]], pin="10")
    repo.speculative_merge(h["base"], [h["b"]], pin="11")
    assert repo.pins() == ("10", "11")
    repo.release("10")
    repo.release("10")  # releasing twice is fine
    assert repo.pins() == ("11",)
    with pytest.raises(VcsError, match="pin name"):
        repo.release("../heads/main")


def test_land_is_a_compare_and_swap_fast_forward(world: tuple[Repository, Any]) -> None:
    repo, builder = world
    h = _history(builder)
    merged = repo.speculative_merge(h["base"], [h["a"], h["b"]], pin="5")
    assert merged.commit
    assert merged.tree
    result = repo.land("main", merged.commit, expected_tip=h["base"], expected_tree=merged.tree)
    assert result.outcome is LandOutcome.LANDED
    assert repo.branch_tip("main") == merged.commit


def test_land_is_idempotent(world: tuple[Repository, Any]) -> None:
    repo, builder = world
    h = _history(builder)
    merged = repo.speculative_merge(h["base"], [h["a"], h["b"]], pin="5")
    assert merged.commit
    assert merged.tree
    first = repo.land("main", merged.commit, expected_tip=h["base"], expected_tree=merged.tree)
    again = repo.land("main", merged.commit, expected_tip=h["base"], expected_tree=merged.tree)
    assert first.outcome is again.outcome is LandOutcome.LANDED
    assert repo.branch_tip("main") == merged.commit


def test_land_reports_a_moved_target_and_changes_nothing(world: tuple[Repository, Any]) -> None:
    repo, builder = world
    h = _history(builder)
    merged = repo.speculative_merge(h["base"], [h["a"]], pin="5")
    assert merged.commit
    assert merged.tree
    builder.set_branch("main", h["b"])  # someone pushed
    result = repo.land("main", merged.commit, expected_tip=h["base"], expected_tree=merged.tree)
    assert result.outcome is LandOutcome.TARGET_MOVED
    assert result.tip == h["b"]
    assert repo.branch_tip("main") == h["b"]


def test_land_refuses_a_tree_that_was_not_tested(world: tuple[Repository, Any]) -> None:
    repo, builder = world
    h = _history(builder)
    merged = repo.speculative_merge(h["base"], [h["a"], h["b"]], pin="6")
    other = repo.speculative_merge(h["base"], [h["b"]], pin="7")
    assert merged.commit
    assert other.tree
    result = repo.land("main", merged.commit, expected_tip=h["base"], expected_tree=other.tree)
    assert result.outcome is LandOutcome.REFUSED
    assert "tree" in result.reason
    assert repo.branch_tip("main") == h["base"]


def test_land_refuses_a_non_fast_forward(world: tuple[Repository, Any]) -> None:
    repo, builder = world
    h = _history(builder)
    builder.set_branch("main", h["a"])
    result = repo.land("main", h["b"], expected_tip=h["a"], expected_tree=repo.tree_of(h["b"]))
    assert result.outcome is LandOutcome.REFUSED
    assert "fast-forward" in result.reason
    assert repo.branch_tip("main") == h["a"]


def test_land_on_a_missing_branch_is_refused(world: tuple[Repository, Any]) -> None:
    repo, builder = world
    h = _history(builder)
    result = repo.land(
        "release", h["a"], expected_tip=h["base"], expected_tree=repo.tree_of(h["a"])
    )
    assert result.outcome is LandOutcome.REFUSED
    assert repo.branch_tip("release") is None


def test_merge_base_and_ancestry(world: tuple[Repository, Any]) -> None:
    repo, builder = world
    h = _history(builder)
    assert repo.merge_base(h["a"], h["b"]) == h["base"]
    assert repo.is_ancestor(h["base"], h["a"])
    assert not repo.is_ancestor(h["a"], h["b"])
    root = builder.commit({"q": "q\n"}, [], "other root")
    assert repo.merge_base(root, h["a"]) is None


# --------------------------------------------------------------------------- real git only


def test_git_errors_name_the_command(tmp_path: Path) -> None:
    path = init_repo(tmp_path / "r.git", bare=True)
    repo = GitRepository(str(path))
    with pytest.raises(VcsError, match=r"git rev-parse .* failed"):
        repo.tree_of("0" * 40)
    with pytest.raises(VcsError, match="not a git repository"):
        GitRepository(str(tmp_path / "nothing-here"))


def test_git_missing_binary_is_a_vcs_error(tmp_path: Path) -> None:
    with pytest.raises(VcsError, match="cannot run"):
        GitRepository(str(tmp_path), git="/nonexistent/git")


def test_speculative_merge_leaves_the_working_tree_alone(tmp_path: Path) -> None:
    path = init_repo(tmp_path / "work")
    (path / "a.txt").write_text("one\n")
    git(path, "add", "a.txt")
    git(path, "commit", "-q", "-m", "base")
    base = git(path, "rev-parse", "HEAD")
    builder = GitBuilder(path)
    change = builder.commit({"b.txt": "b\n"}, [base], "b")
    other = builder.commit({"c.txt": "c\n"}, [base], "c")
    (path / "a.txt").write_text("uncommitted edit\n")
    repo = GitRepository(str(path))
    result = repo.speculative_merge(base, [change, other], pin="x")
    assert result.commit
    assert (path / "a.txt").read_text() == "uncommitted edit\n"
    assert not (path / "b.txt").exists()
    assert git(path, "status", "--porcelain") == "M a.txt"


def test_landing_a_checked_out_branch_updates_its_working_tree(tmp_path: Path) -> None:
    path = init_repo(tmp_path / "work")
    (path / "a.txt").write_text("one\n")
    git(path, "add", "a.txt")
    git(path, "commit", "-q", "-m", "base")
    base = git(path, "rev-parse", "HEAD")
    change = GitBuilder(path).commit({"b.txt": "b\n"}, [base], "b")
    other = GitBuilder(path).commit({"c.txt": "c\n"}, [base], "c")
    repo = GitRepository(str(path))
    merged = repo.speculative_merge(base, [change, other], pin="y")
    assert merged.commit
    assert merged.tree
    result = repo.land("main", merged.commit, expected_tip=base, expected_tree=merged.tree)
    assert result.outcome is LandOutcome.LANDED
    assert git(path, "rev-parse", "HEAD") == merged.commit
    assert (path / "b.txt").read_text() == "b\n"
    assert git(path, "status", "--porcelain") == ""


def test_landing_refuses_to_overwrite_local_changes_in_a_checkout(tmp_path: Path) -> None:
    path = init_repo(tmp_path / "work")
    (path / "a.txt").write_text("one\n")
    git(path, "add", "a.txt")
    git(path, "commit", "-q", "-m", "base")
    base = git(path, "rev-parse", "HEAD")
    change = GitBuilder(path).commit({"a.txt": "two\n"}, [base], "edit a")
    (path / "a.txt").write_text("local edit\n")
    repo = GitRepository(str(path))
    result = repo.land("main", change, expected_tip=base, expected_tree=repo.tree_of(change))
    assert result.outcome is LandOutcome.REFUSED
    assert "checked out" in result.reason
    assert repo.branch_tip("main") == base
    assert (path / "a.txt").read_text() == "local edit\n"


def test_pins_survive_gc_and_release_lets_them_go(tmp_path: Path) -> None:
    path = init_repo(tmp_path / "r.git", bare=True)
    builder = GitBuilder(path)
    base = builder.commit({"a": "1\n"}, [], "base")
    builder.set_branch("main", base)
    a = builder.commit({"b": "2\n"}, [base], "a")
    c = builder.commit({"c": "3\n"}, [base], "c")
    repo = GitRepository(str(path))
    merged = repo.speculative_merge(base, [a, c], pin="keep")
    assert merged.commit
    git(path, "gc", "-q", "--prune=now")
    assert repo.tree_of(merged.commit) == merged.tree
    repo.release("keep")
    git(path, "reflog", "expire", "--expire=now", "--all")
    git(path, "gc", "-q", "--prune=now")
    with pytest.raises(VcsError):
        repo.tree_of(merged.commit)
