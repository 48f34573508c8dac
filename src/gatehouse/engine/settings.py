"""Engine settings (``[run]`` in gatehouse.toml, ``GATEHOUSE_*`` in the environment)."""

from __future__ import annotations

from dataclasses import dataclass

from gatehouse.settings import parse_bool, parse_duration, parse_size, register, setting


@register
@dataclass(frozen=True, slots=True)
class EngineSettings:
    """How the engine runs a pipeline on this machine."""

    concurrency: int = setting(
        0,
        "jobs run at the same time; 0 means the number of CPUs",
        env="GATEHOUSE_CONCURRENCY",
        key="run.concurrency",
        parse=lambda v: max(0, int(str(v))),
    )
    default_timeout: float = setting(
        3600.0,
        "timeout of a job that sets none (GitLab's project default: 1 hour)",
        env="GATEHOUSE_DEFAULT_TIMEOUT",
        key="run.default_timeout",
        parse=parse_duration,
    )
    max_timeout: float = setting(
        86400.0,
        "the most time any job may take; a job's own timeout cannot raise it (a runner's maximum_timeout)",
        env="GATEHOUSE_MAX_TIMEOUT",
        key="run.max_timeout",
        parse=parse_duration,
    )
    after_script_timeout: float = setting(
        300.0,
        "timeout of after_script, separate from the job's (GitLab: 5 minutes)",
        env="GATEHOUSE_AFTER_SCRIPT_TIMEOUT",
        key="run.after_script_timeout",
        parse=parse_duration,
    )
    log_limit: int = setting(
        4 * 1024 * 1024,
        "bytes of log kept per job; the rest is cut with a visible notice (GitLab's output_limit: 4 MiB)",
        env="GATEHOUSE_LOG_LIMIT",
        key="run.log_limit",
        parse=parse_size,
    )
    fail_fast: bool = setting(
        False,
        "stop the pipeline at the first failure that is not allowed",
        env="GATEHOUSE_FAIL_FAST",
        key="run.fail_fast",
        parse=parse_bool,
    )
    artifacts_expire_in: float | None = setting(
        30 * 86400.0,
        "expiry of artifacts whose job sets no expire_in (GitLab's default: 30 days)",
        env="GATEHOUSE_ARTIFACTS_EXPIRE_IN",
        key="run.artifacts_expire_in",
        parse=lambda v: None if str(v).strip().lower() == "never" else parse_duration(v),
    )
    cancel_poll: float = setting(
        1.0,
        "seconds between checks for a cancel request from another process",
        key="run.cancel_poll",
        parse=parse_duration,
    )


def effective_concurrency(settings: EngineSettings, cpus: int) -> int:
    return settings.concurrency or max(1, cpus)
