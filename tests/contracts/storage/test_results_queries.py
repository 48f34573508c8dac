"""The ResultsStore contract, continued: multi-batch transactions and the queries of the commands.

Run against the in-memory, SQLite and PostgreSQL adapters, like
``test_results_store.py``: ``transaction`` (several batches, one commit or
none, reads that see the open transaction), lists by id, commit prefixes,
failing builds, issue versions and where an issue's incidents were seen.
"""

from __future__ import annotations

import pytest

from gatehouse.core.results import (
    Build,
    Checkout,
    Incident,
    Issue,
    ResultsBatch,
    Status,
    Test,
)
from gatehouse.errors import StorageError
from gatehouse.storage import Store

COMMIT = "0123456789abcdef0123456789abcdef01234567"
OTHER = "0123ffffffffffffffffffffffffffffffffffff"


class Boom(Exception):
    pass


# --------------------------------------------------------------------------- transactions


def test_batches_of_one_transaction_commit_together(store: Store) -> None:
    with store.results.transaction(received_at=5.0) as tx:
        tx.submit(
            ResultsBatch(checkouts=(Checkout("o:c", "o"),), builds=(Build("o:b", "o", "o:c"),))
        )
        tx.submit(ResultsBatch(tests=(Test("o:t1", "o", "o:b", path="a", status=Status.FAIL),)))
        tx.submit(ResultsBatch(tests=(Test("o:t2", "o", "o:b", path="b", status=Status.PASS),)))
    assert [t.id for t in store.results.tests_of_checkout("o:c")] == ["o:t1", "o:t2"]
    (run,) = store.results.test_history("a")
    assert run.received_at == 5.0


def test_a_transaction_that_raises_stores_nothing(store: Store) -> None:
    store.results.submit(ResultsBatch(tests=(Test("o:t1", "o", "o:b", path="a"),)), received_at=1.0)

    def store_then_fail() -> None:
        with store.results.transaction(received_at=2.0) as tx:
            tx.submit(ResultsBatch(tests=(Test("o:t1", "o", "o:b", status=Status.FAIL),)))
            tx.submit(ResultsBatch(tests=(Test("o:t2", "o", "o:b", status=Status.FAIL),)))
            raise Boom

    with pytest.raises(Boom):
        store_then_fail()
    assert store.results.get_test("o:t1") == Test("o:t1", "o", "o:b", path="a")
    assert store.results.get_test("o:t2") is None
    assert store.results.failing_tests_since(0.0) == []
    # the store is usable afterwards
    store.results.submit(ResultsBatch(tests=(Test("o:t2", "o", "o:b"),)), received_at=3.0)
    assert store.results.get_test("o:t2") == Test("o:t2", "o", "o:b")


def test_a_refused_batch_inside_a_transaction_rolls_back_the_earlier_ones(store: Store) -> None:

    def store_a_bad_batch() -> None:
        with store.results.transaction(received_at=2.0) as tx:
            tx.submit(ResultsBatch(tests=(Test("o:t1", "o", "o:b"),)))
            tx.submit(ResultsBatch(issues=(Issue("o:i", -1, "o"),)))

    with pytest.raises(StorageError):
        store_a_bad_batch()
    assert store.results.get_test("o:t1") is None


def test_reads_inside_a_transaction_see_its_merged_objects(store: Store) -> None:
    store.results.submit(
        ResultsBatch(
            builds=(Build("o:b", "o", "o:c", architecture="arm64"),),
            tests=(Test("o:t", "o", "o:b", path="p", log_excerpt="kernel BUG"),),
        ),
        received_at=1.0,
    )
    with store.results.transaction(received_at=2.0) as tx:
        tx.submit(
            ResultsBatch(
                checkouts=(Checkout("o:c", "o", tree_name="mainline"),),
                tests=(
                    Test("o:t", "o", "o:b", status=Status.FAIL),
                    Test("o:u", "o", "o:b", status=Status.PASS),
                ),
            )
        )
        assert tx.get_tests(["o:u", "o:t", "o:missing", "o:t"]) == [
            Test("o:t", "o", "o:b", path="p", status=Status.FAIL, log_excerpt="kernel BUG"),
            Test("o:u", "o", "o:b", status=Status.PASS),
        ]
        assert tx.get_builds(["o:b"]) == [Build("o:b", "o", "o:c", architecture="arm64")]
        assert tx.get_checkouts(["o:c", "x:c"]) == [Checkout("o:c", "o", tree_name="mainline")]


