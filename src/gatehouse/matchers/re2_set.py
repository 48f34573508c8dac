"""The RE2 engine: all patterns in one ``re2.Set``, one pass per text.

The set runs in Latin-1 mode on bytes, so ``.`` and classes match single bytes
exactly as the pattern subset defines (UTF-8 mode would match code points).
Each pattern is prefixed with ``(?m)`` (line anchors) and ``(?i)`` when
case-insensitive; the subset forbids non-ASCII text in case-insensitive
patterns, so Latin-1 case folding never applies.

RE2's DFA gives up when it exceeds its memory budget (``max_mem``) and a set
then reports no match at all, so the budget is generous.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gatehouse.core.pattern_syntax import PatternError, parse_pattern
from gatehouse.core.ports import PatternMatcher

MAX_MEM = 1 << 30


class Re2SetMatcher:
    def __init__(self, pattern_set: Any, ids: Sequence[str]) -> None:
        self._set = pattern_set
        self._ids = tuple(ids)

    def scan(self, text: str | bytes) -> frozenset[str]:
        if self._set is None:
            return frozenset()
        data = text.encode("utf-8", "replace") if isinstance(text, str) else text
        hits = self._set.Match(data)
        return frozenset(self._ids[i] for i in hits) if hits else frozenset()


class Re2SetEngine:
    name = "re2"

    def compile(self, patterns: Sequence[tuple[str, str]]) -> PatternMatcher:
        import re2

        parsed = [(pid, parse_pattern(source)) for pid, source in patterns]
        if not parsed:
            return Re2SetMatcher(None, ())
        options = re2.Options()
        options.encoding = re2.Options.Encoding.LATIN1
        options.max_mem = MAX_MEM
        pattern_set = re2.Set.SearchSet(options)
        for pid, pattern in parsed:
            text = ("(?mi)" if pattern.caseless else "(?m)") + pattern.canonical
            try:
                pattern_set.Add(text.encode("ascii"))
            except re2.error as exc:
                raise PatternError(
                    f"RE2 cannot compile pattern {pid!r}: {exc}", pattern.source, 1
                ) from exc
        try:
            pattern_set.Compile()
        except re2.error as exc:
            raise PatternError(f"RE2 cannot compile the pattern set: {exc}", "", 1) from exc
        return Re2SetMatcher(pattern_set, [pid for pid, _ in parsed])
