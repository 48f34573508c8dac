"""Phase 6 of loading, per keyword: from located YAML values to typed model parts.

Each ``parse_*`` function takes a raw value and its location, returns the
model value, and appends located diagnostics to ``diags`` instead of raising,
so one run reports every problem. Where GitLab would refuse a value we report
an error; where GitLab would accept something dubious (a number where a
string is expected, a ``null`` list item) we follow GitLab and warn.

Flattening follows GitLab exactly: nested lists are flattened in ``script``,
``before_script``, ``after_script``, ``rules`` and ``needs`` (``!reference``
produces such nesting), but not in ``tags`` or ``dependencies``; ``null``
items are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gatehouse.core.config.nodes import LocDict, LocList
from gatehouse.core.expressions import Expression, ExpressionError, parse
from gatehouse.core.model import (
    WHEN_VALUES,
    AllowFailure,
    Artifacts,
    Cache,
    Changes,
    Environment,
    Image,
    Need,
    OnlyExcept,
    Retry,
    Rule,
    Service,
    Trigger,
)
from gatehouse.core.variables import Variable
from gatehouse.errors import Diagnostic, Location, error, warning
from gatehouse.settings import parse_duration

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
RULE_KEYS = (
    "if",
    "changes",
    "exists",
    "when",
    "allow_failure",
    "variables",
    "needs",
    "interruptible",
    "start_in",
)
WORKFLOW_RULE_KEYS = ("if", "changes", "exists", "when", "variables", "auto_cancel")
_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_NEEDS = 50


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return "string"


def key_loc(mapping: Any, key: str, default: Location | None) -> Location | None:
    if isinstance(mapping, LocDict):
        return mapping.key_locs.get(key, default)
    return default


def item_loc(seq: Any, index: int, default: Location | None) -> Location | None:
    if isinstance(seq, LocList):
        return seq.item_loc(index) or default
    return default


def flatten(value: Any, loc: Location | None) -> list[tuple[Any, Location | None]]:
    """Flatten nested lists (any depth), dropping ``null`` items, keeping each item's location."""
    out: list[tuple[Any, Location | None]] = []

    def walk(v: Any, where: Location | None) -> None:
        if isinstance(v, list):
            for i, item in enumerate(v):
                walk(item, item_loc(v, i, where))
        elif v is not None:
            out.append((v, where))

    walk(value, loc)
    return out


def parse_commands(
    value: Any, loc: Location | None, what: str, diags: list[Diagnostic]
) -> tuple[str, ...]:
    """``script`` and friends: a string or a (nested) list of strings."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list):
        diags.append(
            error(
                "invalid-script",
                f"{what} must be a string or a list of strings, not a {_type(value)}",
                loc,
            )
        )
        return ()
    commands = []
    for item, where in flatten(value, loc):
        if isinstance(item, str):
            commands.append(item)
        elif isinstance(item, int | float) and not isinstance(item, bool):
            diags.append(
                warning(
                    "coerced-value",
                    f"{what}: number {item!r} used as the command {str(item)!r}",
                    where,
                )
            )
            commands.append(str(item))
        else:
            diags.append(
                error("invalid-script", f"{what} items must be strings, not a {_type(item)}", where)
            )
    return tuple(commands)


def parse_string_list(
    value: Any, loc: Location | None, what: str, diags: list[Diagnostic], *, nested: bool = False
) -> tuple[str, ...]:
    """A string or list of strings; ``nested`` allows (and flattens) nested lists."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list):
        diags.append(
            error("invalid-value", f"{what} must be a list of strings, not a {_type(value)}", loc)
        )
        return ()
    out = []
    items = (
        flatten(value, loc)
        if nested
        else [(v, item_loc(value, i, loc)) for i, v in enumerate(value)]
    )
    for item, where in items:
        if item is None:
            continue
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            diags.append(
                error("invalid-value", f"{what} items must be strings, not a {_type(item)}", where)
            )
            continue
        out.append(str(item))
    return tuple(out)


def parse_bool(value: Any, loc: Location | None, what: str, diags: list[Diagnostic]) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    diags.append(error("invalid-value", f"{what} must be true or false, not {value!r}", loc))
    return None


