"""Artifacts at the workspace's edge: choosing the files a job produced, storing them, restoring inputs.

Selecting (GitLab's ``artifacts:`` for one job):

- ``paths`` are doublestar globs (:mod:`.globs`) relative to the workspace. A
  path naming a directory means everything below it. ``./`` prefixes are
  dropped; an absolute path is accepted only when it lies inside the
  workspace (``$CI_PROJECT_DIR/out`` is common) and is made relative. A path
  with a ``..`` segment or an absolute path elsewhere is refused with a log
  line: artifacts never come from outside the workspace.
- ``untracked: true`` adds every file that is not among the snapshot's
  tracked files (ignored files included, as GitLab does).
- ``exclude`` patterns are matched against *files*, not directories: it is
  not recursive, so ``exclude: [build/tmp]`` removes only a file of that
  name and ``build/tmp/**`` is how to drop a directory's content (GitLab's
  rule).
- Symbolic links are never followed while walking (like the runner since
  18.1). A link that matches is stored as a link (its target text as the
  blob, mode ``0o120777``) and recreated as a link on restore. A literal path
  may pass through a link to a directory only if the resolved place is
  inside the workspace.
- Empty directories are not artifacts.

Storing: each selected file goes into the :class:`ArtifactStore` once even if
several artifact sets name it (``paths`` and a ``reports:junit``, say). When
the workspace is about to be deleted the store *adopts* the files (a rename
into the store instead of a copy).

Restoring: the files of ``artifacts_in`` manifests are materialized as private
copies, later manifests overwriting earlier ones on a name clash (GitLab's
order). A missing blob is reported before anything is written.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from gatehouse.core.ports import ArtifactFile, ArtifactManifest, ArtifactStore
from gatehouse.errors import StorageError

from .globs import compile_globs, expand_braces, has_magic, literal_base

SYMLINK_MODE = stat.S_IFLNK | 0o777
Note = Callable[[str], None]


@dataclass
class Selection:
    """Relative paths chosen for one artifact set, and whether each is a symlink."""

    files: dict[str, bool] = field(default_factory=dict)  # path -> is_symlink


def _inside(workspace_real: str, path: str) -> bool:
    real = os.path.realpath(path)
    return real == workspace_real or real.startswith(workspace_real + os.sep)


def normalize_pattern(workspace: str, pattern: str) -> str | None:
    """The pattern relative to the workspace, or ``None`` when it points outside."""
    text = pattern.strip()
    if os.path.isabs(text):
        for root in (workspace, os.path.realpath(workspace)):
            if text == root or text.startswith(root.rstrip("/") + "/"):
                text = text[len(root) :].lstrip("/")
                break
        else:
            return None
    while text.startswith("./"):
        text = text[2:].lstrip("/")
    text = text.rstrip("/")
    if text in ("", "."):
        return "**"
    if any(part == ".." for part in text.split("/")):
        return None
    return text


def _walk(workspace: str, rel_dir: str) -> Iterator[tuple[str, bool, bool]]:
    """Every entry below ``rel_dir``: (relative path, is_dir, is_symlink); links not followed."""
    start = os.path.join(workspace, rel_dir) if rel_dir else workspace
    stack = [(start, rel_dir)]
    while stack:
        directory, rel = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            entry_rel = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_symlink():
                yield entry_rel, False, True
            elif entry.is_dir(follow_symlinks=False):
                yield entry_rel, True, False
                stack.append((entry.path, entry_rel))
            elif entry.is_file(follow_symlinks=False):
                yield entry_rel, False, False


def _add_tree(workspace: str, rel: str, out: dict[str, bool]) -> None:
    for path, is_dir, is_link in _walk(workspace, rel):
        if not is_dir:
            out[path] = is_link


def select(
    workspace: str,
    paths: Sequence[str],
    *,
    exclude: Sequence[str] = (),
    untracked: bool = False,
    tracked: Callable[[], frozenset[str]] | None = None,
    note: Note = lambda _: None,
    what: str = "artifacts",
) -> Selection:
    """Choose the files of one artifact set; problems become log lines through ``note``."""
    workspace_real = os.path.realpath(workspace)
    chosen: dict[str, bool] = {}
    for raw in paths:
        pattern = normalize_pattern(workspace, raw)
        if pattern is None:
            note(f"WARNING: {what}: {raw}: refused, artifacts must be inside the workspace")
            continue
        found: dict[str, bool] = {}
        for expanded in expand_braces(pattern):
            _select_one(workspace, workspace_real, expanded, found=found, note=note, what=what)
        if not found:
            note(f"WARNING: {what}: {raw}: no matching files")
        chosen.update(found)
    if untracked:
        known = tracked() if tracked is not None else frozenset()
        for path, is_dir, is_link in _walk(workspace, ""):
            if not is_dir and path not in known:
                chosen[path] = is_link
    excluded = compile_globs([p for p in (normalize_pattern(workspace, e) for e in exclude) if p])
    if excluded is not None:
        chosen = {p: link for p, link in chosen.items() if not excluded.fullmatch(p)}
    return Selection(dict(sorted(chosen.items())))


def _select_one(
    workspace: str,
    workspace_real: str,
    pattern: str,
    *,
    found: dict[str, bool],
    note: Note,
    what: str,
) -> None:
    if not has_magic(pattern):
        full = os.path.join(workspace, pattern)
        if not os.path.lexists(full):
            return
        if not _inside(workspace_real, os.path.dirname(full)):
            note(f"WARNING: {what}: {pattern}: refused, it leads outside the workspace")
            return
        mode = os.lstat(full).st_mode
        if stat.S_ISLNK(mode):
            found[pattern] = True
        elif stat.S_ISDIR(mode):
            _add_tree(workspace, pattern, found)
        elif stat.S_ISREG(mode):
            found[pattern] = False
        return
    base = literal_base(pattern)
    if base and not os.path.isdir(os.path.join(workspace, base)):
        return
    if base and not _inside(workspace_real, os.path.join(workspace, base)):
        note(f"WARNING: {what}: {pattern}: refused, it leads outside the workspace")
        return
    regex = compile_globs([pattern])
    assert regex is not None
    for path, is_dir, is_link in _walk(workspace, base):
        if regex.fullmatch(path):
            if is_dir:
                _add_tree(workspace, path, found)
            else:
                found[path] = is_link


def store_selections(
    store: ArtifactStore,
    workspace: str,
    selections: Mapping[str, Selection],
    *,
    consume: bool,
) -> dict[str, ArtifactManifest]:
    """Store every selected file once; one manifest per selection name.

    ``consume`` lets the store adopt (move) the files: only when the workspace
    is deleted afterwards.
    """
    stored: dict[str, ArtifactFile] = {}
    manifests: dict[str, ArtifactManifest] = {}
    for name, selection in selections.items():
        files = []
        for path, is_link in selection.files.items():
            if path not in stored:
                stored[path] = _store_one(store, workspace, path, is_link, consume=consume)
            files.append(stored[path])
        manifests[name] = ArtifactManifest(tuple(files))
    return manifests


def _store_one(
    store: ArtifactStore, workspace: str, path: str, is_link: bool, *, consume: bool
) -> ArtifactFile:
    full = os.path.join(workspace, path)
    if is_link:
        target = os.readlink(full).encode()
        return ArtifactFile(path, store.put_stream(io.BytesIO(target)), SYMLINK_MODE)
    mode = 0o755 if os.lstat(full).st_mode & 0o111 else 0o644
    blob = store.adopt(full) if consume else store.put_path(full)
    return ArtifactFile(path, blob, mode)


def missing_inputs(
    store: ArtifactStore, manifests: Sequence[ArtifactManifest]
) -> list[ArtifactFile]:
    return [f for m in manifests for f in m.files if not store.exists(f.blob)]


def restore(
    store: ArtifactStore, workspace: str, manifests: Sequence[ArtifactManifest]
) -> list[str]:
    """Materialize ``manifests`` into the workspace; returns problems (empty when all went well)."""
    problems: list[str] = []
    workspace_real = os.path.realpath(workspace)
    for manifest in manifests:
        for item in manifest.files:
            rel = normalize_pattern(workspace, item.path)
            if rel is None or rel == "**" or os.path.isabs(item.path):
                problems.append(f"{item.path}: refused, not a path inside the workspace")
                continue
            dest = os.path.join(workspace, rel)
            parent = os.path.dirname(dest)
            # Check where the existing part of the path leads *before* creating
            # directories: makedirs would follow a symlink out of the workspace.
            existing = parent
            while not os.path.lexists(existing):
                existing = os.path.dirname(existing)
            if not _inside(workspace_real, existing):
                problems.append(f"{item.path}: refused, it leads outside the workspace")
                continue
            try:
                os.makedirs(parent, exist_ok=True)
                if stat.S_ISLNK(item.mode):
                    with store.open(item.blob) as stream:
                        target = os.fsdecode(stream.read())
                    if os.path.lexists(dest) and not os.path.isdir(dest):
                        os.unlink(dest)
                    os.symlink(target, dest)
                else:
                    store.materialize(item.blob, dest, item.mode & 0o777)
            except (OSError, StorageError) as exc:
                reason = exc.message if isinstance(exc, StorageError) else exc.strerror or exc
                problems.append(f"{item.path}: {reason}")
    return problems
