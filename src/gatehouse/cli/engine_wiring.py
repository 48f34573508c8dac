"""The local engine's parts, assembled once for every command that runs pipelines here.

``gatehouse run`` (one pipeline) and ``gatehouse gate run`` (the gate's
pipelines) need the same things: resolved engine/storage/executor settings,
the data directory (kept out of ``git status``), the store, the workspaces,
an executor (shell or sandbox) checked to work, and how many jobs may run at
once. :func:`open_local_engine` builds them; the commands only add what is
their own (a snapshot and one runner; a gate driver and its builds).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatehouse.errors import UsageError

if TYPE_CHECKING:  # imported when a command runs, not when --help is built
    from gatehouse.engine.settings import EngineSettings
    from gatehouse.executors.workspace import Workspaces
    from gatehouse.storage import Store

# Host variables a job inherits, like a shell runner's jobs do; the rest of the
# environment is the pipeline's (HOME and TMPDIR are the job's own directories).
HOST_VARIABLES = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "USER", "LOGNAME", "TERM")


@dataclass
class LocalEngine:
    root: Path
    settings: EngineSettings
    data_dir: Path
    store: Store
    workspaces: Workspaces
    executor: Any
    concurrency: int
    blobs: Any = None  # the artifact store (the results feed reads JUnit reports from it)

    def close(self) -> None:
        self.store.close()


def open_local_engine(
    root: Path,
    file_data: Mapping[str, Any],
    *,
    concurrency: int | None = None,
    fail_fast: bool | None = None,
    data_dir: str | None = None,
    executor: str | None = None,
) -> LocalEngine:
    """Resolve the settings (flags given here > environment > gatehouse.toml) and build the parts."""
    from gatehouse.artifacts.store import LocalBlobStore
    from gatehouse.cli.config_file import settings_for
    from gatehouse.engine.settings import EngineSettings, effective_concurrency
    from gatehouse.executors.settings import ExecutorSettings
    from gatehouse.executors.workspace import Workspaces
    from gatehouse.storage import open_store
    from gatehouse.storage.settings import StorageSettings

    engine_settings = settings_for(
        EngineSettings, root, {"concurrency": concurrency, "fail_fast": fail_fast}, file_data
    )
    storage_settings = settings_for(StorageSettings, root, {"data_dir": data_dir}, file_data)
    exec_settings = settings_for(ExecutorSettings, root, None, file_data)
    directory = prepare_data_dir(root, storage_settings.data_dir)
    blobs = LocalBlobStore(str(directory / "blobs"))
    workspaces = Workspaces(
        exec_settings.work_dir or str(directory / "work"),
        keep_failed=exec_settings.keep_failed_workspaces,
    )
    name = (
        executor
        or os.environ.get("GATEHOUSE_EXECUTOR")
        or file_data.get("run", {}).get("executor", "shell")
    )
    chosen = make_executor(name, blobs, workspaces, exec_settings, directory)
    chosen.check()
    store = open_store(storage_settings, project_dir=str(root))
    return LocalEngine(
        root=root,
        settings=engine_settings,
        data_dir=directory,
        store=store,
        workspaces=workspaces,
        executor=chosen,
        concurrency=effective_concurrency(engine_settings, os.cpu_count() or 1),
        blobs=blobs,
    )


def results_feed(engine: LocalEngine, *, working_tree: bool) -> Any:
    """The engine's results reporter: every pipeline in the results database (docs/results.md).

    Problems storing results are printed (``results: …``) and never stop a pipeline.
    """
    import platform
    import re
    import sys

    from gatehouse.resultsdb.feed import PipelineResultsFeed

    def problem(message: str) -> None:
        sys.stderr.write(f"results: {message}\n")

    arch = re.sub(r"[^a-z0-9_]", "_", platform.machine().lower()) or None
    return PipelineResultsFeed(
        engine.store.results,
        engine.blobs,
        architecture=arch,
        working_tree=working_tree,
        on_problem=problem,
    )


def prepare_data_dir(root: Path, configured: str) -> Path:
    directory = Path(configured)
    if not directory.is_absolute():
        directory = root / directory
    directory.mkdir(parents=True, exist_ok=True)
    ignore = directory / ".gitignore"
    if not ignore.exists():
        # Keep the data directory out of `git status` (as pytest and mypy do with their caches).
        ignore.write_text("# written by gatehouse: this directory holds local results\n*\n")
    return directory


def host_env() -> dict[str, str]:
    return {k: os.environ[k] for k in HOST_VARIABLES if k in os.environ}


def make_executor(name: str, blobs: Any, workspaces: Any, settings: Any, data_dir: Path) -> Any:
    if name == "sandbox":
        from gatehouse.executors.sandbox import SandboxExecutor

        return SandboxExecutor(
            blobs,
            workspaces,
            bwrap=settings.bwrap,
            hide=(str(data_dir),),
            kill_grace=settings.kill_grace,
        )
    if name != "shell":
        raise UsageError(f"unknown executor {name!r}", hint="use shell or sandbox")
    from gatehouse.executors.shell import ShellExecutor

    return ShellExecutor(blobs, workspaces, kill_grace=settings.kill_grace)
