"""Phases 5 and 6 of loading: stages, defaults and jobs, from merged YAML to the model.

After include, ``extends`` and ``!reference``, the top level holds global
keywords, hidden templates (names starting with ``.``) and jobs. This module:

- reads ``stages`` (default ``build, test, deploy``; ``.pre`` first and
  ``.post`` last are always there; nested lists are flattened);
- collects the defaults: ``default:`` plus the legacy top-level ``image``,
  ``services``, ``cache``, ``before_script``, ``after_script``. A default is
  *copied* into a job that lacks the key — never merged — unless the job opts
  out with ``inherit: default: false`` or a key list; ``inherit: variables``
  does the same for global variables (applied by the planner);
- parses every job keyword into the typed model, keeping unknown keywords
  (with a warning) so nothing the user wrote is silently lost;
- hands ``parallel`` to :mod:`gatehouse.core.config.parallel`, which makes
  the concrete jobs with GitLab's exact names.
"""

from __future__ import annotations

from collections.abc import Mapping
from difflib import get_close_matches
from typing import Any

from gatehouse.core.config import keywords as kw
from gatehouse.core.config.conditions import parse_only_except, parse_rules
from gatehouse.core.config.needs import parse_needs
from gatehouse.core.config.nodes import LocDict
from gatehouse.core.config.parallel import expand_parallel
from gatehouse.core.config.values import (
    key_loc,
    parse_bool,
    parse_commands,
    parse_string_list,
    parse_timeout,
    parse_variables,
    parse_when,
)
from gatehouse.core.model import DEFAULT_STAGES, JobSpec, Workflow
from gatehouse.errors import Diagnostic, Location, error, warning

GLOBAL_KEYWORDS = frozenset(
    {
        "default",
        "include",
        "stages",
        "types",
        "variables",
        "workflow",
        "image",
        "services",
        "cache",
        "before_script",
        "after_script",
        "spec",
    }
)
DEFAULT_KEYS = (
    "after_script",
    "artifacts",
    "before_script",
    "cache",
    "hooks",
    "id_tokens",
    "image",
    "interruptible",
    "retry",
    "services",
    "tags",
    "timeout",
)
LEGACY_DEFAULT_KEYS = ("image", "services", "cache", "before_script", "after_script")
# Keywords we parse and use.
JOB_KEYWORDS = frozenset(
    {
        "after_script",
        "allow_failure",
        "artifacts",
        "before_script",
        "cache",
        "coverage",
        "dependencies",
        "environment",
        "except",
        "extends",
        "image",
        "inherit",
        "interruptible",
        "needs",
        "only",
        "parallel",
        "resource_group",
        "retry",
        "rules",
        "script",
        "services",
        "stage",
        "start_in",
        "tags",
        "timeout",
        "trigger",
        "variables",
        "when",
        "type",
    }
)
# Keywords GitLab knows that have no local meaning: kept in JobSpec.extra, no warning.
KEPT_KEYWORDS = frozenset(
    {
        "release",
        "pages",
        "secrets",
        "id_tokens",
        "identity",
        "dast_configuration",
        "manual_confirmation",
        "hooks",
        "run",
        "publish",
    }
)


def read_stages(root: LocDict, diags: list[Diagnostic]) -> tuple[str, ...]:
    raw = root.get("stages", root.get("types"))
    if "types" in root and "stages" not in root:
        diags.append(
            warning(
                "deprecated-keyword", "`types` is deprecated; use `stages`", root.key_loc("types")
            )
        )
    if raw is None:
        stages: list[str] = list(DEFAULT_STAGES)
    else:
        loc = root.key_loc("stages" if "stages" in root else "types")
        stages = list(parse_string_list(raw, loc, "stages", diags, nested=True))
        for reserved in (".pre", ".post"):
            if reserved in stages:
                stages.remove(reserved)
        seen: set[str] = set()
        for stage in list(stages):
            if stage in seen:
                diags.append(warning("duplicate-stage", f"stage {stage!r} is listed twice", loc))
            seen.add(stage)
        stages = list(dict.fromkeys(stages))
    return (".pre", *stages, ".post")


def read_workflow(root: LocDict, diags: list[Diagnostic]) -> Workflow | None:
    raw = root.get("workflow")
    if raw is None:
        return None
    loc = root.key_loc("workflow")
    if not isinstance(raw, dict):
        diags.append(error("invalid-workflow", "workflow must be a mapping", loc))
        return None
    for k in raw:
        if k not in ("rules", "name", "auto_cancel"):
            diags.append(
                warning(
                    "unknown-keyword",
                    f"workflow: unknown key {k!r} (ignored)",
                    key_loc(raw, k, loc),
                )
            )
    rules = (
        parse_rules(raw["rules"], key_loc(raw, "rules", loc), diags, workflow=True)
        if "rules" in raw
        else None
    )
    auto_cancel = raw.get("auto_cancel")
    return Workflow(
        name=str(raw["name"]) if raw.get("name") is not None else None,
        rules=rules,
        auto_cancel={str(k): str(v) for k, v in auto_cancel.items()}
        if isinstance(auto_cancel, dict)
        else None,
    )


