"""The Hyperscan engine: all patterns in one block-mode database, one pass per text.

Each pattern is compiled in its canonical form (see
:mod:`gatehouse.core.pattern_syntax`) with ``SINGLEMATCH`` (report an id once,
which is all triage needs and lets Hyperscan stop tracking it) and
``MULTILINE``; case-insensitive patterns get ``CASELESS``. Hyperscan is not
Unicode-aware here, which is what the subset asks for: text is bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gatehouse.core.pattern_syntax import LogPattern, PatternError, parse_pattern
from gatehouse.core.ports import PatternMatcher


class HyperscanMatcher:
    def __init__(self, database: Any, ids: Sequence[str]) -> None:
        self._database = database
        self._ids = tuple(ids)

    def scan(self, text: str | bytes) -> frozenset[str]:
        if self._database is None:
            return frozenset()
        data = text.encode("utf-8", "replace") if isinstance(text, str) else text
        if not data:
            return frozenset()
        found: set[int] = set()

        def on_match(index: int, _start: int, _end: int, _flags: int, _context: Any) -> None:
            found.add(index)

        self._database.scan(data, match_event_handler=on_match)
        return frozenset(self._ids[i] for i in found)


class HyperscanEngine:
    name = "hyperscan"

    def compile(self, patterns: Sequence[tuple[str, str]]) -> PatternMatcher:
        import hyperscan

        parsed = [(pid, parse_pattern(source)) for pid, source in patterns]
        try:
            return _build(hyperscan, parsed)
        except hyperscan.error:
            pass
        # Find out which pattern Hyperscan refused (its error does not say). A
        # pattern that can never match (``a\\ba``) matches nothing in any
        # engine either, so it is left out rather than refused.
        kept = []
        for pid, pattern in parsed:
            try:
                _build(hyperscan, [(pid, pattern)])
            except hyperscan.error as exc:
                if "can never match" in str(exc):
                    continue
                raise PatternError(
                    f"Hyperscan cannot compile pattern {pid!r}: {exc}", pattern.source, 1
                ) from exc
            kept.append((pid, pattern))
        return _build(hyperscan, kept)


def _build(hyperscan: Any, parsed: Sequence[tuple[str, LogPattern]]) -> HyperscanMatcher:
    if not parsed:
        return HyperscanMatcher(None, ())
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    database.compile(
        expressions=[p.canonical.encode("ascii") for _, p in parsed],
        ids=list(range(len(parsed))),
        elements=len(parsed),
        flags=[_flags(hyperscan, p) for _, p in parsed],
    )
    return HyperscanMatcher(database, [pid for pid, _ in parsed])


def _flags(hyperscan: Any, pattern: LogPattern) -> int:
    flags: int = hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_MULTILINE
    if pattern.caseless:
        flags |= hyperscan.HS_FLAG_CASELESS
    return flags
