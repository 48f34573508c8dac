"""The log-pattern subset: canonical rendering, required literals, located refusals."""

from __future__ import annotations

import re

import pytest

from gatehouse.core.pattern_syntax import PatternError, parse_pattern, required_literals
from gatehouse.errors import InputError


@pytest.mark.parametrize(
    ("pattern", "canonical"),
    [
        (r"\d+", r"[\x30-\x39]+"),
        (r"a.b", r"a[^\x0a]b"),
        (r"x\.y", r"x\x2ey"),
        (r"(?:ab)+c", r"(?:ab)+c"),
        (r"a(b|c)d", r"a(?:b|c)d"),
        (r"x{2}y{1,}z{0,3}", r"x{2}y+z{0,3}"),
        (r"a*?b", r"a*b"),
        ("é", r"\xc3\xa9"),
    ],
)
def test_canonical_form(pattern: str, canonical: str) -> None:
    assert parse_pattern(pattern).canonical == canonical
    re.compile(parse_pattern(pattern).python_pattern())


def test_leading_case_flag_becomes_a_property() -> None:
    parsed = parse_pattern("(?i)Oops")
    assert parsed.caseless
    assert parsed.canonical == "Oops"


def _literals(pattern: str) -> list[tuple[bytes, tuple[bytes, ...]]] | None:
    found = required_literals(parse_pattern(pattern))
    return None if found is None else [(lit.text, lit.whole_tokens) for lit in found]


def test_required_literals_pick_the_most_selective_part() -> None:
    assert _literals(r"kernel BUG at \S+:\d+") == [(b"kernel BUG at ", (b"BUG", b"at"))]
    # \b and ^ bound the word on the left, \s+ on the right
    assert _literals(r"^Oops\s+\d+") == [(b"Oops", (b"Oops",))]
    assert _literals(r"\bsegfault at") == [(b"segfault at", (b"segfault",))]
    # an edge word may be part of a longer token in the text: not whole
    assert _literals("Segmentation fault") == [(b"Segmentation fault", ())]


def test_required_literals_of_alternations_and_optional_parts() -> None:
    assert _literals(r"(?:timed out|hung task) \d+") is not None
    assert _literals(r"(?:foo)?\d+") is None
    assert _literals(r"x|\d+") is None  # one branch has no literal
    assert _literals("(?i)Kernel PANIC now") == [(b"kernel panic now", (b"panic",))]


def test_refusal_is_located_and_in_the_error_hierarchy() -> None:
    with pytest.raises(PatternError) as info:
        parse_pattern(r"ok (?=lookahead)")
    assert isinstance(info.value, InputError)
    assert info.value.column == 4
    assert "lookahead" in info.value.reason
    assert "column 4" in info.value.render()


@pytest.mark.parametrize(
    ("pattern", "column"), [("ab^", 3), ("$ab", 1), ("a(?:^b)", 5), ("(?:^a)+", 4)]
)
def test_embedded_anchors_are_refused(pattern: str, column: int) -> None:
    with pytest.raises(PatternError) as info:
        parse_pattern(pattern)
    assert info.value.column == column


def test_anchors_at_the_edges_of_alternatives_are_fine() -> None:
    parse_pattern("^a$|^b$")
    parse_pattern("x(?:a$|b$)")
