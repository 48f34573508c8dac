"""The ``rules:if`` expression language, evaluated exactly as GitLab evaluates it.

Grammar (tokens are matched in this order; whitespace is skipped)::

    (  )  $NAME  "string"  'string'  /regex/flags  null  ==  =~  !=  !~  &&  ||

Operators are binary and left-associative. ``==``, ``!=``, ``=~`` and ``!~``
bind tighter than ``&&``, which binds tighter than ``||`` — GitLab builds the
tree with a shunting-yard over these precedences, and so do we.
``${NAME}`` is not a token: an expression using it is a syntax error, as in
GitLab. The lexer stops after 100 scans, so an expression must have fewer than
100 tokens. A regex literal must have at least two characters between its
slashes (``/a/`` does not lex in GitLab; write ``/^a/`` or ``/a+/``).

Evaluation follows GitLab's Ruby code, quirks included, because configs are
written against it:

- ``$NAME`` is the variable's value taken as-is (no nested expansion), or
  ``null`` when the variable is not defined;
- ``==``/``!=`` compare values (``$V == null`` ⇔ undefined; ``$V == ""`` ⇔
  defined and empty);
- ``a =~ b``: the left value (``null`` becomes ``""``) is searched
  (unanchored) with the right one. When the right is a variable whose value is
  written ``/…/flags`` it is used as a regex; any other value is used as a
  plain string, and the match holds when the left value *occurs in* it (Ruby's
  ``String#scan``). A ``null`` right side never matches; ``!~`` is the negation;
- ``&&`` and ``||`` return one of their operand *values*, like Ruby's:
  ``a && b`` is ``a`` when ``a`` is ``null``/false, else ``b``;
  ``a || b`` is ``a`` unless ``a`` is ``null``/false, else ``b``;
- the whole expression holds when its value is "present": not ``null``, not
  false, and not a blank string. So a bare ``$V`` holds when V is set to a
  non-blank value, and — a Ruby subtlety — ``$EMPTY || $SET`` does *not*
  hold when EMPTY is defined but empty, because ``""`` is truthy in Ruby and
  is returned by ``||``, then found blank.

Regexes are RE2 in GitLab. We compile them with Python's ``re`` after
translating RE2-only spellings (``\\z``, ``(?<name>…)``) and reject what RE2
refuses (look-around, back-references), so a config that works here works
there. Flags as in RE2: ``i`` (ignore case), ``m`` (``^``/``$`` at line
breaks), ``s`` (dot matches newline).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

MAX_TOKENS = 100


class ExpressionError(ValueError):
    """A syntax error in an expression; ``column`` is 1-based within the expression."""

    def __init__(self, message: str, column: int | None = None) -> None:
        super().__init__(message)
        self.column = column


@dataclass(frozen=True, slots=True)
class Var:
    name: str


@dataclass(frozen=True, slots=True)
class Str:
    value: str


@dataclass(frozen=True, slots=True)
class Null:
    pass


@dataclass(frozen=True, slots=True)
class Regex:
    source: str
    flags: str
    compiled: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class BinOp:
    op: str
    left: Node
    right: Node


Node = Var | Str | Null | Regex | BinOp


@dataclass(frozen=True, slots=True)
class Expression:
    """A parsed expression with its source text."""

    source: str
    tree: Node

    def evaluate(self, lookup: Callable[[str], str | None]) -> bool:
        return is_present(_evaluate(self.tree, lookup))

    def variables(self) -> set[str]:
        found: set[str] = set()

        def walk(node: Node) -> None:
            if isinstance(node, Var):
                found.add(node.name)
            elif isinstance(node, BinOp):
                walk(node.left)
                walk(node.right)

        walk(self.tree)
        return found


_PRECEDENCE = {"==": 10, "!=": 10, "=~": 10, "!~": 10, "&&": 11, "||": 12}

# Token patterns in GitLab's lexer order (lib/gitlab/ci/pipeline/expression/lexer.rb).
# A regex literal needs at least two characters between its slashes and may not
# end in a backslash: GitLab's own pattern is /([^/]|\\/)+[^\\]/[ismU]*.
_TOKENS: list[tuple[str, re.Pattern[str]]] = [
    ("(", re.compile(r"\(")),
    (")", re.compile(r"\)")),
    ("var", re.compile(r"\$([A-Za-z0-9_]+)")),
    ("str", re.compile(r"\"(.*?)\"|'(.*?)'")),
    ("regex", re.compile(r"/((?:[^/]|\\/)+[^\\])/([ismU]*)")),
    ("null", re.compile(r"null")),
    ("op", re.compile(r"==|=~|!=|!~|&&|\|\|")),
]
_WS = re.compile(r"\s+")
# How GitLab recognises a regex held in a variable (Gitlab::UntrustedRegexp::RubySyntax).
_REGEX_VALUE = re.compile(r"/(.*)/([ismU]*)")


def translate_regex(source: str, flags: str) -> re.Pattern[str]:
    """Compile an RE2 regex (GitLab's dialect) with Python's ``re``.

    ``\\/`` is an escaped slash; ``\\z`` and ``(?<name>…)`` are spelled the
    Python way; ``\\w``, ``\\d`` and ``\\s`` are ASCII, as in RE2. What RE2
    refuses (look-around, back-references) is refused here too, so a config
    that works here works there. Flags as in RE2: ``i`` ignore case, ``m``
    multi-line anchors, ``s`` dot matches newline; ``U`` (ungreedy) has no
    Python equivalent and is refused.
    """
    for bad, what in (
        ("(?=", "look-ahead"),
        ("(?!", "negative look-ahead"),
        ("(?<=", "look-behind"),
        ("(?<!", "negative look-behind"),
    ):
        if bad in source:
            raise ExpressionError(
                f"regex /{source}/: {what} is not supported by RE2 (GitLab rejects it)"
            )
    if re.search(r"(?<!\\)\\[1-9]", source):
        raise ExpressionError(
            f"regex /{source}/: back-references are not supported by RE2 (GitLab rejects it)"
        )
    py = source.replace("\\/", "/").replace("\\z", "\\Z")
    py = re.sub(r"\(\?<([A-Za-z_]\w*)>", r"(?P<\1>", py)
    value = re.ASCII
    for flag in flags:
        if flag == "i":
            value |= re.IGNORECASE
        elif flag == "m":
            value |= re.MULTILINE
        elif flag == "s":
            value |= re.DOTALL
        else:
            raise ExpressionError(
                f"regex /{source}/{flags}: flag {flag!r} is not supported here (use i, m or s)"
            )
    try:
        return re.compile(py, value)
    except re.error as exc:
        raise ExpressionError(f"invalid regex /{source}/: {exc}") from exc


def _tokenize(text: str) -> list[tuple[str, object, int]]:
    """GitLab's lexer: at most 100 scans, each skipping blanks then reading one token.

    As in GitLab, the limit is checked by the loop itself, so an expression of
    exactly 100 tokens is already refused ("too many tokens").
    """
    tokens: list[tuple[str, object, int]] = []
    pos = 0
    for _ in range(MAX_TOKENS):
        ws = _WS.match(text, pos)
        if ws:
            pos = ws.end()
        if pos >= len(text):
            return tokens
        for kind, rx in _TOKENS:
            m = rx.match(text, pos)
            if not m:
                continue
            if kind == "var":
                tokens.append(("value", Var(m.group(1)), pos + 1))
            elif kind == "str":
                value = m.group(1) if m.group(1) is not None else m.group(2)
                tokens.append(("value", Str(value), pos + 1))
            elif kind == "regex":
                tokens.append(
                    (
                        "value",
                        Regex(m.group(1), m.group(2), translate_regex(m.group(1), m.group(2))),
                        pos + 1,
                    )
                )
            elif kind == "null":
                tokens.append(("value", Null(), pos + 1))
            elif kind == "op":
                tokens.append(("op", m.group(0), pos + 1))
            else:
                tokens.append((kind, kind, pos + 1))
            pos = m.end()
            break
        else:
            raise ExpressionError(
                f"unknown token at {text[pos : pos + 12]!r}{_hint(text, pos)}", pos + 1
            )
    raise ExpressionError(f"too many tokens (GitLab allows fewer than {MAX_TOKENS})", pos + 1)


def _hint(text: str, pos: int) -> str:
    if text.startswith("${", pos):
        return " (use $NAME, not ${NAME}, in rules:if)"
    if text[pos] == "!":
        return " (there is no unary '!'; compare with == null or != \"\")"
    if text[pos] == "/":
        return (
            " (a regex needs at least two characters between the slashes and must not end"
            " in a backslash, e.g. /^a/ rather than /a/)"
        )
    if text[pos] in "\"'":
        return " (unterminated string)"
    return ""


def _build(tokens: list[tuple[str, object, int]]) -> Node:
    """Shunting-yard to RPN, then build the tree (as GitLab's parser does)."""
    output: list[tuple[str, object, int]] = []
    operators: list[tuple[str, object, int]] = []
    for tok in tokens:
        kind, value, col = tok
        if kind == "value":
            output.append(tok)
        elif kind == "op":
            prec = _PRECEDENCE[str(value)]
            while (
                operators
                and operators[-1][0] == "op"
                and _PRECEDENCE[str(operators[-1][1])] <= prec
            ):
                output.append(operators.pop())
            operators.append(tok)
        elif kind == "(":
            operators.append(tok)
        elif kind == ")":
            while operators and operators[-1][0] == "op":
                output.append(operators.pop())
            if not operators:
                raise ExpressionError("unmatched ')'", col)
            operators.pop()
    while operators:
        tok = operators.pop()
        if tok[0] == "(":
            raise ExpressionError("unmatched '('", tok[2])
        output.append(tok)

    stack: list[Node] = []
    for kind, value, col in output:
        if kind == "value":
            stack.append(value)  # type: ignore[arg-type]
        else:
            if len(stack) < 2:
                raise ExpressionError(f"operator {value} is missing an operand", col)
            right = stack.pop()
            left = stack.pop()
            if value in ("=~", "!~") and not isinstance(right, Var | Regex | Str | Null):
                raise ExpressionError(
                    f"the right side of {value} must be a regex or a variable", col
                )
            stack.append(BinOp(str(value), left, right))
    if len(stack) != 1:
        raise ExpressionError(
            "two values without an operator between them" if stack else "empty expression"
        )
    return stack[0]


@lru_cache(maxsize=4096)
def parse(source: str) -> Expression:
    """Parse an expression; raises :class:`ExpressionError` with a column."""
    tokens = _tokenize(source)
    if not tokens:
        raise ExpressionError("empty expression")
    return Expression(source, _build(tokens))


Value = str | bool | None | re.Pattern[str]


def _as_regex(value: Value) -> re.Pattern[str] | str | None:
    """The right side of ``=~``: a regex, a variable's ``/…/flags`` value, or a plain string."""
    if value is None or value is False:
        return None
    if isinstance(value, re.Pattern):
        return value
    text = "true" if value is True else str(value)
    m = _REGEX_VALUE.fullmatch(text)
    if m:
        try:
            return translate_regex(m.group(1), m.group(2))
        except ExpressionError:
            return text
    return text


def _text(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, re.Pattern):
        return value.pattern
    return value


def _matches(left: Value, right: Value) -> bool:
    rx = _as_regex(right)
    if rx is None:
        return False
    text = _text(left)
    if isinstance(rx, str):
        return text in rx
    return rx.search(text) is not None


def _evaluate(node: Node, lookup: Callable[[str], str | None]) -> Value:
    if isinstance(node, Var):
        return lookup(node.name)
    if isinstance(node, Str):
        return node.value
    if isinstance(node, Null):
        return None
    if isinstance(node, Regex):
        return node.compiled
    op = node.op
    if op == "&&":
        left = _evaluate(node.left, lookup)
        return left if left is None or left is False else _evaluate(node.right, lookup)
    if op == "||":
        left = _evaluate(node.left, lookup)
        return left if left is not None and left is not False else _evaluate(node.right, lookup)
    left = _evaluate(node.left, lookup)
    right = _evaluate(node.right, lookup)
    if op == "==":
        return _equal(left, right)
    if op == "!=":
        return not _equal(left, right)
    if op == "=~":
        return _matches(left, right)
    if op == "!~":
        return _as_regex(right) is None or not _matches(left, right)
    raise AssertionError(op)


def _equal(left: Value, right: Value) -> bool:
    if isinstance(left, re.Pattern) or isinstance(right, re.Pattern):
        return left is right
    return left == right


def is_present(value: Value) -> bool:
    """Ruby's ``present?``: not nil, not false, not a blank string."""
    if value is None or value is False:
        return False
    if isinstance(value, str):
        return value.strip() != ""
    return True
