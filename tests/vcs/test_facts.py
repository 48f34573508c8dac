"""Pipeline facts from a real git repository: ref, default branch, project path, changed files."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gatehouse.errors import UsageError
from gatehouse.vcs import facts
from gatehouse.vcs.files import CommitFiles, DirectoryFiles, WorkingTreeFiles


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=Tester", "-c", "user.email=t@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def commit(root: Path, files: dict[str, str], message: str) -> str:
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    commit(root, {".gitlab-ci.yml": "job: {script: [x]}\n", "src/a.c": "a\n"}, "First\n\nBody.")
    return root


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("git@gitlab.gnome.org:GNOME/glib.git", ("gitlab.gnome.org", "GNOME", "glib")),
        ("https://gitlab.com/group/sub/proj.git", ("gitlab.com", "group/sub", "proj")),
        ("ssh://git@host.example:2222/group/proj.git", ("host.example", "group", "proj")),
        ("https://user:token@gitlab.com/g/p/", ("gitlab.com", "g", "p")),
        ("/srv/git/project.git", (None, None, None)),
        ("not a url", (None, None, None)),
    ],
)
def test_parse_remote(url: str, expected: tuple[str | None, ...]) -> None:
    assert facts.parse_remote(url) == expected


def test_outside_git_every_fact_is_neutral(tmp_path: Path) -> None:
    found = facts.read_facts(tmp_path)
    assert (found.is_git, found.branch, found.default_branch, found.sha) == (
        False,
        None,
        "main",
        "0" * 40,
    )


def test_branch_commit_message_and_project_from_origin(repo: Path) -> None:
    git(repo, "remote", "add", "origin", "git@gitlab.example.org:group/sub/proj.git")
    git(repo, "checkout", "-q", "-b", "topic")
    found = facts.read_facts(repo)
    assert found.is_git
    assert found.branch == "topic"
    assert found.default_branch == "main"  # no origin/HEAD: an existing main branch
    assert found.message == "First\n\nBody."
    assert found.author == "Tester <t@example.com>"
    assert (found.server_host, found.namespace, found.name) == (
        "gitlab.example.org",
        "group/sub",
        "proj",
    )
    assert len(found.sha) == 40


def test_default_branch_from_origin_head(repo: Path, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git(repo, "branch", "-q", "-m", "main", "trunk")
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    git(clone, "checkout", "-q", "-b", "work")
    assert facts.read_facts(clone).default_branch == "trunk"


def test_detached_head_has_no_branch(repo: Path) -> None:
    git(repo, "checkout", "-q", "--detach")
    assert facts.read_facts(repo).branch is None


def test_changed_files_since_the_merge_base_plus_uncommitted(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "topic")
    commit(repo, {"src/b.c": "b\n"}, "Add b")
    git(repo, "checkout", "-q", "main")
    commit(repo, {"docs/main-only.md": "m\n"}, "Main moves on")
    git(repo, "checkout", "-q", "topic")
    (repo / "src/a.c").write_text("changed\n")
    assert facts.changed_files(repo, "main") == ("src/a.c", "src/b.c")
    assert facts.changed_files(repo, "main", include_worktree=False) == ("src/b.c",)
    with pytest.raises(UsageError):
        facts.changed_files(repo, "no-such-branch")


def test_upstream_and_tags(repo: Path, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    assert facts.upstream(clone) == "origin/main"
    git(repo, "tag", "v1.0")
    assert facts.ref_is_tag(repo, "v1.0")
    assert not facts.ref_is_tag(repo, "main")
    assert facts.resolve_commit(repo, "v1.0") == git(repo, "rev-parse", "HEAD")
    with pytest.raises(UsageError):
        facts.resolve_commit(repo, "nope")


def test_working_tree_lists_tracked_files_and_reads_from_disk(repo: Path) -> None:
    (repo / "untracked.txt").write_text("x\n")
    (repo / ".gitlab-ci.yml").write_text("changed: {script: [x]}\n")
    files = WorkingTreeFiles(repo)
    assert files.list_files() == [".gitlab-ci.yml", "src/a.c"]
    assert files.read_text(".gitlab-ci.yml") == "changed: {script: [x]}\n"
    assert files.read_text("/src/a.c") == "a\n"
    assert files.read_text("../outside") is None
    assert files.read_text("missing.yml") is None


def test_commit_files_read_one_commit(repo: Path) -> None:
    first = git(repo, "rev-parse", "HEAD")
    commit(repo, {"src/a.c": "second\n"}, "Second")
    files = CommitFiles(repo, first)
    assert files.read_text("src/a.c") == "a\n"
    assert files.read_text("nope") is None
    assert files.list_files() == [".gitlab-ci.yml", "src/a.c"]


def test_directory_files_outside_git(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.yml").write_text("x\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("")
    assert DirectoryFiles(tmp_path).list_files() == ["a/x.yml"]
