"""Phase 2 of loading: ``include``, resolved recursively and merged in GitLab's order.

GitLab processes a file's ``include:`` entries first — each included file
fully resolved on its own, with its own nested includes — and deep-merges the
results in list order, then merges the including file's own content *last*,
so the including file wins over everything it includes. We do the same:

    resolve(file) = merge(resolve(inc₁), resolve(inc₂), …, file without include)

Include types:

- ``local`` (also a bare string that is not a URL): a path from the root of
  the project the including file belongs to (a leading ``/`` is allowed);
  ``*`` and ``**`` wildcards (Ruby fnmatch); only ``.yml``/``.yaml`` files.
- ``project`` + ``file`` (+ ``ref``), ``remote``, ``template``, ``component``:
  these live on a GitLab server. Offline, they are looked up in a mirror
  directory when one is configured (``--include-dir``; layout in
  ``docs/configuration.md``); otherwise each is reported once as a located
  ``unavailable-include`` diagnostic and loading goes on without it, so the
  jobs that do resolve still load.

``include:rules`` (``if``, ``exists``, ``changes``, ``when: never|always``)
decide per entry whether it is included, with the pipeline's predefined and
pipeline variables (not YAML ``variables``, which do not exist yet). Variables
are also expanded in include paths. ``inputs`` fill an included file's
``spec:inputs``. At most 150 includes are processed, nested ones and
duplicates counted; an include cycle is an error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gatehouse.core.config.inputs import interpolate, resolve_inputs
from gatehouse.core.config.merge import deep_merge
from gatehouse.core.config.nodes import LocDict, LocList
from gatehouse.core.config.yamlfile import parse_yaml
from gatehouse.core.expressions import ExpressionError, parse
from gatehouse.core.globs import any_match, include_wildcard_filter
from gatehouse.core.variables import expand_once
from gatehouse.errors import Diagnostic, Location, error, warning

if TYPE_CHECKING:
    from gatehouse.core.ports import ProjectFiles

MAX_INCLUDES = 150
INCLUDE_TYPES = ("local", "project", "remote", "template", "component")


@dataclass(frozen=True, slots=True)
class IncludeContext:
    """What include resolution may look at: the pipeline's variables and diff."""

    variables: Mapping[str, str] = field(default_factory=dict)
    changed_files: tuple[str, ...] | None = None  # None: unknown, `changes` holds


@dataclass(frozen=True, slots=True)
class _Origin:
    """Where a file lives: the project itself, or a project in the mirror."""

    files: ProjectFiles
    root: str  # path prefix inside ``files`` ("" for the project)
    label: str  # how locations show the file, e.g. "" or "mirror:group/proj/"

    def path(self, rel: str) -> str:
        rel = rel.lstrip("/")
        return f"{self.root}/{rel}" if self.root else rel

    def display(self, rel: str) -> str:
        return f"{self.label}{rel.lstrip('/')}"


@dataclass
class _State:
    project: ProjectFiles
    mirror: ProjectFiles | None
    context: IncludeContext
    diagnostics: list[Diagnostic] = field(default_factory=list)
    loaded: list[str] = field(default_factory=list)
    count: int = 0
    limit_reported: bool = False
    stack: list[str] = field(default_factory=list)
    unavailable: set[tuple[str, str]] = field(default_factory=set)

    def lookup(self, name: str) -> str | None:
        return self.context.variables.get(name)


def load_tree(
    project: ProjectFiles,
    main_file: str,
    context: IncludeContext,
    mirror: ProjectFiles | None = None,
) -> tuple[LocDict, list[str], list[Diagnostic]]:
    """Load ``main_file`` with all its includes into one merged mapping."""
    state = _State(project, mirror, context)
    origin = _Origin(project, "", "")
    text = project.read_text(main_file)
    if text is None:
        state.diagnostics.append(
            error(
                "missing-config",
                f"no pipeline configuration: {main_file} does not exist",
                Location(main_file),
                hint="run in the project's root directory, or choose the file with --file",
            )
        )
        return LocDict(Location(main_file)), [], state.diagnostics
    merged = _resolve_file(state, origin, main_file, text, None, None)
    return merged, state.loaded, state.diagnostics


