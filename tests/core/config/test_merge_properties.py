"""Properties of the one deep-merge rule that ``include`` and ``extends`` share."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from gatehouse.core.config.merge import deep_merge
from gatehouse.core.config.nodes import LocDict, LocList, located, to_plain
from gatehouse.errors import Location

KEYS = st.sampled_from(["a", "b", "c", "script", "variables"])
SCALARS = st.one_of(st.integers(-3, 3), st.sampled_from(["x", "y", ""]), st.booleans())


def _trees(nulls: bool) -> st.SearchStrategy[dict[str, Any]]:
    leaves = st.one_of(SCALARS, st.none()) if nulls else SCALARS
    values = st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=3), st.dictionaries(KEYS, children, max_size=3)
        ),
        max_leaves=8,
    )
    return st.dictionaries(KEYS, values, max_size=4)


def _loc(tree: dict[str, Any]) -> LocDict:
    result = located(tree, Location("f.yml", 1))
    assert isinstance(result, LocDict)
    return result


@given(base=_trees(nulls=True), over=_trees(nulls=True))
def test_later_wins_nulls_delete_and_base_only_keys_stay(
    base: dict[str, Any], over: dict[str, Any]
) -> None:
    merged = to_plain(deep_merge(_loc(base), _loc(over)))
    for key, value in over.items():
        if value is None:
            assert key not in merged
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            assert isinstance(merged[key], dict)
        else:
            assert merged[key] == value  # lists and scalars replace, never concatenate
    for key, value in base.items():
        if key not in over:
            assert merged[key] == value


@given(base=_trees(nulls=True), over=_trees(nulls=True))
def test_inputs_are_never_mutated(base: dict[str, Any], over: dict[str, Any]) -> None:
    a, b = _loc(base), _loc(over)
    before = (copy.deepcopy(to_plain(a)), copy.deepcopy(to_plain(b)))
    deep_merge(a, b)
    assert (to_plain(a), to_plain(b)) == before


def _same_shapes(*trees: dict[str, Any]) -> bool:
    """At every key present in several trees, all values are mappings or none is."""
    for key in {k for t in trees for k in t}:
        values = [t[key] for t in trees if key in t]
        mappings = [v for v in values if isinstance(v, dict)]
        if mappings and len(mappings) != len(values):
            return False
        if mappings and not _same_shapes(*mappings):
            return False
    return True


@given(a=_trees(nulls=False), b=_trees(nulls=False), c=_trees(nulls=False))
def test_associative_without_nulls_or_shape_changes(
    a: dict[str, Any], b: dict[str, Any], c: dict[str, Any]
) -> None:
    # Where a later file turns a mapping into a scalar (or back), or deletes a
    # key with null, the grouping matters; GitLab always merges left to right.
    assume(_same_shapes(a, b, c))
    left = deep_merge(deep_merge(_loc(a), _loc(b)), _loc(c))
    right = deep_merge(_loc(a), deep_merge(_loc(b), _loc(c)))
    assert to_plain(left) == to_plain(right)


@given(tree=_trees(nulls=False))
def test_empty_mapping_is_an_identity(tree: dict[str, Any]) -> None:
    assert to_plain(deep_merge(_loc(tree), _loc({}))) == tree
    assert to_plain(deep_merge(_loc({}), _loc(tree))) == tree


def test_a_shape_change_is_not_associative_either() -> None:
    a, b, c = {"k": {"x": 0}}, {"k": 0}, {"k": {}}
    left = to_plain(deep_merge(deep_merge(_loc(a), _loc(b)), _loc(c)))
    right = to_plain(deep_merge(_loc(a), deep_merge(_loc(b), _loc(c))))
    assert (left, right) == ({"k": {}}, {"k": {"x": 0}})


def test_null_is_not_associative_which_is_why_order_matters() -> None:
    # x is deleted by b, then set again by c; merging b and c first keeps c's x,
    # which then merges into a's x. GitLab always merges left to right.
    a, b, c = {"x": {"y": 1}}, {"x": None}, {"x": {"z": 2}}
    left = to_plain(deep_merge(deep_merge(_loc(a), _loc(b)), _loc(c)))
    right = to_plain(deep_merge(_loc(a), deep_merge(_loc(b), _loc(c))))
    assert left == {"x": {"z": 2}}
    assert right == {"x": {"y": 1, "z": 2}}


def test_locations_follow_the_winning_value() -> None:
    base = LocDict(Location("a.yml", 1))
    base.set("script", LocList(Location("a.yml", 2), ["a"]), Location("a.yml", 2))
    over = LocDict(Location("b.yml", 1))
    over.set("script", LocList(Location("b.yml", 5), ["b"]), Location("b.yml", 5))
    merged = deep_merge(base, over)
    assert merged.key_loc("script") == Location("b.yml", 5)