def read_defaults(root: LocDict, diags: list[Diagnostic]) -> LocDict:
    """The job defaults: ``default:`` plus the legacy top-level keys."""
    defaults = LocDict(root.loc)
    for key in LEGACY_DEFAULT_KEYS:
        if key in root and root[key] is not None:
            defaults.set(key, root[key], root.key_loc(key))
    raw = root.get("default")
    if raw is None:
        return defaults
    loc = root.key_loc("default")
    if not isinstance(raw, dict):
        diags.append(error("invalid-default", "default must be a mapping", loc))
        return defaults
    for key, value in raw.items():
        where = key_loc(raw, key, loc)
        if key not in DEFAULT_KEYS:
            diags.append(
                warning(
                    "unknown-keyword",
                    f"default: {key!r} cannot have a default (ignored)",
                    where,
                    hint="default may set: " + ", ".join(DEFAULT_KEYS),
                )
            )
            continue
        if key in defaults:
            diags.append(
                error(
                    "conflicting-default",
                    f"{key} is defined in top-level and `default:` entry",
                    where,
                    hint=f"keep one: move the top-level {key} into default:",
                )
            )
        if key == "timeout":
            diags.append(
                warning(
                    "ignored-keyword",
                    "default:timeout has no effect in GitLab (gitlab#213634); set timeout per job",
                    where,
                )
            )
            continue
        defaults.set(key, value, where)
    return defaults


def _inherit(
    job: Mapping[str, Any], loc: Location | None, diags: list[Diagnostic]
) -> tuple[bool | tuple[str, ...], bool | tuple[str, ...]]:
    raw = job.get("inherit")
    if raw is None:
        return True, True
    if not isinstance(raw, dict):
        diags.append(
            error(
                "invalid-inherit", "inherit must be a mapping with default: and/or variables:", loc
            )
        )
        return True, True
    result: list[bool | tuple[str, ...]] = []
    for key in ("default", "variables"):
        value = raw.get(key, True)
        if isinstance(value, bool):
            result.append(value)
        elif isinstance(value, list):
            result.append(tuple(str(v) for v in value))
        else:
            diags.append(
                error(
                    "invalid-inherit",
                    f"inherit:{key} must be true, false or a list",
                    key_loc(raw, key, loc),
                )
            )
            result.append(True)
    for key in raw:
        if key not in ("default", "variables"):
            diags.append(
                warning(
                    "unknown-keyword",
                    f"inherit: unknown key {key!r} (ignored)",
                    key_loc(raw, key, loc),
                )
            )
    return result[0], result[1]


def _apply_defaults(job: LocDict, defaults: LocDict, inherit: bool | tuple[str, ...]) -> LocDict:
    if inherit is False or not defaults:
        return job
    out = LocDict(job.loc, job.items())
    out.key_locs = dict(job.key_locs)
    for key, value in defaults.items():
        if job.get(key) is not None:  # a null value does not opt out, as in GitLab
            continue
        if isinstance(inherit, tuple) and key not in inherit:
            continue
        out.set(key, value, defaults.key_loc(key))
    return out


