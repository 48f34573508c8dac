"""The results model's refinements: KCIDB v5.3 fields, misc flags and verdict_status."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from gatehouse.core.results import (
    Build,
    Checkout,
    Resource,
    Status,
    Test,
    TestNumber,
    merge_fields,
    rollup,
    verdict_status,
)


def _test(status: Status | None, **misc: object) -> Test:
    return Test(id="o:t", origin="o", build_id="o:b", status=status, misc=misc or None)


def test_plain_status_is_the_verdict():
    assert verdict_status(_test(Status.FAIL)) is Status.FAIL
    assert verdict_status(_test(None)) is None


def test_superseded_attempts_do_not_count():
    assert verdict_status(_test(Status.FAIL, attempt=1, retried=True)) is None
    assert verdict_status(_test(Status.PASS, attempt=2, flaky=True)) is Status.PASS


def test_expected_failures_do_not_count_but_their_passes_do():
    assert verdict_status(_test(Status.FAIL, waived=True)) is None
    assert verdict_status(_test(Status.ERROR, waived=True)) is None
    assert verdict_status(_test(Status.SKIP, waived=True)) is Status.SKIP


def test_an_unexpected_pass_fails_the_verdict():
    assert verdict_status(_test(Status.PASS, unexpected_pass=True)) is Status.FAIL


def test_new_kcidb_fields_merge_like_the_others():
    old = Test(
        id="o:t",
        origin="o",
        build_id="o:b",
        number=TestNumber(1.5, unit="s", prefix="metric"),
        output_files=(Resource("log", "https://x/log"),),
    )
    new = Test(id="o:t", origin="o", build_id="o:b", status=Status.DONE)
    merged = merge_fields(old, new)
    assert merged.number == TestNumber(1.5, unit="s", prefix="metric")
    assert merged.output_files == (Resource("log", "https://x/log"),)
    assert merged.status is Status.DONE
    checkout = Checkout(id="o:c", origin="o", git_commit_tags=("v1",), message_id="<m@x>")
    assert merge_fields(checkout, Checkout(id="o:c", origin="o")).git_commit_tags == ("v1",)
    build = Build(id="o:b", origin="o", checkout_id="o:c", config_url="https://x/cfg")
    assert merge_fields(build, Build(id="o:b", origin="o", checkout_id="o:c")).config_url


_MISC = st.fixed_dictionaries(
    {},
    optional={
        "retried": st.booleans(),
        "waived": st.booleans(),
        "unexpected_pass": st.booleans(),
    },
)


@given(st.lists(st.tuples(st.sampled_from(list(Status)), _MISC), min_size=1))
@example([(Status.FAIL, {"waived": True, "unexpected_pass": True})])
@example([(Status.FAIL, {"retried": True}), (Status.PASS, {})])
def test_verdict_of_a_set(items):
    tests = [_test(status, **misc) for status, misc in items]
    verdict = rollup(verdict_status(t) for t in tests)
    counted = [t for t in tests if not (t.misc or {}).get("retried")]
    if any((t.misc or {}).get("unexpected_pass") for t in counted):
        assert verdict is Status.FAIL
    else:
        kept = [
            t.status
            for t in counted
            if not ((t.misc or {}).get("waived") and t.status is not None and t.status.is_failure)
        ]
        assert verdict == rollup(kept)