def parse_variables(
    value: Any, loc: Location | None, what: str, diags: list[Diagnostic]
) -> tuple[Variable, ...]:
    """``variables``: name → value, or the long form ``{value, description, expand, options}``."""
    if value is None:
        return ()
    if not isinstance(value, dict):
        diags.append(
            error(
                "invalid-variables",
                f"{what} must be a mapping of names to values, not a {_type(value)}",
                loc,
            )
        )
        return ()
    out = []
    for name, raw in value.items():
        where = key_loc(value, name, loc)
        name = str(name)
        if not _VAR_NAME.match(name):
            diags.append(
                warning(
                    "invalid-variable-name",
                    f"variable name {name!r} has characters other than letters, digits and '_'; "
                    "shells cannot use it",
                    where,
                )
            )
        expand = True
        description = None
        options: tuple[str, ...] = ()
        if isinstance(raw, dict):
            for k in raw:
                if k not in ("value", "description", "expand", "options"):
                    diags.append(
                        warning(
                            "unknown-keyword",
                            f"variable {name}: unknown key {k!r} (ignored)",
                            key_loc(raw, k, where),
                        )
                    )
            description = raw.get("description")
            expand_raw = raw.get("expand", True)
            if not isinstance(expand_raw, bool):
                diags.append(
                    error(
                        "invalid-variables", f"variable {name}: expand must be true or false", where
                    )
                )
            else:
                expand = expand_raw
            opts = raw.get("options")
            if isinstance(opts, list):
                options = tuple(str(o) for o in opts)
            raw = raw.get("value", "")
        text = _variable_value(name, raw, where, diags)
        if text is None:
            continue
        if options and text not in options:
            diags.append(
                error(
                    "invalid-variables",
                    f"variable {name}: value {text!r} is not one of its options {list(options)!r}",
                    where,
                )
            )
        out.append(
            Variable(name, text, expand, str(description) if description else None, options, where)
        )
    return tuple(out)


def _variable_value(
    name: str, raw: Any, loc: Location | None, diags: list[Diagnostic]
) -> str | None:
    if raw is None:
        diags.append(
            warning("null-variable", f"variable {name} has no value; using an empty string", loc)
        )
        return ""
    if isinstance(raw, bool):
        diags.append(
            error(
                "invalid-variables",
                f"variable {name}: a boolean is not a valid value",
                loc,
                hint=f'quote it: {name}: "{"true" if raw else "false"}"',
            )
        )
        return None
    if isinstance(raw, int | float):
        text = str(raw)
        written = getattr(raw, "written", None)
        if written is not None and written != text:
            diags.append(
                warning(
                    "coerced-value",
                    f"variable {name}: the unquoted YAML number {written} becomes {text!r}",
                    loc,
                    hint=f'quote it to keep it as written: {name}: "{written}"',
                )
            )
        return text
    if isinstance(raw, str):
        return raw
    diags.append(
        error(
            "invalid-variables", f"variable {name}: value must be a string, not a {_type(raw)}", loc
        )
    )
    return None


def parse_when(
    value: Any,
    loc: Location | None,
    what: str,
    diags: list[Diagnostic],
    allowed: tuple[str, ...] = WHEN_VALUES,
) -> str | None:
    if value is None:
        return None
    if value not in allowed:
        diags.append(
            error(
                "invalid-when",
                f"{what} must be one of {', '.join(allowed)}, not {value!r}",
                loc,
            )
        )
        return None
    return str(value)


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


def parse_timeout(
    value: Any, loc: Location | None, what: str, diags: list[Diagnostic]
) -> float | None:
    if value is None:
        return None
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        diags.append(
            error(
                "invalid-timeout",
                f"{what}: {exc}",
                loc,
                hint="write a duration such as '1h 30m' or '90 minutes'",
            )
        )
        return None
    if seconds <= 0:
        diags.append(error("invalid-timeout", f"{what} must be positive", loc))
        return None
    return seconds


def parse_needs(value: Any, loc: Location | None, diags: list[Diagnostic]) -> tuple[Need, ...]:
    needs: list[Need] = []
    if not isinstance(value, list):
        value = [value]
    for item, where in flatten(value, loc):
        if isinstance(item, str):
            needs.append(Need(item, loc=where))
            continue
        if not isinstance(item, dict):
            diags.append(
                error(
                    "invalid-needs",
                    f"a needs entry must be a job name or a mapping, not {item!r}",
                    where,
                )
            )
            continue
        for k in item:
            if k not in ("job", "artifacts", "optional", "parallel", "project", "pipeline", "ref"):
                diags.append(
                    error("invalid-needs", f"needs: unknown key {k!r}", key_loc(item, k, where))
                )
        artifacts = item.get("artifacts", True)
        optional = item.get("optional", False)
        if not isinstance(artifacts, bool) or not isinstance(optional, bool):
            diags.append(
                error("invalid-needs", "needs: artifacts and optional must be true or false", where)
            )
            continue
        if "pipeline" in item:
            needs.append(
                Need(
                    str(item.get("job", "")),
                    artifacts,
                    optional,
                    pipeline=str(item["pipeline"]),
                    loc=where,
                )
            )
            continue
        job = item.get("job")
        if not isinstance(job, str):
            diags.append(
                error("invalid-needs", "needs: a mapping entry needs a job name (job: …)", where)
            )
            continue
        if "project" in item:
            needs.append(Need(job, artifacts, optional, project=str(item["project"]), loc=where))
            continue
        matrix = None
        parallel = item.get("parallel")
        if parallel is not None:
            rows = parallel.get("matrix") if isinstance(parallel, dict) else None
            if not isinstance(rows, list):
                diags.append(
                    error("invalid-needs", "needs:parallel must have a matrix list", where)
                )
            else:
                matrix = tuple(_matrix_row(row, where, diags) for row in rows)
        needs.append(Need(job, artifacts, optional, matrix, loc=where))
    if len(needs) > MAX_NEEDS:
        diags.append(
            error("too-many-needs", f"{len(needs)} needs; GitLab allows at most {MAX_NEEDS}", loc)
        )
    return tuple(needs)


