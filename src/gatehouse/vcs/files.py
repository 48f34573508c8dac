"""ProjectFiles adapters: a project's files from its working tree or from a git commit.

- :class:`WorkingTreeFiles` reads files from disk (so an uncommitted
  ``.gitlab-ci.yml`` is seen as it is now) and lists the files git tracks —
  the same set a job's workspace contains — or, outside a git repository,
  every file below the directory except ``.git`` and ``.gatehouse``.
- :class:`CommitFiles` reads the tree of one commit (``git ls-tree`` and
  ``git cat-file --batch``), for pipelines of speculative merges.
- :class:`DirectoryFiles` reads any directory (the ``--include-dir`` mirror).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from gatehouse.errors import VcsError

_SKIP_DIRS = {".git", ".gatehouse", "__pycache__", ".venv", "node_modules"}


def _git(root: Path, *args: str, input_bytes: bytes | None = None) -> bytes:
    try:
        proc = subprocess.run(
            ["git", "-C", str(root), *args],
            input=input_bytes,
            capture_output=True,
            check=False,
        )
    except FileNotFoundError as exc:
        raise VcsError("git is not installed", hint="install git") from exc
    if proc.returncode != 0:
        raise VcsError(
            f"git {' '.join(args)} failed in {root}: {proc.stderr.decode(errors='replace').strip()}"
        )
    return proc.stdout


def is_git_repository(root: Path) -> bool:
    proc = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--show-toplevel"], capture_output=True, check=False
    )
    return proc.returncode == 0 and Path(proc.stdout.decode().strip()).resolve() == root.resolve()


class DirectoryFiles:
    """Every regular file below a directory."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._listing: list[str] | None = None

    def read_text(self, path: str) -> str | None:
        target = (self.root / path.lstrip("/")).resolve()
        if self.root.resolve() not in (target, *target.parents):
            return None
        try:
            return target.read_text(encoding="utf-8")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        except UnicodeDecodeError:
            return target.read_text(encoding="utf-8", errors="replace")

    def list_files(self) -> list[str]:
        if self._listing is None:
            found: list[str] = []
            for dirpath, dirnames, filenames in os.walk(self.root):
                dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
                rel = os.path.relpath(dirpath, self.root)
                for name in sorted(filenames):
                    found.append(name if rel == "." else f"{rel}/{name}".replace(os.sep, "/"))
            self._listing = found
        return self._listing


class WorkingTreeFiles(DirectoryFiles):
    """The working tree: contents from disk, the listing from git's index when in a repository.

    In a sub-directory of a repository the listing is the tracked files below
    it, relative to it (what a job's workspace holds).
    """

    def list_files(self) -> list[str]:
        if self._listing is None:
            proc = subprocess.run(
                ["git", "-C", str(self.root), "ls-files", "-z", "--cached"],
                capture_output=True,
                check=False,
            )
            if proc.returncode == 0:
                self._listing = sorted(
                    p
                    for p in proc.stdout.decode("utf-8", errors="replace").split("\0")
                    if p and (self.root / p).is_file()
                )
            else:
                self._listing = super().list_files()
        return self._listing


class CommitFiles:
    """The files of one commit of a repository, read through ``git cat-file --batch``."""

    def __init__(self, root: str | Path, commit: str) -> None:
        self.root = Path(root)
        self.commit = commit
        self._listing: list[str] | None = None

    def read_text(self, path: str) -> str | None:
        spec = f"{self.commit}:{path.lstrip('/')}\n".encode()
        out = _git(self.root, "cat-file", "--batch", input_bytes=spec)
        header, _, rest = out.partition(b"\n")
        if header.endswith(b" missing") or b" blob " not in header:
            return None
        size = int(header.split()[-1])
        return rest[:size].decode("utf-8", errors="replace")

    def list_files(self) -> list[str]:
        if self._listing is None:
            out = _git(self.root, "ls-tree", "-r", "-z", "--name-only", self.commit)
            self._listing = [p for p in out.decode("utf-8", errors="replace").split("\0") if p]
        return self._listing
