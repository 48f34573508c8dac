"""Phase 1 of loading: one YAML file into located values.

GitLab reads each file on its own with a YAML 1.1 parser (Ruby's Psych), so
anchors, aliases and ``<<:`` merge keys work *inside one file only*, unquoted
scalars are coerced the YAML 1.1 way (``012`` is octal, ``yes`` is true), and
``!reference`` is kept as an opaque tag to be resolved much later. We use
PyYAML (its C parser when available), which follows the same YAML 1.1 rules,
with three adjustments:

- mappings and sequences are built as :class:`LocDict`/:class:`LocList` so
  every value keeps its file and line;
- dates stay strings (GitLab refuses date objects; a string is what a user
  means by ``2024-01-01`` in a variable);
- duplicate keys are reported as warnings (the later one wins, as in Psych),
  because they are almost always a mistake.

A file may start with a header document (``spec:`` with ``inputs``) followed by
``---`` and the configuration document; both are returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from gatehouse.core.config.nodes import LocDict, LocList, Reference
from gatehouse.errors import Diagnostic, Location, error, warning

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc]
    """A safe YAML 1.1 loader that builds located containers."""

    file_name = "<string>"

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.diagnostics: list[Diagnostic] = []


# Keep dates as strings: drop the implicit timestamp resolver.
_Loader.yaml_implicit_resolvers = {
    first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}


def _loc(loader: _Loader, node: yaml.Node) -> Location:
    mark = node.start_mark
    return Location(loader.file_name, mark.line + 1, mark.column + 1)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LocDict:
    explicit_seen: dict[Any, Location] = {}
    for key_node, _ in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
            key = loader.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                continue
            if key in explicit_seen:
                loader.diagnostics.append(
                    warning(
                        "duplicate-key",
                        f"duplicate key {key!r}: the later value wins "
                        f"(first defined at line {explicit_seen[key].line})",
                        _loc(loader, key_node),
                        hint="remove one of the two definitions",
                    )
                )
            explicit_seen[key] = _loc(loader, key_node)
    loader.flatten_mapping(node)
    result = LocDict(_loc(loader, node))
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            loader.diagnostics.append(
                error(
                    "invalid-key",
                    "a mapping key must be a scalar",
                    _loc(loader, key_node),
                )
            )
            continue
        value = loader.construct_object(value_node, deep=True)
        result.set(key, value, _loc(loader, key_node))
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LocList:
    result = LocList(_loc(loader, node))
    for child in node.value:
        result.add(loader.construct_object(child, deep=True), _loc(loader, child))
    return result


def _construct_reference(loader: _Loader, node: yaml.Node) -> Reference:
    loc = _loc(loader, node)
    if not isinstance(node, yaml.SequenceNode):
        loader.diagnostics.append(
            error(
                "invalid-reference",
                "!reference needs a sequence such as [.template, script]",
                loc,
            )
        )
        return Reference((), loc)
    parts: list[str] = []
    for child in node.value:
        value = loader.construct_object(child, deep=True)
        if not isinstance(value, str):
            loader.diagnostics.append(
                error(
                    "invalid-reference",
                    f"!reference items must be names (strings), not {value!r}",
                    _loc(loader, child),
                )
            )
            return Reference((), loc)
        parts.append(value)
    if not parts:
        loader.diagnostics.append(error("invalid-reference", "!reference [] is empty", loc))
    return Reference(tuple(parts), loc)


class WrittenInt(int):
    """An int that remembers how it was written (``012`` → 10, written ``012``)."""

    written: str


class WrittenFloat(float):
    written: str


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    value = loader.construct_yaml_int(node)
    if node.value != str(value):
        wrapped = WrittenInt(value)
        wrapped.written = node.value
        return wrapped
    return int(value)


def _construct_float(loader: _Loader, node: yaml.ScalarNode) -> float:
    value = loader.construct_yaml_float(node)
    if node.value != str(value):
        wrapped = WrittenFloat(value)
        wrapped.written = node.value
        return wrapped
    return float(value)


def _construct_unknown(loader: _Loader, suffix: str, node: yaml.Node) -> Any:
    loader.diagnostics.append(
        error(
            "unknown-tag",
            f"unknown YAML tag !{suffix}"
            if not suffix.startswith("!")
            else f"unknown YAML tag {suffix}",
            _loc(loader, node),
            hint="GitLab CI supports only the !reference tag",
        )
    )
    return None


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:omap", _construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)
_Loader.add_constructor("!reference", _construct_reference)
_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)
_Loader.add_multi_constructor("", _construct_unknown)


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """One file's documents: an optional ``spec:`` header and the configuration."""

    path: str
    header: LocDict | None
    body: Any
    diagnostics: tuple[Diagnostic, ...]


def parse_yaml(text: str, path: str) -> ParsedFile:
    """Parse one file; YAML errors become located diagnostics, never exceptions."""
    loader = _Loader(text)
    loader.file_name = path
    documents: list[Any] = []
    try:
        while loader.check_data():
            documents.append(loader.get_data())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = Location(path, mark.line + 1, mark.column + 1) if mark else Location(path)
        problem = exc.problem or exc.context or "invalid YAML"
        context = f" ({exc.context})" if exc.context and exc.problem else ""
        return ParsedFile(
            path,
            None,
            None,
            (
                *loader.diagnostics,
                error(
                    "invalid-yaml",
                    f"invalid YAML: {problem}{context}",
                    loc,
                    hint="check indentation, quoting and that every key ends with ':'",
                ),
            ),
        )
    except yaml.YAMLError as exc:
        return ParsedFile(
            path,
            None,
            None,
            (*loader.diagnostics, error("invalid-yaml", f"invalid YAML: {exc}", Location(path))),
        )
    finally:
        loader.dispose()

    diagnostics = list(loader.diagnostics)
    header: LocDict | None = None
    body: Any = None
    if len(documents) == 1:
        body = documents[0]
    elif len(documents) == 2 and isinstance(documents[0], LocDict) and "spec" in documents[0]:
        header, body = documents
    elif len(documents) >= 2:
        diagnostics.append(
            error(
                "invalid-yaml",
                f"{len(documents)} YAML documents in one file; only a 'spec:' header "
                "document followed by '---' and the configuration is allowed",
                Location(path, 1),
            )
        )
        body = documents[-1]
    return ParsedFile(path, header, body, tuple(diagnostics))
