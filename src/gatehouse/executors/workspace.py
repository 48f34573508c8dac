"""Workspaces: a clean, private copy of the project's tracked files for every job.

Two steps, so that all jobs of a pipeline see the same tree even while the
user keeps editing:

1. :meth:`Workspaces.snapshot` — once per pipeline — copies the tracked files
   into ``<root>/snapshots/<id>/tree`` and lists them in ``…/paths``. For the
   working tree (``WorkspaceSource.commit`` is ``None``) that is every file
   ``git ls-files`` lists, as it is on disk now: uncommitted changes
   included, untracked files not, deleted files not. For a commit it is that
   commit's tree, checked out through a temporary index (``git read-tree`` +
   ``git checkout-index``: the user's index, HEAD and working tree are not
   touched; checkout filters and attributes apply as in a clone). Modes are
   normalised to what git records (``0o755`` or ``0o644``); a submodule is an
   empty directory (GitLab's default ``GIT_SUBMODULE_STRATEGY: none``).
2. :meth:`Workspaces.create` — per job — copies the snapshot's tree into
   ``<root>/jobs/<attempt>-<random>/<project name>`` (that path is
   ``CI_PROJECT_DIR``), beside the job's private ``tmp/``; the job directory
   itself is the job's ``HOME``.

Why copies, and which copy (measured in ``bench/bench_workspace.py``; the
figures are in ``docs/executors.md``): a job may append to any file, so a
hardlink farm would write through into the snapshot and every other job's
workspace; ``git worktree add``, ``git archive | tar`` and ``git
checkout-index`` per job all cost several times a plain file copy because
they decompress objects; a copy of an already-checked-out snapshot is the
cheapest correct per-job step. :mod:`gatehouse.filecopy` makes it a reflink
(constant cost per file, no data copied) where the file system supports
copy-on-write, and an in-kernel ``copy_file_range`` elsewhere.

A job's directory is removed when the job ends, or kept when it failed and
``keep_failed`` is set (for debugging; the log names the path).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from gatehouse.core.ports import WorkspaceSource
from gatehouse.errors import ExecutorError, UsageError, VcsError
from gatehouse.filecopy import copy_file, copy_tree

_GITLINK = 0o160000
_SYMLINK = 0o120000
# Variables that would make git look at another repository or index than the one we name
# (they are set when gatehouse runs from a git hook).
_GIT_LOCATION = {
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_PREFIX",
    "GIT_NAMESPACE",
}


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A pipeline's tree, taken once; pass ``source`` in every job's ``JobRequest``."""

    path: str
    source: WorkspaceSource
    files: int


@dataclass(slots=True)
class JobDir:
    """One job's private directory: its workspace, its ``HOME`` and its ``tmp``."""

    path: str
    workspace: str
    tmp: str
    _paths_file: str | None = None
    _tracked: frozenset[str] | None = field(default=None, repr=False)

    @property
    def home(self) -> str:
        return self.path

    def tracked(self) -> frozenset[str]:
        """The snapshot's tracked paths (what ``artifacts:untracked`` leaves out)."""
        if self._tracked is None:
            if self._paths_file is None:
                self._tracked = frozenset()
            else:
                with open(self._paths_file, "rb") as stream:
                    self._tracked = frozenset(
                        os.fsdecode(p) for p in stream.read().split(b"\0") if p
                    )
        return self._tracked


class Workspaces:
    """Snapshots and per-job workspaces under one root directory."""

    def __init__(self, root: str, *, keep_failed: bool = False) -> None:
        self.root = os.path.abspath(root)
        self.keep_failed = keep_failed
        self._snapshots = os.path.join(self.root, "snapshots")
        self._jobs = os.path.join(self.root, "jobs")

    # ------------------------------------------------------------------ snapshots

    def snapshot(self, source: WorkspaceSource) -> Snapshot:
        """Copy the tracked files of ``source`` once; blocking (call it in a thread)."""
        os.makedirs(self._snapshots, exist_ok=True)
        path = tempfile.mkdtemp(prefix="snap-", dir=self._snapshots)
        try:
            tree = os.path.join(path, "tree")
            paths = _take(source, tree, scratch=path)
            _write_paths(os.path.join(path, "paths"), paths)
        except BaseException:
            _remove_tree(path)
            raise
        return Snapshot(path, replace(source, snapshot_dir=path), len(paths))

    def discard(self, snapshot: Snapshot) -> None:
        _remove_tree(snapshot.path)

    # ------------------------------------------------------------------ job directories

    def create(self, attempt_id: str, source: WorkspaceSource) -> JobDir:
        """A fresh job directory whose workspace holds the tracked files; blocking."""
        os.makedirs(self._jobs, exist_ok=True)
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", attempt_id).strip("-.")[:60] or "job"
        path = tempfile.mkdtemp(prefix=f"{slug}-", dir=self._jobs)
        name = os.path.basename(os.path.realpath(source.project_dir)) or "project"
        workspace = os.path.join(path, name)
        tmp = os.path.join(path, "tmp")
        try:
            os.mkdir(tmp)
            if source.snapshot_dir is not None:
                tree = os.path.join(source.snapshot_dir, "tree")
                if not os.path.isdir(tree):
                    raise ExecutorError(f"the pipeline snapshot {source.snapshot_dir} is gone")
                copy_tree(tree, workspace)
                job = JobDir(path, workspace, tmp, os.path.join(source.snapshot_dir, "paths"))
            else:
                paths = _take(source, workspace, scratch=path)
                job = JobDir(path, workspace, tmp, None, frozenset(paths))
        except BaseException:
            _remove_tree(path)
            raise
        return job

    def release(self, job: JobDir, *, failed: bool) -> str | None:
        """Remove the job's directory; returns its path instead when it is kept."""
        if failed and self.keep_failed:
            return job.path
        _remove_tree(job.path)
        return None


