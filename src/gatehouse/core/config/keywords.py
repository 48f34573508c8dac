"""Phase 6 of loading, per job keyword: from located YAML values to typed model parts.

``allow_failure``, ``retry``, ``artifacts``, ``cache``, ``image``,
``services``, ``environment``, ``trigger`` and ``coverage``. Like every
parser of the loader, each takes a raw value and its location, returns the
model value and appends located diagnostics instead of raising. The shared
shapes (commands, string lists, variables, durations) live in
:mod:`gatehouse.core.config.values`; ``rules`` and ``only``/``except`` in
:mod:`gatehouse.core.config.conditions`; ``needs`` in
:mod:`gatehouse.core.config.needs`.
"""

from __future__ import annotations

import re
from typing import Any

from gatehouse.core.config.values import (
    duration,
    flatten,
    item_loc,
    key_loc,
    parse_bool,
    parse_string_list,
    parse_variables,
    parse_when,
)
from gatehouse.core.model import (
    AllowFailure,
    Artifacts,
    Cache,
    Environment,
    Image,
    Retry,
    Service,
    Trigger,
)
from gatehouse.errors import Diagnostic, Location, error, warning

CACHE_KEYS = ("key", "paths", "untracked", "when", "policy", "fallback_keys", "unprotect")
RETRY_WHEN = (
    "always",
    "unknown_failure",
    "script_failure",
    "api_failure",
    "stuck_or_timeout_failure",
    "runner_system_failure",
    "runner_unsupported",
    "stale_schedule",
    "job_execution_timeout",
    "archived_failure",
    "unmet_prerequisites",
    "scheduler_failure",
    "data_integrity_failure",
    "runner_interrupted",
)


def parse_allow_failure(
    value: Any, loc: Location | None, diags: list[Diagnostic]
) -> AllowFailure | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return AllowFailure(value)
    if isinstance(value, dict) and "exit_codes" in value:
        codes = value["exit_codes"]
        codes_list = codes if isinstance(codes, list) else [codes]
        if not all(isinstance(c, int) and not isinstance(c, bool) for c in codes_list):
            diags.append(
                error("invalid-allow-failure", "allow_failure:exit_codes must be integers", loc)
            )
            return None
        return AllowFailure(True, tuple(int(c) for c in codes_list))
    diags.append(
        error(
            "invalid-allow-failure",
            f"allow_failure must be true, false or {{exit_codes: …}}, not {value!r}",
            loc,
        )
    )
    return None


def parse_retry(value: Any, loc: Location | None, diags: list[Diagnostic]) -> Retry:
    if value is None:
        return Retry()
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value <= 2:
            diags.append(
                error(
                    "invalid-retry",
                    f"retry must be 0, 1 or 2, not {value}",
                    loc,
                    hint="GitLab allows at most 2 retries",
                )
            )
            return Retry()
        return Retry(value)
    if not isinstance(value, dict):
        diags.append(
            error("invalid-retry", f"retry must be a number or a mapping, not {value!r}", loc)
        )
        return Retry()
    maximum = value.get("max", 0)
    if not isinstance(maximum, int) or isinstance(maximum, bool) or not 0 <= maximum <= 2:
        diags.append(
            error(
                "invalid-retry",
                f"retry:max must be 0, 1 or 2, not {maximum!r}",
                key_loc(value, "max", loc),
            )
        )
        maximum = 0
    when = value.get("when", "always")
    when_list = [when] if isinstance(when, str) else list(when) if isinstance(when, list) else []
    for w in when_list:
        if w not in RETRY_WHEN:
            diags.append(
                warning(
                    "unknown-retry-when",
                    f"retry:when {w!r} is not a failure type gatehouse knows; it never matches here",
                    key_loc(value, "when", loc),
                    hint="known types: " + ", ".join(RETRY_WHEN),
                )
            )
    codes = value.get("exit_codes", [])
    codes_list = codes if isinstance(codes, list) else [codes]
    if not all(isinstance(c, int) and not isinstance(c, bool) for c in codes_list):
        diags.append(
            error(
                "invalid-retry",
                "retry:exit_codes must be integers",
                key_loc(value, "exit_codes", loc),
            )
        )
        codes_list = []
    for k in value:
        if k not in ("max", "when", "exit_codes"):
            diags.append(
                warning(
                    "unknown-keyword", f"retry: unknown key {k!r} (ignored)", key_loc(value, k, loc)
                )
            )
    return Retry(
        maximum, tuple(str(w) for w in when_list) or ("always",), tuple(int(c) for c in codes_list)
    )