def test_many_ids_are_read_in_chunks(store: Store) -> None:
    tests = tuple(Test(f"o:t{n:04}", "o", "o:b", status=Status.PASS) for n in range(1200))
    store.results.submit(ResultsBatch(tests=tests), received_at=1.0)
    wanted = [t.id for t in tests[::-1]] + ["o:none"]
    assert store.results.get_tests(wanted) == list(tests)
    assert store.results.get_tests([]) == []


# --------------------------------------------------------------------------- queries


def test_checkouts_by_commit_prefix(store: Store) -> None:
    store.results.submit(
        ResultsBatch(
            checkouts=(
                Checkout("o:c1", "o", git_commit_hash=COMMIT),
                Checkout("p:c1", "p", git_commit_hash=COMMIT),
                Checkout("o:c2", "o", git_commit_hash=OTHER),
                Checkout("o:c3", "o"),
            )
        ),
        received_at=1.0,
    )
    ids = lambda found: [c.id for c in found]  # noqa: E731
    assert ids(store.results.checkouts_by_commit_prefix("0123")) == ["o:c1", "o:c2", "p:c1"]
    assert ids(store.results.checkouts_by_commit_prefix("01234")) == ["o:c1", "p:c1"]
    assert ids(store.results.checkouts_by_commit_prefix("0123f")) == ["o:c2"]
    assert ids(store.results.checkouts_by_commit_prefix(COMMIT)) == ["o:c1", "p:c1"]
    assert store.results.checkouts_by_commit_prefix("abc") == []


def test_failing_builds_since_a_time(store: Store) -> None:
    store.results.submit(
        ResultsBatch(
            checkouts=(
                Checkout(
                    "o:c", "o", git_commit_hash=COMMIT, tree_name="t", git_repository_branch="m"
                ),
            )
        ),
        received_at=1.0,
    )
    for n, status in enumerate([Status.FAIL, Status.PASS, Status.MISS, None, Status.ERROR]):
        store.results.submit(
            ResultsBatch(builds=(Build(f"o:b{n}", "o", "o:c" if n else "o:x", status=status),)),
            received_at=10.0 + n,
        )
    found = store.results.failing_builds_since(0.0)
    assert [(r.build.id, r.received_at) for r in found] == [
        ("o:b0", 10.0),
        ("o:b2", 12.0),
        ("o:b4", 14.0),
    ]
    assert (found[0].git_commit_hash, found[0].tree_name) == (None, None)
    assert (found[1].git_commit_hash, found[1].tree_name, found[1].git_repository_branch) == (
        COMMIT,
        "t",
        "m",
    )
    assert found[1].build == Build("o:b2", "o", "o:c", status=Status.MISS)
    assert [r.build.id for r in store.results.failing_builds_since(12.0)] == ["o:b2", "o:b4"]
    store.results.submit(
        ResultsBatch(builds=(Build("o:b2", "o", "o:c", status=Status.PASS),)), received_at=20.0
    )
    assert [r.build.id for r in store.results.failing_builds_since(0.0)] == ["o:b0", "o:b4"]


def test_every_version_of_an_issue_oldest_first(store: Store) -> None:
    store.results.submit(
        ResultsBatch(
            issues=(
                Issue("o:i", 2, "o", comment="second"),
                Issue("o:i", 0, "o", comment="first"),
                Issue("o:j", 1, "o"),
            )
        ),
        received_at=1.0,
    )
    assert [(i.version, i.comment) for i in store.results.issue_versions("o:i")] == [
        (0, "first"),
        (2, "second"),
    ]
    assert store.results.issue_versions("o:none") == []


def test_where_the_incidents_of_an_issue_were_seen(store: Store) -> None:
    store.results.submit(
        ResultsBatch(
            checkouts=(
                Checkout(
                    "o:c",
                    "o",
                    git_commit_hash=COMMIT,
                    tree_name="mainline",
                    git_repository_branch="master",
                ),
            ),
            builds=(Build("o:b", "o", "o:c", architecture="x86_64"),),
            tests=(Test("o:t", "o", "o:b", path="fs.ext4", status=Status.FAIL),),
        ),
        received_at=1.0,
    )
    store.results.submit(
        ResultsBatch(
            incidents=(
                Incident("g:n2", "g", "o:i", 2, build_id="o:b", present=True),
                Incident("g:n3", "g", "o:other", 1, test_id="o:t", present=True),
            )
        ),
        received_at=3.0,
    )
    store.results.submit(
        ResultsBatch(
            incidents=(
                Incident("g:n1", "g", "o:i", 1, test_id="o:t", present=True),
                Incident("g:n4", "g", "o:i", 1, test_id="x:unknown", present=True),
            )
        ),
        received_at=2.0,
    )
    sightings = store.results.incident_sightings("o:i")
    assert [(s.incident.id, s.received_at) for s in sightings] == [
        ("g:n1", 2.0),
        ("g:n4", 2.0),
        ("g:n2", 3.0),
    ]
    first, unknown, build = sightings
    assert (first.test_path, first.origin, first.checkout_id, first.git_commit_hash) == (
        "fs.ext4",
        "o",
        "o:c",
        COMMIT,
    )
    assert (first.tree_name, first.git_repository_branch, first.architecture) == (
        "mainline",
        "master",
        "x86_64",
    )
    assert (unknown.test_path, unknown.origin, unknown.checkout_id) == (None, None, None)
    assert (build.test_path, build.origin, build.architecture) == (None, "o", "x86_64")
    assert store.results.incident_sightings("o:none") == []


