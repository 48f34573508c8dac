"""``gatehouse.toml``: the project's settings file, and resolution of settings at the edge.

The file lives at the project root (next to ``.gitlab-ci.yml``). Sections are
named after the components (``[run]``, ``[storage]``, ``[gate]`` …) and
``[variables]`` holds project-level CI/CD variables. Settings resolve as
flags > ``GATEHOUSE_*`` environment > this file > defaults
(:func:`gatehouse.settings.resolve`); this module is the only place that
reads the environment for them.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from gatehouse.errors import UsageError
from gatehouse.settings import resolve

T = TypeVar("T")
FILE_NAME = "gatehouse.toml"


def read_project_file(root: Path) -> dict[str, Any]:
    path = root / FILE_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(
            f"{path}: invalid TOML: {exc}", hint="see docs/settings.md for the file's format"
        ) from exc


def settings_for(
    cls: type[T],
    root: Path,
    flags: Mapping[str, Any] | None = None,
    file: Mapping[str, Any] | None = None,
) -> T:
    data = read_project_file(root) if file is None else file
    return resolve(cls, flags=flags, env=os.environ, file=data, file_name=str(root / FILE_NAME))


def project_variables(data: Mapping[str, Any]) -> tuple[dict[str, str], set[str]]:
    """``[variables]``: NAME = "value" or NAME = {value = "…", masked = true}."""
    section = data.get("variables", {})
    if not isinstance(section, dict):
        raise UsageError(f"{FILE_NAME}: [variables] must be a table of NAME = value")
    values: dict[str, str] = {}
    masked: set[str] = set()
    for name, raw in section.items():
        if isinstance(raw, dict):
            value = raw.get("value", "")
            if raw.get("masked"):
                masked.add(str(value))
        else:
            value = raw
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise UsageError(f"{FILE_NAME}: [variables] {name}: the value must be a string")
        values[str(name)] = str(value)
    return values, masked
