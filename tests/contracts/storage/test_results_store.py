"""The ResultsStore contract: merge-by-ID, one transaction per submit, the read queries.

One suite, run against the in-memory, SQLite and PostgreSQL adapters. The
reference for merging is :func:`gatehouse.core.results.merge_fields`: the
property tests check that every adapter stores exactly what folding the
submissions with it gives.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatehouse.core.results import (
    Build,
    Checkout,
    Culprit,
    Incident,
    Issue,
    Resource,
    ResultsBatch,
    Status,
    Test,
    TestNumber,
    merge_fields,
)
from gatehouse.core.results import (
    TestEnvironment as Environment,
)
from gatehouse.errors import StorageError
from gatehouse.storage import Store

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _full_objects(prefix: str = "lab") -> ResultsBatch:
    checkout = Checkout(
        id=f"{prefix}:c1",
        origin=prefix,
        tree_name="mainline",
        git_repository_url="https://git.example.org/qemu.git",
        git_commit_hash=COMMIT,
        git_commit_name="v9.0.0-rc1-12-g0123456",
        git_commit_message="target/arm: fix things",
        git_repository_branch="master",
        patchset_hash="",
        start_time="2025-03-01T10:00:00+00:00",
        log_url="https://ci.example.org/c1.log",
        log_excerpt="configure: ok",
        comment="nightly",
        valid=True,
        misc={"runner": "r1", "nested": {"a": [1, 2]}},
        git_commit_tags=("v9.0.0-rc1", "next-20250301"),
        git_repository_branch_tip=True,
        patchset_files=(Resource("0001.patch", "https://ci.example.org/0001.patch"),),
        message_id="<20250301.1@example.org>",
        origin_builds_finish_time="2025-03-01T11:00:00+00:00",
        origin_tests_finish_time="2025-03-01T12:00:00+00:00",
    )
    build = Build(
        id=f"{prefix}:b1",
        origin=prefix,
        checkout_id=checkout.id,
        status=Status.PASS,
        architecture="x86_64",
        config_name="defconfig",
        compiler="gcc-13",
        command="make -j8",
        start_time="2025-03-01T10:01:00+00:00",
        duration=321.5,
        log_url="https://ci.example.org/b1.log",
        log_excerpt="LD qemu-system-x86_64",
        comment="",
        misc={"ccache": True},
        config_url="https://ci.example.org/b1.config",
        input_files=(Resource("config", "https://ci.example.org/config"),),
        output_files=(
            Resource("bzImage", "https://ci.example.org/bzImage"),
            Resource("modules.tar.xz", "https://ci.example.org/modules.tar.xz"),
        ),
    )
    test = Test(
        id=f"{prefix}:t1",
        origin=prefix,
        build_id=build.id,
        path="qtest.migration.precopy.tcp",
        status=Status.FAIL,
        environment=Environment(
            comment="runner r1", compatible=("qemu,virt", "arm,cortex-a57"), misc={"kvm": False}
        ),
        start_time="2025-03-01T10:20:00+00:00",
        duration=12.25,
        log_url="https://ci.example.org/t1.log",
        log_excerpt="assertion failed: (ret == 0)",
        comment="flaky?",
        misc={"attempt": 1, "original_status": "TIMEOUT"},
        number=TestNumber(value=1.5e9, unit="B/s", prefix="binary"),
        input_files=(Resource("disk.img", "https://ci.example.org/disk.img"),),
        output_files=(Resource("trace.json", "https://ci.example.org/trace.json"),),
    )
    issue = Issue(
        id=f"{prefix}:i1",
        version=2,
        origin=prefix,
        report_url="https://gitlab.example.org/issues/7",
        report_subject="migration precopy times out",
        culprit=Culprit(code=False, tool=True, harness=False),
        comment="known since 8.2",
        categories=("timeout", "migration"),
        misc={"owner": "someone"},
    )
    incident = Incident(
        id=f"{prefix}:n1",
        origin=prefix,
        issue_id=issue.id,
        issue_version=2,
        build_id=None,
        test_id=test.id,
        present=True,
        comment="matched log pattern",
        misc={"pattern": "ret == 0"},
    )
    return ResultsBatch((checkout,), (build,), (test,), (issue,), (incident,))


# --------------------------------------------------------------------------- round trips


def test_every_object_reads_back_equal(store: Store) -> None:
    batch = _full_objects()
    store.results.submit(batch, received_at=100.0)
    assert store.results.get_checkout("lab:c1") == batch.checkouts[0]
    assert store.results.get_build("lab:b1") == batch.builds[0]
    assert store.results.get_test("lab:t1") == batch.tests[0]
    assert store.results.get_issue("lab:i1") == batch.issues[0]
    assert store.results.get_issue("lab:i1", 2) == batch.issues[0]
    assert store.results.get_incident("lab:n1") == batch.incidents[0]


def test_the_kcidb_v5_3_fields_merge_by_id(store: Store) -> None:
    """Fields added by migration 0002: replaced whole when resubmitted, never reverted."""
    full = _full_objects()
    store.results.submit(full, received_at=1.0)
    store.results.submit(
        ResultsBatch(
            checkouts=(
                Checkout("lab:c1", "lab", git_commit_tags=(), git_repository_branch_tip=False),
            ),
            builds=(Build("lab:b1", "lab", "lab:c1", output_files=()),),
            tests=(Test("lab:t1", "lab", "lab:b1", number=TestNumber(3.0)),),
        ),
        received_at=2.0,
    )
    checkout = store.results.get_checkout("lab:c1")
    build = store.results.get_build("lab:b1")
    test = store.results.get_test("lab:t1")
    assert checkout is not None
    assert build is not None
    assert test is not None
    assert checkout.git_commit_tags == ()
    assert checkout.git_repository_branch_tip is False
    assert checkout.patchset_files == full.checkouts[0].patchset_files
    assert checkout.origin_tests_finish_time == "2025-03-01T12:00:00+00:00"
    assert build.output_files == ()
    assert build.input_files == full.builds[0].input_files
    assert build.config_url == "https://ci.example.org/b1.config"
    assert test.number == TestNumber(3.0)
    assert test.input_files == full.tests[0].input_files
    # An older submission arriving late only fills what is still unknown.
    store.results.submit(
        ResultsBatch(tests=(Test("lab:t2", "lab", "lab:b1", number=TestNumber(7.0, "s")),)),
        received_at=5.0,
    )
    store.results.submit(
        ResultsBatch(
            tests=(
                Test(
                    "lab:t2",
                    "lab",
                    "lab:b1",
                    number=TestNumber(1.0),
                    output_files=(Resource("a", "https://x/a"),),
                ),
            )
        ),
        received_at=4.0,
    )
    assert store.results.get_test("lab:t2") == Test(
        "lab:t2",
        "lab",
        "lab:b1",
        number=TestNumber(7.0, "s"),
        output_files=(Resource("a", "https://x/a"),),
    )


def test_minimal_objects_read_back_with_unknown_fields(store: Store) -> None:
    batch = ResultsBatch(
        checkouts=(Checkout("o:c", "o"),),
        builds=(Build("o:b", "o", "o:c"),),
        tests=(Test("o:t", "o", "o:b"),),
        issues=(Issue("o:i", 0, "o"),),
        incidents=(Incident("o:n", "o", "o:i", 0),),
    )
    store.results.submit(batch, received_at=1.0)
    assert store.results.get_checkout("o:c") == batch.checkouts[0]
    assert store.results.get_build("o:b") == batch.builds[0]
    assert store.results.get_test("o:t") == batch.tests[0]
    assert store.results.get_issue("o:i") == batch.issues[0]
    assert store.results.get_incident("o:n") == batch.incidents[0]


def test_unknown_ids_read_as_none(store: Store) -> None:
    assert store.results.get_checkout("x:1") is None
    assert store.results.get_build("x:1") is None
    assert store.results.get_test("x:1") is None
    assert store.results.get_issue("x:1") is None
    assert store.results.get_incident("x:1") is None


def test_an_empty_batch_stores_nothing(store: Store) -> None:
    store.results.submit(ResultsBatch(), received_at=1.0)
    assert store.results.list_issues() == []


def test_a_test_may_arrive_before_its_build_and_checkout(store: Store) -> None:
    """KCIDB allows incomplete data: parents are linked by id, not required to exist."""
    store.results.submit(
        ResultsBatch(tests=(Test("o:t", "o", "o:b", path="a.b", status=Status.PASS),)),
        received_at=1.0,
    )
    (run,) = store.results.test_history("a.b")
    assert run.checkout_id is None
    assert run.git_commit_hash is None
    store.results.submit(
        ResultsBatch(
            checkouts=(Checkout("o:c", "o", git_commit_hash=COMMIT),),
            builds=(Build("o:b", "o", "o:c", architecture="arm64"),),
        ),
        received_at=2.0,
    )
    (run,) = store.results.test_history("a.b")
    assert (run.checkout_id, run.git_commit_hash, run.architecture) == ("o:c", COMMIT, "arm64")
    assert store.results.tests_of_checkout("o:c") == [store.results.get_test("o:t")]


# --------------------------------------------------------------------------- merge-by-ID


def test_resubmitting_updates_and_never_duplicates(store: Store) -> None:
    start = Test("o:t", "o", "o:b", path="suite.case")
    store.results.submit(ResultsBatch(tests=(start,)), received_at=1.0)
    store.results.submit(
        ResultsBatch(tests=(Test("o:t", "o", "o:b", status=Status.PASS, duration=2.0),)),
        received_at=2.0,
    )
    assert store.results.tests_of_build("o:b") == [
        Test("o:t", "o", "o:b", path="suite.case", status=Status.PASS, duration=2.0)
    ]
    assert len(store.results.test_history("suite.case")) == 1


def test_a_known_field_never_reverts_to_unknown(store: Store) -> None:
    full = _full_objects()
    store.results.submit(full, received_at=1.0)
    bare = ResultsBatch(
        checkouts=(Checkout("lab:c1", "lab"),),
        builds=(Build("lab:b1", "lab", "lab:c1"),),
        tests=(Test("lab:t1", "lab", "lab:b1"),),
        issues=(Issue("lab:i1", 2, "lab"),),
        incidents=(Incident("lab:n1", "lab", "lab:i1", 2),),
    )
    store.results.submit(bare, received_at=2.0)
    assert store.results.get_checkout("lab:c1") == full.checkouts[0]
    assert store.results.get_build("lab:b1") == full.builds[0]
    assert store.results.get_test("lab:t1") == full.tests[0]
    assert store.results.get_issue("lab:i1") == full.issues[0]
    assert store.results.get_incident("lab:n1") == full.incidents[0]


def test_the_later_submission_wins_field_by_field(store: Store) -> None:
    store.results.submit(
        ResultsBatch(builds=(Build("o:b", "o", "o:c", status=Status.FAIL, compiler="gcc"),)),
        received_at=1.0,
    )
    store.results.submit(
        ResultsBatch(builds=(Build("o:b", "o", "o:c", status=Status.PASS, duration=3.0),)),
        received_at=2.0,
    )
    assert store.results.get_build("o:b") == Build(
        "o:b", "o", "o:c", status=Status.PASS, compiler="gcc", duration=3.0
    )


def test_misc_merges_key_by_key(store: Store) -> None:
    store.results.submit(
        ResultsBatch(tests=(Test("o:t", "o", "o:b", misc={"a": 1, "b": {"x": 1}}),)),
        received_at=1.0,
    )
    store.results.submit(
        ResultsBatch(tests=(Test("o:t", "o", "o:b", misc={"b": {"y": 2}, "c": None}),)),
        received_at=2.0,
    )
    got = store.results.get_test("o:t")
    assert got is not None
    # Shallow, like merge_fields: "b" is replaced whole; a null value is a value.
    assert got.misc == {"a": 1, "b": {"y": 2}, "c": None}


def test_a_late_older_submission_only_fills_unknown_fields(store: Store) -> None:
    store.results.submit(
        ResultsBatch(tests=(Test("o:t", "o", "o:b", status=Status.PASS, misc={"k": "new"}),)),
        received_at=20.0,
    )
    store.results.submit(
        ResultsBatch(
            tests=(
                Test(
                    "o:t",
                    "o",
                    "o:b",
                    status=Status.FAIL,
                    duration=9.0,
                    misc={"k": "old", "extra": 1},
                ),
            )
        ),
        received_at=10.0,
    )
    assert store.results.get_test("o:t") == Test(
        "o:t", "o", "o:b", status=Status.PASS, duration=9.0, misc={"k": "new", "extra": 1}
    )
    assert store.results.failing_tests_since(0.0) == []  # still PASS


def test_duplicates_inside_one_batch_merge_in_order(store: Store) -> None:
    batch = ResultsBatch(
        tests=(
            Test("o:t", "o", "o:b", status=Status.FAIL, misc={"a": 1}),
            Test("o:t", "o", "o:b", path="p", misc={"b": 2}),
            Test("o:t", "o", "o:b", status=Status.PASS),
        )
    )
    store.results.submit(batch, received_at=1.0)
    assert store.results.tests_of_build("o:b") == [
        Test("o:t", "o", "o:b", path="p", status=Status.PASS, misc={"a": 1, "b": 2})
    ]


def test_issue_versions_are_separate_objects(store: Store) -> None:
    store.results.submit(
        ResultsBatch(
            issues=(
                Issue("o:i", 1, "o", comment="first"),
                Issue("o:i", 3, "o", comment="third"),
                Issue("o:j", 0, "o"),
            )
        ),
        received_at=1.0,
    )
    store.results.submit(
        ResultsBatch(issues=(Issue("o:i", 1, "o", report_url="https://x/1"),)), received_at=2.0
    )
    assert store.results.get_issue("o:i", 1) == Issue(
        "o:i", 1, "o", comment="first", report_url="https://x/1"
    )
    assert store.results.get_issue("o:i") == Issue("o:i", 3, "o", comment="third")
    assert store.results.get_issue("o:i", 2) is None
    assert store.results.list_issues() == [
        Issue("o:i", 3, "o", comment="third"),
        Issue("o:j", 0, "o"),
    ]


def test_many_results_merge_the_same_way(store: Store) -> None:
    """Large batches (PostgreSQL switches to COPY) keep the same semantics."""
    first = tuple(
        Test(f"o:t{n}", "o", "o:b", path=f"s.c{n}", status=Status.FAIL, misc={"n": n})
        for n in range(600)
    )
    again = tuple(
        Test(f"o:t{n}", "o", "o:b", status=Status.PASS, misc={"again": True}) for n in range(300)
    )
    store.results.submit(ResultsBatch(tests=first + first[:50]), received_at=1.0)
    store.results.submit(ResultsBatch(tests=again), received_at=2.0)
    stored = store.results.tests_of_build("o:b")
    assert len(stored) == 600
    by_id = {t.id: t for t in stored}
    assert by_id["o:t7"] == Test(
        "o:t7", "o", "o:b", path="s.c7", status=Status.PASS, misc={"n": 7, "again": True}
    )
    assert by_id["o:t500"] == first[500]
    assert len(store.results.failing_tests_since(0.0)) == 300


# --------------------------------------------------------------------------- properties

_unique = itertools.count(1)
_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=8)
_misc = st.none() | st.dictionaries(
    st.sampled_from("abcd"), st.none() | st.integers(-5, 5) | _text, max_size=3
)


@st.composite
def _versions_of_a_test(draw: st.DrawFn) -> list[Test]:
    n = draw(st.integers(1, 5))
    return [
        Test(
            id="id",
            origin="o",
            build_id=draw(st.sampled_from(["o:b1", "o:b2"])),
            path=draw(st.none() | st.sampled_from(["a.b", "a.c"])),
            status=draw(st.none() | st.sampled_from(list(Status))),
            environment=draw(
                st.none()
                | st.builds(
                    Environment,
                    comment=st.none() | _text,
                    compatible=st.none() | st.tuples(_text),
                    misc=_misc,
                )
            ),
            duration=draw(st.none() | st.floats(0, 1e6, allow_nan=False)),
            log_excerpt=draw(st.none() | _text),
            misc=draw(_misc),
            number=draw(
                st.none()
                | st.builds(
                    TestNumber,
                    value=st.floats(-1e9, 1e9, allow_nan=False),
                    unit=st.none() | _text,
                    prefix=st.none() | st.sampled_from(["metric", "binary"]),
                )
            ),
            input_files=draw(
                st.none() | st.lists(st.builds(Resource, _text, _text), max_size=2).map(tuple)
            ),
        )
        for _ in range(n)
    ]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(versions=_versions_of_a_test())
def test_stored_object_is_the_fold_of_its_submissions(store: Store, versions: list[Test]) -> None:
    """Submitting versions in receive order stores ``reduce(merge_fields, versions)``."""
    test_id = f"p:{next(_unique)}"
    versions = [replace(v, id=test_id) for v in versions]
    for n, version in enumerate(versions):
        store.results.submit(ResultsBatch(tests=(version,)), received_at=float(n))
    assert store.results.get_test(test_id) == functools.reduce(merge_fields, versions)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(versions=_versions_of_a_test(), order=st.randoms())
def test_arrival_order_does_not_matter_for_two_submissions(
    store: Store, versions: list[Test], order: object
) -> None:
    """Two submissions stamped t1 < t2 give the same object whichever is stored first."""
    test_id = f"q:{next(_unique)}"
    a, b = (replace(v, id=test_id) for v in (versions + versions)[:2])
    stamped = [(1.0, a), (2.0, b)]
    order.shuffle(stamped)  # type: ignore[attr-defined]
    for received_at, version in stamped:
        store.results.submit(ResultsBatch(tests=(version,)), received_at=received_at)
    assert store.results.get_test(test_id) == merge_fields(a, b)


# --------------------------------------------------------------------------- one transaction


@pytest.mark.parametrize(
    "bad_batch_tail",
    [
        pytest.param(
            ResultsBatch(incidents=(Incident("o:n", "o", None, 1),)),  # type: ignore[arg-type]
            id="missing-issue-id",
        ),
        pytest.param(ResultsBatch(issues=(Issue("o:i", -1, "o"),)), id="negative-version"),
        pytest.param(
            ResultsBatch(tests=(Test("o:t999", "o", None),)),  # type: ignore[arg-type]
            id="missing-build-id",
        ),
    ],
)
def test_a_batch_failing_on_its_last_object_stores_nothing(
    store: Store, bad_batch_tail: ResultsBatch
) -> None:
    before = ResultsBatch(tests=(Test("o:t1", "o", "o:b", status=Status.PASS, misc={"k": 1}),))
    store.results.submit(before, received_at=1.0)
    batch = ResultsBatch(
        checkouts=(Checkout("o:c", "o", git_commit_hash=COMMIT),),
        builds=(Build("o:b", "o", "o:c"),),
        tests=(
            Test("o:t1", "o", "o:b", status=Status.FAIL, misc={"k": 2}),
            Test("o:t2", "o", "o:b", status=Status.FAIL),
            *bad_batch_tail.tests,
        ),
        issues=(Issue("o:ok", 1, "o"), *bad_batch_tail.issues),
        incidents=bad_batch_tail.incidents,
    )
    with pytest.raises(StorageError):
        store.results.submit(batch, received_at=2.0)
    assert store.results.get_checkout("o:c") is None
    assert store.results.get_build("o:b") is None
    assert store.results.get_test("o:t2") is None
    assert store.results.get_issue("o:ok") is None
    assert store.results.get_test("o:t1") == before.tests[0]
    # The store stays usable after a refused batch.
    store.results.submit(ResultsBatch(builds=(Build("o:b", "o", "o:c"),)), received_at=3.0)
    assert store.results.get_build("o:b") == Build("o:b", "o", "o:c")


def test_misc_with_a_nul_character(store: Store) -> None:
    """PostgreSQL cannot store NUL in text; the others keep it. Either way, no half batch."""
    batch = ResultsBatch(
        builds=(Build("o:b", "o", "o:c"),),
        tests=(Test("o:t", "o", "o:b", misc={"out": "a\0b"}),),
    )
    if store.url.startswith("postgres"):
        with pytest.raises(StorageError, match="NUL"):
            store.results.submit(batch, received_at=1.0)
        assert store.results.get_build("o:b") is None
    else:
        store.results.submit(batch, received_at=1.0)
        store.results.submit(
            ResultsBatch(tests=(Test("o:t", "o", "o:b", misc={"more": 1}),)), received_at=2.0
        )
        got = store.results.get_test("o:t")
        assert got is not None
        assert got.misc == {"out": "a\0b", "more": 1}


def test_a_literal_backslash_u0000_is_not_a_nul(store: Store) -> None:
    store.results.submit(
        ResultsBatch(tests=(Test("o:t", "o", "o:b", misc={"s": "\\u0000"}),)), received_at=1.0
    )
    store.results.submit(
        ResultsBatch(tests=(Test("o:t", "o", "o:b", misc={"t": 1}),)), received_at=2.0
    )
    got = store.results.get_test("o:t")
    assert got is not None
    assert got.misc == {"s": "\\u0000", "t": 1}


# --------------------------------------------------------------------------- queries


def _history_fixture(store: Store) -> None:
    store.results.submit(
        ResultsBatch(
            checkouts=(
                Checkout("o:c1", "o", git_commit_hash=COMMIT, tree_name="main"),
                Checkout("o:c2", "o", git_commit_hash="f" * 40, git_repository_branch="next"),
                Checkout("p:c1", "p", git_commit_hash=COMMIT),
            ),
            builds=(
                Build("o:b1", "o", "o:c1", architecture="x86_64", config_name="tcg"),
                Build("o:b2", "o", "o:c2", architecture="arm64", compiler="clang"),
                Build("p:b1", "p", "p:c1"),
            ),
        ),
        received_at=1.0,
    )
    for n, (build, status) in enumerate(
        [
            ("o:b1", Status.PASS),
            ("o:b1", Status.FAIL),
            ("o:b2", Status.PASS),
            ("p:b1", Status.ERROR),
            ("o:b2", Status.MISS),
        ]
    ):
        store.results.submit(
            ResultsBatch(
                tests=(
                    Test(f"o:r{n}", "o", build, path="unit.flaky", status=status),
                    Test(f"o:s{n}", "o", build, path="unit.steady", status=Status.SKIP),
                )
            ),
            received_at=10.0 + n,
        )


def test_checkouts_by_commit_and_their_builds_and_tests(store: Store) -> None:
    _history_fixture(store)
    assert [c.id for c in store.results.checkouts_by_commit(COMMIT)] == ["o:c1", "p:c1"]
    assert store.results.checkouts_by_commit("0" * 40) == []
    assert [b.id for b in store.results.builds_of_checkout("o:c2")] == ["o:b2"]
    assert [t.id for t in store.results.tests_of_build("o:b1")] == [
        "o:r0",
        "o:r1",
        "o:s0",
        "o:s1",
    ]
    assert [t.id for t in store.results.tests_of_checkout("o:c2")] == [
        "o:r2",
        "o:r4",
        "o:s2",
        "o:s4",
    ]
    assert store.results.tests_of_checkout("nope:c") == []


def test_history_of_a_test_path_is_newest_first_with_context(store: Store) -> None:
    _history_fixture(store)
    history = store.results.test_history("unit.flaky")
    assert [r.test.id for r in history] == ["o:r4", "o:r3", "o:r2", "o:r1", "o:r0"]
    assert [r.received_at for r in history] == [14.0, 13.0, 12.0, 11.0, 10.0]
    newest = history[0]
    assert newest.test.status is Status.MISS
    assert (newest.checkout_id, newest.git_commit_hash, newest.git_repository_branch) == (
        "o:c2",
        "f" * 40,
        "next",
    )
    assert (newest.architecture, newest.compiler) == ("arm64", "clang")
    oldest = history[-1]
    assert (oldest.tree_name, oldest.config_name) == ("main", "tcg")
    assert [r.test.id for r in store.results.test_history("unit.flaky", limit=2)] == [
        "o:r4",
        "o:r3",
    ]
    assert store.results.test_history("unit.absent") == []


def test_history_breaks_ties_by_id_newest_first(store: Store) -> None:
    store.results.submit(
        ResultsBatch(tests=tuple(Test(f"o:x{n}", "o", "o:b", path="p") for n in range(3))),
        received_at=5.0,
    )
    assert [r.test.id for r in store.results.test_history("p")] == ["o:x2", "o:x1", "o:x0"]


def test_failing_tests_since_a_time(store: Store) -> None:
    _history_fixture(store)
    failing = store.results.failing_tests_since(11.0)
    assert [(r.test.id, r.test.status) for r in failing] == [
        ("o:r1", Status.FAIL),
        ("o:r3", Status.ERROR),
        ("o:r4", Status.MISS),
    ]
    assert failing[0].git_commit_hash == COMMIT
    assert [r.test.id for r in store.results.failing_tests_since(13.5)] == ["o:r4"]
    assert store.results.failing_tests_since(100.0) == []


def test_a_fixed_test_leaves_the_failures(store: Store) -> None:
    store.results.submit(
        ResultsBatch(tests=(Test("o:t", "o", "o:b", status=Status.FAIL),)), received_at=1.0
    )
    store.results.submit(
        ResultsBatch(tests=(Test("o:t", "o", "o:b", status=Status.PASS),)), received_at=2.0
    )
    assert store.results.failing_tests_since(0.0) == []


def test_incidents_by_issue_test_and_build(store: Store) -> None:
    store.results.submit(
        ResultsBatch(
            issues=(Issue("o:i", 1, "o"), Issue("o:i", 2, "o")),
            incidents=(
                Incident("o:n1", "o", "o:i", 1, test_id="o:t1", present=True),
                Incident("o:n2", "o", "o:i", 2, test_id="o:t1", present=False),
                Incident("o:n3", "o", "o:i", 2, build_id="o:b1"),
                Incident("o:n4", "o", "o:other", 0, test_id="o:t2"),
            ),
        ),
        received_at=1.0,
    )
    ids = lambda found: [n.id for n in found]  # noqa: E731
    assert ids(store.results.incidents_of_issue("o:i")) == ["o:n1", "o:n2", "o:n3"]
    assert ids(store.results.incidents_of_issue("o:i", 2)) == ["o:n2", "o:n3"]
    assert ids(store.results.incidents_of_issue("o:i", 9)) == []
    assert ids(store.results.incidents_of_test("o:t1")) == ["o:n1", "o:n2"]
    assert ids(store.results.incidents_of_build("o:b1")) == ["o:n3"]
    assert store.results.get_incident("o:n2").present is False  # type: ignore[union-attr]


def test_a_negative_history_limit_lists_nothing(store: Store) -> None:
    store.results.submit(ResultsBatch(tests=(Test("o:t", "o", "o:b", path="p"),)), received_at=1.0)
    assert store.results.test_history("p", limit=-1) == []