def parse_artifacts(value: Any, loc: Location | None, diags: list[Diagnostic]) -> Artifacts | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        diags.append(error("invalid-artifacts", "artifacts must be a mapping", loc))
        return None
    known = (
        "paths",
        "exclude",
        "untracked",
        "when",
        "expire_in",
        "name",
        "reports",
        "expose_as",
        "public",
        "access",
    )
    for k in value:
        if k not in known:
            diags.append(
                warning(
                    "unknown-keyword",
                    f"artifacts: unknown key {k!r} (kept, ignored)",
                    key_loc(value, k, loc),
                )
            )
    when = (
        parse_when(
            value.get("when"),
            key_loc(value, "when", loc),
            "artifacts:when",
            diags,
            ("on_success", "on_failure", "always"),
        )
        or "on_success"
    )
    expire_in = value.get("expire_in")
    expire_seconds = None
    if expire_in is not None and str(expire_in).strip().lower() != "never":
        try:
            expire_seconds = duration(expire_in)
        except ValueError as exc:
            diags.append(
                error(
                    "invalid-artifacts",
                    f"artifacts:expire_in: {exc}",
                    key_loc(value, "expire_in", loc),
                )
            )
    reports: dict[str, tuple[str, ...]] = {}
    raw_reports = value.get("reports")
    if raw_reports is not None:
        if not isinstance(raw_reports, dict):
            diags.append(
                error(
                    "invalid-artifacts",
                    "artifacts:reports must be a mapping",
                    key_loc(value, "reports", loc),
                )
            )
        else:
            for kind, paths in raw_reports.items():
                where = key_loc(raw_reports, kind, loc)
                if isinstance(paths, dict):  # e.g. coverage_report: {coverage_format, path}
                    path = paths.get("path")
                    reports[str(kind)] = (str(path),) if path else ()
                else:
                    reports[str(kind)] = parse_string_list(
                        paths, where, f"artifacts:reports:{kind}", diags
                    )
    access = value.get("access")
    if access is None and value.get("public") is False:
        access = "developer"
    return Artifacts(
        paths=parse_string_list(
            value.get("paths"), key_loc(value, "paths", loc), "artifacts:paths", diags
        ),
        exclude=parse_string_list(
            value.get("exclude"), key_loc(value, "exclude", loc), "artifacts:exclude", diags
        ),
        untracked=bool(parse_bool(value.get("untracked"), loc, "artifacts:untracked", diags)),
        when=when,
        expire_in=str(expire_in) if expire_in is not None else None,
        expire_seconds=expire_seconds,
        name=str(value["name"]) if value.get("name") is not None else None,
        reports=reports,
        expose_as=str(value["expose_as"]) if value.get("expose_as") is not None else None,
        access=str(access) if access is not None else None,
    )


def parse_cache(value: Any, loc: Location | None, diags: list[Diagnostic]) -> tuple[Cache, ...]:
    if value is None:
        return ()
    entries = value if isinstance(value, list) else [value]
    if len(entries) > 4:
        diags.append(error("invalid-cache", f"{len(entries)} caches; GitLab allows at most 4", loc))
    out = []
    for i, entry in enumerate(entries):
        where = item_loc(value, i, loc) if isinstance(value, list) else loc
        if not isinstance(entry, dict):
            diags.append(
                error("invalid-cache", "cache must be a mapping (or a list of mappings)", where)
            )
            continue
        for k in entry:
            if k not in CACHE_KEYS:
                diags.append(
                    warning(
                        "unknown-keyword",
                        f"cache: unknown key {k!r} (ignored)",
                        key_loc(entry, k, where),
                    )
                )
        when = entry.get("when", "on_success")
        if when not in ("on_success", "on_failure", "always"):
            diags.append(
                error(
                    "invalid-cache",
                    f"cache:when must be on_success, on_failure or always, not {when!r}",
                    key_loc(entry, "when", where),
                )
            )
        key = entry.get("key")
        key_files: tuple[str, ...] = ()
        key_prefix = None
        if isinstance(key, dict):
            key_files = parse_string_list(key.get("files"), where, "cache:key:files", diags)
            key_prefix = str(key["prefix"]) if key.get("prefix") is not None else None
            if "files_commits" in key:
                diags.append(
                    warning(
                        "ignored-keyword",
                        "cache:key:files_commits is not supported; the key uses the files' contents",
                        key_loc(key, "files_commits", where),
                    )
                )
            key = None
        policy = str(entry.get("policy", "pull-push"))
        if policy not in ("pull", "push", "pull-push"):
            diags.append(
                error(
                    "invalid-cache",
                    f"cache:policy must be pull, push or pull-push, not {policy!r}",
                    where,
                )
            )
        out.append(
            Cache(
                key=str(key) if key is not None else None,
                key_files=key_files,
                key_prefix=key_prefix,
                paths=parse_string_list(entry.get("paths"), where, "cache:paths", diags),
                untracked=bool(entry.get("untracked", False)),
                when=str(when),
                policy=policy,
                fallback_keys=parse_string_list(
                    entry.get("fallback_keys"), where, "cache:fallback_keys", diags
                ),
                unprotect=bool(entry.get("unprotect", False)),
            )
        )
    return tuple(out)