def build_job(
    name: str,
    raw: LocDict,
    loc: Location | None,
    defaults: LocDict,
    stages: tuple[str, ...],
    diags: list[Diagnostic],
    *,
    unresolved: tuple[str, ...] = (),
    external_missing: bool = False,
    broken_reference: bool = False,
) -> list[JobSpec]:
    """Parse one job definition into one or more concrete jobs (parallel expansion).

    ``unresolved`` names templates that could not be loaded (their include is
    unavailable); with ``external_missing`` a job without a script is assumed
    to be completed by an unavailable include: a warning, not an error.
    """
    inherit_default, inherit_variables = _inherit(raw, loc, diags)
    job = _apply_defaults(raw, defaults, inherit_default)
    extra: dict[str, Any] = {}
    for key in job:
        if key in JOB_KEYWORDS:
            continue
        if key in KEPT_KEYWORDS:
            extra[str(key)] = job[key]
            continue
        close = get_close_matches(str(key), sorted(JOB_KEYWORDS | KEPT_KEYWORDS), n=1)
        diags.append(
            warning(
                "unknown-keyword",
                f"job {name!r}: unknown keyword {key!r} (kept, not interpreted)",
                job.key_loc(key),
                hint=f"did you mean {close[0]!r}?" if close else None,
            )
        )
        extra[str(key)] = job[key]
    if "run" in job and "script" not in job:
        diags.append(
            warning(
                "unsupported",
                f"job {name!r}: `run` (CI steps) is not executed locally",
                job.key_loc("run"),
            )
        )

    def at(key: str) -> Location | None:
        return job.key_loc(key) if key in job else loc

    stage_raw = job.get("stage", job.get("type", "test"))
    stage = str(stage_raw) if stage_raw is not None else "test"
    if stage not in stages:
        close = get_close_matches(stage, list(stages), n=1)
        diags.append(
            error(
                "unknown-stage",
                f"job {name!r}: stage {stage!r} does not exist",
                at("stage"),
                hint=(f"did you mean {close[0]!r}? " if close else "")
                + "stages are: "
                + ", ".join(stages),
            )
        )
    script = parse_commands(job.get("script"), at("script"), "script", diags)
    trigger = kw.parse_trigger(job.get("trigger"), at("trigger"), diags)
    if not script and job.get("trigger") is None and "run" not in job:
        if unresolved or external_missing:
            diags.append(
                warning(
                    "incomplete-job",
                    f"job {name!r} has no script here; it is probably completed by an include "
                    "that is not available offline, and cannot run until that include is mirrored",
                    loc,
                    hint="mirror the include with --include-dir DIR",
                )
            )
            unresolved = unresolved or ("script",)
        elif not broken_reference:  # a failed !reference is reported already
            diags.append(
                error(
                    "missing-script",
                    f"job {name!r} has no script (nor trigger)",
                    loc,
                    hint="add script:, or start the name with '.' to make it a template",
                )
            )
    rules = parse_rules(job["rules"], at("rules"), diags) if job.get("rules") is not None else None
    only = parse_only_except(job.get("only"), at("only"), "only", diags)
    except_ = parse_only_except(job.get("except"), at("except"), "except", diags)
    if rules is not None and (only is not None or except_ is not None):
        diags.append(
            error(
                "rules-with-only",
                f"job {name!r}: rules cannot be used together with only/except",
                at("rules"),
                hint="move the only/except conditions into rules",
            )
        )
    when = (
        parse_when(
            job.get("when"),
            at("when"),
            "when",
            diags,
            ("on_success", "on_failure", "always", "manual", "delayed"),
        )
        or "on_success"
    )
    start_in = job.get("start_in")
    if rules is not None and start_in is not None:
        diags.append(
            error(
                "start-in-with-rules",
                f"job {name!r}: start_in may not be used with rules",
                at("start_in"),
                hint="move start_in (and when: delayed) into the rule",
            )
        )
    elif start_in is not None and when != "delayed":
        diags.append(
            error(
                "invalid-when",
                f"job {name!r}: start_in is only allowed with when: delayed",
                at("start_in"),
            )
        )
    elif when == "delayed" and not start_in and rules is None:
        diags.append(
            error("invalid-when", f"job {name!r}: when: delayed needs start_in", at("when"))
        )
    if start_in is not None:
        parse_timeout(start_in, at("start_in"), "start_in", diags)
    needs = (
        parse_needs(job["needs"], at("needs"), diags)
        if "needs" in job and job["needs"] is not None
        else None
    )
    dependencies = None
    if job.get("dependencies") is not None:
        if isinstance(job["dependencies"], list) and any(
            isinstance(d, list) for d in job["dependencies"]
        ):
            diags.append(
                error(
                    "invalid-dependencies",
                    "dependencies must be a flat list of job names (GitLab does not flatten it)",
                    at("dependencies"),
                )
            )
        dependencies = parse_string_list(
            job["dependencies"], at("dependencies"), "dependencies", diags
        )
    tags_raw = job.get("tags")
    if isinstance(tags_raw, list) and any(isinstance(t, list) for t in tags_raw):
        diags.append(
            error(
                "invalid-tags",
                "tags must be a flat list of strings (GitLab does not flatten it)",
                at("tags"),
            )
        )
    resource_group = job.get("resource_group")
    spec = JobSpec(
        name=name,
        base_name=name,
        loc=loc,
        stage=stage,
        script=script,
        before_script=parse_commands(
            job.get("before_script"), at("before_script"), "before_script", diags
        ),
        after_script=parse_commands(
            job.get("after_script"), at("after_script"), "after_script", diags
        ),
        variables=parse_variables(
            job.get("variables"), at("variables"), f"job {name!r} variables", diags
        ),
        inherit_variables=inherit_variables,
        rules=rules,
        only=only,
        except_=except_,
        when=when,
        start_in=str(start_in) if start_in is not None else None,
        allow_failure=kw.parse_allow_failure(job.get("allow_failure"), at("allow_failure"), diags),
        needs=needs,
        dependencies=dependencies,
        retry=kw.parse_retry(job.get("retry"), at("retry"), diags),
        timeout=parse_timeout(job.get("timeout"), at("timeout"), "timeout", diags),
        interruptible=parse_bool(
            job.get("interruptible"), at("interruptible"), "interruptible", diags
        ),
        resource_group=str(resource_group) if resource_group is not None else None,
        tags=parse_string_list(tags_raw, at("tags"), "tags", diags)
        if not (isinstance(tags_raw, list) and any(isinstance(t, list) for t in tags_raw))
        else (),
        artifacts=kw.parse_artifacts(job.get("artifacts"), at("artifacts"), diags),
        cache=kw.parse_cache(job.get("cache"), at("cache"), diags),
        image=kw.parse_image(job.get("image"), at("image"), diags),
        services=kw.parse_services(job.get("services"), at("services"), diags),
        coverage=kw.parse_coverage(job.get("coverage"), at("coverage"), diags),
        environment=kw.parse_environment(job.get("environment"), at("environment"), diags),
        trigger=trigger,
        unresolved=unresolved,
        extra=extra,
    )
    return expand_parallel(spec, job.get("parallel"), at("parallel"), diags)
