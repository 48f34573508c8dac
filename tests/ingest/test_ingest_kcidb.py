"""KCIDB: accepted or refused exactly as kcidb-io decides, with its reason in our message."""

from __future__ import annotations

import copy
import io
import json
from typing import Any

import jsonschema
import kcidb_io
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kcidb_io.schema.abstract import InheritanceImpossible

from gatehouse.core.results import Resource, Status, TestNumber
from gatehouse.errors import InputError
from gatehouse.ingest import IngestContext, parse_results

LATEST = kcidb_io.schema.LATEST
SHA = "a" * 40


def _v53(**lists: Any) -> dict[str, Any]:
    return {"version": {"major": 5, "minor": 3}, **lists}


FULL_V53 = _v53(
    checkouts=[
        {
            "id": "lab:c1",
            "origin": "lab",
            "tree_name": "mainline",
            "git_repository_url": "https://git.example.org/linux.git",
            "git_commit_hash": SHA,
            "git_commit_tags": ["v6.9"],
            "git_repository_branch": "master",
            "git_repository_branch_tip": True,
            "patchset_files": [{"name": "0001.patch", "url": "https://x/0001.patch"}],
            "patchset_hash": "",
            "start_time": "2025-03-01T10:00:00+00:00",
            "origin_tests_finish_time": "2025-03-01T11:00:00+00:00",
            "_timestamp": "2025-03-01T12:00:00+00:00",
            "misc": {"submitter": "bot"},
        }
    ],
    builds=[
        {
            "id": "lab:b1",
            "origin": "lab",
            "checkout_id": "lab:c1",
            "architecture": "x86_64",
            "config_name": "defconfig",
            "config_url": "https://x/config",
            "status": "PASS",
            "duration": 120.5,
            "output_files": [{"name": "bzImage", "url": "https://x/bzImage"}],
        }
    ],
    tests=[
        {
            "id": "lab:t1",
            "origin": "lab",
            "build_id": "lab:b1",
            "path": "ltp.sem01",
            "status": "FAIL",
            "environment": {"comment": "qemu", "compatible": ["qemu,x86"], "misc": {"m": 1}},
            "number": {"value": 3.5, "unit": "s", "prefix": "metric"},
            "log_excerpt": "oops",
            "input_files": [{"name": "rootfs", "url": "https://x/rootfs"}],
        },
        {"id": "other:t2", "origin": "other", "build_id": "lab:b1", "status": "PASS"},
    ],
    issues=[
        {
            "id": "lab:i1",
            "version": 2,
            "origin": "lab",
            "culprit": {"code": True},
            "categories": ["hang"],
            "report_subject": "sem01 hangs",
        }
    ],
    incidents=[
        {
            "id": "lab:n1",
            "origin": "lab",
            "issue_id": "lab:i1",
            "issue_version": 2,
            "test_id": "lab:t1",
            "present": True,
        }
    ],
)

V4_WAIVED = {
    "version": {"major": 4, "minor": 0},
    "checkouts": [{"id": "lab:c1", "origin": "lab"}],
    "builds": [{"id": "lab:b1", "origin": "lab", "checkout_id": "lab:c1", "valid": False}],
    "tests": [
        {"id": "lab:t1", "origin": "lab", "build_id": "lab:b1", "path": "a.b", "waived": True}
    ],
}

V3_REVISIONS = {
    "version": {"major": 3, "minor": 0},
    "revisions": [
        {"id": SHA, "origin": "lab", "git_repository_url": "https://git.example.org/r.git"}
    ],
    "builds": [{"id": "lab:b1", "origin": "lab", "revision_id": SHA, "valid": True}],
    "tests": [
        {"id": "lab:t1", "origin": "lab", "build_id": "lab:b1", "path": "x.y", "status": "PASS"}
    ],
}


def _ingest(doc: Any, origin: str | None = None):
    raw = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return parse_results(
        io.BytesIO(raw), name="k.json", format="kcidb", context=IngestContext(origin=origin)
    )


