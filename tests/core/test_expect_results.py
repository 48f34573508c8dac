"""Results of any format as deqp-runner pairs: names, statuses, attempts folded into Flake."""

from __future__ import annotations

from gatehouse.core.expect_results import pairs_from_tests
from gatehouse.core.expectations import DeqpStatus
from gatehouse.core.results import Status, Test


def t(path: str | None, status: Status, build: str = "o:b", **misc: object) -> Test:
    return Test(f"o:{path}{misc}", "o", build, path=path, status=status, misc=misc or None)


def test_statuses_map_to_deqp_words_with_the_producers_own_word_first() -> None:
    pairs = pairs_from_tests(
        [
            t("a", Status.PASS),
            t("b", Status.FAIL),
            t("c", Status.ERROR),
            t("d", Status.ERROR, original_status="TIMEOUT"),
            t("e", Status.SKIP),
            t("f", Status.MISS),
            t(None, Status.FAIL),
        ]
    )
    assert pairs == [
        ("a", DeqpStatus.PASS),
        ("b", DeqpStatus.FAIL),
        ("c", DeqpStatus.CRASH),
        ("d", DeqpStatus.TIMEOUT),
        ("e", DeqpStatus.SKIP),
        ("f", DeqpStatus.MISSING),
    ]


def test_attempts_that_disagree_are_a_flake_and_agreeing_ones_one_result() -> None:
    pairs = pairs_from_tests(
        [
            t("flaky", Status.PASS, attempt=3, flaky=True),
            t("flaky", Status.FAIL, attempt=1, retried=True),
            t("flaky", Status.FAIL, attempt=2, retried=True),
            t("broken", Status.FAIL, attempt=1, retried=True),
            t("broken", Status.FAIL, attempt=2),
            t("flaky", Status.FAIL, build="o:other", attempt=1),
        ]
    )
    assert pairs == [
        ("flaky", DeqpStatus.FLAKE),
        ("broken", DeqpStatus.FAIL),
        ("flaky", DeqpStatus.FAIL),
    ]


def test_repeated_invocations_get_their_occurrence_in_the_name() -> None:
    pairs = pairs_from_tests(
        [t("p", Status.PASS), t("p", Status.FAIL, occurrence=2), t("p", Status.PASS, occurrence=3)]
    )
    assert pairs == [("p", DeqpStatus.PASS), ("p#2", DeqpStatus.FAIL), ("p#3", DeqpStatus.PASS)]
