"""Phase 6 of loading, shared shapes: from located YAML values to plain typed values.

Every keyword parser builds on these: a command list, a list of strings, a
boolean, a duration, a ``when``, the ``variables`` mapping. Each takes a raw
value and its location, returns the model value, and appends located
diagnostics to ``diags`` instead of raising, so one run reports every
problem. Where GitLab would refuse a value we report an error; where GitLab
accepts something dubious (a number where a string is expected, a ``null``
list item) we follow GitLab and warn.

Flattening follows GitLab exactly: :func:`flatten` is used for ``script``,
``before_script``, ``after_script``, ``rules``, ``needs`` and ``stages``
(``!reference`` produces such nesting), never for ``tags`` or
``dependencies``; ``null`` items are dropped.
"""

from __future__ import annotations

import re
from typing import Any

from gatehouse.core.config.nodes import LocDict, LocList
from gatehouse.core.model import WHEN_VALUES
from gatehouse.core.variables import Variable
from gatehouse.errors import Diagnostic, Location, error, warning
from gatehouse.settings import parse_duration

_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def type_name(value: Any) -> str:
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


MAX_NESTING = 10  # GitLab: commands and stages nest at most 10 levels


def flatten(
    value: Any, loc: Location | None, *, keep_nulls: bool = False
) -> list[tuple[Any, Location | None]]:
    """Flatten nested lists (any depth), keeping each item's location.

    ``null`` items are dropped, as GitLab drops them in ``needs`` and
    ``rules``; with ``keep_nulls`` they are kept so the caller can refuse them
    (a ``null`` command is an error in GitLab).
    """
    out: list[tuple[Any, Location | None]] = []

    def walk(v: Any, where: Location | None) -> None:
        if isinstance(v, list):
            for i, item in enumerate(v):
                walk(item, item_loc(v, i, where))
        elif v is not None or keep_nulls:
            out.append((v, where))

    walk(value, loc)
    return out


def nesting(value: Any) -> int:
    """How deep lists nest in ``value`` (a plain list is 1)."""
    if not isinstance(value, list):
        return 0
    return 1 + max((nesting(v) for v in value), default=0)


def _not_a_string(what: str, item: Any, where: Location | None, code: str) -> Diagnostic:
    if item is None:
        hint = "remove the empty item"
    elif isinstance(item, bool | int | float):
        written = getattr(item, "written", None) or (
            str(item).lower() if isinstance(item, bool) else str(item)
        )
        hint = f'quote it: "{written}"'
    else:
        hint = None
    return error(code, f"{what} items must be strings, not a {type_name(item)}", where, hint=hint)


def parse_commands(
    value: Any, loc: Location | None, what: str, diags: list[Diagnostic]
) -> tuple[str, ...]:
    """``script`` and friends: a string or a list of strings nested at most 10 levels.

    As in GitLab, nested lists are flattened and every item must be a string:
    a number or a ``null`` item is an error.
    """
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list):
        diags.append(
            error(
                "invalid-script",
                f"{what} must be a string or a list of strings, not a {type_name(value)}",
                loc,
            )
        )
        return ()
    if nesting(value) > MAX_NESTING:
        diags.append(
            error(
                "invalid-script",
                f"{what} nests lists more than {MAX_NESTING} levels deep",
                loc,
                hint="GitLab flattens at most 10 levels of nested lists (from !reference)",
            )
        )
    commands = []
    for item, where in flatten(value, loc, keep_nulls=True):
        if isinstance(item, str):
            commands.append(item)
        else:
            diags.append(_not_a_string(what, item, where, "invalid-script"))
    return tuple(commands)


def parse_string_list(
    value: Any, loc: Location | None, what: str, diags: list[Diagnostic], *, nested: bool = False
) -> tuple[str, ...]:
    """A string or a list of strings; ``nested`` allows (and flattens) nested lists.

    Items must be strings, as GitLab requires: a number or ``null`` item is an
    error with a hint to quote it.
    """
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list):
        diags.append(
            error(
                "invalid-value", f"{what} must be a list of strings, not a {type_name(value)}", loc
            )
        )
        return ()
    if nested and nesting(value) > MAX_NESTING:
        diags.append(
            error("invalid-value", f"{what} nests lists more than {MAX_NESTING} levels deep", loc)
        )
    out = []
    items = (
        flatten(value, loc, keep_nulls=True)
        if nested
        else [(v, item_loc(value, i, loc)) for i, v in enumerate(value)]
    )
    for item, where in items:
        if not isinstance(item, str):
            diags.append(_not_a_string(what, item, where, "invalid-value"))
            continue
        out.append(item)
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
                f"{what} must be a mapping of names to values, not a {type_name(value)}",
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
            "invalid-variables",
            f"variable {name}: value must be a string, not a {type_name(raw)}",
            loc,
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


def duration(value: Any) -> float:
    """A human duration (``3h 30m``) or a number of seconds; ``ValueError`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"not a duration: {type_name(value)} {value!r}")
    return parse_duration(value)


def parse_timeout(
    value: Any, loc: Location | None, what: str, diags: list[Diagnostic]
) -> float | None:
    if value is None:
        return None
    try:
        seconds = duration(value)
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