def _kcidb_io_refusal(doc: Any) -> str | None:
    """kcidb-io's own decision: None to accept, else its reason."""
    data = copy.deepcopy(doc)
    try:
        LATEST.validate(data)
        LATEST.upgrade(data, copy=False)
    except jsonschema.exceptions.ValidationError as exc:
        return exc.message
    except InheritanceImpossible as exc:
        return str(exc)
    return None


def test_a_full_v53_document_maps_every_field():
    batch = _ingest(FULL_V53)
    [checkout] = batch.checkouts
    assert checkout.git_commit_tags == ("v6.9",)
    assert checkout.git_repository_branch_tip is True
    assert checkout.patchset_files == (Resource("0001.patch", "https://x/0001.patch"),)
    assert checkout.origin_tests_finish_time == "2025-03-01T11:00:00+00:00"
    assert checkout.misc == {"submitter": "bot"}
    [build] = batch.builds
    assert (build.status, build.config_url, build.duration) == (
        Status.PASS,
        "https://x/config",
        120.5,
    )
    assert build.output_files == (Resource("bzImage", "https://x/bzImage"),)
    test = batch.tests[0]
    assert test.status is Status.FAIL
    assert test.number == TestNumber(3.5, unit="s", prefix="metric")
    assert test.environment is not None
    assert test.environment.compatible == ("qemu,x86",)
    assert test.input_files == (Resource("rootfs", "https://x/rootfs"),)
    [issue] = batch.issues
    assert issue.culprit is not None
    assert (issue.culprit.code, issue.culprit.tool, issue.version) == (True, False, 2)
    assert issue.categories == ("hang",)
    [incident] = batch.incidents
    assert (incident.issue_id, incident.test_id, incident.present) == ("lab:i1", "lab:t1", True)


def test_a_v4_document_is_upgraded_by_kcidb_io():
    batch = _ingest(V4_WAIVED)
    assert batch.builds[0].status is Status.FAIL  # v4 valid: false → v5 status FAIL
    assert [i.id for i in batch.issues] == ["_:waived"]
    assert [(n.issue_id, n.test_id) for n in batch.incidents] == [("_:waived", "lab:t1")]


def test_a_v3_document_with_revisions_is_upgraded_to_checkouts():
    batch = _ingest(V3_REVISIONS)
    [checkout] = batch.checkouts
    assert checkout.git_repository_url == "https://git.example.org/r.git"
    assert batch.builds[0].checkout_id == checkout.id
    assert batch.tests[0].path == "x.y"


def test_objects_of_the_submitting_origin_and_kcidb_ios_own_are_accepted():
    batch = _ingest(V4_WAIVED, origin="lab")
    assert len(batch.issues) == 1  # origin "_" made by the upgrade


def test_objects_of_another_origin_are_refused_before_anything_is_handed_out():
    with pytest.raises(InputError) as caught:
        _ingest(FULL_V53, origin="lab")
    assert caught.value.message == "$.tests[1].origin: 'other' is not the submitting origin 'lab'"


REFUSED = {
    "wrong major version": {"version": {"major": 6, "minor": 0}},
    "minor from the future": {"version": {"major": 5, "minor": 9}},
    "extra root property": _v53(tests=[], issue=[]),
    "extra test property": _v53(
        tests=[{"id": "lab:t", "origin": "lab", "build_id": "lab:b", "colour": "red"}]
    ),
    "bad id pattern": _v53(tests=[{"id": "no origin", "origin": "lab", "build_id": "lab:b"}]),
    "bad test path": _v53(
        tests=[{"id": "lab:t", "origin": "lab", "build_id": "lab:b", "path": "a..b"}]
    ),
    "bad status": _v53(
        tests=[{"id": "lab:t", "origin": "lab", "build_id": "lab:b", "status": "OK"}]
    ),
    "null is never allowed": _v53(
        tests=[{"id": "lab:t", "origin": "lab", "build_id": "lab:b", "path": None}]
    ),
    "bad date-time format": _v53(
        tests=[{"id": "lab:t", "origin": "lab", "build_id": "lab:b", "start_time": "yesterday"}]
    ),
    "not an object": [1, 2],
}


