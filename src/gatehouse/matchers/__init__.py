"""Multi-pattern log matchers: adapters of :class:`gatehouse.core.ports.PatternMatcherEngine`.

Triage scans every failure's log with every known issue's log regex. A Python
loop of ``re.search`` over thousands of patterns is far too slow, so the
patterns are compiled once into one automaton and each text is scanned once:

- ``hyperscan``  Intel's Hyperscan (``pip install gatehouse[fast]``), fastest;
- ``re2``        an RE2 ``Set`` (``google-re2``), also a single pass;
- ``python``     a pure-Python engine that needs nothing: it prefilters by the
                 literal words every match must contain and runs only the
                 regexes whose words occur.

All three accept exactly the pattern subset of
:mod:`gatehouse.core.pattern_syntax` and give the same answers (the contract
tests in ``tests/contracts/test_pattern_matchers.py`` hold them to it).
:func:`best_available` picks the fastest one installed.
"""

from __future__ import annotations

import importlib.util

from gatehouse.core.ports import PatternMatcherEngine
from gatehouse.errors import MachineError, UsageError

# Fastest first.
ENGINE_NAMES: tuple[str, ...] = ("hyperscan", "re2", "python")
_LIBRARY = {"hyperscan": "hyperscan", "re2": "re2", "python": None}


def is_available(name: str) -> bool:
    """Whether the engine's library is installed (the pure-Python one always is)."""
    if name not in _LIBRARY:
        raise UsageError(
            f"unknown matcher engine {name!r}; choose one of {', '.join(ENGINE_NAMES)}"
        )
    library = _LIBRARY[name]
    return library is None or importlib.util.find_spec(library) is not None


def available_engines() -> tuple[str, ...]:
    return tuple(n for n in ENGINE_NAMES if is_available(n))


def engine(name: str) -> PatternMatcherEngine:
    """The named engine; :class:`MachineError` when its library is not installed."""
    if not is_available(name):
        raise MachineError(
            f"the {name!r} matcher engine needs the {_LIBRARY[name]!r} package",
            hint="pip install 'gatehouse[fast]'",
        )
    if name == "hyperscan":
        from gatehouse.matchers.hyperscan_db import HyperscanEngine

        return HyperscanEngine()
    if name == "re2":
        from gatehouse.matchers.re2_set import Re2SetEngine

        return Re2SetEngine()
    from gatehouse.matchers.prefilter import PrefilterEngine

    return PrefilterEngine()


def best_available() -> PatternMatcherEngine:
    """The fastest installed engine (Hyperscan, then RE2, then pure Python)."""
    return engine(available_engines()[0])
