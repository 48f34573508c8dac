"""The pure-Python engine: prefilter by required words, then run only the likely regexes.

How it avoids running a thousand regexes over every text:

1. At compile time, :func:`gatehouse.core.pattern_syntax.required_literals`
   tells, for each pattern, literal strings one of which every match must
   contain. Each pattern gets a *gate*:

   - a **token gate** when the pattern's required literals contain whole
     words (runs of ``[A-Za-z0-9]`` bounded on both sides, e.g. ``BUG`` in
     ``kernel BUG at``): the pattern can only match texts in which *all* of
     those words occur as whole tokens. It is indexed under the most specific
     one (containing a digit, then longest) and the others are checked with a
     set inclusion;
   - else a **substring gate** when a literal has at least three bytes: the
     pattern can only match texts containing it (checked with ``in``, which
     runs at C speed);
   - else **no gate**: the regex always runs.

2. At scan time the text is split into its word tokens with two C-speed
   passes (``bytes.translate`` turns every non-word byte into a space, then
   ``bytes.split``), and the set of tokens is intersected with the token
   gates' dictionary. Only the patterns whose gate opened run their
   (individually compiled) regex.

A text that contains none of the gate words costs one tokenisation plus one
``in`` per substring gate, whatever the number of token-gated patterns. The
gates only ever let through *more* than the regexes match, never less, so the
answers equal a plain loop over ``re.search`` (a property test checks it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from gatehouse.core.pattern_syntax import (
    TOKEN_BYTES,
    LogPattern,
    parse_pattern,
    required_literals,
    required_tokens,
)
from gatehouse.core.ports import PatternMatcher

MIN_GATE = 3  # shorter words and literals are too common to filter anything
_TO_SPACE = bytes(b if b in TOKEN_BYTES else 0x20 for b in range(256))


@dataclass(frozen=True, slots=True)
class _Compiled:
    id: str
    regex: re.Pattern[bytes]
    caseless: bool
    tokens: frozenset[bytes]  # every one of them must be a token of the text


class PrefilterMatcher:
    def __init__(
        self,
        *,
        patterns: Sequence[_Compiled],
        tokens: dict[bytes, tuple[int, ...]],
        caseless_tokens: dict[bytes, tuple[int, ...]],
        substrings: Sequence[tuple[bytes, tuple[int, ...]]],
        caseless_substrings: Sequence[tuple[bytes, tuple[int, ...]]],
        ungated: Sequence[int],
    ) -> None:
        self._patterns = tuple(patterns)
        self._tokens = tokens
        self._caseless_tokens = caseless_tokens
        self._substrings = tuple(substrings)
        self._caseless_substrings = tuple(caseless_substrings)
        self._ungated = tuple(ungated)

    def candidates(self, data: bytes) -> set[int]:
        """Indexes of the patterns whose gate opens for ``data``."""
        chosen: set[int] = set(self._ungated)
        words: set[bytes] = set()
        lowered_words: set[bytes] = set()
        if self._tokens:
            words = set(data.translate(_TO_SPACE).split())
            for word in self._tokens.keys() & words:
                chosen.update(self._tokens[word])
        lowered = data.lower() if (self._caseless_tokens or self._caseless_substrings) else b""
        if self._caseless_tokens:
            lowered_words = set(lowered.translate(_TO_SPACE).split())
            for word in self._caseless_tokens.keys() & lowered_words:
                chosen.update(self._caseless_tokens[word])
        for literal, indexes in self._substrings:
            if literal in data:
                chosen.update(indexes)
        for literal, indexes in self._caseless_substrings:
            if literal in lowered:
                chosen.update(indexes)
        # a pattern needs all its required tokens, not just the one it is indexed by
        return {
            i
            for i in chosen
            if not self._patterns[i].tokens
            or self._patterns[i].tokens <= (lowered_words if self._patterns[i].caseless else words)
        }

    def scan(self, text: str | bytes) -> frozenset[str]:
        data = text.encode("utf-8", "replace") if isinstance(text, str) else text
        if not data:
            return frozenset()
        found = set()
        for index in self.candidates(data):
            pattern = self._patterns[index]
            if pattern.id not in found and pattern.regex.search(data):
                found.add(pattern.id)
        return frozenset(found)


class PrefilterEngine:
    name = "python"

    def compile(self, patterns: Sequence[tuple[str, str]]) -> PatternMatcher:
        compiled: list[_Compiled] = []
        tokens: dict[bool, dict[bytes, list[int]]] = {False: {}, True: {}}
        substrings: dict[bool, dict[bytes, list[int]]] = {False: {}, True: {}}
        ungated: list[int] = []
        for pid, source in patterns:
            pattern = parse_pattern(source)
            index = len(compiled)
            needed = required_tokens(pattern)
            compiled.append(_Compiled(pid, _python_regex(pattern), pattern.caseless, needed))
            gates = _gates(pattern, needed)
            if gates is None:
                ungated.append(index)
                continue
            for kind, key in gates:
                table = tokens if kind == "token" else substrings
                table[pattern.caseless].setdefault(key, []).append(index)
        return PrefilterMatcher(
            patterns=compiled,
            tokens={k: tuple(v) for k, v in tokens[False].items()},
            caseless_tokens={k: tuple(v) for k, v in tokens[True].items()},
            substrings=[(k, tuple(v)) for k, v in substrings[False].items()],
            caseless_substrings=[(k, tuple(v)) for k, v in substrings[True].items()],
            ungated=ungated,
        )


def _python_regex(pattern: LogPattern) -> re.Pattern[bytes]:
    flags = re.MULTILINE | (re.IGNORECASE if pattern.caseless else 0)
    return re.compile(pattern.python_pattern(), flags)


def _gates(pattern: LogPattern, tokens: frozenset[bytes]) -> list[tuple[str, bytes]] | None:
    """How a pattern is indexed; ``None`` when it cannot be (it always runs).

    Required tokens win: the pattern is indexed under the most specific one
    (with a digit, then longest) and the rest are checked at scan time.
    Otherwise one gate per alternative literal.
    """
    if tokens:
        key = max(tokens, key=lambda t: (any(48 <= b <= 57 for b in t), len(t), t))
        return [("token", key)]
    literals = required_literals(pattern)
    if literals is None:
        return None
    gates: list[tuple[str, bytes]] = []
    for literal in literals:
        token = literal.whole_tokens[0] if literal.whole_tokens else b""
        if len(token) >= MIN_GATE:
            gates.append(("token", token))
        elif len(literal.text) >= MIN_GATE:
            gates.append(("substring", literal.text))
        else:
            return None
    return gates
