"""The gate's git, on a real repository, through the ``git`` command (2.38+).

Speculative merges use ``git merge-tree --write-tree`` and ``git commit-tree``:
objects are written to the repository but no working tree, index or branch
is touched, so the gate can share a repository with a person's checkout.
Results are pinned under ``refs/gatehouse/spec/<pin>`` so ``git gc`` keeps
them while they are in use; :meth:`GitRepository.release` drops a pin.

Landing is a compare-and-swap: ``git update-ref refs/heads/T NEW OLD`` only
moves the branch if it still points at OLD. Before that the tested tree is
checked against the commit's tree and the move is checked to be a
fast-forward. When the branch is checked out in a working tree, that tree is
updated with ``git merge --ff-only`` instead, which refuses (and changes
nothing) if local modifications would be overwritten.

A conflict is a result (:class:`~gatehouse.core.ports.MergeResult`); a git
failure raises :class:`~gatehouse.errors.VcsError` naming the command and
git's message.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence

from gatehouse.core.gate.landing import landing_verdict
from gatehouse.core.ports import (
    LandOutcome,
    LandResult,
    MergeConflict,
    MergeResult,
)
from gatehouse.errors import VcsError

_PIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_UNRELATED = "unrelated histories"
# Variables that would point git at another repository than ``path``.
_REPOSITORY_VARIABLES = frozenset(
    {
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_COMMON_DIR",
        "GIT_NAMESPACE",
    }
)


class GitRepository:
    """A git repository (bare or not) at ``path``."""

    def __init__(
        self,
        path: str,
        *,
        namespace: str = "refs/gatehouse/spec",
        identity: tuple[str, str] = ("gatehouse", "gatehouse@localhost"),
        git: str = "git",
    ) -> None:
        self.path = path
        self.namespace = namespace.rstrip("/")
        self._git_binary = git
        name, email = identity
        inherited = {k: v for k, v in os.environ.items() if k not in _REPOSITORY_VARIABLES}
        self._env = {
            **inherited,
            "LC_ALL": "C",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
        }
        probe = self._run("rev-parse", "--git-dir", check=False)
        if probe.returncode != 0:
            raise VcsError(
                f"{path} is not a git repository: {probe.stderr.strip()}",
                hint="point the gate at the project's repository (or a bare clone of it)",
            )

    # ------------------------------------------------------------------ plumbing

    def _run(
        self, *args: str, check: bool = True, cwd: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        command = [self._git_binary, "-C", cwd or self.path, *args]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, env=self._env, check=False
            )
        except FileNotFoundError as exc:
            raise VcsError(
                f"cannot run {self._git_binary!r}: {exc.strerror}",
                hint="install git 2.38 or newer",
            ) from exc
        if check and done.returncode != 0:
            raise VcsError(_failure(args, done))
        return done

    def resolve(self, ref: str) -> str:
        if not ref or ref.startswith("-"):
            raise VcsError(f"not a git revision: {ref!r}")
        done = self._run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        if done.returncode != 0:
            raise VcsError(f"unknown revision {ref!r} in {self.path}")
        return done.stdout.strip()

    def branch_tip(self, branch: str) -> str | None:
        done = self._run(
            "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}", check=False
        )
        return done.stdout.strip() if done.returncode == 0 else None

    def tree_of(self, commit: str) -> str:
        return self._run("rev-parse", "--verify", f"{commit}^{{tree}}").stdout.strip()

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        done = self._run("merge-base", "--is-ancestor", ancestor, descendant, check=False)
        if done.returncode not in (0, 1):
            raise VcsError(_failure(("merge-base", "--is-ancestor", ancestor, descendant), done))
        return done.returncode == 0

    def merge_base(self, a: str, b: str) -> str | None:
        done = self._run("merge-base", a, b, check=False)
        if done.returncode == 1:
            return None
        if done.returncode != 0:
            raise VcsError(_failure(("merge-base", a, b), done))
        return done.stdout.strip()

    def changed_files(self, old: str, new: str) -> tuple[str, ...]:
        out = self._run("diff", "--name-only", "--no-renames", "-z", old, new, "--").stdout
        return tuple(sorted(name for name in out.split("\0") if name))

    # ------------------------------------------------------------------ speculative merges

    def speculative_merge(
        self,
        base: str,
        changes: Sequence[str],
        *,
        pin: str,
        titles: Sequence[str] = (),
    ) -> MergeResult:
        ref = self._pin_ref(pin)
        current = self.resolve(base)
        for index, change in enumerate(changes):
            commit = self.resolve(change)
            title = titles[index] if index < len(titles) else commit[:12]
            if self.is_ancestor(commit, current):
                continue  # already contained
            if self.is_ancestor(current, commit):
                current = commit  # fast-forward: the change was made on top of this state
                continue
            merged = self._merge_tree(current, commit)
            if isinstance(merged, MergeConflict):
                return MergeResult(None, None, merged)
            current = self._run(
                "commit-tree",
                merged,
                "-p",
                current,
                "-p",
                commit,
                "-m",
                f"Merge {title}\n\nSpeculative merge made by the gatehouse gate.",
            ).stdout.strip()
        self._run("update-ref", "-m", "gatehouse: pin speculative commit", ref, current)
        return MergeResult(current, self.tree_of(current))

    def _merge_tree(self, ours: str, theirs: str) -> str | MergeConflict:
        args = ("merge-tree", "--write-tree", "--name-only", "--no-messages", "-z", ours, theirs)
        done = self._run(*args, check=False)
        if done.returncode == 0:
            return done.stdout.split("\0", 1)[0].strip()
        if done.returncode == 1:
            names = [n for n in done.stdout.split("\0")[1:] if n]
            files = tuple(dict.fromkeys(names))  # a path may be listed once per stage
            return MergeConflict(theirs, files, "merge conflict")
        if _UNRELATED in done.stderr:
            return MergeConflict(theirs, (), "refusing to merge unrelated histories")
        raise VcsError(_failure(args, done))

    def _pin_ref(self, pin: str) -> str:
        if not _PIN.fullmatch(pin):
            raise VcsError(f"not a valid pin name: {pin!r} (letters, digits, '.', '_', '-')")
        return f"{self.namespace}/{pin}"

    def release(self, pin: str) -> None:
        self._run("update-ref", "-d", self._pin_ref(pin))

    def pins(self) -> tuple[str, ...]:
        out = self._run("for-each-ref", "--format=%(refname)", f"{self.namespace}/").stdout
        prefix = f"{self.namespace}/"
        return tuple(sorted(line[len(prefix) :] for line in out.splitlines() if line))

    # ------------------------------------------------------------------ landing

    def land(
        self, branch: str, commit: str, *, expected_tip: str, expected_tree: str
    ) -> LandResult:
        ref = f"refs/heads/{branch}"
        commit = self.resolve(commit)
        current = self.branch_tip(branch)
        verdict = landing_verdict(
            branch,
            commit,
            tree=self.tree_of(commit),
            expected_tree=expected_tree,
            current=current,
            expected_tip=expected_tip,
            descends=self.is_ancestor,
        )
        if verdict is not None:
            return verdict
        checkout = self._checkout_of(ref)
        if checkout is not None:
            done = self._run("merge", "--ff-only", "--no-stat", commit, cwd=checkout, check=False)
            if done.returncode != 0:
                return LandResult(
                    LandOutcome.REFUSED,
                    self.branch_tip(branch),
                    f"{branch} is checked out in {checkout} and could not be fast-forwarded "
                    f"there: {done.stderr.strip() or done.stdout.strip()}",
                )
            tip = self.branch_tip(branch)
            if tip != commit:  # pragma: no cover - merge --ff-only lands exactly or fails
                raise VcsError(f"{branch} is at {tip} after fast-forwarding to {commit}")
            return LandResult(LandOutcome.LANDED, commit)
        done = self._run(
            "update-ref",
            "-m",
            "gatehouse: land tested commit",
            ref,
            commit,
            expected_tip,
            check=False,
        )
        if done.returncode != 0:
            now = self.branch_tip(branch)
            if now != expected_tip:
                return LandResult(
                    LandOutcome.TARGET_MOVED, now, f"{branch} moved to {now} while landing"
                )
            raise VcsError(_failure(("update-ref", ref, commit, expected_tip), done))
        return LandResult(LandOutcome.LANDED, commit)

    def _checkout_of(self, ref: str) -> str | None:
        """The working tree that has ``ref`` checked out, if any."""
        out = self._run("worktree", "list", "--porcelain").stdout
        path: str | None = None
        for line in out.splitlines():
            if line.startswith("worktree "):
                path = line[len("worktree ") :]
            elif line == f"branch {ref}" and path is not None:
                return path
        return None


def _failure(args: Sequence[str], done: subprocess.CompletedProcess[str]) -> str:
    message = (done.stderr or done.stdout).strip() or "no message"
    return f"git {' '.join(args)} failed (exit {done.returncode}): {message}"