def _resolve_file(
    state: _State,
    origin: _Origin,
    rel: str,
    text: str,
    inputs: Mapping[str, Any] | None,
    include_loc: Location | None,
    local_origin: _Origin | None = None,
) -> LocDict:
    """Parse one file and merge its includes under it.

    Nested ``include:local`` entries resolve in ``local_origin``: the file's
    own project for local, project and component files, but the *including*
    project for remote files and templates, which have no project of their own.
    """
    display = origin.display(rel)
    parsed = parse_yaml(text, display)
    state.diagnostics.extend(parsed.diagnostics)
    state.loaded.append(display)
    body = parsed.body
    if body is None:
        return LocDict(Location(display, 1))
    if not isinstance(body, LocDict):
        state.diagnostics.append(
            error(
                "invalid-config",
                f"{display} must be a mapping of jobs and keywords, not a {type(body).__name__}",
                Location(display, 1),
            )
        )
        return LocDict(Location(display, 1))
    if parsed.header is not None or inputs:
        values, problems = resolve_inputs(parsed.header, inputs, include_loc, display)
        state.diagnostics.extend(problems)
        body = interpolate(body, values, state.lookup, state.diagnostics)
    elif "$[[" in text:
        body = interpolate(body, {}, state.lookup, state.diagnostics)

    merged = LocDict(body.loc)
    includes = body.get("include")
    if includes is not None:
        state.stack.append(display)
        for entry, loc in _entries(includes, body.key_loc("include")):
            for sub in _include(state, local_origin or origin, entry, loc):
                merged = deep_merge(merged, sub)
        state.stack.pop()
    own = LocDict(body.loc)
    for key, value in body.items():
        if key != "include":
            own.set(key, value, body.key_loc(key))
    return deep_merge(merged, own)


def _entries(includes: Any, loc: Location | None) -> list[tuple[Any, Location | None]]:
    if isinstance(includes, LocList):
        return [(item, includes.item_loc(i)) for i, item in enumerate(includes)]
    if isinstance(includes, list):
        return [(item, loc) for item in includes]
    return [(includes, loc)]


def _include(state: _State, origin: _Origin, entry: Any, loc: Location | None) -> list[LocDict]:
    if isinstance(entry, str):
        entry = {"remote": entry} if entry.startswith(("http://", "https://")) else {"local": entry}
    if not isinstance(entry, dict):
        state.diagnostics.append(
            error(
                "invalid-include",
                f"an include entry must be a string or a mapping, not {entry!r}",
                loc,
            )
        )
        return []
    kinds = [k for k in INCLUDE_TYPES if k in entry]
    if len(kinds) != 1:
        state.diagnostics.append(
            error(
                "invalid-include",
                "an include entry needs exactly one of "
                + ", ".join(INCLUDE_TYPES)
                + (f" (found {', '.join(kinds)})" if kinds else ""),
                loc,
            )
        )
        return []
    for key in entry:
        if key not in {*INCLUDE_TYPES, "file", "ref", "rules", "inputs", "integrity", "cache"}:
            state.diagnostics.append(
                warning(
                    "unknown-keyword",
                    f"unknown include keyword {key!r} (ignored)",
                    entry.key_loc(key) if isinstance(entry, LocDict) else loc,
                )
            )
    if "rules" in entry and not _rules_allow(state, entry["rules"], loc):
        return []
    kind = kinds[0]
    inputs = entry.get("inputs")
    if inputs is not None and not isinstance(inputs, dict):
        state.diagnostics.append(error("invalid-include", "include inputs must be a mapping", loc))
        inputs = None
    if kind == "local":
        return _include_local(state, origin, entry["local"], inputs, loc)
    return _include_external(state, origin, kind, entry, inputs, loc)


def _count(state: _State, loc: Location | None) -> bool:
    state.count += 1
    if state.count > MAX_INCLUDES:
        if not state.limit_reported:
            state.diagnostics.append(
                error(
                    "too-many-includes",
                    f"more than {MAX_INCLUDES} includes (nested includes and duplicates count)",
                    loc,
                    hint="GitLab refuses such a pipeline too; merge some files",
                )
            )
            state.limit_reported = True
        return False
    return True


def _include_local(
    state: _State, origin: _Origin, raw: Any, inputs: Mapping[str, Any] | None, loc: Location | None
) -> list[LocDict]:
    if not isinstance(raw, str):
        state.diagnostics.append(
            error("invalid-include", f"include:local must be a path, not {raw!r}", loc)
        )
        return []
    path = expand_once(raw, state.lookup).lstrip("/")
    if "*" in path:
        all_files = [
            f[len(origin.root) + 1 :] if origin.root else f
            for f in origin.files.list_files()
            if not origin.root or f.startswith(origin.root + "/")
        ]
        targets = sorted(include_wildcard_filter(path, all_files))
        if not targets:
            state.diagnostics.append(
                warning(
                    "include-matches-nothing",
                    f"include:local {raw!r} matches no file; nothing is included",
                    loc,
                    hint="'*' matches within one directory, '**' across directories",
                )
            )
            return []
    else:
        targets = [path]
    for target in targets:
        if not target.endswith((".yml", ".yaml")):
            state.diagnostics.append(
                error(
                    "invalid-include",
                    f"included file {target!r} does not have a YAML extension (.yml or .yaml)",
                    loc,
                    hint="GitLab includes only .yml and .yaml files",
                )
            )
    targets = [t for t in targets if t.endswith((".yml", ".yaml"))]
    results = []
    for target in targets:
        if not _count(state, loc):
            break
        display = origin.display(target)
        if display in state.stack:
            state.diagnostics.append(
                error(
                    "include-cycle",
                    "include cycle: "
                    + " -> ".join([*state.stack[state.stack.index(display) :], display]),
                    loc,
                )
            )
            continue
        text = origin.files.read_text(origin.path(target))
        if text is None:
            state.diagnostics.append(
                error(
                    "missing-include",
                    f"local file {display!r} does not exist",
                    loc,
                    hint="include:local paths start at the repository root",
                )
            )
            continue
        results.append(_resolve_file(state, origin, target, text, inputs, loc))
    return results


