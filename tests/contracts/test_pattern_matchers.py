"""Contract of PatternMatcherEngine: every adapter gives the same answers on the subset."""

from __future__ import annotations

import os
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatehouse import matchers
from gatehouse.core.pattern_syntax import PatternError, parse_pattern
from gatehouse.core.ports import PatternMatcherEngine

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _engine(name: str) -> PatternMatcherEngine:
    if not matchers.is_available(name):
        if IN_CI:
            pytest.fail(f"matcher engine {name} is not installed (it is in the test extra)")
        pytest.skip(f"matcher engine {name} is not installed")
    return matchers.engine(name)


@pytest.fixture(params=matchers.ENGINE_NAMES)
def engine(request: pytest.FixtureRequest) -> PatternMatcherEngine:
    return _engine(request.param)


def reference(pattern: str, text: bytes) -> bool:
    """The subset's meaning: the canonical pattern, Python re, bytes, multi-line."""
    parsed = parse_pattern(pattern)
    flags = re.MULTILINE | (re.IGNORECASE if parsed.caseless else 0)
    return re.search(parsed.python_pattern(), text, flags) is not None


def test_scan_reports_each_matching_id_once(engine: PatternMatcherEngine) -> None:
    matcher = engine.compile(
        [("oops", r"Oops: \d+"), ("bug", r"kernel BUG at \S+:\d+"), ("never", "zebra")]
    )
    log = "boot\nOops: 0002 [#1]\nkernel BUG at mm/slub.c:123!\nOops: 0003\n"
    assert matcher.scan(log) == {"oops", "bug"}
    assert matcher.scan(log.encode()) == {"oops", "bug"}
    assert matcher.scan("all good") == frozenset()
    assert matcher.scan("") == frozenset()


def test_an_empty_pattern_set_matches_nothing(engine: PatternMatcherEngine) -> None:
    assert engine.compile([]).scan("anything") == frozenset()


def test_two_ids_may_share_a_pattern(engine: PatternMatcherEngine) -> None:
    matcher = engine.compile([("a", "segfault"), ("b", "segfault"), ("c", "panic")])
    assert matcher.scan("x segfault y") == {"a", "b"}


# (pattern, text, matches): the places where engines' own dialects differ.
DIALECT_CASES = [
    (r"\d+ tests", "12 tests", True),
    (r"x\dy", "x\u0663y", False),  # an Arabic-Indic digit is not \d (ASCII only)
    (r"a\wb", "a\u00e9b", False),  # é is not a word character
    (r"a\sb", "a\x0bb", True),  # vertical tab is whitespace in the subset
    (r"a\sb", "a\u00a0b", False),  # no-break space is not
    (r"a.b", "a\nb", False),  # dot never matches a newline
    (r"a[^x]b", "a\nb", True),  # a negated class does
    (r"^panic", "ok\npanic: x", True),  # ^ matches at line starts
    (r"done$", "done\nmore", True),  # $ matches at line ends
    (r"^b", "ab", False),
    (r"(?i)segfault", "SEGFAULT at 0", True),
    (r"(?i)[a-c]x", "BX", True),
    (r"SEGFAULT", "segfault", False),
    (r"\bfail\b", "failed", False),
    (r"\bfail\b", "a fail.", True),
    (r"fail\B", "failed", True),
    (r"café", "un café noir", True),
    (r"caf.", "café", True),  # . matches one byte of é
    (r"caf..x", "caféx", True),  # é is two bytes
    (r"a{3}", "aa", False),
    (r"a{2,3}b", "xaab", True),
    (r"err(?:or)?: \d+", "err: 5", True),
    (r"x+?y", "xxxy", True),  # lazy quantifiers find the same matches
    (r"\x41\x42", "AB", True),
    (r"a\.b", "axb", False),
    (r"\[\d+\.\d+\]", "[   12.5] [12.5]", True),
    (r"(foo|bar)baz", "barbaz", True),
    (r"[]a]", "]", True),
    (r"[a-]", "-", True),
    (r"a|b", "b", True),
    (r"\t", "a\tb", True),
    (r"x{0,2}y", "y", True),
]