@pytest.mark.parametrize("count", [3, 450])  # PostgreSQL copies from 200 rows on
def test_bulk_rows_merge_like_objects(store: Store, count: int) -> None:
    """``submit_rows`` (rows encoded elsewhere) stores what ``submit`` would, duplicates too."""
    from gatehouse.storage.rows import encode_test

    store.results.submit(
        ResultsBatch(tests=(Test("o:t0", "o", "o:b", path="p0", misc={"a": 1}),)), received_at=1.0
    )
    tests = [
        Test(f"o:t{n}", "o", "o:b", status=Status.PASS, misc={"b": n}) for n in range(count)
    ] + [Test("o:t1", "o", "o:b", status=Status.FAIL, misc={"c": 3})]
    with store.results.transaction(received_at=2.0) as tx:
        tx.submit_rows("tests", [encode_test(t, 2.0) for t in tests])  # type: ignore[attr-defined]
    assert store.results.get_test("o:t0") == Test(
        "o:t0", "o", "o:b", path="p0", status=Status.PASS, misc={"a": 1, "b": 0}
    )
    assert store.results.get_test("o:t1") == Test(
        "o:t1", "o", "o:b", status=Status.FAIL, misc={"b": 1, "c": 3}
    )
    assert len(store.results.tests_of_build("o:b")) == count


def test_bulk_rows_with_some_columns_left_out(store: Store) -> None:
    """Rows naming only some columns (the others unknown) merge like objects; subsets vary."""
    from gatehouse.storage.rows import TEST_FIELDS, encode_test

    def narrow(columns: tuple[str, ...], tests: list[Test]) -> list[tuple[object, ...]]:
        index = [TEST_FIELDS.index(c) for c in columns]
        return [(*(row[k] for k in index), row[-1]) for row in (encode_test(t, 2.0) for t in tests)]

    store.results.submit(
        ResultsBatch(tests=(Test("o:t1", "o", "o:b", duration=9.0, comment="old"),)),
        received_at=1.0,
    )
    first = ("id", "origin", "build_id", "path", "status")
    second = ("id", "origin", "build_id", "log_excerpt", "duration")
    with store.results.transaction(received_at=2.0) as tx:
        tx.submit_rows(  # type: ignore[attr-defined]
            "tests",
            narrow(first, [Test("o:t1", "o", "o:b", path="p1", status=Status.FAIL)]),
            first,
        )
        tx.submit_rows(  # type: ignore[attr-defined]
            "tests",
            narrow(second, [Test("o:t2", "o", "o:b", log_excerpt="boom", duration=1.5)]),
            second,
        )
    assert store.results.get_test("o:t1") == Test(
        "o:t1", "o", "o:b", path="p1", status=Status.FAIL, duration=9.0, comment="old"
    )
    assert store.results.get_test("o:t2") == Test(
        "o:t2", "o", "o:b", log_excerpt="boom", duration=1.5
    )


def test_test_status_counts_per_build(store: Store) -> None:
    statuses = [Status.PASS, Status.PASS, Status.FAIL, None, Status.SKIP]
    store.results.submit(
        ResultsBatch(
            tests=(
                *(Test(f"o:a{n}", "o", "o:b1", status=s) for n, s in enumerate(statuses)),
                Test("o:z", "o", "o:b2", status=Status.ERROR),
                Test("o:y", "o", "o:b3", status=Status.PASS),
            )
        ),
        received_at=1.0,
    )
    assert store.results.test_status_counts(["o:b1", "o:b2", "o:none"]) == {
        "o:b1": {"PASS": 2, "FAIL": 1, "": 1, "SKIP": 1},
        "o:b2": {"ERROR": 1},
    }
    assert store.results.test_status_counts([]) == {}
