"""Flake detection: same input different outcome, history flip rate, infra exclusion, broken."""

from __future__ import annotations

import pytest

from gatehouse.core.flakes import FlakeSettings, find_flakes, flip_rate
from gatehouse.core.result_context import ResultContext
from gatehouse.core.results import Build, Checkout, Status, Test


def ctx(
    path: str,
    status: Status,
    *,
    build: str,
    commit: str = "c1",
    attempt: int = 1,
    time: str | None = None,
    arch: str = "x86_64",
) -> ResultContext:
    checkout = Checkout(
        id=f"ci:{commit}", origin="ci", tree_name="main", git_commit_hash=commit * 8
    )
    b = Build(
        id=f"ci:{build}", origin="ci", checkout_id=checkout.id, architecture=arch, start_time=time
    )
    t = Test(
        id=f"ci:{build}/{path}/{attempt}",
        origin="ci",
        build_id=b.id,
        path=path,
        status=status,
        misc={"attempt": attempt},
        start_time=time,
    )
    return ResultContext(build=b, test=t, checkout=checkout)


@pytest.mark.parametrize(
    ("runs", "rate"), [("FFFFF", 0.0), ("PPFFF", 0.2), ("PFPFF", 0.4), ("", 0.0)]
)
def test_flip_rate_is_buildkites(runs: str, rate: float) -> None:
    assert flip_rate(runs) == pytest.approx(rate)


def test_rerun_inside_one_job_is_flaky_with_evidence() -> None:
    results = [
        ctx("t.a", Status.FAIL, build="b1", attempt=1),
        ctx("t.a", Status.PASS, build="b1", attempt=2),
        ctx("t.b", Status.FAIL, build="b1"),
        ctx("t.b", Status.FAIL, build="b1", attempt=2),
    ]
    report = find_flakes(results)
    [finding] = report.flaky
    assert (finding.path, finding.kind) == ("t.a", "rerun")
    assert finding.failed == ("ci:b1/t.a/1",)
    assert finding.passed == ("ci:b1/t.a/2",)


def test_same_commit_different_builds_is_same_input() -> None:
    results = [
        ctx("t.a", Status.PASS, build="b1"),
        ctx("t.a", Status.ERROR, build="b2"),
        ctx("t.a", Status.FAIL, build="b3", commit="c2"),
    ]
    [finding] = find_flakes(results).flaky
    assert finding.kind == "same-input"
    assert finding.input_key == "main|" + "c1" * 8 + "|"
    assert finding.failed == ("ci:b2/t.a/1",)


def test_different_environment_is_not_the_same_input() -> None:
    results = [
        ctx("t.a", Status.PASS, build="b1", arch="arm64"),
        ctx("t.a", Status.FAIL, build="b2"),
    ]
    assert find_flakes(results).flaky == ()


def _history(outcomes: str, path: str = "t.h") -> list[ResultContext]:
    return [
        ctx(
            path,
            Status.PASS if o == "P" else Status.FAIL,
            build=f"r{i:03d}",
            commit=f"k{i:03d}",
            time=f"2026-01-01T00:{i:02d}:00",
        )
        for i, o in enumerate(outcomes)
    ]


def test_history_flip_rate_with_minimum_sample() -> None:
    settings = FlakeSettings(window=10, min_sample=5, min_rate=0.1)
    report = find_flakes(_history("PPFPPFPPPP"), settings)
    [finding] = report.flaky
    assert finding.kind == "history"
    assert finding.runs == "PPFPPFPPPP"
    assert finding.flip_rate == pytest.approx(0.2)
    assert len(finding.failed) == 2
    assert find_flakes(_history("PFPF"), settings).flaky == ()  # too few runs


def test_a_regression_that_stays_broken_is_not_flaky() -> None:
    settings = FlakeSettings(window=10, min_sample=5)
    assert find_flakes(_history("PPPPPFFFFF"), settings).flaky == ()


def test_consistently_failing_is_broken_not_flaky() -> None:
    report = find_flakes(_history("FFFFFF"), FlakeSettings(window=6, min_sample=5))
    assert report.flaky == ()
    assert [b.kind for b in report.broken] == ["broken"]


def test_only_the_last_window_counts() -> None:
    settings = FlakeSettings(window=5, min_sample=5)
    assert find_flakes(_history("PFPFPFPPPPP"), settings).flaky == ()


def test_infra_wide_failures_are_excluded() -> None:
    # run "bad" fails 9 of 10 tests: its failure of t.0 is not evidence against t.0
    results = [ctx(f"t.{n}", Status.PASS, build="good") for n in range(10)]
    results += [
        ctx(f"t.{n}", Status.FAIL if n < 9 else Status.PASS, build="bad") for n in range(10)
    ]
    report = find_flakes(results)
    assert report.infra_runs == ("ci:bad",)
    assert report.flaky == ()
    # the same failures in a run that is mostly green are flakes
    results = [ctx(f"t.{n}", Status.PASS, build="good") for n in range(10)]
    results += [ctx(f"t.{n}", Status.FAIL if n < 2 else Status.PASS, build="ok") for n in range(10)]
    assert {f.path for f in find_flakes(results).flaky} == {"t.0", "t.1"}


def test_min_rate_filter_keeps_same_input_findings() -> None:
    results = [ctx("t.a", Status.PASS, build="b1"), ctx("t.a", Status.FAIL, build="b1", attempt=2)]
    results += _history("PFPPPFPPPPPPPPPPPPPP", path="t.h")
    report = find_flakes(results, FlakeSettings(window=20, min_sample=5, min_rate=0.05))
    assert {f.path for f in report.flaky} == {"t.a", "t.h"}
    assert {f.path for f in report.above(0.2)} == {"t.a"}
