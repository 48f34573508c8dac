"""Compare classes and marks."""

from __future__ import annotations

import pytest

from gatehouse.core.compare import CLASSES, bucket, classify_pair, compare
from gatehouse.core.result_context import ResultContext
from gatehouse.core.results import Build, Status, Test


def ctx(side: str, path: str, status: Status | None, n: int = 0) -> ResultContext:
    build = Build(id=f"ci:{side}", origin="ci", checkout_id=f"ci:c{side}")
    return ResultContext(
        build=build,
        test=Test(
            id=f"ci:{side}/{path}/{n}", origin="ci", build_id=build.id, path=path, status=status
        ),
    )


@pytest.mark.parametrize(
    ("a", "b", "klass"),
    [
        ("PASS", "FAIL", "regression"),
        ("PASS", "INCONCLUSIVE", "regression"),
        ("FAIL", "PASS", "fixed"),
        ("INCONCLUSIVE", "PASS", "fixed"),
        (None, "FAIL", "new_failure"),
        ("INCONCLUSIVE", "FAIL", "new_failure"),
        ("FAIL", "FAIL", "still_failing"),
        (None, "PASS", "new_pass"),
        (None, "INCONCLUSIVE", "appeared"),
        ("PASS", None, "disappeared"),
        ("PASS", "PASS", "unchanged"),
        ("FAIL", "INCONCLUSIVE", "inconclusive"),
    ],
)
def test_classes(a: str | None, b: str | None, klass: str) -> None:
    assert classify_pair(a, b) == klass
    assert klass in CLASSES


def test_buckets() -> None:
    assert [
        bucket(s) for s in (Status.PASS, Status.FAIL, Status.ERROR, Status.MISS, Status.SKIP, None)
    ] == ["PASS", "FAIL", "INCONCLUSIVE", "INCONCLUSIVE", "INCONCLUSIVE", "INCONCLUSIVE"]


def test_results_roll_up_per_path_before_classifying() -> None:
    a = [ctx("a", "t", Status.PASS), ctx("a", "t", Status.PASS, 1)]
    b = [ctx("b", "t", Status.PASS), ctx("b", "t", Status.FAIL, 1)]
    [entry] = compare(a, b).entries
    assert entry.klass == "regression"
    assert entry.status_b is Status.FAIL
    assert entry.ids_b == ("ci:b/t/0", "ci:b/t/1")


def test_known_issue_and_flake_marks_hide_entries_from_the_default_report() -> None:
    a = [ctx("a", p, Status.PASS) for p in ("known", "flaky", "real", "half")]
    b = [
        ctx("b", "known", Status.FAIL),
        ctx("b", "flaky", Status.FAIL),
        ctx("b", "real", Status.FAIL),
        ctx("b", "half", Status.FAIL),
        ctx("b", "half", Status.FAIL, 1),
        ctx("b", "brand.new", Status.ERROR),
    ]
    known = {"ci:b/known/0": ["ci:issue1"], "ci:b/half/0": ["ci:issue2"]}
    report = compare(a, b, known=known, flakes={"flaky"})
    entries = {e.key: e for e in report.entries}
    assert entries["known"].known_issues == ("ci:issue1",)
    assert entries["known"].explained
    assert entries["flaky"].flaky
    assert not entries["half"].explained  # one of its two failures is unexplained
    assert entries["brand.new"].klass == "appeared"
    assert [e.key for e in report.new_and_unexplained()] == ["half", "real"]
    assert report.counts() == {"regression": 4, "appeared": 1}
