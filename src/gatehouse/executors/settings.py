"""Executor settings (``[run]`` in ``gatehouse.toml``): workspaces, kill grace, logs, shell, bubblewrap."""

from __future__ import annotations

from dataclasses import dataclass

from gatehouse.settings import parse_bool, parse_duration, register, setting


@register
@dataclass(frozen=True, slots=True)
class ExecutorSettings:
    """How jobs are run on this machine; resolved by the CLI and passed to the executors."""

    work_dir: str = setting(
        "",
        "Where snapshots and job workspaces live (default: the data directory's work/).",
        env="GATEHOUSE_WORK_DIR",
        key="run.work_dir",
    )
    keep_failed_workspaces: bool = setting(
        False,
        "Keep the workspace of a failed job for debugging (the job log names its path).",
        env="GATEHOUSE_KEEP_FAILED_WORKSPACES",
        key="run.keep_failed_workspaces",
        parse=parse_bool,
    )
    kill_grace: float = setting(
        5.0,
        "Seconds between SIGTERM and SIGKILL when a job is timed out or canceled.",
        env="GATEHOUSE_KILL_GRACE",
        key="run.kill_grace",
        parse=parse_duration,
    )
    shell: str = setting(
        "bash",
        "The shell that runs job scripts (bash, or a POSIX sh).",
        env="GATEHOUSE_SHELL",
        key="run.shell",
    )
    bwrap: str = setting(
        "bwrap",
        "The bubblewrap program used by the sandbox executor (a name on PATH or a path).",
        env="GATEHOUSE_BWRAP",
        key="run.bwrap",
    )
