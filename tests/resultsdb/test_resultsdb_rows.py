"""Rows sent by the parser process: leaving out unknown columns loses nothing (property)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gatehouse.resultsdb.parse_process import without_unknown_columns
from gatehouse.storage.rows import TEST_FIELDS, full_row

_value = st.none() | st.integers(-3, 3) | st.text(max_size=3) | st.floats(allow_nan=False)


@given(
    st.lists(
        st.tuples(*[_value for _ in TEST_FIELDS]).map(lambda r: (*r, 1.0)),
        min_size=1,
        max_size=20,
    )
)
def test_pruned_rows_widen_back_to_the_same_rows(rows: list[tuple[object, ...]]) -> None:
    columns, pruned = without_unknown_columns(TEST_FIELDS, rows)
    assert [full_row(TEST_FIELDS, columns, r) for r in pruned] == rows
    kept = set(columns)
    for k, name in enumerate(TEST_FIELDS):
        known = any(r[k] is not None for r in rows)
        assert (name in kept) == known
    assert all(len(r) == len(columns) + 1 for r in pruned)
