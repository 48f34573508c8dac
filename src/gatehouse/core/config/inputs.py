"""``spec:inputs`` and ``$[[ inputs.name ]]`` interpolation (GitLab CI components).

A file may declare inputs in a header document::

    spec:
      inputs:
        stage: {default: test}
        jobs: {type: array, default: []}
    ---
    "$[[ inputs.stage ]]-job":
      stage: $[[ inputs.stage ]]

Values come from the including entry's ``inputs:`` (or defaults). Each
declared input may have ``default`` (absent = required), ``type`` (string,
number, boolean, array), ``options`` and ``regex``. Interpolation happens at
load time of that file, before any merge, in keys and values. A string that is
exactly one ``$[[ … ]]`` block takes the input's own type; otherwise the value
is spliced into the string. Supported functions: ``expand_vars``,
``truncate(offset,length)``, ``posix_escape``.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping
from typing import Any

from gatehouse.core.config.nodes import LocDict, LocList
from gatehouse.core.variables import expand_once
from gatehouse.errors import Diagnostic, Location, error

_BLOCK = re.compile(r"\$\[\[\s*(.*?)\s*\]\]")
_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "number": (int, float),
    "boolean": bool,
    "array": list,
}


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return "array"
    return "string"


def resolve_inputs(
    header: LocDict | None,
    given: Mapping[str, Any] | None,
    given_loc: Location | None,
    file: str,
) -> tuple[dict[str, Any], list[Diagnostic]]:
    """Check given inputs against the ``spec:inputs`` header and fill in defaults."""
    diagnostics: list[Diagnostic] = []
    spec = header.get("spec") if header else None
    declared = spec.get("inputs") if isinstance(spec, dict) else None
    if declared is None:
        declared = {}
    if not isinstance(declared, dict):
        return {}, [
            error("invalid-inputs", "spec:inputs must be a mapping", header.loc if header else None)
        ]
    given = dict(given or {})
    values: dict[str, Any] = {}
    for name in given:
        if name not in declared:
            diagnostics.append(
                error(
                    "unknown-input",
                    f"unknown input {name!r} given to {file}",
                    given_loc,
                    hint="declared inputs: " + (", ".join(sorted(declared)) or "none"),
                )
            )
    for name, decl in declared.items():
        decl = decl if isinstance(decl, dict) else {}
        loc = declared.key_loc(name) if isinstance(declared, LocDict) else None
        if name in given:
            value = given[name]
        elif "default" in decl:
            value = decl["default"]
        else:
            diagnostics.append(
                error(
                    "missing-input",
                    f"input {name!r} of {file} is required but was not given",
                    given_loc or loc,
                    hint=f"add it under the include's inputs: {name}: <value>",
                )
            )
            continue
        wanted = str(decl.get("type", "string"))
        if wanted not in _TYPES:
            diagnostics.append(
                error("invalid-inputs", f"input {name!r}: unknown type {wanted!r}", loc)
            )
        elif not isinstance(value, _TYPES[wanted]) or (
            wanted == "number" and isinstance(value, bool)
        ):
            diagnostics.append(
                error(
                    "invalid-input",
                    f"input {name!r} must be a {wanted}, got {_type_name(value)} {value!r}",
                    given_loc or loc,
                )
            )
        options = decl.get("options")
        if isinstance(options, list) and value not in options:
            diagnostics.append(
                error(
                    "invalid-input",
                    f"input {name!r}: {value!r} is not one of the allowed options {list(options)!r}",
                    given_loc or loc,
                )
            )
        regex = decl.get("regex")
        if isinstance(regex, str) and isinstance(value, str):
            try:
                if re.search(regex, value) is None:
                    diagnostics.append(
                        error(
                            "invalid-input",
                            f"input {name!r}: {value!r} does not match the regex {regex!r}",
                            given_loc or loc,
                        )
                    )
            except re.error as exc:
                diagnostics.append(
                    error("invalid-inputs", f"input {name!r}: bad regex: {exc}", loc)
                )
        values[name] = value
    return values, diagnostics


def _apply_functions(value: Any, functions: list[str], lookup: Callable[[str], str | None]) -> Any:
    for raw in functions:
        fn = raw.strip()
        if fn == "expand_vars":
            value = expand_once(str(value), lookup)
        elif fn == "posix_escape":
            value = shlex.quote(str(value))
        elif m := re.fullmatch(r"truncate\(\s*(\d+)\s*,\s*(\d+)\s*\)", fn):
            start, length = int(m.group(1)), int(m.group(2))
            value = str(value)[start : start + length]
        else:
            raise ValueError(f"unknown interpolation function {fn!r}")
    return value


def interpolate(
    body: Any,
    inputs: Mapping[str, Any],
    lookup: Callable[[str], str | None],
    diagnostics: list[Diagnostic],
) -> Any:
    """Replace ``$[[ inputs.x ]]`` blocks in keys and values, recursively."""

    def one(text: str, loc: Location | None) -> Any:
        if "$[[" not in text:
            return text
        matches = list(_BLOCK.finditer(text))

        def evaluate(expr: str) -> Any:
            head, *functions = expr.split("|")
            head = head.strip()
            if not head.startswith("inputs."):
                raise ValueError(f"unknown interpolation {expr!r}: only inputs.<name> is supported")
            name = head[len("inputs.") :]
            if name not in inputs:
                raise ValueError(f"unknown input {name!r} in $[[ {expr} ]]")
            return _apply_functions(inputs[name], functions, lookup)

        try:
            if len(matches) == 1 and matches[0].span() == (0, len(text)):
                return evaluate(matches[0].group(1))
            return _BLOCK.sub(lambda m: _stringify(evaluate(m.group(1))), text)
        except ValueError as exc:
            diagnostics.append(error("invalid-interpolation", str(exc), loc))
            return text

    def walk(value: Any, loc: Location | None) -> Any:
        if isinstance(value, LocDict):
            out = LocDict(value.loc)
            for k, v in value.items():
                kloc = value.key_loc(k)
                new_key = one(k, kloc) if isinstance(k, str) else k
                out.set(new_key if isinstance(new_key, str) else str(new_key), walk(v, kloc), kloc)
            return out
        if isinstance(value, LocList):
            lst = LocList(value.loc)
            for i, v in enumerate(value):
                lst.add(walk(v, value.item_loc(i)), value.item_loc(i))
            return lst
        if isinstance(value, str):
            return one(value, loc)
        return value

    return walk(body, None)


def _stringify(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_stringify(v) for v in value) + "]"
    return str(value)
