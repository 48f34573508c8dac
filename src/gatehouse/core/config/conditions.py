"""Phase 6 of loading: the conditions that decide whether a job runs.

``rules`` (job and workflow), legacy ``only``/``except``, and their parts:
``if`` expressions (parsed once here, evaluated by the planner),
``changes`` (with ``paths``/``compare_to``), ``exists``. A rule is kept even
when one of its parts is wrong, minus that part, so every mistake of a file
is reported in one run; a rule whose ``if`` does not parse is dropped, since
evaluating the rest of it would give a wrong answer.
"""

from __future__ import annotations

from typing import Any

from gatehouse.core.config.keywords import parse_allow_failure
from gatehouse.core.config.needs import parse_needs
from gatehouse.core.config.values import (
    flatten,
    item_loc,
    key_loc,
    parse_bool,
    parse_string_list,
    parse_variables,
    parse_when,
)
from gatehouse.core.expressions import Expression, ExpressionError, parse
from gatehouse.core.model import WHEN_VALUES, Changes, OnlyExcept, Rule
from gatehouse.errors import Diagnostic, Location, error, warning

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


MAX_PATTERNS = 50  # rules:changes and rules:exists
WORKFLOW_RULE_KEYS = ("if", "changes", "exists", "when", "variables", "auto_cancel")


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
        elif start_in is not None and when != "delayed" and not workflow:
            diags.append(
                error(
                    "invalid-rule",
                    "start_in is only allowed in a rule with when: delayed",
                    key_loc(item, "start_in", where),
                )
            )
        for what, patterns in (
            ("changes", changes.paths if changes else ()),
            ("exists", exists or ()),
        ):
            if len(patterns) > MAX_PATTERNS:
                diags.append(
                    error(
                        "invalid-rule",
                        f"rules:{what} has {len(patterns)} patterns; GitLab allows {MAX_PATTERNS}",
                        key_loc(item, what, where),
                    )
                )
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
    raw_vars = value.get("variables")
    if isinstance(raw_vars, str):
        raw_vars = [raw_vars]
    if raw_vars is not None and not isinstance(raw_vars, list):
        diags.append(
            error(
                "invalid-only-except",
                f"{what}:variables must be a list of expressions",
                key_loc(value, "variables", loc),
            )
        )
        raw_vars = None
    for i, raw in enumerate(raw_vars or []):
        expr = parse_expression(raw, item_loc(raw_vars, i, loc), f"{what}:variables", diags)
        if expr is not None:
            expressions.append(expr)
    kubernetes = value.get("kubernetes")
    if kubernetes is not None:
        diags.append(
            warning(
                "ignored-keyword",
                f"{what}:kubernetes: gatehouse has no Kubernetes integration, so "
                f"`kubernetes: active` never holds (the condition is false)",
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
