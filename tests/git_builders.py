"""Building git histories for tests: real repositories through plumbing, and the in-memory twin.

Both builders offer ``commit(files, parents, message) -> sha`` (the first
parent's files changed by ``files``; None deletes) and
``set_branch(name, sha)``, so one contract test can build the same history
in a real repository and in :class:`gatehouse.vcs.memory.MemoryRepository`.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.org",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.org",
    "LC_ALL": "C",
}


def git(
    path: Path | str, *args: str, input: str | None = None, env: Mapping[str, str] | None = None
) -> str:
    done = subprocess.run(
        ["git", "-C", str(path), *args],
        capture_output=True,
        text=True,
        input=input,
        env={**ENV, **(env or {})},
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip()


def init_repo(path: Path, *, bare: bool = False) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main", *(["--bare"] if bare else []))
    return path


class GitBuilder:
    """Writes commits into a real repository without touching any working tree."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._index = (
            path / ".test-index" if (path / "objects").is_dir() else path / ".git" / "test-index"
        )

    def commit(
        self,
        files: Mapping[str, str | None],
        parents: Sequence[str] = (),
        message: str = "commit",
    ) -> str:
        env = {"GIT_INDEX_FILE": str(self._index)}
        if parents:
            git(self.path, "read-tree", parents[0], env=env)
        else:
            git(self.path, "read-tree", "--empty", env=env)
        lines = []
        for name, text in files.items():
            if text is None:
                lines.append(f"0 {'0' * 40}\t{name}")  # mode 0 removes the entry
            else:
                blob = git(self.path, "hash-object", "-w", "--stdin", input=text)
                lines.append(f"100644 {blob}\t{name}")
        if lines:
            git(self.path, "update-index", "--index-info", input="\n".join(lines) + "\n", env=env)
        tree = git(self.path, "write-tree", env=env)
        parent_args = [arg for p in parents for arg in ("-p", p)]
        return git(self.path, "commit-tree", tree, *parent_args, "-m", message)

    def set_branch(self, name: str, commit: str) -> None:
        git(self.path, "update-ref", f"refs/heads/{name}", commit)