@pytest.mark.parametrize("doc", REFUSED.values(), ids=REFUSED.keys())
def test_refusals_quote_kcidb_io(doc):
    reason = _kcidb_io_refusal(doc)
    assert reason is not None, "kcidb-io accepts this document: the case is wrong"
    with pytest.raises(InputError) as caught:
        _ingest(doc)
    err = caught.value
    assert err.message.endswith(reason)
    assert err.message.startswith("$")
    assert err.location is not None
    assert err.location.file == "k.json"
    assert "kcidb-io" in (err.hint or "")


def test_refusal_names_the_json_path():
    with pytest.raises(InputError) as caught:
        _ingest(REFUSED["bad test path"])
    assert caught.value.message.startswith("$.tests[0].path: 'a..b' does not match")


def test_a_v4_url_that_cannot_be_upgraded_is_located():
    doc = {
        "version": {"major": 4, "minor": 0},
        "checkouts": [
            {"id": "lab:ok", "origin": "lab", "git_repository_url": "https://ok/r.git"},
            {"id": "lab:c", "origin": "lab", "git_repository_url": "git://example.org/r.git"},
        ],
    }
    reason = _kcidb_io_refusal(doc)
    assert reason is not None
    assert "HTTPS" in reason
    with pytest.raises(InputError) as caught:
        _ingest(doc)
    assert caught.value.message == f"$.checkouts[1]: cannot upgrade to KCIDB v5.3: {reason}"


def test_a_v4_path_that_v5_rejects_is_located():
    doc = {
        "version": {"major": 4, "minor": 0},
        "tests": [
            {"id": "lab:t0", "origin": "lab", "build_id": "lab:b", "path": "fine"},
            {"id": "lab:t1", "origin": "lab", "build_id": "lab:b", "path": "a..b"},
        ],
    }
    with pytest.raises(InputError) as caught:
        _ingest(doc)
    assert caught.value.message.startswith("$.tests[1]: cannot upgrade to KCIDB v5.3: Test path")


def test_invalid_json_is_located():
    with pytest.raises(InputError) as caught:
        _ingest(b'{"version": {"major": 5,\n "minor": }}')
    assert caught.value.location is not None
    assert (caught.value.location.line, caught.value.location.column) == (2, 11)


def test_context_metadata_is_ignored_with_a_warning():
    warnings = []
    parse_results(
        io.BytesIO(json.dumps(_v53()).encode()),
        name="k.json",
        format="kcidb",
        context=IngestContext(origin="lab", commit=SHA),
        on_warning=warnings.append,
    )
    assert [w.code for w in warnings] == ["kcidb-context"]


# -- property: our decision is kcidb-io's decision ---------------------------------

_TEXT = st.text(alphabet="ab_:.-/ 0A\x00", max_size=8)
_TEST = st.fixed_dictionaries(
    {"id": _TEXT, "origin": st.sampled_from(["lab", "Lab", "", "l_1"]), "build_id": _TEXT},
    optional={
        "path": _TEXT,
        "status": st.sampled_from(["PASS", "FAIL", "MISS", "pass", "TIMEOUT"]),
        "duration": st.one_of(
            st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=2)
        ),
        "waived": st.booleans(),
    },
)
_DOC = st.fixed_dictionaries(
    {
        "version": st.fixed_dictionaries(
            {"major": st.sampled_from([3, 4, 5]), "minor": st.sampled_from([0, 1, 3])}
        ),
        "tests": st.lists(_TEST, max_size=3),
    }
)


@settings(max_examples=150, deadline=None)
@given(_DOC)
def test_accepted_or_refused_exactly_as_kcidb_io_decides(doc):
    reason = _kcidb_io_refusal(doc)
    if reason is None:
        batch = _ingest(doc)
        assert len(batch.tests) == len(doc["tests"])
    else:
        with pytest.raises(InputError) as caught:
            _ingest(doc)
        assert caught.value.message.endswith(reason)
