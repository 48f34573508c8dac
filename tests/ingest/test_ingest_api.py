"""The entry points: format detection, context, deterministic IDs, our own jobs' reports."""

from __future__ import annotations

import io
import json

import pytest

from gatehouse.core.results import Build, Checkout, Status, Test
from gatehouse.errors import InputError, UsageError
from gatehouse.ingest import (
    IngestContext,
    iter_results,
    job_build_id,
    parse_job_report,
    parse_results,
)
from gatehouse.ingest import detect as detect_module
from gatehouse.ingest.detect import sniff

JUNIT = b'<?xml version="1.0"?>\n<testsuite name="s"><testcase classname="c" name="t"><failure/></testcase></testsuite>'
SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (JUNIT, "junit"),
        (b"\xef\xbb\xbf<testsuites/>", "junit"),
        ('<?xml version="1.0" encoding="UTF-16"?><testsuites/>'.encode("utf-16"), "junit"),
        (b"<!-- made by x -->\n<?pi?>\n<testcase name='a'/>", "junit"),
        (b"TAP version 14\n1..1\nok 1\n", "tap"),
        (b"# Test::More\nok 1\n1..1\n", "tap"),
        (b"1..0 # SKIP\n", "tap"),
        (b"not ok 1 - x\n", "tap"),
        (b'{"name": "a - p:t", "result": "OK"}\n{"name": "b", "result": "FAIL"}\n', "meson"),
        (b'{"version": {"major": 5, "minor": 3}, "tests": []}', "kcidb"),
        (b'{\n  "version": {\n    "major": 4\n  }\n}', "kcidb"),
        (b'{\n  "tests": 9,\n  "name": "AllTests",\n  "testsuites": [\n  ]\n}', "gtest-json"),
    ],
)
def test_detection(data, expected):
    fmt, stream = sniff(io.BytesIO(data), "f")
    assert fmt == expected
    assert stream.read() == data  # the prefix read for detection is replayed


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "it is empty"),
        (b"   \n", "it is empty"),
        (b"<html><body/></html>", "root element <html>"),
        (b'{"hello": "world"}', "neither KCIDB"),
        (b"PASS: foo\nFAIL: bar\n", "matches none"),
    ],
)
def test_detection_refuses_with_a_reason(data, problem):
    with pytest.raises(InputError) as caught:
        sniff(io.BytesIO(data), "mystery.out")
    assert problem in caught.value.message
    assert caught.value.location is not None
    assert caught.value.location.file == "mystery.out"
    assert "--format" in (caught.value.hint or "")


def test_meson_first_line_longer_than_the_sniff_window(monkeypatch):
    monkeypatch.setattr(detect_module, "SNIFF_SIZE", 16)
    line = json.dumps({"name": "s - p:t", "stdout": "x" * 100, "result": "OK"}).encode() + b"\n"
    fmt, stream = sniff(io.BytesIO(line * 3), "testlog.json")
    assert fmt == "meson"
    assert stream.read() == line * 3


def test_auto_format_parses_through_the_replayed_stream():
    batch = parse_results(io.BytesIO(JUNIT), name="r.xml", context=IngestContext(origin="lab"))
    assert [t.status for t in batch.tests] == [Status.FAIL]


def test_unknown_format_is_a_usage_error():
    with pytest.raises(UsageError):
        parse_results(
            io.BytesIO(JUNIT), name="r", format="xunit", context=IngestContext(origin="lab")
        )


def test_an_origin_is_needed_except_for_kcidb():
    with pytest.raises(UsageError) as caught:
        parse_results(io.BytesIO(JUNIT), name="r", context=IngestContext())
    assert "--origin" in (caught.value.hint or "")


@pytest.mark.parametrize(
    "fields",
    [
        {"origin": "My-Lab"},
        {"origin": "lab", "commit": "abc123"},
        {"origin": "lab", "commit": SHA.upper()},
        {"origin": "lab", "architecture": "x86-64"},
        {"origin": "lab", "build_id": ""},
    ],
)
def test_context_validation(fields):
    with pytest.raises(UsageError):
        IngestContext(**fields)


def _batch(data: bytes = JUNIT, name: str = "r.xml", **context: str):
    return parse_results(
        io.BytesIO(data), name=name, context=IngestContext(**{"origin": "lab", **context})
    )


def test_ids_are_deterministic_and_depend_on_the_context_and_the_report():
    first = _batch(commit=SHA, architecture="arm64")
    again = _batch(commit=SHA, architecture="arm64")
    assert first == again
    assert _batch(name="./r.xml", commit=SHA, architecture="arm64") == first
    other_arch = _batch(commit=SHA, architecture="x86_64")
    assert other_arch.tests[0].id != first.tests[0].id
    assert other_arch.checkouts[0].id == first.checkouts[0].id
    other_report = _batch(name="other.xml", commit=SHA, architecture="arm64")
    assert other_report.tests[0].id != first.tests[0].id
    assert all(t.id.startswith("lab:") for t in first.tests)


def test_context_describes_the_checkout_and_build():
    batch = _batch(
        commit=SHA, tree="mainline", branch="main", architecture="arm64", environment="rpi4"
    )
    [checkout] = batch.checkouts
    assert (checkout.git_commit_hash, checkout.tree_name, checkout.git_repository_branch) == (
        SHA,
        "mainline",
        "main",
    )
    [build] = batch.builds
    assert (build.checkout_id, build.architecture) == (checkout.id, "arm64")
    [test] = batch.tests
    assert test.build_id == build.id
    assert test.environment is not None
    assert test.environment.comment == "rpi4"


def test_a_given_build_id_is_used_and_other_origins_objects_are_not_described():
    mine = _batch(build_id="1234")
    assert mine.tests[0].build_id == "lab:1234"
    assert [b.id for b in mine.builds] == ["lab:1234"]
    theirs = _batch(build_id="maestro:abc", checkout_id="maestro:c1")
    assert theirs.tests[0].build_id == "maestro:abc"
    assert theirs.builds == ()
    assert theirs.checkouts == ()


def test_iter_results_hands_out_parents_first():
    items = list(iter_results(io.BytesIO(JUNIT), name="r.xml", context=IngestContext(origin="lab")))
    assert [type(i) for i in items] == [Checkout, Build, Test]


def test_job_reports_attach_to_the_jobs_build():
    batch = parse_job_report(io.BytesIO(JUNIT), name="report.xml", job_id=42)
    assert batch.checkouts == ()
    assert batch.builds == ()
    [test] = batch.tests
    assert test.build_id == job_build_id(42) == "gatehouse:j42"
    assert test.origin == "gatehouse"
    again = parse_job_report(io.BytesIO(JUNIT), name="report.xml", job_id=42)
    assert again.tests[0].id == test.id


def test_an_unreadable_job_report_is_a_miss_result_not_an_exception():
    warnings = []
    batch = parse_job_report(
        io.BytesIO(b"<testsuite><testcase"), name="report.xml", job_id=7, on_warning=warnings.append
    )
    [test] = batch.tests
    assert (test.status, test.path, test.build_id) == (Status.MISS, "report.xml", "gatehouse:j7")
    assert test.comment is not None
    assert test.comment.startswith("report.xml:1:")
    assert test.misc == {"synthetic": "unreadable_report"}
    assert [w.code for w in warnings] == ["unreadable-report"]