@pytest.mark.parametrize(("pattern", "text", "expected"), DIALECT_CASES)
def test_dialect_cases(
    engine: PatternMatcherEngine, pattern: str, text: str, expected: bool
) -> None:
    assert reference(pattern, text.encode()) is expected
    assert (engine.compile([("p", pattern)]).scan(text) == {"p"}) is expected


REJECTED = [
    "",
    "x*",
    "(a|)",
    r"\b",
    "^",
    r"(a+)+",
    r"(?=a)b",
    r"(?<=a)b",
    r"(?P<n>a)",
    r"(?>a)",
    r"(a)\1",
    "a{,3}",
    "a++",
    r"\Z",
    r"\A",
    r"\p{L}",
    r"\u00e9",
    "[é]",
    "é+",
    "(?i)café",
    "(?s)a.b",
    "a(?i)b",
    "a{256}",
    "a{3,2}",
    "(a",
    "a)",
    "[a",
    "[[:alpha:]]",
    "[z-a]",
    "\\",
]


@pytest.mark.parametrize("pattern", REJECTED)
def test_patterns_outside_the_subset_are_refused(
    engine: PatternMatcherEngine, pattern: str
) -> None:
    with pytest.raises(PatternError) as info:
        engine.compile([("ok", "fine"), ("bad", pattern)])
    assert repr(pattern) in str(info.value) or pattern == ""
    assert info.value.column >= 1


def test_large_text_and_many_patterns(engine: PatternMatcherEngine) -> None:
    patterns = [(f"p{i}", rf"component{i} failed with error -?\d+") for i in range(1000)]
    patterns.append(("late", r"kernel panic - not syncing: \w+"))
    matcher = engine.compile(patterns)
    filler = b"".join(
        b"[%8d.000000] usb 1-%d: new device found, idVendor=%04x\n" % (i, i % 7, i)
        for i in range(60000)
    )
    text = (
        filler
        + b"component777 failed with error -5\n"
        + filler
        + b"kernel panic - not syncing: Fatal\n"
    )
    assert matcher.scan(text) == {"p777", "late"}


# ---------------------------------------------------------------- property: all engines agree

_atoms = st.sampled_from(
    [
        "a",
        "b",
        "ab",
        "x",
        " ",
        r"\d",
        r"\w",
        r"\s",
        ".",
        "[ab]",
        "[^a]",
        r"\.",
        "é",
        r"\b",
        "^",
        "$",
    ]
)


@st.composite
def _patterns(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        atom = draw(_atoms)
        if atom not in (r"\b", "^", "$", "é"):
            atom += draw(st.sampled_from(["", "", "+", "?", "*", "{1,2}"]))
        parts.append(atom)
    body = "".join(parts)
    if draw(st.booleans()):
        body = f"(?:{body})|{draw(_atoms)}b"
    return ("(?i)" if draw(st.booleans()) and "é" not in body else "") + body


_texts = st.text(alphabet="abABx. \n\t1é_", max_size=30)


def _valid(pattern: str) -> bool:
    try:
        parse_pattern(pattern)
    except PatternError:
        return False
    return True


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(st.lists(_patterns().filter(_valid), min_size=1, max_size=6), st.lists(_texts, max_size=5))
def test_every_engine_agrees_with_the_reference(patterns: list[str], texts: list[str]) -> None:
    engines = [matchers.engine(n) for n in matchers.available_engines()]
    compiled = [e.compile([(str(i), p) for i, p in enumerate(patterns)]) for e in engines]
    for text in texts:
        data = text.encode()
        expected = {str(i) for i, p in enumerate(patterns) if reference(p, data)}
        for e, m in zip(engines, compiled, strict=True):
            assert m.scan(data) == expected, (e.name, patterns, text)


def test_best_available_prefers_the_fastest() -> None:
    best = matchers.best_available()
    assert best.name == matchers.available_engines()[0]
    assert "python" in matchers.available_engines()


def test_unknown_engine_is_a_usage_error() -> None:
    from gatehouse.errors import UsageError

    with pytest.raises(UsageError):
        matchers.engine("grep")
