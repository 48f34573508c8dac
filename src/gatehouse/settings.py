"""Settings: declared once, resolved once at the edge, passed in as frozen dataclasses.

Each component declares its settings as a frozen dataclass whose fields are
made with :func:`setting` (a default, a one-line description, and the
``GATEHOUSE_*`` environment variable and ``gatehouse.toml`` key that set it).
The CLI resolves them in one place with this precedence:

    command-line flag  >  environment (GATEHOUSE_*)  >  gatehouse.toml  >  default

:func:`resolve` is pure: the CLI hands it the environment mapping and the
parsed ``gatehouse.toml``; nothing below ``cli/`` reads the environment.
Every registered setting is listed in ``docs/settings.md`` (a test checks it).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from gatehouse.errors import UsageError

T = TypeVar("T")

_DURATION_UNITS = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "wk": 604800,
    "week": 604800,
    "weeks": 604800,
    "mo": 2592000,
    "month": 2592000,
    "months": 2592000,
    "y": 31536000,
    "yr": 31536000,
    "year": 31536000,
    "years": 31536000,
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-zA-Z]+)?")

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 1024**3,
}


def parse_duration(text: str | int | float) -> float:
    """Parse a human duration the way GitLab does: ``3h 30m``, ``1 hour``, ``90``.

    A bare number is seconds. Raises ``ValueError`` with a readable message.
    """
    if isinstance(text, bool):
        raise ValueError(f"not a duration: {text!r}")
    if isinstance(text, int | float):
        return float(text)
    s = text.strip().lower().replace(",", " ").replace(" and ", " ")
    if not s:
        raise ValueError("empty duration")
    total = 0.0
    pos = 0
    matched = False
    while pos < len(s):
        if s[pos].isspace():
            pos += 1
            continue
        m = _DURATION_PART.match(s, pos)
        if not m:
            raise ValueError(f"not a duration: {text!r}")
        number, unit = m.group(1), (m.group(2) or "s")
        if unit not in _DURATION_UNITS:
            raise ValueError(f"unknown duration unit {unit!r} in {text!r}")
        total += float(number) * _DURATION_UNITS[unit]
        matched = True
        pos = m.end()
    if not matched:
        raise ValueError(f"not a duration: {text!r}")
    return total


def parse_size(text: str | int) -> int:
    """Parse a size such as ``4 MiB``, ``100MB`` or ``1048576`` into bytes."""
    if isinstance(text, bool):
        raise ValueError(f"not a size: {text!r}")
    if isinstance(text, int):
        return text
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    if not m or m.group(2).lower() not in _SIZE_UNITS:
        raise ValueError(f"not a size: {text!r} (use e.g. '4 MiB' or '100MB')")
    return int(float(m.group(1)) * _SIZE_UNITS[m.group(2).lower()])


def parse_bool(text: str | bool) -> bool:
    if isinstance(text, bool):
        return text
    low = text.strip().lower()
    if low in {"1", "true", "yes", "on"}:
        return True
    if low in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {text!r}")


def setting(
    default: Any,
    doc: str,
    *,
    env: str | None = None,
    key: str | None = None,
    parse: Callable[[Any], Any] | None = None,
) -> Any:
    """Declare one setting field.

    ``env`` is the ``GATEHOUSE_*`` variable (``None``: not settable from the
    environment); ``key`` is the dotted ``gatehouse.toml`` key (``None``: not
    settable from the file); ``parse`` turns a string or TOML value into the
    field's type.
    """
    metadata = {"doc": doc, "env": env, "key": key, "parse": parse}
    if isinstance(default, list | dict | set):
        raise TypeError("settings defaults must be immutable")
    return dataclasses.field(default=default, metadata=metadata)


# Every settings dataclass registers itself here so docs and tests can list them.
REGISTRY: list[type[Any]] = []


def register(cls: type[T]) -> type[T]:
    REGISTRY.append(cls)
    return cls


def _lookup(data: Mapping[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return dataclasses.MISSING
        node = node[part]
    return node


def resolve(
    cls: type[T],
    *,
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    file: Mapping[str, Any] | None = None,
    file_name: str = "gatehouse.toml",
) -> T:
    """Build ``cls`` from flags > environment > file > defaults.

    ``flags`` maps field names to values; ``None`` values mean "flag not given".
    """
    flags = flags or {}
    env = env or {}
    file = file or {}
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        parse = f.metadata.get("parse")
        raw: Any = dataclasses.MISSING
        origin = ""
        if flags.get(f.name) is not None:
            raw, origin = flags[f.name], f"--{f.name.replace('_', '-')}"
        elif f.metadata.get("env") and f.metadata["env"] in env:
            raw, origin = env[f.metadata["env"]], f.metadata["env"]
        elif f.metadata.get("key"):
            found = _lookup(file, f.metadata["key"])
            if found is not dataclasses.MISSING:
                raw, origin = found, f"{file_name}: {f.metadata['key']}"
        if raw is dataclasses.MISSING:
            continue
        try:
            values[f.name] = parse(raw) if parse else raw
        except (ValueError, TypeError) as exc:
            raise UsageError(f"{origin}: {exc}") from exc
    return cls(**values)
