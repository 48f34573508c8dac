"""Located YAML values: mappings and sequences that remember where they came from.

The loader builds plain ``dict``/``list`` subclasses that carry their own
location and the location of each key or item, so every later phase (include,
extends, ``!reference``, normalisation, planning) can point a diagnostic at
the exact file and line a value came from, even after values moved between
files by merging. Scalars stay plain Python values; their location is the
location of the key or item that holds them.

These objects are treated as immutable once loaded: YAML aliases share one
object between several places, so every phase builds new containers instead of
mutating old ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gatehouse.errors import Location


class LocDict(dict[Any, Any]):
    """A mapping with the location of itself (``loc``) and of each key (``key_locs``)."""

    __slots__ = ("key_locs", "loc")

    def __init__(self, loc: Location | None = None, items: Iterable[tuple[Any, Any]] = ()) -> None:
        super().__init__(items)
        self.loc = loc
        self.key_locs: dict[Any, Location] = {}

    def key_loc(self, key: Any) -> Location | None:
        return self.key_locs.get(key, self.loc)

    def set(self, key: Any, value: Any, loc: Location | None) -> None:
        self[key] = value
        if loc is not None:
            self.key_locs[key] = loc


class LocList(list[Any]):
    """A sequence with the location of itself (``loc``) and of each item (``item_locs``)."""

    __slots__ = ("item_locs", "loc")

    def __init__(self, loc: Location | None = None, items: Iterable[Any] = ()) -> None:
        super().__init__(items)
        self.loc = loc
        self.item_locs: list[Location | None] = [None] * len(self)

    def item_loc(self, index: int) -> Location | None:
        if 0 <= index < len(self.item_locs) and self.item_locs[index] is not None:
            return self.item_locs[index]
        return self.loc

    def add(self, value: Any, loc: Location | None) -> None:
        self.append(value)
        self.item_locs.append(loc)


@dataclass(frozen=True, slots=True)
class Reference:
    """A ``!reference [.job, key, …]`` tag, resolved after ``extends``."""

    path: tuple[str, ...]
    loc: Location | None

    def __str__(self) -> str:
        return "!reference [" + ", ".join(self.path) + "]"


def loc_of(value: Any) -> Location | None:
    """The location of a located container, else ``None``."""
    if isinstance(value, LocDict | LocList):
        return value.loc
    if isinstance(value, Reference):
        return value.loc
    return None


def copy_dict(source: LocDict) -> LocDict:
    """A shallow copy that keeps locations."""
    out = LocDict(source.loc, source.items())
    out.key_locs = dict(source.key_locs)
    return out


def to_plain(value: Any) -> Any:
    """Strip locations: nested LocDict/LocList become dict/list (for JSON output, tests)."""
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if isinstance(value, Reference):
        return str(value)
    return value


def located(value: Any, loc: Location | None) -> Any:
    """Wrap plain containers recursively so values built in code carry a location too."""
    if isinstance(value, dict) and not isinstance(value, LocDict):
        out = LocDict(loc)
        for k, v in value.items():
            out.set(k, located(v, loc), loc)
        return out
    if isinstance(value, list) and not isinstance(value, LocList):
        lst = LocList(loc)
        for v in value:
            lst.add(located(v, loc), loc)
        return lst
    return value
