"""Variable expansion: the three mechanisms' building blocks, ``$$`` and ``expand: false``."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatehouse.core.variables import (
    Variable,
    VariableCycleError,
    expand_all,
    expand_once,
    expand_with,
    merge_layers,
    references,
)


def _vars(**values: str) -> dict[str, Variable]:
    return {k: Variable(k, v) for k, v in values.items()}


def test_both_reference_spellings_and_unknown_references_stay() -> None:
    env = {"A": "1"}
    assert expand_once("$A-${A}-$B-${B}", env.get) == "1-1-$B-${B}"
    assert references("$A ${B} $$C $D_1") == ["A", "B", "D_1"]


def test_recursive_expansion_at_pipeline_creation() -> None:
    assert expand_all(_vars(A="$B/a", B="$C/b", C="c")) == {"A": "c/b/a", "B": "c/b", "C": "c"}


def test_cycle_is_reported_with_its_chain() -> None:
    with pytest.raises(VariableCycleError) as caught:
        expand_all(_vars(A="$B", B="$C", C="$A"))
    assert caught.value.chain == ["A", "B", "C", "A"]
    with pytest.raises(VariableCycleError):
        expand_all(_vars(SELF="x$SELF"))


def test_dollar_dollar_is_a_literal_dollar_once() -> None:
    env = expand_all(_vars(PRICE="$$5", REF="$PRICE", RAW_LOOKING="$$A", A="nope"))
    assert env == {"PRICE": "$5", "REF": "$5", "RAW_LOOKING": "$A", "A": "nope"}


def test_expand_false_keeps_the_value_raw_everywhere() -> None:
    variables = {
        "RAW": Variable("RAW", "$HOME/$$x", expand=False),
        "USER": Variable("USER", "$RAW!"),
    }
    assert expand_all(variables) == {"RAW": "$HOME/$$x", "USER": "$HOME/$x!"}


def test_single_pass_expansion_against_a_final_environment() -> None:
    env = {"IMAGE": "$REGISTRY/x", "REGISTRY": "r.example.com"}
    assert expand_with("$IMAGE:1", env) == "$REGISTRY/x:1"  # no second pass


def test_layers_lowest_precedence_first() -> None:
    merged = merge_layers([Variable("A", "global")], [Variable("A", "job"), Variable("B", "b")])
    assert {k: v.value for k, v in merged.items()} == {"A": "job", "B": "b"}


TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)


@given(value=TEXT.filter(lambda t: "$" not in t))
def test_values_without_dollar_are_unchanged(value: str) -> None:
    assert expand_once(value, {"A": "x"}.get) == value
    assert expand_all(_vars(V=value, A="x"))["V"] == value


@given(text=TEXT)
def test_escaping_every_dollar_round_trips(text: str) -> None:
    escaped = text.replace("$", "$$")
    assert expand_all(_vars(V=escaped, A="x", B="y"))["V"] == text