def _matrix_row(
    row: Any, loc: Location | None, diags: list[Diagnostic]
) -> Mapping[str, tuple[str, ...]]:
    if not isinstance(row, dict):
        diags.append(
            error("invalid-matrix", "a matrix entry must be a mapping of variables to values", loc)
        )
        return {}
    out: dict[str, tuple[str, ...]] = {}
    for k, v in row.items():
        values = v if isinstance(v, list) else [v]
        out[str(k)] = tuple(str(x) for x in values)
    return out


def parse_matrix(
    value: Any, loc: Location | None, diags: list[Diagnostic]
) -> list[Mapping[str, tuple[str, ...]]]:
    if not isinstance(value, list) or not value:
        diags.append(
            error("invalid-parallel", "parallel:matrix must be a non-empty list of mappings", loc)
        )
        return []
    rows = []
    for i, row in enumerate(value):
        where = item_loc(value, i, loc)
        parsed = _matrix_row(row, where, diags)
        for k in parsed:
            if not re.match(r"^[A-Za-z0-9_]+$", k):
                diags.append(
                    error(
                        "invalid-parallel",
                        f"matrix variable name {k!r} may only use letters, digits and '_'",
                        where,
                    )
                )
        rows.append(parsed)
    return rows


def parse_changes(value: Any, loc: Location | None, diags: list[Diagnostic]) -> Changes:
    if isinstance(value, dict):
        for k in value:
            if k not in ("paths", "compare_to"):
                diags.append(
                    error(
                        "invalid-rule", f"rules:changes: unknown key {k!r}", key_loc(value, k, loc)
                    )
                )
        paths = parse_string_list(value.get("paths"), loc, "rules:changes:paths", diags)
        compare_to = value.get("compare_to")
        return Changes(paths, str(compare_to) if compare_to is not None else None)
    return Changes(parse_string_list(value, loc, "rules:changes", diags))


def parse_exists(value: Any, loc: Location | None, diags: list[Diagnostic]) -> tuple[str, ...]:
    if isinstance(value, dict):
        if "project" in value:
            diags.append(
                warning(
                    "unsupported",
                    "rules:exists:project looks in another project; gatehouse checks this project's files",
                    loc,
                )
            )
        return parse_string_list(value.get("paths"), loc, "rules:exists:paths", diags)
    return parse_string_list(value, loc, "rules:exists", diags)


def parse_expression(
    value: Any, loc: Location | None, what: str, diags: list[Diagnostic]
) -> Expression | None:
    if not isinstance(value, str):
        diags.append(
            error("invalid-rule-if", f"{what} must be a string expression, not {value!r}", loc)
        )
        return None
    try:
        return parse(value)
    except ExpressionError as exc:
        hint = None
        if "${" in value:
            hint = "rules:if takes $NAME, not ${NAME} (GitLab rejects the braces too)"
        diags.append(
            error(
                "invalid-rule-if",
                f"invalid {what} {value!r}: {exc}",
                loc,
                hint=hint or 'the syntax is $VAR == "value", $VAR =~ /regex/, &&, ||, (…), null',
            )
        )
        return None


