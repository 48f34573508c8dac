"""Phases 3 and 4 of loading: ``extends``, then ``!reference``.

``extends`` (a name or a list of names) builds a job from templates: each
parent is first fully resolved itself, parents are deep-merged in list order
(a later parent wins over an earlier one), and the job's own keys are merged
on top. Parents may live in any included file and may be visible jobs.
Nesting is limited to 11 levels; a missing parent, a parent that is not a
mapping, and a cycle are errors located at the ``extends`` line.

``!reference [.name, key, …]`` is resolved afterwards, against the
configuration with ``extends`` applied — so a reference sees a template's
inherited keys. References may nest (a referenced value may contain
references) up to 10 levels; cycles are errors. A reference inside a list
inserts its value as one item (a nested list when it is a list); the keys that
GitLab flattens (``script``, ``rules``, ``needs`` …) are flattened later.
"""

from __future__ import annotations

from difflib import get_close_matches
from typing import Any

from gatehouse.core.config.merge import deep_merge
from gatehouse.core.config.nodes import LocDict, LocList, Reference
from gatehouse.errors import Diagnostic, error, warning

MAX_EXTENDS_DEPTH = 11
MAX_REFERENCE_DEPTH = 10
# What a !reference into an unavailable include resolves to: the item or key is left out.
_UNAVAILABLE: Any = object()


def _suggest(name: str, candidates: list[str]) -> str | None:
    close = get_close_matches(name, candidates, n=1)
    return f"did you mean {close[0]!r}?" if close else None


def resolve_extends(
    config: LocDict, diagnostics: list[Diagnostic], *, external_missing: bool = False
) -> tuple[LocDict, dict[str, tuple[str, ...]]]:
    """Apply every ``extends``; return the new mapping and the incomplete jobs.

    With ``external_missing`` (some include was unavailable), a parent that
    does not exist is probably defined there: it is reported as a warning, the
    job is built from the parents that do exist, and it is returned among the
    incomplete jobs with the names of its missing templates.
    """
    resolved: dict[str, LocDict] = {}
    height: dict[str, int] = {}  # extends hops below a key, on its longest chain
    failed: set[str] = set()
    incomplete: dict[str, tuple[str, ...]] = {}
    names = [k for k in config if isinstance(k, str)]

    def _chain(name: str) -> list[str]:
        """The longest extends chain below ``name``, for the message."""
        chain = [name]
        while True:
            entry = config.get(chain[-1])
            parents = entry.get("extends") if isinstance(entry, LocDict) else None
            parents = [parents] if isinstance(parents, str) else parents
            if not isinstance(parents, list) or not parents or len(chain) > len(config):
                return chain
            chain.append(max(parents, key=lambda p: height.get(p, 0) if isinstance(p, str) else -1))

    def resolve(name: str, chain: list[str]) -> LocDict | None:
        if name in resolved:
            return resolved[name]
        if name in failed:
            return None
        entry = config.get(name)
        if not isinstance(entry, LocDict) or "extends" not in entry:
            return entry if isinstance(entry, LocDict) else None
        loc = entry.key_loc("extends")
        if name in chain:
            cycle = [*chain[chain.index(name) :], name]
            diagnostics.append(
                error(
                    "extends-cycle",
                    "circular dependency detected in `extends`: " + " -> ".join(cycle),
                    loc,
                    hint="break the cycle: a template must not extend a job that extends it",
                )
            )
            failed.add(name)
            return None
        parents = entry["extends"]
        if isinstance(parents, str):
            parents = [parents]
        if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
            diagnostics.append(
                error(
                    "invalid-extends", f"{name}: `extends` must be a name or a list of names", loc
                )
            )
            failed.add(name)
            return None
        merged = LocDict(entry.loc)
        ok = True
        missing: list[str] = []
        height[name] = 1
        for parent in parents:
            if parent not in config:
                if external_missing:
                    diagnostics.append(
                        warning(
                            "unresolved-extends",
                            f"{name}: template {parent!r} is not defined; it probably comes from "
                            "an include that is not available offline",
                            loc,
                            hint="mirror the include with --include-dir DIR to load it",
                        )
                    )
                    missing.append(parent)
                    continue
                diagnostics.append(
                    error(
                        "missing-extends",
                        f"{name}: unknown key in `extends`: {parent!r}",
                        loc,
                        hint=_suggest(parent, names)
                        or "define the template or include the file defining it",
                    )
                )
                ok = False
                continue
            base = resolve(parent, [*chain, name])
            missing.extend(incomplete.get(parent, ()))
            if base is None:
                if not isinstance(config.get(parent), LocDict):
                    diagnostics.append(
                        error(
                            "invalid-extends",
                            f"{name}: `extends` target {parent!r} is not a mapping",
                            loc,
                        )
                    )
                ok = False
                continue
            height[name] = max(height[name], 1 + height.get(parent, 0))
            merged = deep_merge(merged, base)
        if not ok:
            failed.add(name)
            return None
        own = LocDict(entry.loc)
        for key, value in entry.items():
            if key != "extends":
                own.set(key, value, entry.key_loc(key))
        result = deep_merge(merged, own)
        result.loc = entry.loc
        resolved[name] = result
        if missing:
            incomplete[name] = tuple(dict.fromkeys(missing))
        return result

    out = LocDict(config.loc)
    for key, value in config.items():
        if isinstance(key, str) and isinstance(value, LocDict) and "extends" in value:
            result = resolve(key, [])
            if height.get(key, 0) > MAX_EXTENDS_DEPTH:
                diagnostics.append(
                    error(
                        "extends-too-deep",
                        f"{key}: `extends` nested {height[key]} levels deep; "
                        f"GitLab allows {MAX_EXTENDS_DEPTH}: " + " -> ".join(_chain(key)),
                        value.key_loc("extends"),
                        hint="flatten the hierarchy: let a template extend several parents instead",
                    )
                )
            if result is None:
                # Keep the job without its parents so later phases can still report on it.
                result = LocDict(value.loc)
                for k, v in value.items():
                    if k != "extends":
                        result.set(k, v, value.key_loc(k))
            out.set(key, result, config.key_loc(key))
        else:
            out.set(key, value, config.key_loc(key))
    return out, incomplete