def parse_image(value: Any, loc: Location | None, diags: list[Diagnostic]) -> Image | None:
    if value is None:
        return None
    if isinstance(value, str):
        return Image(value)
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        entrypoint = value.get("entrypoint")
        policy = value.get("pull_policy")
        return Image(
            value["name"],
            tuple(str(e) for e in entrypoint) if isinstance(entrypoint, list) else None,
            tuple(str(p) for p in policy)
            if isinstance(policy, list)
            else (str(policy),)
            if policy
            else (),
            value.get("docker") if isinstance(value.get("docker"), dict) else None,
        )
    diags.append(error("invalid-image", "image must be a name or a mapping with a name", loc))
    return None


def parse_services(
    value: Any, loc: Location | None, diags: list[Diagnostic]
) -> tuple[Service, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        diags.append(error("invalid-services", "services must be a list", loc))
        return ()
    out = []
    for item, where in flatten(value, loc):
        if isinstance(item, str):
            out.append(Service(item))
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            entrypoint = item.get("entrypoint")
            command = item.get("command")
            out.append(
                Service(
                    item["name"],
                    str(item["alias"]) if item.get("alias") else None,
                    tuple(str(e) for e in entrypoint) if isinstance(entrypoint, list) else None,
                    tuple(str(c) for c, _ in flatten(command, where))
                    if isinstance(command, list)
                    else None,
                    parse_variables(item.get("variables"), where, "services:variables", diags),
                )
            )
        else:
            diags.append(
                error(
                    "invalid-services", "a service must be a name or a mapping with a name", where
                )
            )
    return tuple(out)


def parse_environment(
    value: Any, loc: Location | None, diags: list[Diagnostic]
) -> Environment | None:
    if value is None:
        return None
    if isinstance(value, str):
        return Environment(value)
    if isinstance(value, dict) and isinstance(value.get("name"), str):

        def opt(k: str) -> str | None:
            return str(value[k]) if value.get(k) is not None else None

        return Environment(
            value["name"],
            opt("url"),
            opt("action"),
            opt("on_stop"),
            opt("deployment_tier"),
            opt("auto_stop_in"),
        )
    diags.append(
        error("invalid-environment", "environment must be a name or a mapping with a name", loc)
    )
    return None


def parse_trigger(value: Any, loc: Location | None, diags: list[Diagnostic]) -> Trigger | None:
    if value is None:
        return None
    if isinstance(value, str):
        return Trigger(project=value)
    if isinstance(value, dict):
        include = value.get("include")
        includes = tuple(include) if isinstance(include, list) else (include,) if include else ()
        forward = value.get("forward")
        return Trigger(
            project=str(value["project"]) if value.get("project") else None,
            branch=str(value["branch"]) if value.get("branch") else None,
            include=includes,
            strategy=str(value["strategy"]) if value.get("strategy") else None,
            forward={str(k): bool(v) for k, v in forward.items()}
            if isinstance(forward, dict)
            else None,
        )
    diags.append(error("invalid-trigger", "trigger must be a project path or a mapping", loc))
    return None


def parse_coverage(value: Any, loc: Location | None, diags: list[Diagnostic]) -> str | None:
    if value is None:
        return None
    text = str(value)
    m = re.fullmatch(r"/(.*)/", text, re.DOTALL)
    if not m:
        diags.append(
            error("invalid-coverage", f"coverage must be a regex written /…/, not {text!r}", loc)
        )
        return None
    try:
        re.compile(m.group(1))
    except re.error as exc:
        diags.append(error("invalid-coverage", f"coverage regex {text}: {exc}", loc))
        return None
    return m.group(1)
