"""Mesa/deqp-runner expectations: file formats, the status algebra, the verdict."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatehouse.core.expectations import (
    FAILURE,
    SUCCESS,
    DeqpStatus,
    apply_baseline,
    classify,
    from_kcidb_status,
    load_expectations,
    parse_results_csv,
    parse_status,
)
from gatehouse.core.results import Status
from gatehouse.errors import ConfigError

P, F, C, T, W = (
    DeqpStatus.PASS,
    DeqpStatus.FAIL,
    DeqpStatus.CRASH,
    DeqpStatus.TIMEOUT,
    DeqpStatus.WARN,
)
EF, UP = DeqpStatus.EXPECTED_FAIL, DeqpStatus.UNEXPECTED_PASS

# The table of docs/expectations.md, row by row: actual x (Fail, Crash, Timeout, Warn, none).
TABLE = {
    P: (UP, UP, UP, P, P),
    F: (EF, UP, UP, F, F),
    C: (C, EF, C, C, C),
    T: (T, T, EF, T, T),
    W: (UP, UP, W, EF, W),
}


@pytest.mark.parametrize("actual", list(TABLE))
def test_status_algebra_table(actual: DeqpStatus) -> None:
    baselines = (F, C, T, W, None)
    assert tuple(apply_baseline(actual, b) for b in baselines) == TABLE[actual]


def test_success_and_failure_sets_partition_the_statuses() -> None:
    assert set(DeqpStatus) == SUCCESS | FAILURE
    assert not SUCCESS & FAILURE
    assert {F, C, DeqpStatus.MISSING, UP, T} == FAILURE


def test_already_classified_statuses() -> None:
    assert apply_baseline(EF, F) is EF
    assert apply_baseline(EF, None) is F
    assert apply_baseline(UP, F) is UP
    assert apply_baseline(UP, None) is P
    assert apply_baseline(DeqpStatus.SKIP, F) is DeqpStatus.SKIP
    assert apply_baseline(DeqpStatus.MISSING, None) is DeqpStatus.MISSING


def test_status_words() -> None:
    assert parse_status("fail") is F
    assert parse_status("NotSupported") is DeqpStatus.SKIP
    assert parse_status("QualityWarning") is W
    assert parse_status("InternalError") is F
    assert parse_status("bogus") is None
    assert from_kcidb_status(Status.ERROR) is C
    assert from_kcidb_status(Status.FAIL, "Timeout") is T
    assert from_kcidb_status(Status.MISS) is DeqpStatus.MISSING
    assert from_kcidb_status(None) is DeqpStatus.MISSING


FAILS = """\
# comment
a.fails,Fail
a.crashes,Crash

name,with,commas,Fail
a.times,Timeout
"""


def _expect(fails: str = FAILS, flakes: str = "", skips: str = "") -> object:
    return load_expectations(
        [("x-fails.txt", fails)], [("x-flakes.txt", flakes)], [("x-skips.txt", skips)]
    )


def test_baseline_splits_on_the_last_comma() -> None:
    expectations = load_expectations([("x-fails.txt", FAILS)])
    assert expectations.baseline["name,with,commas"].status is F
    assert str(expectations.baseline["a.times"].location) == "x-fails.txt:6"


def test_duplicates_are_errors_with_both_lines_even_across_layers() -> None:
    with pytest.raises(ConfigError) as info:
        load_expectations(
            [("a-fails.txt", "t1,Fail\nt2,Crash\n"), ("b-fails.txt", "# x\nt1,Crash\n")]
        )
    [problem] = info.value.diagnostics
    assert problem.code == "duplicate-baseline-entry"
    assert str(problem.location) == "b-fails.txt:2"
    assert "a-fails.txt:1" in problem.message


def test_every_file_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        load_expectations(
            [("f.txt", "ok,Fail\nno-status-here\nt,Broken\nt2,fail\n")],
            [("fl.txt", "good.*\nbad[regex\n")],
            [("s.txt", "(unclosed\n")],
        )
    found = {(d.code, str(d.location)) for d in info.value.diagnostics}
    assert found == {
        ("bad-baseline-line", "f.txt:2"),
        ("bad-baseline-status", "f.txt:3"),
        ("bad-baseline-status", "f.txt:4"),  # statuses are spelled exactly
        ("bad-regex", "fl.txt:2"),
        ("bad-regex", "s.txt:1"),
    }


def test_classify_applies_skips_baseline_and_flakes() -> None:
    expectations = _expect(flakes="flaky\\.", skips="^skipped\\.\nslow")
    report = classify(
        [
            ("a.fails", F),  # ExpectedFail
            ("a.crashes", P),  # UnexpectedPass: stale baseline
            ("new.fail", F),  # Fail
            ("flaky.one", C),  # Flake
            ("flaky.two", P),  # passes: stays Pass
            ("skipped.x", F),  # removed
            ("very.slow.test", C),  # removed (unanchored)
            ("ok", P),
        ],
        expectations,  # type: ignore[arg-type]
    )
    results = {o.test: o.result for o in report.outcomes}
    assert results == {
        "a.fails": EF,
        "a.crashes": UP,
        "new.fail": F,
        "flaky.one": DeqpStatus.FLAKE,
        "flaky.two": P,
        "ok": P,
    }
    assert report.skipped == ("skipped.x", "very.slow.test")
    assert [o.test for o in report.unexpected] == ["a.crashes", "new.fail"]
    assert not report.passed
    assert [e.test for e in report.stale] == ["a.times", "name,with,commas"]
    assert report.counts() == {
        "ExpectedFail": 1,
        "Fail": 1,
        "Flake": 1,
        "Pass": 2,
        "UnexpectedPass": 1,
    }
    flake = next(o for o in report.outcomes if o.test == "flaky.one")
    assert flake.flake_rule is not None
    assert str(flake.flake_rule.location) == "x-flakes.txt:1"


def test_two_results_for_one_test_make_it_fail() -> None:
    report = classify([("a.fails", F), ("a.fails", F), ("x", P)], _expect())  # type: ignore[arg-type]
    [dup] = [o for o in report.outcomes if o.duplicate]
    assert dup.result is F
    assert not report.passed


def test_flakes_do_not_fail_the_verdict() -> None:
    report = classify([("a.fails", F), ("flaky", T)], _expect(flakes="flaky"))  # type: ignore[arg-type]
    assert report.passed


@given(
    st.lists(
        st.tuples(st.sampled_from(["t1", "t2", "t3", "a.fails"]), st.sampled_from(list(DeqpStatus)))
    )
)
def test_verdict_is_exactly_no_failure_result(pairs: list[tuple[str, DeqpStatus]]) -> None:
    report = classify(pairs, _expect())  # type: ignore[arg-type]
    assert report.passed == all(o.result in SUCCESS for o in report.outcomes)
    assert len(report.outcomes) == len({name for name, _ in pairs})


def test_results_csv_reader() -> None:
    text = 'test,status,duration\ndEQP-GLES2.a,Pass,0.1\n"x,y",Fail,2\nz,Crash\nq,Nope,1\n'
    pairs, problems = parse_results_csv(text, "results.csv")
    assert pairs == [("dEQP-GLES2.a", P), ("x,y", F), ("z", C)]
    assert [(p.code, str(p.location)) for p in problems] == [
        ("bad-results-status", "results.csv:5")
    ]