def parse_rules(
    value: Any, loc: Location | None, diags: list[Diagnostic], *, workflow: bool = False
) -> tuple[Rule, ...]:
    where_name = "workflow:rules" if workflow else "rules"
    if not isinstance(value, list):
        diags.append(error("invalid-rules", f"{where_name} must be a list of rules", loc))
        return ()
    rules = []
    allowed = WORKFLOW_RULE_KEYS if workflow else RULE_KEYS
    for item, where in flatten(value, loc):
        if not isinstance(item, dict):
            diags.append(
                error("invalid-rule", f"each entry of {where_name} must be a mapping", where)
            )
            continue
        for k in item:
            if k not in allowed:
                if workflow and k in ("start_in", "allow_failure", "needs"):
                    diags.append(
                        warning(
                            "ignored-keyword",
                            f"workflow:rules: {k} has no effect there",
                            key_loc(item, k, where),
                        )
                    )
                else:
                    diags.append(
                        error(
                            "invalid-rule",
                            f"{where_name}: unknown key {k!r}",
                            key_loc(item, k, where),
                            hint="a rule may have: " + ", ".join(allowed),
                        )
                    )
        if not any(k in item for k in ("if", "changes", "exists", "when")):
            diags.append(
                error(
                    "invalid-rule", "a rule needs at least one of if, changes, exists, when", where
                )
            )
        cond = (
            parse_expression(item["if"], key_loc(item, "if", where), f"{where_name}:if", diags)
            if "if" in item
            else None
        )
        if "if" in item and cond is None:
            continue
        when_allowed = ("always", "never") if workflow else WHEN_VALUES
        when = parse_when(
            item.get("when"),
            key_loc(item, "when", where),
            f"{where_name}:when",
            diags,
            when_allowed,
        )
        changes = (
            parse_changes(item["changes"], key_loc(item, "changes", where), diags)
            if "changes" in item
            else None
        )
        exists = (
            parse_exists(item["exists"], key_loc(item, "exists", where), diags)
            if "exists" in item
            else None
        )
        needs = (
            parse_needs(item["needs"], key_loc(item, "needs", where), diags)
            if "needs" in item and not workflow
            else None
        )
        auto_cancel = (
            item.get("auto_cancel")
            if workflow and isinstance(item.get("auto_cancel"), dict)
            else None
        )
        start_in = item.get("start_in")
        if when == "delayed" and not start_in:
            diags.append(error("invalid-rule", "a rule with when: delayed needs start_in", where))
        rules.append(
            Rule(
                if_=cond,
                changes=changes,
                exists=exists,
                when=when,
                allow_failure=parse_allow_failure(
                    item.get("allow_failure"), key_loc(item, "allow_failure", where), diags
                )
                if not workflow
                else None,
                variables=parse_variables(
                    item.get("variables"),
                    key_loc(item, "variables", where),
                    f"{where_name}:variables",
                    diags,
                ),
                needs=needs,
                interruptible=parse_bool(
                    item.get("interruptible"), where, "rules:interruptible", diags
                )
                if not workflow
                else None,
                start_in=str(start_in) if start_in is not None else None,
                auto_cancel={str(k): str(v) for k, v in auto_cancel.items()}
                if auto_cancel
                else None,
                loc=where,
            )
        )
    return tuple(rules)


def parse_only_except(
    value: Any, loc: Location | None, what: str, diags: list[Diagnostic]
) -> OnlyExcept | None:
    if value is None:
        return None
    if isinstance(value, str | list):
        return OnlyExcept(refs=parse_string_list(value, loc, what, diags), loc=loc)
    if not isinstance(value, dict):
        diags.append(
            error("invalid-only-except", f"{what} must be a list of refs or a mapping", loc)
        )
        return None
    for k in value:
        if k not in ("refs", "variables", "changes", "kubernetes"):
            diags.append(
                error("invalid-only-except", f"{what}: unknown key {k!r}", key_loc(value, k, loc))
            )
    expressions = []
    for i, raw in enumerate(value.get("variables") or []):
        expr = parse_expression(
            raw, item_loc(value.get("variables"), i, loc), f"{what}:variables", diags
        )
        if expr is not None:
            expressions.append(expr)
    kubernetes = value.get("kubernetes")
    if kubernetes is not None:
        diags.append(
            warning(
                "ignored-keyword",
                f"{what}:kubernetes is ignored (there is no Kubernetes integration locally)",
                key_loc(value, "kubernetes", loc),
            )
        )
    changes = value.get("changes")
    if isinstance(changes, dict):
        changes = changes.get("paths")
    return OnlyExcept(
        refs=parse_string_list(
            value.get("refs"), key_loc(value, "refs", loc), f"{what}:refs", diags
        ),
        variables=tuple(expressions),
        changes=parse_string_list(
            changes, key_loc(value, "changes", loc), f"{what}:changes", diags
        ),
        kubernetes=str(kubernetes) if kubernetes is not None else None,
        loc=loc,
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
            expire_seconds = parse_duration(expire_in)
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
        key = entry.get("key")
        key_files: tuple[str, ...] = ()
        key_prefix = None
        if isinstance(key, dict):
            key_files = parse_string_list(key.get("files"), where, "cache:key:files", diags)
            key_prefix = str(key["prefix"]) if key.get("prefix") is not None else None
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
                when=str(entry.get("when", "on_success")),
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
