"""The multi-pattern log matcher port (see :mod:`gatehouse.core.pattern_syntax`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class PatternMatcher(Protocol):
    """A compiled set of log patterns (see :mod:`gatehouse.core.pattern_syntax`).

    One matcher is used by one thread at a time (Hyperscan's scratch space is
    per thread); compile one per worker thread.
    """

    def scan(self, text: str | bytes) -> frozenset[str]:
        """The ids of every pattern that matches somewhere in ``text``.

        ``str`` is scanned as its UTF-8 bytes; ``^`` and ``$`` match at line
        boundaries.
        """
        ...


class PatternMatcherEngine(Protocol):
    """Compiles ``(id, pattern)`` pairs once into a :class:`PatternMatcher`.

    Every pattern is validated against the supported subset first; an
    unsupported one raises :class:`gatehouse.core.pattern_syntax.PatternError`
    (an :class:`gatehouse.errors.InputError`) naming the pattern and column.
    Adapters live in :mod:`gatehouse.matchers` (Hyperscan, RE2 sets, pure Python).
    """

    name: str

    def compile(self, patterns: Sequence[tuple[str, str]]) -> PatternMatcher: ...
