"""The log-pattern regex subset: parse, validate, and render it for every engine.

Known issues carry log regexes that thousands of results are scanned with.
Three engines scan them (Hyperscan, RE2 sets, and a pure-Python fallback on
:mod:`re`), and the three disagree at the edges: ``\\d`` is Unicode in Python
and ASCII in RE2, ``\\s`` includes a vertical tab in some and not others, RE2
has no backreferences or lookaround, Hyperscan refuses patterns that can match
the empty string, and ``{,3}`` is a quantifier in Python but a literal
elsewhere. A pattern must mean the same thing whichever engine happens to be
installed, so this module owns one *supported subset* and one canonical
rendering of it:

1. :func:`parse_pattern` reads a pattern into a small syntax tree, rejecting
   anything outside the subset with a :class:`PatternError` that names the
   column and says what to write instead.
2. The tree is rendered back (:attr:`LogPattern.canonical`) with every
   character class spelled out as explicit ASCII byte ranges (``\\d`` becomes
   ``[0-9]``, ``.`` becomes "any byte but newline"), so no engine's own
   definition of a class is ever consulted.
3. Patterns are matched against **bytes** (UTF-8 text), multi-line: ``^`` and
   ``$`` match at line starts and ends. Non-ASCII characters are allowed as
   literals (they match their UTF-8 bytes) but not inside classes, not under a
   quantifier of their own, and not in case-insensitive patterns, because the
   engines would split or fold them differently.
4. :func:`required_literals` walks the tree for literal strings that every
   match must contain; the pure-Python engine prefilters with them.

The subset (documented in ``docs/triage.md``): literals and escaped
punctuation; ``.``; classes ``[...]`` with ranges and negation; ``\\d \\D \\w
\\W \\s \\S`` (ASCII); ``\\t \\n \\r \\f \\v \\xHH``; anchors ``^ $ \\b \\B``;
groups ``(...)`` and ``(?:...)``; alternation; quantifiers ``* + ? {n} {n,}
{n,m}`` (lazy forms accepted, repetition counts up to 255); a leading ``(?i)``
for case-insensitive matching. Refused: backreferences, lookaround, named or
atomic groups, possessive quantifiers, other inline flags, ``\\A \\Z \\z``,
Unicode escapes, nested unbounded repetition such as ``(a+)+`` (exponential in
backtracking engines), and patterns that can match the empty string (they
would match every log).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from gatehouse.errors import InputError

MAX_REPEAT = 255

WORD_BYTES = frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
# Tokens for prefiltering are alphanumeric runs: "_" splits them, so that
# "drm_reset5" yields the whole token "reset5".
TOKEN_BYTES = frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
DIGIT_BYTES = frozenset(b"0123456789")
SPACE_BYTES = frozenset(b" \t\n\r\f\v")
ALL_BYTES = frozenset(range(256))
NEWLINE = 0x0A

_CLASS_ESCAPES = {
    "d": DIGIT_BYTES,
    "D": ALL_BYTES - DIGIT_BYTES,
    "w": WORD_BYTES,
    "W": ALL_BYTES - WORD_BYTES,
    "s": SPACE_BYTES,
    "S": ALL_BYTES - SPACE_BYTES,
}
_CHAR_ESCAPES = {"t": 0x09, "n": 0x0A, "r": 0x0D, "f": 0x0C, "v": 0x0B}
# Escapes some engine reads differently or not at all: what it is, what to write instead.
_REFUSED_ESCAPES = {
    "A": ("\\A", "use ^"),
    "Z": ("\\Z", "use $"),
    "z": ("\\z", "use $"),
    "G": ("\\G", None),
    "u": ("\\u escapes", "write the character itself"),
    "U": ("\\U escapes", "write the character itself"),
    "N": ("\\N escapes", "write the character itself"),
    "p": ("Unicode classes \\p", "use an ASCII class such as [A-Za-z]"),
    "P": ("Unicode classes \\P", "use an ASCII class such as [^A-Za-z]"),
    "0": ("octal escapes", "use \\xHH"),
    "k": ("named backreferences", None),
    "g": ("backreferences", None),
    "Q": ("\\Q…\\E quoting", "escape each character"),
    "E": ("\\Q…\\E quoting", "escape each character"),
    "K": ("\\K", None),
    "R": ("\\R", "use \\n"),
    "h": ("\\h", "use [ \\t]"),
    "e": ("\\e", "use \\x1b"),
    "c": ("control escapes \\c", "use \\xHH"),
    "a": ("\\a", "use \\x07"),
}


class PatternError(InputError):
    """A log pattern outside the supported subset; ``column`` is 1-based."""

    def __init__(self, message: str, pattern: str, column: int, *, hint: str | None = None):
        super().__init__(f"{message} at column {column} of {pattern!r}", hint=hint)
        self.reason = message
        self.pattern = pattern
        self.column = column


# --------------------------------------------------------------------------- tree


@dataclass(frozen=True, slots=True)
class Bytes:
    """A byte set matching exactly one byte (a literal is a one-byte set)."""

    values: frozenset[int]


@dataclass(frozen=True, slots=True)
class Anchor:
    kind: str  # "^", "$", "\\b", "\\B"
    at: int = dataclasses.field(default=0, compare=False)  # 0-based offset in the source


@dataclass(frozen=True, slots=True)
class Concat:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Alternation:
    branches: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Repeat:
    item: Node
    low: int
    high: int | None  # None = unbounded


Node = Bytes | Anchor | Concat | Alternation | Repeat


@dataclass(frozen=True, slots=True)
class LogPattern:
    """A validated pattern: its source text, tree, flags and canonical rendering."""

    source: str
    tree: Node
    caseless: bool

    @property
    def canonical(self) -> str:
        """The pattern in the common dialect (no flags; see :attr:`caseless`)."""
        return _render(self.tree)

    def python_pattern(self) -> bytes:
        """For :mod:`re` on bytes with ``re.MULTILINE`` (plus ``re.IGNORECASE`` if caseless)."""
        return self.canonical.encode("ascii")


# --------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.pos = 0
        self.caseless = False

    def fail(self, message: str, at: int | None = None, hint: str | None = None) -> PatternError:
        return PatternError(message, self.source, (self.pos if at is None else at) + 1, hint=hint)

    def peek(self, offset: int = 0) -> str:
        i = self.pos + offset
        return self.source[i] if i < len(self.source) else ""

    def parse(self) -> Node:
        if self.source.startswith("(?i)"):
            self.caseless = True
            self.pos = 4
        tree = self.alternation()
        if self.pos < len(self.source):
            raise self.fail("unbalanced ')'")
        return tree

    def alternation(self) -> Node:
        branches = [self.concat()]
        while self.peek() == "|":
            self.pos += 1
            branches.append(self.concat())
        return branches[0] if len(branches) == 1 else Alternation(tuple(branches))

    def concat(self) -> Node:
        items: list[Node] = []
        while self.peek() not in ("", "|", ")"):
            start = self.pos
            atom, kind = self.atom()
            if self.peek() in ("*", "+", "?", "{") and self._is_quantifier():
                if kind == "anchor":
                    raise self.fail("a quantifier needs something to repeat before it")
                if kind == "multibyte":
                    raise self.fail(
                        "a quantifier after a non-ASCII character would repeat only its last byte",
                        start,
                        hint="group it: (?:é)+",
                    )
                atom = self.quantifier(atom, start)
            items.extend(atom.items if isinstance(atom, Concat) else (atom,))
        return items[0] if len(items) == 1 else Concat(tuple(items))

    def _is_quantifier(self) -> bool:
        if self.peek() != "{":
            return True
        # Python reads "{,3}" as a quantifier, RE2 and Hyperscan as literal text.
        end = self.source.find("}", self.pos)
        body = self.source[self.pos + 1 : end] if end > 0 else ""
        if body.startswith(","):
            raise self.fail("'{,n}' is read differently by the engines", hint="write {0,n}")
        return bool(body) and all(part.isdigit() for part in body.split(",", 1) if part)

    def quantifier(self, atom: Node, start: int) -> Node:
        ch = self.peek()
        at = self.pos
        if ch == "{":
            end = self.source.index("}", self.pos)
            body = self.source[self.pos + 1 : end]
            self.pos = end + 1
            low_text, comma, high_text = body.partition(",")
            low = int(low_text)
            high: int | None = int(high_text) if high_text else (None if comma else low)
            if max(low, high or 0) > MAX_REPEAT:
                raise self.fail(f"repetition counts above {MAX_REPEAT} are not supported", at)
            if high is not None and high < low:
                raise self.fail(f"repetition {{{body}}} has its bounds reversed", at)
        else:
            self.pos += 1
            low, high = {"*": (0, None), "+": (1, None), "?": (0, 1)}[ch]
        if self.peek() == "+":
            raise self.fail("possessive quantifiers are not supported", hint="drop the '+'")
        if self.peek() == "?":
            self.pos += 1  # lazy and greedy find the same matches: only presence counts
        if self.peek() in ("*", "+", "{") and self._is_quantifier():
            raise self.fail("a quantifier cannot follow another quantifier")
        if nullable(atom):
            raise self.fail("repeating something that can match the empty string", start)
        if high is None and _has_unbounded(atom):
            raise self.fail(
                "nested unbounded repetition (like (a+)+) is refused: it can take exponential "
                "time in backtracking engines",
                start,
            )
        return Repeat(atom, low, high)

    def atom(self) -> tuple[Node, str]:
        """The next atom and its kind: "plain", "anchor" or "multibyte" (a UTF-8 literal)."""
        ch = self.peek()
        at = self.pos
        if ch == "(":
            return self.group(), "plain"
        if ch == "[":
            return Bytes(self.char_class()), "plain"
        if ch in ("*", "+", "?", "{") and (ch != "{" or self._is_quantifier()):
            raise self.fail("a quantifier needs something to repeat before it")
        self.pos += 1
        if ch == ".":
            return Bytes(ALL_BYTES - {NEWLINE}), "plain"
        if ch in ("^", "$"):
            return Anchor(ch, at), "anchor"
        if ch == "\\":
            escaped = self.escape(at, in_class=False)
            return escaped, "anchor" if isinstance(escaped, Anchor) else "plain"
        literal = self.literal_char(ch, at)
        return literal, "multibyte" if isinstance(literal, Concat) else "plain"

    def literal_char(self, ch: str, at: int) -> Node:
        encoded = ch.encode("utf-8")
        if len(encoded) == 1:
            return Bytes(frozenset(encoded))
        if self.caseless:
            raise self.fail("non-ASCII characters are not supported in (?i) patterns", at)
        return Concat(tuple(Bytes(frozenset((b,))) for b in encoded))

    def group(self) -> Node:
        at = self.pos
        self.pos += 1
        if self.peek() == "?":
            if self.source.startswith("?:", self.pos):
                self.pos += 2
            else:
                raise self.fail(_describe_group(self.source[self.pos :]), at)
        inner = self.alternation()
        if self.peek() != ")":
            raise self.fail("missing ')'", at)
        self.pos += 1
        return inner

    def escape(self, at: int, *, in_class: bool) -> Bytes | Anchor:
        ch = self.peek()
        if not ch:
            raise self.fail("a pattern cannot end with a backslash", at)
        self.pos += 1
        if ch in _CLASS_ESCAPES:
            return Bytes(_CLASS_ESCAPES[ch])
        if ch in _CHAR_ESCAPES:
            return Bytes(frozenset((_CHAR_ESCAPES[ch],)))
        if ch == "x":
            digits = self.source[self.pos : self.pos + 2]
            if len(digits) != 2 or any(c not in "0123456789abcdefABCDEF" for c in digits):
                raise self.fail("\\x needs exactly two hex digits (\\xHH)", at)
            self.pos += 2
            return Bytes(frozenset((int(digits, 16),)))
        if ch in ("b", "B") and not in_class:
            return Anchor("\\" + ch, at)
        if ch.isdigit():
            raise self.fail("backreferences are not supported", at)
        if ch in _REFUSED_ESCAPES or ch.isalnum():
            what, hint = _REFUSED_ESCAPES.get(ch, (f"the escape \\{ch}", None))
            raise self.fail(f"{what} is not supported", at, hint=hint)
        if not ch.isascii():
            raise self.fail("escape only ASCII punctuation", at)
        return Bytes(frozenset(ch.encode("ascii")))

    def char_class(self) -> frozenset[int]:
        at = self.pos
        self.pos += 1
        negated = self.peek() == "^"
        if negated:
            self.pos += 1
        values: set[int] = set()
        first = True
        while True:
            ch = self.peek()
            if not ch:
                raise self.fail("missing ']'", at)
            if ch == "]" and not first:
                self.pos += 1
                break
            if ch == "[" and self.peek(1) in (":", "=", "."):
                raise self.fail("POSIX classes like [:alpha:] are not supported", hint="[A-Za-z]")
            low = self.class_member()
            first = False
            if self.peek() == "-" and self.peek(1) not in ("]", ""):
                dash = self.pos
                self.pos += 1
                high = self.class_member()
                if len(low) != 1 or len(high) != 1:
                    raise self.fail("a range needs a single character at each end", dash)
                lo, hi = min(low), min(high)
                if hi < lo:
                    raise self.fail("range out of order", dash)
                values.update(range(lo, hi + 1))
            else:
                values.update(low)
        result = (ALL_BYTES - values) if negated else frozenset(values)
        if not result:
            raise self.fail("this class matches nothing", at)
        return result

    def class_member(self) -> frozenset[int]:
        ch = self.peek()
        at = self.pos
        if ch == "\\":
            self.pos += 1
            node = self.escape(at, in_class=True)
            assert isinstance(node, Bytes)
            return node.values
        self.pos += 1
        if not ch.isascii():
            raise self.fail("non-ASCII characters are not supported inside [...]", at)
        return frozenset(ch.encode("ascii"))


def _describe_group(rest: str) -> str:
    for prefix, what in (
        ("?=", "lookahead"),
        ("?!", "negative lookahead"),
        ("?<=", "lookbehind"),
        ("?<!", "negative lookbehind"),
        ("?P<", "named groups"),
        ("?P=", "named backreferences"),
        ("?<", "named groups"),
        ("?>", "atomic groups"),
        ("?#", "comments"),
        ("?(", "conditionals"),
    ):
        if rest.startswith(prefix):
            return f"{what} ({prefix}…) are not supported"
    return "inline flags are only supported as a leading (?i)"


def _has_unbounded(node: Node) -> bool:
    if isinstance(node, Repeat):
        return node.high is None or _has_unbounded(node.item)
    if isinstance(node, Concat):
        return any(_has_unbounded(i) for i in node.items)
    if isinstance(node, Alternation):
        return any(_has_unbounded(b) for b in node.branches)
    return False


def _check_anchors(node: Node, source: str, *, at_start: bool, at_end: bool) -> None:
    """``^`` only where nothing was consumed before it, ``$`` only where nothing follows.

    Hyperscan refuses embedded anchors such as ``a^b``; they can never match
    in the others, so nothing useful is lost.
    """
    if isinstance(node, Anchor):
        if (node.kind == "^" and not at_start) or (node.kind == "$" and not at_end):
            where = "the start" if node.kind == "^" else "the end"
            raise PatternError(
                f"{node.kind!r} is only supported at {where} of the pattern or of an alternative",
                source,
                node.at + 1,
            )
    elif isinstance(node, Concat):
        items = node.items
        for i, item in enumerate(items):
            first, last = i == 0, i == len(items) - 1
            _check_anchors(item, source, at_start=at_start and first, at_end=at_end and last)
    elif isinstance(node, Alternation):
        for branch in node.branches:
            _check_anchors(branch, source, at_start=at_start, at_end=at_end)
    elif isinstance(node, Repeat):
        once = node.high == 1
        _check_anchors(node.item, source, at_start=at_start and once, at_end=at_end and once)


def nullable(node: Node) -> bool:
    """Whether the node can match without consuming a byte."""
    if isinstance(node, Bytes):
        return False
    if isinstance(node, Anchor):
        return True
    if isinstance(node, Concat):
        return all(nullable(i) for i in node.items)
    if isinstance(node, Alternation):
        return any(nullable(b) for b in node.branches)
    return node.low == 0 or nullable(node.item)


def parse_pattern(source: str) -> LogPattern:
    """Parse and validate one log pattern; raise :class:`PatternError` if unsupported."""
    if not source:
        raise PatternError("an empty pattern matches every log", source, 1)
    if "\0" in source:
        raise PatternError("NUL is not allowed in a pattern", source, source.index("\0") + 1)
    parser = _Parser(source)
    tree = parser.parse()
    _check_anchors(tree, source, at_start=True, at_end=True)
    if nullable(tree):
        raise PatternError(
            "this pattern can match the empty string, so it would match every log",
            source,
            1,
            hint="require at least one character, e.g. 'x+' instead of 'x*'",
        )
    return LogPattern(source, tree, parser.caseless)


# --------------------------------------------------------------------------- rendering

_SAFE_LITERAL = frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_ ")


def _byte(b: int) -> str:
    return chr(b) if b in _SAFE_LITERAL else f"\\x{b:02x}"


def _render_set(values: frozenset[int]) -> str:
    if len(values) == 1:
        return _byte(next(iter(values)))
    complement = ALL_BYTES - values
    negate = len(complement) < len(values)
    members = sorted(complement if negate else values)
    parts: list[str] = []
    i = 0
    while i < len(members):
        j = i
        while j + 1 < len(members) and members[j + 1] == members[j] + 1:
            j += 1
        lo, hi = members[i], members[j]
        parts.append(f"\\x{lo:02x}" if lo == hi else f"\\x{lo:02x}-\\x{hi:02x}")
        i = j + 1
    return "[" + ("^" if negate else "") + "".join(parts) + "]"


def _render(node: Node) -> str:
    if isinstance(node, Bytes):
        return _render_set(node.values)
    if isinstance(node, Anchor):
        return node.kind
    if isinstance(node, Concat):
        return "".join(
            f"(?:{_render(i)})" if isinstance(i, Alternation) else _render(i) for i in node.items
        )
    if isinstance(node, Alternation):
        return "|".join(_render(b) for b in node.branches)
    inner = _render(node.item)
    if not (isinstance(node.item, Bytes)):
        inner = f"(?:{inner})"
    if node.high is None:
        suffix = {0: "*", 1: "+"}.get(node.low, f"{{{node.low},}}")
    elif (node.low, node.high) == (0, 1):
        suffix = "?"
    elif node.low == node.high:
        suffix = f"{{{node.low}}}"
    else:
        suffix = f"{{{node.low},{node.high}}}"
    return inner + suffix


# --------------------------------------------------------------------------- literals


@dataclass(frozen=True, slots=True)
class Literal:
    """A byte string every match contains; ``whole_tokens`` are words it contains whole.

    A "token" is a maximal run of alphanumeric bytes ``[A-Za-z0-9]``. A word of the
    literal that is bounded on both sides (by non-word bytes of the literal, or
    by ``\\b``, ``^``, ``$`` or a non-word class next to it in the pattern)
    appears in any matching text as a whole token, which lets the pure-Python
    engine look it up in a set of the text's tokens instead of searching.
    """

    text: bytes
    whole_tokens: tuple[bytes, ...]


def required_literals(pattern: LogPattern) -> tuple[Literal, ...] | None:
    """Alternatives of which every match contains at least one; ``None`` if unknown.

    For a concatenation the most selective part is chosen; an alternation
    needs a literal from every branch; optional parts contribute nothing.
    Case-insensitive patterns yield lower-cased literals.
    """
    found = _required(pattern.tree)
    if found is None:
        return None
    if pattern.caseless:
        found = tuple(
            Literal(lit.text.lower(), tuple(t.lower() for t in lit.whole_tokens)) for lit in found
        )
    return found


def _score(options: tuple[Literal, ...]) -> tuple[int, int]:
    """Higher is more selective: prefer whole tokens, then longer weakest option."""
    weakest_token = min(max((len(t) for t in o.whole_tokens), default=0) for o in options)
    weakest_text = min(len(o.text) for o in options)
    return (weakest_token, weakest_text)


def _separator(node: Node | None) -> bool:
    """Whether a neighbour guarantees a token boundary (pattern edge counts as unknown)."""
    if isinstance(node, Anchor):
        return node.kind in ("^", "$", "\\b")
    if isinstance(node, Bytes):
        return not (node.values & TOKEN_BYTES)
    if isinstance(node, Repeat) and node.low >= 1:
        return _separator(node.item)
    return False


def _literal_from_run(run: bytes, left_bounded: bool, right_bounded: bool) -> Literal:
    tokens: list[bytes] = []
    i = 0
    while i < len(run):
        if run[i] not in TOKEN_BYTES:
            i += 1
            continue
        j = i
        while j < len(run) and run[j] in TOKEN_BYTES:
            j += 1
        if (i > 0 or left_bounded) and (j < len(run) or right_bounded):
            tokens.append(run[i:j])
        i = j
    tokens.sort(key=len, reverse=True)
    return Literal(run, tuple(tokens))


def _required(node: Node) -> tuple[Literal, ...] | None:
    if isinstance(node, Bytes):
        if len(node.values) == 1:
            return (_literal_from_run(bytes(node.values), False, False),)
        return None
    if isinstance(node, Anchor):
        return None
    if isinstance(node, Alternation):
        options: list[Literal] = []
        for branch in node.branches:
            found = _required(branch)
            if found is None:
                return None
            options.extend(found)
        return tuple(options)
    if isinstance(node, Repeat):
        return _required(node.item) if node.low >= 1 else None
    candidates: list[tuple[Literal, ...]] = []
    items = node.items
    i = 0
    while i < len(items):
        item = items[i]
        if isinstance(item, Bytes) and len(item.values) == 1:
            j = i
            run = bytearray()
            while j < len(items):
                it = items[j]
                if not (isinstance(it, Bytes) and len(it.values) == 1):
                    break
                run.extend(it.values)
                j += 1
            left = _separator(items[i - 1]) if i > 0 else False
            right = _separator(items[j]) if j < len(items) else False
            candidates.append((_literal_from_run(bytes(run), left, right),))
            i = j
            continue
        found = _required(item)
        if found is not None:
            candidates.append(found)
        i += 1
    if not candidates:
        return None
    return max(candidates, key=_score)


def required_tokens(pattern: LogPattern) -> frozenset[bytes]:
    """Whole tokens that every match contains, all of them (lower-cased if caseless).

    Unlike :func:`required_literals`, which picks one part, this collects the
    whole tokens of every required literal of the pattern: a text lacking any
    of them cannot match.
    """
    found = _tokens(pattern.tree)
    return frozenset(t.lower() for t in found) if pattern.caseless else found


def _tokens(node: Node) -> frozenset[bytes]:
    if isinstance(node, Alternation):
        common = _tokens(node.branches[0])
        for branch in node.branches[1:]:
            common &= _tokens(branch)
        return common
    if isinstance(node, Repeat):
        return _tokens(node.item) if node.low >= 1 else frozenset()
    if not isinstance(node, Concat):
        return frozenset()
    found: set[bytes] = set()
    items = node.items
    i = 0
    while i < len(items):
        item = items[i]
        if isinstance(item, Bytes) and len(item.values) == 1:
            j = i
            run = bytearray()
            while j < len(items) and isinstance(items[j], Bytes) and len(items[j].values) == 1:  # type: ignore[union-attr]
                run.extend(items[j].values)  # type: ignore[union-attr]
                j += 1
            left = _separator(items[i - 1]) if i > 0 else False
            right = _separator(items[j]) if j < len(items) else False
            found.update(_literal_from_run(bytes(run), left, right).whole_tokens)
            i = j
            continue
        found.update(_tokens(item))
        i += 1
    return frozenset(found)
