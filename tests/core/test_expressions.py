"""The ``rules:if`` language: GitLab's lexer, precedence and Ruby evaluation quirks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatehouse.core.expressions import ExpressionError, parse


def holds(expression: str, **variables: str) -> bool:
    return parse(expression).evaluate(variables.get)


# ---------------------------------------------------------------- precedence and grouping


def test_and_binds_tighter_than_or() -> None:
    # a || b && c  ==  a || (b && c)
    assert holds("$A || $B && $C", A="1")
    assert not holds("$A || $B && $C", B="1")
    assert holds("$A || $B && $C", B="1", C="1")
    # (a || b) && c
    assert not holds("($A || $B) && $C", A="1")
    assert holds("($A || $B) && $C", A="1", C="1")


def test_comparisons_bind_tighter_than_and() -> None:
    assert holds('$A == "x" && $B == "y" || $C == "z"', C="z")
    assert holds('$A == "x" && $B == "y" || $C == "z"', A="x", B="y")
    assert not holds('$A == "x" && ($B == "y" || $C == "z")', C="z")


def test_nested_parentheses() -> None:
    assert holds('(($A == "1") && (($B == "2") || ($C == "3")))', A="1", C="3")


# ---------------------------------------------------------------- values


def test_bare_variable_means_defined_and_not_blank() -> None:
    assert holds("$V", V="yes")
    assert holds("$V", V="false")  # any non-blank string
    assert not holds("$V", V="")
    assert not holds("$V", V="   ")  # whitespace only is blank
    assert not holds("$V")


def test_null_and_empty_are_different() -> None:
    assert holds("$V == null")
    assert not holds("$V == null", V="")
    assert holds('$V == ""', V="")
    assert not holds('$V == ""')
    assert holds("$V != null", V="")
    assert holds('$V != ""')


def test_both_quote_styles_and_variable_comparison() -> None:
    assert holds("$V == 'main'", V="main")
    assert holds('$V == "main"', V="main")
    assert holds("$A == $B", A="x", B="x")
    assert not holds("$A == $B", A="x")
    assert holds('"x" == "x"')


def test_ruby_or_quirk_empty_string_is_truthy_then_blank() -> None:
    # Ruby: "" || "set" is "" (empty strings are truthy), and "" is not present.
    assert not holds("$EMPTY || $SET", EMPTY="", SET="yes")
    assert holds("$UNSET || $SET", SET="yes")
    assert holds("$SET && $OTHER", SET="a", OTHER="b")
    assert not holds("$SET && $EMPTY", SET="a", EMPTY="")


# ---------------------------------------------------------------- matching


def test_regex_literals_search_unanchored_with_flags() -> None:
    assert holds("$V =~ /^release-/", V="release-1.0")
    assert holds("$V =~ /rel/", V="prerelease")
    assert not holds("$V =~ /^rel/", V="prerelease")
    assert holds("$V =~ /MAIN/i", V="main")
    assert not holds("$V =~ /MAIN/", V="main")
    assert holds("$V !~ /^wip/", V="ready")
    assert holds("$V =~ /a\\/b/", V="x/a/b")  # escaped slash


def test_multiline_and_dotall_flags_follow_re2() -> None:
    text = "first line\nsecond line"
    assert not holds("$V =~ /^second/", V=text)
    assert holds("$V =~ /^second/m", V=text)
    assert not holds("$V =~ /line.second/", V=text)
    assert holds("$V =~ /line.second/s", V=text)


def test_undefined_left_side() -> None:
    assert not holds("$V =~ /^x/")
    assert holds("$V !~ /^x/")
    assert holds("$V =~ /^$/")  # undefined is searched as ""


def test_regex_held_in_a_variable() -> None:
    assert holds("$CI_JOB_NAME =~ $SELECTED", CI_JOB_NAME="build-x", SELECTED="/^build-/")
    assert not holds("$CI_JOB_NAME =~ $SELECTED", CI_JOB_NAME="test-x", SELECTED="/^build-/")
    assert holds("$N =~ $RX", N="MAIN", RX="/main/i")
    assert holds("$N =~ $RX", N="a/b", RX="/a/b/")  # the value may hold a slash
    assert holds("$N =~ $RX", N="x", RX="/x/")  # one character is fine in a value


def test_non_regex_variable_on_the_right_is_a_substring_test() -> None:
    # Ruby's String#scan: the left value must occur in the right one.
    assert holds("$SHORT =~ $LONG", SHORT="main", LONG="main,develop")
    assert not holds("$LONG =~ $SHORT", SHORT="main", LONG="main,develop")
    assert holds('$V =~ "abc"', V="b")
    assert not holds("$V =~ $UNSET", V="x")
    assert holds("$V !~ $UNSET", V="x")
    assert holds("$V =~ null", V="x") is False


def test_invalid_regex_in_a_variable_is_a_plain_string() -> None:
    assert holds("$V =~ $RX", V="/(/", RX="/(/")
    assert not holds("$V =~ $RX", V="x", RX="/(/")


# ---------------------------------------------------------------- syntax errors


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("${V} == 'x'", "use $NAME, not ${NAME}"),
        ("!$V", "no unary"),
        ("$V == 'x", "unterminated"),
        ("$A == 'x' ((", "unmatched '('"),
        ("$A == 'x')", "unmatched ')'"),
        ("($A == 'x'", "unmatched '('"),
        ("$A $B", "two values"),
        ("$A ==", "missing an operand"),
        ("", "empty"),
        ("$V =~ /a/", "at least two characters"),
        ("$V =~ /x/g", "unknown token"),
        ("$V =~ /(?=x)y/", "look-ahead"),
        ("$V =~ /(a)\\1/", "back-references"),
        ("$V =~ /ab/U", "not supported"),
        ("$V = 'x'", "unknown token"),
        ("$V == main", "unknown token"),
    ],
)
def test_syntax_errors(expression: str, fragment: str) -> None:
    with pytest.raises(ExpressionError, match=None) as caught:
        parse(expression)
    assert fragment in str(caught.value)


def test_token_limit_is_below_one_hundred() -> None:
    # $V == "x" is three tokens; joined with && each further term adds four.
    def expression(terms: int) -> str:
        return " && ".join(['$V == "x"'] * terms)

    assert len(expression(25).split()) == 99
    assert parse(expression(25)).evaluate({"V": "x"}.get)
    with pytest.raises(ExpressionError, match="too many tokens"):
        parse(expression(25) + " && $V")  # exactly 100 tokens


def test_error_column_points_at_the_problem() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse('$A == "x" && ${B}')
    assert caught.value.column == 14


def test_variables_used() -> None:
    assert parse('$A == "x" || ($B =~ /yy/ && $C)').variables() == {"A", "B", "C"}


# ---------------------------------------------------------------- properties

VALUES = st.one_of(st.none(), st.sampled_from(["", " ", "x", "y", "main", "false"]))


@given(a=VALUES, b=VALUES, c=VALUES)
def test_precedence_matches_explicit_grouping(a: str | None, b: str | None, c: str | None) -> None:
    env = {k: v for k, v in {"A": a, "B": b, "C": c}.items() if v is not None}
    assert holds("$A || $B && $C", **env) == holds("$A || ($B && $C)", **env)
    assert holds("$A && $B || $C", **env) == holds("($A && $B) || $C", **env)


@given(a=VALUES, b=VALUES)
def test_not_equal_is_the_negation_of_equal(a: str | None, b: str | None) -> None:
    env = {k: v for k, v in {"A": a, "B": b}.items() if v is not None}
    assert holds("$A != $B", **env) == (not holds("$A == $B", **env))
    assert holds("$A == $B", **env) == holds("$B == $A", **env)


@given(text=st.text(max_size=12), literal=st.from_regex(r"[a-z]{2,6}", fullmatch=True))
def test_not_match_is_the_negation_of_match(text: str, literal: str) -> None:
    assert holds(f"$V !~ /{literal}/", V=text) == (not holds(f"$V =~ /{literal}/", V=text))