def resolve_references(
    config: LocDict, diagnostics: list[Diagnostic], *, external_missing: bool = False
) -> tuple[LocDict, set[str]]:
    """Replace every ``!reference`` with a copy of the value it points at.

    With ``external_missing``, a reference to a template that does not exist is
    a warning (it probably lives in an unavailable include) and resolves to nothing.
    Returns the new mapping and the top-level keys holding a reference that
    failed (so later phases do not pile consequential errors on them).
    """
    failed: set[str] = set()

    reported_cycles: set[frozenset[tuple[str, ...]]] = set()

    def lookup(ref: Reference) -> tuple[bool, Any]:
        node: Any = config
        for i, part in enumerate(ref.path):
            if not isinstance(node, dict) or part not in node:
                where = ", ".join(ref.path[: i + 1])
                return False, f"!reference [{where}] could not be found"
            node = node[part]
        if node is None or node is False:
            # GitLab treats a null or false target as missing ("could not be found").
            where = ", ".join(ref.path)
            return False, f"!reference [{where}] could not be found (its value is {node!r})"
        return True, node

    def resolve_value(value: Any, chain: tuple[Reference, ...]) -> Any:
        """The value with its references replaced; unchanged containers are returned as is.

        Most of a configuration holds no reference, so containers are only
        rebuilt on the path to one (loaded values are never mutated).
        """
        if isinstance(value, Reference):
            return resolve_ref(value, chain)
        if isinstance(value, LocDict):
            changed: dict[Any, Any] = {}
            for k, v in value.items():
                resolved = resolve_value(v, chain)
                if resolved is not v:
                    changed[k] = resolved
            if not changed:
                return value
            out = LocDict(value.loc)
            for k, v in value.items():
                resolved = changed.get(k, v)
                if resolved is not _UNAVAILABLE:
                    out.set(k, resolved, value.key_loc(k))
            return out
        if isinstance(value, LocList):
            items = [resolve_value(v, chain) for v in value]
            if all(new is old for new, old in zip(items, value, strict=True)):
                return value
            lst = LocList(value.loc)
            for i, resolved in enumerate(items):
                if resolved is not _UNAVAILABLE:
                    lst.add(resolved, value.item_loc(i))
            return lst
        return value

    def resolve_ref(ref: Reference, chain: tuple[Reference, ...]) -> Any:
        if not ref.path:
            return None
        key = ref.path
        if any(r.path == key for r in chain):
            members = chain[[r.path for r in chain].index(key) :]
            seen = frozenset(r.path for r in members)
            if seen in reported_cycles:
                return None
            reported_cycles.add(seen)
            cycle = [str(r) for r in members] + [str(ref)]
            diagnostics.append(
                error(
                    "reference-cycle",
                    "!reference is part of a circular chain: " + " -> ".join(cycle),
                    ref.loc,
                )
            )
            return None
        if len(chain) >= MAX_REFERENCE_DEPTH:
            diagnostics.append(
                error(
                    "reference-too-deep",
                    f"!reference nested more than {MAX_REFERENCE_DEPTH} levels",
                    ref.loc,
                )
            )
            return None
        found, value = lookup(ref)
        if not found and external_missing and ref.path[0] not in config:
            diagnostics.append(
                warning(
                    "unresolved-reference",
                    f"{value}; it probably comes from an include that is not available offline",
                    ref.loc,
                    hint="mirror the include with --include-dir DIR to load it",
                )
            )
            return _UNAVAILABLE
        if not found:
            top = [k for k in config if isinstance(k, str)]
            diagnostics.append(
                error(
                    "missing-reference",
                    str(value),
                    ref.loc,
                    hint=_suggest(ref.path[0], top) if ref.path[0] not in config else None,
                )
            )
            return None
        return resolve_value(value, (*chain, ref))

    out = LocDict(config.loc)
    for key, value in config.items():
        before = len(diagnostics)
        resolved = resolve_value(value, ())
        if resolved is not _UNAVAILABLE:
            out.set(key, resolved, config.key_loc(key))
        if len(diagnostics) > before and isinstance(key, str):
            failed.add(key)
    return out, failed
