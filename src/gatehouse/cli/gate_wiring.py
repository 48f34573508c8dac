"""The gate on this machine: settings, the store, the repository, and the driver's parts.

Shared by the ``gatehouse gate`` commands. Everything that touches the world
for the gate is chosen here — the git repository (:mod:`gatehouse.vcs.git`),
a speculative commit's files (:class:`gatehouse.vcs.files.CommitFiles`),
workspaces and executors (:mod:`gatehouse.cli.engine_wiring`, the same as
``gatehouse run``), the results database's flake oracle with the best
pattern matcher installed — and handed to the driver as ports.

A queue is named after the repository and its target branch
(``/path/to/repo:main``), so several projects can share one database.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatehouse.errors import GateError, UsageError

if TYPE_CHECKING:
    from gatehouse.core.gate import GateSettings
    from gatehouse.core.model import PlannedPipeline
    from gatehouse.core.ports import Repository, WorkspaceSource
    from gatehouse.engine.gate.builds import BuildTarget, NoPipeline
    from gatehouse.engine.gate.settings import GateDriverSettings
    from gatehouse.executors.workspace import Snapshot, Workspaces
    from gatehouse.storage import Store

GATE_SECTION = "gate"
LOG_TAIL_BYTES = 64 * 1024


def queue_name(root: Path, target_branch: str) -> str:
    return f"{root}:{target_branch}"


@dataclass(frozen=True, slots=True)
class GateContext:
    """What every ``gatehouse gate`` command starts from."""

    root: Path
    file_data: Mapping[str, Any]
    settings: GateSettings
    driver: GateDriverSettings

    @property
    def queue(self) -> str:
        return queue_name(self.root, self.settings.target_branch)


def gate_context(directory: str, target: str | None = None) -> GateContext:
    """The repository at ``directory`` and its resolved gate settings (located errors)."""
    from gatehouse.cli.config_file import FILE_NAME, read_project_file, settings_for
    from gatehouse.core.gate import GateSettings
    from gatehouse.engine.gate.settings import GateDriverSettings

    root = Path(directory).resolve()
    if not root.is_dir():
        raise UsageError(f"{directory}: not a directory")
    file_data = read_project_file(root)
    path = root / FILE_NAME
    check_gate_section(path, file_data, (GateSettings, GateDriverSettings))
    flags = {"target_branch": target}
    try:
        settings = settings_for(GateSettings, root, flags, file_data)
    except UsageError as exc:
        # A combination refused as a whole names keys, not where they came from.
        if exc.message.startswith("gate."):
            if target is not None and exc.message.startswith("gate.target_branch"):
                raise UsageError(f"--target: {exc.message}", hint=exc.hint) from exc
            if GATE_SECTION in file_data:
                raise UsageError(f"{path}: [{GATE_SECTION}]: {exc.message}", hint=exc.hint) from exc
        raise
    driver = settings_for(GateDriverSettings, root, None, file_data)
    return GateContext(root, file_data, settings, driver)


def check_gate_section(path: Path, file_data: Mapping[str, Any], classes: tuple[type, ...]) -> None:
    """Every key of ``[gate]`` must be known and parse; the error names file, line, key, value."""
    import dataclasses
    from difflib import get_close_matches

    section = file_data.get(GATE_SECTION)
    if section is None:
        return
    if not isinstance(section, Mapping):
        raise UsageError(f"{path}: [{GATE_SECTION}] must be a table of settings")
    fields = {
        f.metadata["key"].split(".", 1)[1]: f
        for cls in classes
        for f in dataclasses.fields(cls)
        if (f.metadata.get("key") or "").startswith(f"{GATE_SECTION}.")
    }
    for key, value in section.items():
        where = _located(path, key)
        field = fields.get(key)
        if field is None:
            close = get_close_matches(key, list(fields), n=1)
            raise UsageError(
                f"{where}: unknown setting {key!r} in [{GATE_SECTION}]",
                hint=f"did you mean {close[0]!r}?"
                if close
                else "known: " + ", ".join(sorted(fields)),
            )
        parse = field.metadata.get("parse")
        if parse is None:
            continue
        try:
            parse(value)
        except (ValueError, TypeError) as exc:
            raise UsageError(
                f"{where}: {GATE_SECTION}.{key} = {value!r}: {exc}",
                hint="docs/gate.md lists the [gate] settings",
            ) from exc


def _located(path: Path, key: str) -> str:
    """``path:line`` of ``key`` in the ``[gate]`` table (or a ``gate.key`` line), else ``path``."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return str(path)
    table = ""
    for number, line in enumerate(lines, start=1):
        header = re.match(r"\s*\[\s*([^\]]+?)\s*\]\s*(#.*)?$", line)
        if header:
            table = header.group(1)
            continue
        if table == GATE_SECTION and re.match(rf"\s*\"?{re.escape(key)}\"?\s*=", line):
            return f"{path}:{number}"
        if table == "" and re.match(rf"\s*{GATE_SECTION}\.{re.escape(key)}\s*=", line):
            return f"{path}:{number}"
    return str(path)


def open_gate_store(context: GateContext) -> Store:
    """The project's store (created if needed: enqueuing comes before any run)."""
    from gatehouse.cli.config_file import settings_for
    from gatehouse.cli.engine_wiring import prepare_data_dir
    from gatehouse.storage import open_store
    from gatehouse.storage.settings import StorageSettings

    settings = settings_for(StorageSettings, context.root, None, context.file_data)
    if not settings.database_url:
        prepare_data_dir(context.root, settings.data_dir)
    return open_store(settings, project_dir=str(context.root))