def _external_candidates(
    kind: str, entry: Mapping[str, Any], lookup: Callable[[str], str | None]
) -> tuple[str, list[tuple[str, list[str]]]]:
    """A description of an external include and, per file, the mirror paths to try.

    Returns (description, [(file label, [project-root candidates …])]).
    """
    if kind == "project":
        project = expand_once(str(entry["project"]), lookup).strip("/")
        ref = expand_once(str(entry["ref"]), lookup) if entry.get("ref") is not None else None
        files = entry.get("file")
        names = (
            [str(f) for f in files] if isinstance(files, list) else [str(files)] if files else []
        )
        roots = ([f"{project}@{ref}"] if ref else []) + [project]
        desc = f"project {project!r}" + (f" (ref {ref})" if ref else "")
        return desc, [(expand_once(n, lookup).lstrip("/"), roots) for n in names]
    if kind == "remote":
        url = expand_once(str(entry["remote"]), lookup)
        tail = url.split("://", 1)[-1]
        return f"remote {url!r}", [(tail, ["remote"])]
    if kind == "template":
        name = str(entry["template"])
        return f"template {name!r}", [(name, ["templates"])]
    ref = expand_once(str(entry["component"]), lookup)
    address, _, version = ref.partition("@")
    parts = address.split("/")
    if len(parts) < 3:
        return f"component {ref!r}", []
    project = "/".join(parts[1:-1])
    name = parts[-1]
    roots = ([f"{project}@{version}"] if version else []) + [project]
    return f"component {ref!r}", [
        (f"templates/{name}.yml", roots),
        (f"templates/{name}/template.yml", roots),
    ]


def _include_external(
    state: _State,
    including: _Origin,
    kind: str,
    entry: Mapping[str, Any],
    inputs: Mapping[str, Any] | None,
    loc: Location | None,
) -> list[LocDict]:
    if kind == "project" and not entry.get("file"):
        state.diagnostics.append(error("invalid-include", "include:project needs a file", loc))
        return []
    desc, wanted = _external_candidates(kind, entry, state.lookup)
    if state.mirror is not None:
        results: list[LocDict] = []
        found_any = False
        for rel, roots in wanted:
            for root in roots:
                mirror_origin = _Origin(state.mirror, root, f"{root}/")
                text = state.mirror.read_text(mirror_origin.path(rel))
                if text is None:
                    continue
                found_any = True
                if _count(state, loc):
                    nested = including if kind in ("remote", "template") else None
                    results.append(
                        _resolve_file(state, mirror_origin, rel, text, inputs, loc, nested)
                    )
                break
            if found_any and kind == "component":
                break
        if found_any:
            return results
    key = (str(loc), desc)
    if key not in state.unavailable:
        state.unavailable.add(key)
        state.diagnostics.append(
            warning(
                "unavailable-include",
                f"{desc} is not available offline; its jobs and templates are not loaded",
                loc,
                hint="mirror it with --include-dir DIR (see docs/configuration.md#external-includes)",
            )
        )
    return []


def _rules_allow(state: _State, rules: Any, loc: Location | None) -> bool:
    """``include:rules``: first matching rule decides; none matching excludes."""
    if not isinstance(rules, list):
        state.diagnostics.append(error("invalid-include", "include:rules must be a list", loc))
        return False
    for i, rule in enumerate(rules):
        rloc = rules.item_loc(i) if isinstance(rules, LocList) else loc
        if not isinstance(rule, dict):
            state.diagnostics.append(
                error("invalid-rule", "each include rule must be a mapping", rloc)
            )
            return False
        when = rule.get("when", "always")
        if when not in ("always", "never"):
            state.diagnostics.append(
                error(
                    "invalid-rule",
                    f"include rules: when must be always or never, not {when!r}",
                    rloc,
                )
            )
            return False
        if _include_rule_matches(state, rule, rloc):
            return bool(when != "never")
    return False


def _include_rule_matches(state: _State, rule: Mapping[str, Any], loc: Location | None) -> bool:
    condition = rule.get("if")
    if condition is not None:
        try:
            if not parse(str(condition)).evaluate(state.lookup):
                return False
        except ExpressionError as exc:
            state.diagnostics.append(
                error("invalid-rule-if", f"invalid include rules:if {condition!r}: {exc}", loc)
            )
            return False
    exists = rule.get("exists")
    if exists is not None:
        patterns = _patterns(exists)
        if not any_match(patterns, state.project.list_files()):
            return False
    changes = rule.get("changes")
    if changes is not None and state.context.changed_files is not None:
        patterns = _patterns(changes)
        if not any_match(patterns, state.context.changed_files):
            return False
    return True


def _patterns(value: Any) -> Sequence[str]:
    if isinstance(value, dict):
        value = value.get("paths", [])
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value or []]