# ---------------------------------------------------------------------- taking a tree


def _take(source: WorkspaceSource, dest: str, *, scratch: str) -> list[str]:
    """Put the tracked files of ``source`` into the new directory ``dest``; returns their paths."""
    project = os.path.abspath(source.project_dir)
    if not os.path.isdir(project):
        raise UsageError(f"{source.project_dir}: no such project directory")
    if source.commit is None:
        return _copy_working_tree(project, _tracked_entries(project), dest)
    return _checkout_commit(project, source.commit, dest, scratch)


def _git_env(**extra: str) -> dict[str, str]:
    # Git itself needs the user's environment (HOME for its config, PATH for
    # filters); this passes it through, minus what would point git elsewhere.
    env = {k: v for k, v in os.environ.items() if k not in _GIT_LOCATION}
    env.update(extra)
    return env


def _git(project: str, *args: str, env: dict[str, str] | None = None) -> bytes:
    try:
        result = subprocess.run(
            ["git", "-C", project, *args],
            capture_output=True,
            env=env if env is not None else _git_env(),
            check=False,
        )
    except FileNotFoundError as exc:
        raise VcsError("git is not installed", hint="install git (apt-get install git)") from exc
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip()
        if "not a git repository" in message:
            raise UsageError(
                f"{project} is not a git repository",
                hint="gatehouse runs a project's tracked files: `git init && git add -A` first",
            )
        raise VcsError(f"git {' '.join(args[:2])} failed in {project}: {message}")
    return result.stdout


def _parse_stage(output: bytes) -> list[tuple[str, int]]:
    entries: dict[str, int] = {}
    for record in output.split(b"\0"):
        if not record:
            continue
        meta, path = record.split(b"\t", 1)
        entries.setdefault(os.fsdecode(path), int(meta.split(b" ", 1)[0], 8))
    return list(entries.items())


def _tracked_entries(project: str, env: dict[str, str] | None = None) -> list[tuple[int, str]]:
    return [
        (mode, path)
        for path, mode in _parse_stage(_git(project, "ls-files", "-z", "--stage", env=env))
    ]


def _ensure_parent(dest: str, path: str, made: set[str]) -> None:
    parent = os.path.dirname(path)
    if parent and parent not in made:
        os.makedirs(os.path.join(dest, parent), exist_ok=True)
        while parent and parent not in made:
            made.add(parent)
            parent = os.path.dirname(parent)


def _copy_working_tree(project: str, entries: Sequence[tuple[int, str]], dest: str) -> list[str]:
    os.mkdir(dest)
    made: set[str] = set()
    copied: list[str] = []
    for mode, path in entries:
        target = os.path.join(dest, path)
        _ensure_parent(dest, path, made)
        if mode == _GITLINK:
            os.makedirs(target, exist_ok=True)
            continue
        source = os.path.join(project, path)
        try:
            st = os.lstat(source)
        except (FileNotFoundError, NotADirectoryError):
            continue  # deleted in the working tree: not part of the snapshot
        if stat.S_ISLNK(st.st_mode):
            os.symlink(os.readlink(source), target)
        elif stat.S_ISREG(st.st_mode):
            copy_file(source, target, 0o755 if st.st_mode & 0o100 else 0o644)
        else:
            continue
        copied.append(path)
    return copied


def _checkout_commit(project: str, commit: str, dest: str, scratch: str) -> list[str]:
    try:
        sha = _git(project, "rev-parse", "--verify", "--end-of-options", f"{commit}^{{commit}}")
    except VcsError as exc:
        raise UsageError(f"{commit}: not a commit of {project}") from exc
    index = os.path.join(scratch, "index")
    env = _git_env(GIT_INDEX_FILE=index)
    os.mkdir(dest)
    try:
        _git(project, "read-tree", sha.decode().strip(), env=env)
        _git(project, "checkout-index", "--all", "--force", f"--prefix={dest}/", env=env)
        entries = _tracked_entries(project, env)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(index)
    paths = []
    for mode, path in entries:
        if mode == _GITLINK:
            os.makedirs(os.path.join(dest, path), exist_ok=True)
        else:
            paths.append(path)
    return paths


def _write_paths(path: str, paths: Sequence[str]) -> None:
    with open(path, "wb") as stream:
        stream.write(b"\0".join(os.fsencode(p) for p in paths))


def _remove_tree(path: str) -> None:
    """Remove a job's directory even where the job took write permission away."""

    def make_writable(_func: object, failed: str, _exc: object) -> None:
        parent = os.path.dirname(failed)
        with contextlib.suppress(OSError):
            os.chmod(parent, 0o700)
            if os.path.isdir(failed) and not os.path.islink(failed):
                os.chmod(failed, 0o700)
                shutil.rmtree(failed, ignore_errors=True)
            else:
                os.unlink(failed)

    shutil.rmtree(path, onerror=make_writable)