def open_repository(root: Path) -> Repository:
    from gatehouse.vcs.git import GitRepository

    return GitRepository(str(root))


@contextlib.contextmanager
def driver_lock(data_dir: Path, queue: str) -> Iterator[None]:
    """One ``gatehouse gate run`` per queue on this machine; released when the process ends."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", queue).strip("-")[-80:]
    path = data_dir / f"gate-{slug}.lock"
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise GateError(
                f"the gate of {queue} is already driven by {holder}",
                hint="stop it first (Ctrl-C), or use `gatehouse gate status` to watch it",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()


def read_log_tail(path: str, limit: int = LOG_TAIL_BYTES) -> list[tuple[str, str]]:
    """The last lines of a job log as ``(kind, text)`` (the engine's LogTail)."""
    from gatehouse.executors.joblog import parse_line

    try:
        with open(path, "rb") as stream:
            stream.seek(0, os.SEEK_END)
            size = stream.tell()
            stream.seek(max(0, size - limit))
            data = stream.read()
    except OSError:
        return []
    raw = data.split(b"\n")
    if size > limit:
        raw = raw[1:]  # the first line is cut
    out = []
    for chunk in raw:
        if chunk:
            line = parse_line(chunk)
            out.append((line.kind, line.text))
    return out


class CommitProject:
    """The project at a speculative commit: planned from its own files, run on its own tree.

    Implements :class:`gatehouse.engine.gate.builds.GateProject`.
    """

    def __init__(
        self,
        root: Path,
        repo: Repository,
        workspaces: Workspaces,
        *,
        main_file: str = ".gitlab-ci.yml",
        include_dir: str | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> None:
        from gatehouse.vcs.facts import read_facts

        self.root = root
        self.repo = repo
        self.workspaces = workspaces
        self.main_file = main_file
        self.include_dir = include_dir
        self.variables = dict(variables or {})
        self.facts = read_facts(root)
        self._snapshots: dict[str, Snapshot] = {}
        self._lock = threading.Lock()

    def plan(self, target: BuildTarget) -> PlannedPipeline | NoPipeline:
        from gatehouse.cli.project import load_for_context
        from gatehouse.core.model import MergeRequest, PipelineContext
        from gatehouse.core.planner import plan
        from gatehouse.engine.gate.builds import NoPipeline
        from gatehouse.errors import VcsError
        from gatehouse.vcs.facts import commit_details
        from gatehouse.vcs.files import CommitFiles, DirectoryFiles

        author, timestamp, message = commit_details(self.root, target.commit)
        change = target.changes[-1]
        _, _, change_message = commit_details(self.root, change.commit)
        facts = self.facts
        context = PipelineContext(
            ref=target.source_branch,
            event="merge_request_event",
            sha=target.commit,
            default_branch=facts.default_branch,
            commit_message=message,
            commit_author=author,
            commit_timestamp=timestamp,
            project_dir=str(self.root),
            project_name=facts.name or self.root.name,
            project_namespace=facts.namespace or "local",
            server_host=facts.server_host or "gitlab.example.com",
            changed_files=target.changed_files,
            variables=self.variables,
            merge_request=MergeRequest(
                source_branch=target.source_branch,
                target_branch=target.target_branch,
                iid=target.item,
                title=change_message.partition("\n")[0],
                target_branch_sha=target.base,
                diff_base_sha=target.base,
                event_type="merge_train",
            ),
            config_path=self.main_file,
        )

        def compare_to(ref: str) -> tuple[str, ...] | None:
            try:
                return self.repo.changed_files(self.repo.resolve(ref), target.commit)
            except VcsError:
                return None

        mirror = DirectoryFiles(self.include_dir) if self.include_dir else None
        config, options, _ = load_for_context(
            CommitFiles(self.root, target.commit),
            context,
            main_file=self.main_file,
            mirror=mirror,
            compare_to=compare_to,
        )
        at = target.commit[:12]
        errors = [d for d in config.diagnostics if d.is_error]
        if errors:
            return NoPipeline(f"the configuration at {at} has errors: {errors[0].render()}")
        pipeline = plan(config, context, options)
        errors = [d for d in pipeline.diagnostics if d.is_error]
        if errors:
            return NoPipeline(f"the pipeline at {at} cannot be planned: {errors[0].render()}")
        if not pipeline.created or not pipeline.jobs:
            return NoPipeline(
                f"no pipeline at {at}: {pipeline.reason or 'no job to run'} (a gate pipeline is a "
                "merge-request pipeline: as in GitLab, jobs without rules run in it only when "
                "workflow:rules let merge_request_event pipelines run; see docs/gate.md)"
            )
        return pipeline

    def snapshot(self, commit: str) -> WorkspaceSource:
        from gatehouse.core.ports import WorkspaceSource

        snapshot = self.workspaces.snapshot(WorkspaceSource(str(self.root), commit))
        key = snapshot.source.snapshot_dir or snapshot.path
        with self._lock:
            self._snapshots[key] = snapshot
        return snapshot.source

    def discard(self, source: WorkspaceSource) -> None:
        with self._lock:
            snapshot = self._snapshots.pop(source.snapshot_dir or "", None)
        if snapshot is not None:
            self.workspaces.discard(snapshot)
