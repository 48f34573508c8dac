"""meson testlog.json and googletest JSON."""

from __future__ import annotations

import io
import json

import pytest

from gatehouse.core.results import Status
from gatehouse.errors import InputError
from gatehouse.ingest import IngestContext, parse_results


def _line(**fields: object) -> str:
    record = {
        "name": "unit - proj:t",
        "result": "OK",
        "duration": 0.5,
        "starttime": 1700000000.0,
        "returncode": 0,
        "command": ["./t"],
        "env": {"CI_JOB_TOKEN": "hunter2-secret", "PATH": "/usr/bin"},
    }
    record.update(fields)
    return json.dumps(record)


def test_meson_results_map_to_statuses(parse):
    results = [
        "OK",
        "FAIL",
        "SKIP",
        "EXPECTEDFAIL",
        "UNEXPECTEDPASS",
        "TIMEOUT",
        "INTERRUPT",
        "ERROR",
    ]
    text = "\n".join(_line(name=f"s - proj:{r.lower()}", result=r) for r in results)
    parsed = parse(text, "meson")
    assert parsed.statuses() == {
        "proj.s - proj:ok": Status.PASS,
        "proj.s - proj:fail": Status.FAIL,
        "proj.s - proj:skip": Status.SKIP,
        "proj.s - proj:expectedfail": Status.FAIL,
        "proj.s - proj:unexpectedpass": Status.PASS,
        "proj.s - proj:timeout": Status.ERROR,
        "proj.s - proj:interrupt": Status.ERROR,
        "proj.s - proj:error": Status.ERROR,
    }
    assert parsed.by_path("proj.s - proj:expectedfail").misc["waived"] is True
    assert parsed.by_path("proj.s - proj:unexpectedpass").misc["unexpected_pass"] is True
    assert parsed.by_path("proj.s - proj:timeout").misc["original_status"] == "TIMEOUT"


def test_meson_env_is_never_stored(parse):
    parsed = parse(_line(stdout="out\n", stderr="err\n"), "meson")
    assert "hunter2-secret" not in repr(parsed.batch)
    assert "CI_JOB_TOKEN" not in repr(parsed.batch)
    test = parsed.tests[0]
    assert test.log_excerpt == "[stdout]\nout\n[stderr]\nerr"
    assert test.start_time == "2023-11-14T22:13:20+00:00"
    assert test.duration == 0.5


def test_meson_signal_and_repeats(parse):
    parsed = parse(
        "\n".join([_line(result="TIMEOUT", returncode=-15), _line(result="OK")]) + "\n\n", "meson"
    )
    first, second = parsed.tests
    assert (first.misc["returncode"], first.misc["signal"]) == (-15, 15)
    assert second.misc["occurrence"] == 2
    assert first.id != second.id
    assert first.path == second.path == "proj.unit - proj:t"


def test_meson_name_without_suite(parse):
    parsed = parse(_line(name="proj:alone"), "meson")
    assert parsed.tests[0].path == "proj.proj:alone"


def test_meson_unknown_result_is_an_error_record_with_a_warning(parse):
    parsed = parse(_line(result="PENDING"), "meson")
    assert parsed.tests[0].status is Status.ERROR
    assert parsed.codes() == ["meson-result"]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (_line() + '\n{"name": "x", "resu', 2, "not a JSON line: Unterminated string"),
        (_line() + "\n[1, 2]\n", 2, "a testlog.json line must be a JSON object"),
        ('{"result": "OK"}\n', 1, "a testlog.json line needs a string 'name' and 'result'"),
    ],
)
def test_meson_bad_lines_reject_the_file(text, line, message):
    with pytest.raises(InputError) as caught:
        parse_results(
            io.BytesIO(text.encode()),
            name="testlog.json",
            format="meson",
            context=IngestContext(origin="lab"),
        )
    assert caught.value.location is not None
    assert caught.value.location.line == line
    assert caught.value.message.startswith(message)


def _gtest(*cases: dict, suite: str = "S") -> str:
    return json.dumps(
        {"name": "AllTests", "testsuites": [{"name": suite, "testsuite": list(cases)}]}
    )


def test_gtest_json_statuses(parse):
    parsed = parse(
        _gtest(
            {
                "name": "ok",
                "status": "RUN",
                "result": "COMPLETED",
                "time": "0.25s",
                "classname": "S",
            },
            {
                "name": "bad",
                "status": "RUN",
                "result": "COMPLETED",
                "classname": "S",
                "failures": [{"failure": "a.cc:3\nExpected 1", "type": ""}],
            },
            {
                "name": "sk",
                "status": "RUN",
                "result": "SKIPPED",
                "classname": "S",
                "skipped": [{"message": "no gpu"}],
            },
            {"name": "DISABLED_x", "status": "NOTRUN", "result": "SUPPRESSED", "classname": "S"},
            {
                "name": "prop",
                "status": "RUN",
                "result": "COMPLETED",
                "classname": "S",
                "board": "rpi",
            },
        ),
        "gtest-json",
    )
    assert parsed.statuses() == {
        "S.ok": Status.PASS,
        "S.bad": Status.FAIL,
        "S.sk": Status.SKIP,
        "S.DISABLED_x": Status.SKIP,
        "S.prop": Status.PASS,
    }
    assert parsed.by_path("S.ok").duration == 0.25
    assert parsed.by_path("S.bad").comment == "a.cc:3"
    assert parsed.by_path("S.sk").comment == "no gpu"
    assert parsed.by_path("S.DISABLED_x").misc == {"original_status": "disabled"}
    assert parsed.by_path("S.prop").misc == {"properties": {"board": "rpi"}}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON"),
        ('{"tests": 1}', "no 'testsuites' list"),
        ('{"testsuites": [{"name": "S"}]}', "$.testsuites[0]: a suite needs"),
    ],
)
def test_gtest_json_rejections(text, message):
    with pytest.raises(InputError) as caught:
        parse_results(
            io.BytesIO(text.encode()),
            name="g.json",
            format="gtest-json",
            context=IngestContext(origin="lab"),
        )
    assert message in caught.value.message
