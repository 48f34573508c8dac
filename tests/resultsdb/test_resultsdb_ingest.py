"""Ingest end to end against every store: one transaction per file, triage inside it.

Real files, real parsers, real databases (memory, SQLite, PostgreSQL) and,
for large files, the real second process.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gatehouse.core.known_issues import IssuePattern, KnownIssue
from gatehouse.core.results import Culprit, Status
from gatehouse.errors import InputError, UsageError
from gatehouse.ingest import IngestContext
from gatehouse.resultsdb import known
from gatehouse.resultsdb.ingest import ingest_file, ingest_stream, report_json
from gatehouse.storage import Store

LAB = IngestContext(origin="lab", commit="c" * 40, tree="mainline", architecture="x86_64")


def junit(path: Path, cases: int, *, failing: dict[int, str] | None = None, tail: str = "") -> Path:
    failing = failing or {}
    body = []
    for n in range(cases):
        if n in failing:
            body.append(
                f'<testcase classname="suite.k{n % 7}" name="case{n}">'
                f'<failure message="boom">{failing[n]}</failure></testcase>'
            )
        else:
            body.append(f'<testcase classname="suite.k{n % 7}" name="case{n}" time="0.01"/>')
    path.write_text('<testsuite name="s">' + "".join(body) + "</testsuite>" + tail)
    return path


def ext4_issue() -> KnownIssue:
    return KnownIssue(
        id="gatehouse:ext4",
        version=1,
        origin="gatehouse",
        title="ext4 evict warning",
        culprit=Culprit(code=True),
        owner="fs",
        patterns=(IssuePattern(log_regex=r"WARNING in ext4_evict_inode"),),
    )


def test_a_file_is_stored_and_triaged_in_its_transaction(store: Store, tmp_path: Path) -> None:
    known.add(store.results, ext4_issue(), received_at=1.0)
    report = ingest_file(
        store.results,
        str(junit(tmp_path / "r.xml", 20, failing={3: "WARNING in ext4_evict_inode", 5: "oops"})),
        context=LAB,
        received_at=10.0,
    )
    assert report.ok, report.error
    assert report.format == "junit"
    assert dict(report.stored) == {"checkouts": 1, "builds": 1, "tests": 20}
    assert dict(report.statuses) == {"PASS": 18, "FAIL": 2}
    assert (report.explained, report.unknown, report.incidents) == (1, 1, 1)
    assert [u.path for u in report.unknown_failures] == ["s.suite.k5.case5"]
    failing = store.results.failing_tests_since(0.0)
    assert len(failing) == 2
    by_path = {r.test.path: r for r in failing}
    (incident,) = store.results.incidents_of_test(by_path["s.suite.k3.case3"].test.id)
    assert (incident.issue_id, incident.issue_version, incident.present) == (
        "gatehouse:ext4",
        1,
        True,
    )
    assert by_path["s.suite.k3.case3"].git_commit_hash == "c" * 40
    assert by_path["s.suite.k3.case3"].architecture == "x86_64"


def test_re_ingesting_a_file_merges_instead_of_duplicating(store: Store, tmp_path: Path) -> None:
    path = str(junit(tmp_path / "r.xml", 5, failing={1: "x"}))
    first = ingest_file(store.results, path, context=LAB, received_at=10.0)
    again = ingest_file(store.results, path, context=LAB, received_at=20.0)
    assert first.ok
    assert again.ok
    (checkout,) = store.results.checkouts_by_commit("c" * 40)
    assert len(store.results.tests_of_checkout(checkout.id)) == 5
    (run,) = store.results.failing_tests_since(0.0)
    assert run.received_at == 20.0


@pytest.mark.parametrize("parallel", [False, True], ids=["in-process", "two-processes"])
def test_a_bad_file_is_rejected_with_its_location_and_nothing_is_stored(
    store: Store, tmp_path: Path, parallel: bool
) -> None:
    # Thousands of good cases come first, so a streaming ingest has stored
    # several parts when the parser finds the broken end.
    path = junit(tmp_path / "bad.xml", 25_000, failing={7: "x"}, tail="<testsuite><testcase")
    report = ingest_file(
        store.results, str(path), context=LAB, received_at=1.0, parallel=parallel, name="bad.xml"
    )
    assert not report.ok
    assert isinstance(report.error, InputError)
    assert report.error.location is not None
    assert (report.error.location.file, report.error.location.line) == ("bad.xml", 1)
    assert "not well-formed" in report.error.message
    assert report.stored.total() == 0
    assert store.results.checkouts_by_commit("c" * 40) == []
    assert store.results.failing_tests_since(0.0) == []
    shape = report_json(report)
    assert shape["ok"] is False
    assert shape["error"]["file"] == "bad.xml"
    assert shape["error"]["line"] == 1
    assert isinstance(shape["error"]["column"], int)


def test_the_two_process_path_stores_what_the_in_process_path_stores(
    sql_store: Store, tmp_path: Path
) -> None:
    known.add(sql_store.results, ext4_issue(), received_at=1.0)
    failing = {
        n: "WARNING in ext4_evict_inode" if n % 2 else "other" for n in range(0, 30_000, 997)
    }
    path = str(junit(tmp_path / "big.xml", 30_000, failing=failing))
    warnings = []
    one = ingest_file(
        sql_store.results,
        path,
        context=LAB,
        received_at=5.0,
        parallel=True,
        on_warning=warnings.append,
    )
    assert one.ok, one.error
    assert one.format == "junit"
    assert one.stored["tests"] == 30_000
    assert one.statuses["FAIL"] == len(failing)
    assert one.explained == sum(1 for n in failing if n % 2)
    assert one.unknown == len(failing) - one.explained
    context = IngestContext(origin="lab", commit="d" * 40)
    two = ingest_file(sql_store.results, path, context=context, received_at=6.0, parallel=False)
    assert (two.stored, two.statuses, two.explained) == (one.stored, one.statuses, one.explained)
    a = sql_store.results.checkouts_by_commit("c" * 40)[0]
    b = sql_store.results.checkouts_by_commit("d" * 40)[0]
    tests_a = {t.path: t for t in sql_store.results.tests_of_checkout(a.id)}
    tests_b = {t.path: t for t in sql_store.results.tests_of_checkout(b.id)}
    assert tests_a.keys() == tests_b.keys()
    sample = "s.suite.k3.case997"
    assert (tests_a[sample].status, tests_a[sample].log_excerpt) == (
        tests_b[sample].status,
        tests_b[sample].log_excerpt,
    )
    assert tests_a["s.suite.k1.case1"].duration == 0.01


def test_warnings_of_the_parser_process_reach_the_caller(sql_store: Store, tmp_path: Path) -> None:
    lines = ["TAP version 13", "1..3", "ok 1 - a", "garbage line", "ok 2 - b"] * 1
    big = "\n".join(lines + [f"# comment {n} " + "x" * 200 for n in range(6000)]) + "\n"
    path = tmp_path / "t.tap"
    path.write_text(big)
    warnings = []
    report = ingest_file(
        sql_store.results,
        str(path),
        context=IngestContext(origin="lab"),
        received_at=1.0,
        parallel=True,
        on_warning=warnings.append,
    )
    assert report.ok, report.error
    assert {w.code for w in warnings} >= {"not-tap"}
    assert report.statuses == {"PASS": 2, "MISS": 1}
    assert [w.code for w in report.warnings] == [w.code for w in warnings]


def test_a_resubmission_is_triaged_as_stored(store: Store) -> None:
    """A test sent again without its log is matched with the log stored before (merge first)."""
    import io

    known.add(store.results, ext4_issue(), received_at=1.0)
    first = {
        "version": {"major": 5, "minor": 3},
        "checkouts": [{"id": "k:c", "origin": "k"}],
        "builds": [{"id": "k:b", "origin": "k", "checkout_id": "k:c"}],
        "tests": [
            {"id": "k:t", "origin": "k", "build_id": "k:b", "path": "fs.ext4",
             "log_excerpt": "WARNING in ext4_evict_inode+0x1/0x2"}
        ],
    }  # fmt: skip
    second = {
        "version": {"major": 5, "minor": 3},
        "tests": [{"id": "k:t", "origin": "k", "build_id": "k:b", "status": "FAIL"}],
    }
    none = IngestContext()
    a = ingest_stream(
        store.results, io.BytesIO(json.dumps(first).encode()), name="a.json", context=none,
        received_at=1.0,
    )  # fmt: skip
    assert a.ok, a.error
    assert a.incidents == 0  # no status yet: nothing failed
    b = ingest_stream(
        store.results, io.BytesIO(json.dumps(second).encode()), name="b.json", context=none,
        received_at=2.0,
    )  # fmt: skip
    assert b.ok, b.error
    assert (b.incidents, b.explained, b.unknown) == (1, 1, 0)
    assert [n.issue_id for n in store.results.incidents_of_test("k:t")] == ["gatehouse:ext4"]


def test_expected_failures_and_superseded_attempts_are_not_unknown(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "surefire.xml"
    path.write_text(
        '<testsuite name="s">'
        '<testcase classname="c" name="flaky"><flakyFailure message="first"/></testcase>'
        '<testcase classname="c" name="xf"><skipped type="pytest.xfail" message="known"/></testcase>'
        '<testcase classname="c" name="real"><failure message="real"/></testcase>'
        "</testsuite>"
    )
    report = ingest_file(store.results, str(path), context=LAB, received_at=1.0)
    assert report.ok, report.error
    assert report.statuses == {"FAIL": 3, "PASS": 1}
    assert report.unknown == 1
    assert [u.path for u in report.unknown_failures] == ["s.c.real"]


def test_a_missing_file_and_a_missing_origin_are_rejected_reports(
    store: Store, tmp_path: Path
) -> None:
    missing = ingest_file(store.results, str(tmp_path / "none.xml"), context=LAB, received_at=1.0)
    assert isinstance(missing.error, InputError)
    assert "cannot read the file" in missing.error.message
    no_origin = ingest_file(
        store.results, str(junit(tmp_path / "r.xml", 2)), context=IngestContext(), received_at=1.0
    )
    assert isinstance(no_origin.error, UsageError)
    assert "origin" in no_origin.error.message


def test_an_issue_added_after_ingest_explains_nothing_until_triage(
    store: Store, tmp_path: Path
) -> None:
    from gatehouse.resultsdb.retriage import retriage

    ingest_file(
        store.results,
        str(junit(tmp_path / "r.xml", 3, failing={0: "WARNING in ext4_evict_inode"})),
        context=LAB,
        received_at=1.0,
    )
    (run,) = store.results.failing_tests_since(0.0)
    assert store.results.incidents_of_test(run.test.id) == []
    known.add(store.results, ext4_issue(), received_at=2.0)
    now = datetime(2030, 1, 1, tzinfo=UTC)
    done = retriage(store.results, since=0.0, now=now, received_at=3.0)
    assert list(done.explained) == [run.test.id]
    assert done.unknown == ()
    again = retriage(store.results, since=0.0, now=now, received_at=4.0)
    assert [n.id for n in again.report.incidents] == [n.id for n in done.report.incidents]
    assert len(store.results.incidents_of_test(run.test.id)) == 1
    assert store.results.get_test(run.test.id).status is Status.FAIL  # type: ignore[union-attr]
