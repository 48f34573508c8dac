"""CI/CD variables: definitions, precedence and expansion, as GitLab does them.

GitLab expands variables in three places with three mechanisms; we reproduce
the first two (the third is the job's own shell):

1. At pipeline creation (``variables``, ``environment``, ``resource_group``,
   ``tags``): ``$VAR`` and ``${VAR}`` references are replaced *recursively*
   (a variable may refer to another that refers to a third); references to
   unknown variables are left as they are, for the runner; a cycle is an error.
2. Before the job (``image``, ``services``, ``cache:key``, ``artifacts:name``):
   a single pass, no recursion.
3. In ``script``: the shell, which sees the final environment.

Everywhere ``$$`` is a literal ``$``, and a variable declared with
``expand: false`` is used raw (no expansion inside it).

Precedence (highest first): pipeline variables (``--var``, trigger, schedule)
> job ``variables`` (overridden by the matched ``rules:variables``) > global
``variables`` (overridden by the matched ``workflow:rules:variables``) >
predefined ``CI_*`` variables.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from gatehouse.errors import Location

# $$ | $NAME | ${NAME}
_REF = re.compile(r"\$\$|\$([A-Za-z_][A-Za-z0-9_]*)|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True, slots=True)
class Variable:
    """One variable definition as written in YAML (or given on the command line)."""

    name: str
    value: str
    expand: bool = True
    description: str | None = None
    options: tuple[str, ...] = ()
    loc: Location | None = None


class VariableCycleError(ValueError):
    def __init__(self, chain: list[str]) -> None:
        super().__init__("circular variable reference: " + " -> ".join(chain))
        self.chain = chain


def references(value: str) -> list[str]:
    """Names referenced by ``$NAME``/``${NAME}`` in a value (``$$`` excluded)."""
    return [m.group(1) or m.group(2) for m in _REF.finditer(value) if m.group(0) != "$$"]


def expand_once(
    value: str, lookup: Callable[[str], str | None], *, keep_escapes: bool = False
) -> str:
    """One pass of expansion; unknown references stay as written.

    ``keep_escapes`` leaves ``$$`` in place (for values that are expanded again later).
    """

    def repl(m: re.Match[str]) -> str:
        whole = m.group(0)
        if whole == "$$":
            return "$$" if keep_escapes else "$"
        found = lookup(m.group(1) or m.group(2))
        return whole if found is None else found

    if "$" not in value:
        return value
    return _REF.sub(repl, value)


def expand_all(variables: Mapping[str, Variable]) -> dict[str, str]:
    """Expand every variable against the others, recursively (pipeline-creation rules).

    Raw variables (``expand: false``) are used as written, also when others
    refer to them. Unknown references stay. Raises :class:`VariableCycleError`.
    """
    resolved: dict[str, str] = {}
    visiting: list[str] = []

    def resolve(name: str) -> str | None:
        if name in resolved:
            return resolved[name]
        var = variables.get(name)
        if var is None:
            return None
        if not var.expand:
            resolved[name] = var.value
            return var.value
        if name in visiting:
            raise VariableCycleError([*visiting[visiting.index(name) :], name])
        visiting.append(name)
        # Expand nested references but keep $$ escapes until the final pass.
        value = expand_once(var.value, resolve_nested, keep_escapes=True)
        visiting.pop()
        resolved[name] = value
        return value

    def resolve_nested(name: str) -> str | None:
        return resolve(name)

    for name in variables:
        resolve(name)
    # Final pass: $$ -> $ for expanded values only.
    return {
        name: (value if not variables[name].expand else value.replace("$$", "$"))
        for name, value in resolved.items()
    }


def expand_with(value: str, env: Mapping[str, str]) -> str:
    """Single-pass expansion against a final environment (``image``, ``artifacts:name`` …)."""
    return expand_once(value, env.get)


def merge_layers(*layers: Iterable[Variable]) -> dict[str, Variable]:
    """Lowest precedence first: later layers override earlier ones by name."""
    out: dict[str, Variable] = {}
    for layer in layers:
        for var in layer:
            out[var.name] = var
    return out


def plain(variables: Mapping[str, str], loc: Location | None = None) -> list[Variable]:
    """Turn a name → value mapping into definitions."""
    return [Variable(name, value, loc=loc) for name, value in variables.items()]
