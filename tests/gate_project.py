"""Real projects for the gate's CLI tests: a git repository, a .gitlab-ci.yml, change branches.

The pipeline is real: its jobs are shell commands run by the shell executor
in a snapshot of the speculative commit. ``test`` runs every ``checks/*.sh``
of the tree, so a change that adds a failing check breaks ``test`` on every
commit that contains it; ``docs`` only runs when ``docs/**`` changed
(``rules: changes`` in a merge-request pipeline).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from git_builders import ENV, GitBuilder, git

CI_YAML = """\
workflow:
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
    - if: $CI_COMMIT_BRANCH

stages: [test, docs]

test:
  stage: test
  script:
    - sh test.sh

docs:
  stage: docs
  rules:
    - changes: [docs/**]
  script:
    - echo "checking the docs of $CI_MERGE_REQUEST_SOURCE_BRANCH_NAME into $CI_MERGE_REQUEST_TARGET_BRANCH_NAME"
    - test -d docs
"""

TEST_SH = """\
set -e
for check in checks/*.sh; do
    sh "$check"
done
echo all checks passed
"""

BASE_FILES = {
    ".gitlab-ci.yml": CI_YAML,
    "test.sh": TEST_SH,
    "checks/base.sh": "test -f test.sh\n",
    "shared.txt": "line one\nline two\nline three\n",
}

GATE_TOML = """\
[gate]
window = 4
window_floor = 2
poll_interval = 0.2

[run]
concurrency = 2
"""


@dataclass
class Project:
    path: Path
    builder: GitBuilder
    base: str
    branches: dict[str, str] = field(default_factory=dict)

    def change(self, name: str, files: Mapping[str, str | None], *, on: str | None = None) -> str:
        """A change branch ``change/<name>`` with ``files`` on top of ``on`` (default: the base)."""
        commit = self.builder.commit(files, [on or self.base], f"change {name}")
        branch = f"change/{name}"
        self.builder.set_branch(branch, commit)
        self.branches[name] = branch
        return commit

    def tip(self, branch: str = "main") -> str:
        return git(self.path, "rev-parse", f"refs/heads/{branch}")


def make_project(
    path: Path,
    *,
    toml: str = GATE_TOML,
    files: Mapping[str, str] | None = None,
    checkout: str = "main",
) -> Project:
    """A non-bare repository whose ``main`` has the base files; ``checkout`` is checked out."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    builder = GitBuilder(path)
    base = builder.commit({**BASE_FILES, **(files or {})}, message="base")
    builder.set_branch("main", base)
    if checkout != "main":
        builder.set_branch(checkout, base)
        git(path, "symbolic-ref", "HEAD", f"refs/heads/{checkout}")
    git(path, "reset", "-q", "--hard")
    (path / "gatehouse.toml").write_text(toml)
    return Project(path, builder, base)


def gatehouse(
    *args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real command in a subprocess (as a person would)."""
    return subprocess.run(
        [sys.executable, "-m", "gatehouse", *args],
        cwd=cwd,
        env=command_env(env),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def command_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("GATEHOUSE_")}
    return {**keep, **ENV, **(extra or {})}


def landed_commits(project: Project, since: str) -> list[str]:
    """The commits main moved through since ``since``, oldest first (first parents only)."""
    out = git(project.path, "rev-list", "--first-parent", "--reverse", f"{since}..main")
    return out.splitlines() if out else []


def first_parents(project: Project, commits: Sequence[str]) -> list[str]:
    return [git(project.path, "rev-parse", f"{c}^1") for c in commits]
