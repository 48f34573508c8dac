"""An in-memory git: the :class:`~gatehouse.core.ports.Repository` port without a repository.

Commits are snapshots of ``path -> text`` with parents; merges are three-way
at file granularity (a file changed differently on both sides is a
conflict), against a nearest common ancestor. That is coarser than git's
line merge and is documented as such: the contract tests only rely on what
both agree on. It ships in the package for scenario tests, simulations and
the engine's tests; :meth:`MemoryRepository.commit` and
:meth:`MemoryRepository.set_branch` build histories.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gatehouse.core.gate.landing import landing_verdict
from gatehouse.core.ports import LandOutcome, LandResult, MergeConflict, MergeResult
from gatehouse.errors import VcsError

_PIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


@dataclass(frozen=True, slots=True)
class _Commit:
    parents: tuple[str, ...]
    files: Mapping[str, str]
    tree: str
    message: str


def _tree_id(files: Mapping[str, str]) -> str:
    digest = hashlib.sha1(usedforsecurity=False)
    for path in sorted(files):
        digest.update(path.encode() + b"\0" + files[path].encode() + b"\0")
    return digest.hexdigest()


class MemoryRepository:
    """A repository held in dictionaries; every method behaves like :class:`GitRepository`'s."""

    def __init__(self) -> None:
        self._commits: dict[str, _Commit] = {}
        self._branches: dict[str, str] = {}
        self._pins: dict[str, str] = {}
        self._counter = 0

    # ------------------------------------------------------------------ building histories

    def commit(
        self,
        files: Mapping[str, str | None],
        parents: Sequence[str] = (),
        message: str = "",
    ) -> str:
        """Write a commit: the first parent's files changed by ``files`` (None deletes)."""
        resolved = tuple(self.resolve(p) for p in parents)
        snapshot = dict(self._commits[resolved[0]].files) if resolved else {}
        for path, text in files.items():
            if text is None:
                snapshot.pop(path, None)
            else:
                snapshot[path] = text
        return self._write(resolved, snapshot, message)

    def _write(self, parents: tuple[str, ...], files: Mapping[str, str], message: str) -> str:
        self._counter += 1
        tree = _tree_id(files)
        name = hashlib.sha1(
            f"{self._counter}\0{tree}\0{','.join(parents)}\0{message}".encode(),
            usedforsecurity=False,
        ).hexdigest()
        self._commits[name] = _Commit(parents, dict(files), tree, message)
        return name

    def set_branch(self, branch: str, commit: str) -> None:
        self._branches[branch] = self.resolve(commit)

    def files_of(self, commit: str) -> Mapping[str, str]:
        return dict(self._commits[self.resolve(commit)].files)

    # ------------------------------------------------------------------ the port

    def resolve(self, ref: str) -> str:
        if ref in self._commits:
            return ref
        for prefix, table in (
            ("refs/heads/", self._branches),
            ("refs/gatehouse/spec/", self._pins),
        ):
            if ref.startswith(prefix) and ref[len(prefix) :] in table:
                return table[ref[len(prefix) :]]
        if ref in self._branches:
            return self._branches[ref]
        if len(ref) >= 4 and re.fullmatch(r"[0-9a-f]+", ref):
            found = [name for name in self._commits if name.startswith(ref)]
            if len(found) == 1:
                return found[0]
        raise VcsError(f"unknown revision {ref!r} in the in-memory repository")

    def branch_tip(self, branch: str) -> str | None:
        return self._branches.get(branch)

    def tree_of(self, commit: str) -> str:
        return self._commits[self.resolve(commit)].tree

    def _ancestors(self, commit: str) -> set[str]:
        seen: set[str] = set()
        todo = [commit]
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(self._commits[name].parents)
        return seen

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return self.resolve(ancestor) in self._ancestors(self.resolve(descendant))

    def merge_base(self, a: str, b: str) -> str | None:
        common = self._ancestors(self.resolve(a)) & self._ancestors(self.resolve(b))
        # The best common ancestors are those no other common ancestor descends from.
        best = [c for c in common if not any(c != o and c in self._ancestors(o) for o in common)]
        return min(best) if best else None

    def changed_files(self, old: str, new: str) -> tuple[str, ...]:
        before = self._commits[self.resolve(old)].files
        after = self._commits[self.resolve(new)].files
        return tuple(sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p)))

    def speculative_merge(
        self,
        base: str,
        changes: Sequence[str],
        *,
        pin: str,
        titles: Sequence[str] = (),
    ) -> MergeResult:
        self._check_pin(pin)
        current = self.resolve(base)
        for index, change in enumerate(changes):
            commit = self.resolve(change)
            title = titles[index] if index < len(titles) else commit[:12]
            if self.is_ancestor(commit, current):
                continue
            if self.is_ancestor(current, commit):
                current = commit
                continue
            ancestor = self.merge_base(current, commit)
            if ancestor is None:
                return MergeResult(
                    None, None, MergeConflict(commit, (), "refusing to merge unrelated histories")
                )
            merged = _three_way(
                self._commits[ancestor].files,
                self._commits[current].files,
                self._commits[commit].files,
            )
            if isinstance(merged, tuple):
                return MergeResult(None, None, MergeConflict(commit, merged, "merge conflict"))
            current = self._write((current, commit), merged, f"Merge {title}")
        self._pins[pin] = current
        return MergeResult(current, self._commits[current].tree)

    def _check_pin(self, pin: str) -> None:
        if not _PIN.fullmatch(pin):
            raise VcsError(f"not a valid pin name: {pin!r} (letters, digits, '.', '_', '-')")

    def release(self, pin: str) -> None:
        self._check_pin(pin)
        self._pins.pop(pin, None)

    def pins(self) -> tuple[str, ...]:
        return tuple(sorted(self._pins))

    def land(
        self, branch: str, commit: str, *, expected_tip: str, expected_tree: str
    ) -> LandResult:
        commit = self.resolve(commit)
        current = self._branches.get(branch)
        verdict = landing_verdict(
            branch,
            commit,
            tree=self._commits[commit].tree,
            expected_tree=expected_tree,
            current=current,
            expected_tip=expected_tip,
            descends=self.is_ancestor,
        )
        if verdict is not None:
            return verdict
        self._branches[branch] = commit
        return LandResult(LandOutcome.LANDED, commit)


def _three_way(
    base: Mapping[str, str], ours: Mapping[str, str], theirs: Mapping[str, str]
) -> dict[str, str] | tuple[str, ...]:
    """Merge file snapshots; a tuple of conflicting paths when both sides changed a file."""
    merged: dict[str, str] = {}
    conflicts: list[str] = []
    for path in sorted(set(base) | set(ours) | set(theirs)):
        b, o, t = base.get(path), ours.get(path), theirs.get(path)
        if t in (o, b):
            result = o
        elif o == b:
            result = t
        else:
            conflicts.append(path)
            continue
        if result is not None:
            merged[path] = result
    return tuple(conflicts) if conflicts else merged
