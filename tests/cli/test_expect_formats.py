"""``gatehouse expect`` with results in other formats: JUnit, TAP, meson, KCIDB through ingest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gatehouse.cli.main import main


def expect(*argv: str) -> int:
    return main(["expect", *argv])


def test_junit_results_with_a_baseline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "report.xml"
    report.write_text(
        '<testsuite name="dEQP"><testcase classname="gles2" name="a"><failure/></testcase>'
        '<testcase classname="gles2" name="b"/>'
        '<testcase classname="gles2" name="c"><error message="crashed"/></testcase>'
        '<testcase classname="gles2" name="flaky"><flakyFailure message="once"/></testcase>'
        "</testsuite>"
    )
    fails = tmp_path / "gpu-fails.txt"
    fails.write_text("dEQP.gles2.a,Fail\ndEQP.gles2.c,Crash\n")
    assert expect(str(report), "--fails", str(fails), "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["passed"] is True
    assert out["counts"] == {"ExpectedFail": 2, "Flake": 1, "Pass": 1}
    fails.write_text("dEQP.gles2.a,Fail\n")
    assert expect(str(report), "--fails", str(fails)) == 1
    text = capsys.readouterr().out
    assert "Crash           dEQP.gles2.c  (Crash; not in the baseline)" in text


def test_tap_meson_and_kcidb_results(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    generated = corpus / "results" / "generated-runner-outputs"
    assert expect(str(generated / "meson-1.12-testlog.json"), "--json") == 1
    meson = json.loads(capsys.readouterr().out)
    assert {r["test"]: r["actual"] for r in meson["results"]}["gen.slow - gen:timeout"] == "Timeout"
    tap = tmp_path / "t.tap"
    tap.write_text("TAP version 13\n1..2\nok 1 - one\nnot ok 2 - two\n")
    skips = tmp_path / "skips.txt"
    skips.write_text("^two$\n")
    assert expect(str(tap), "--skips", str(skips)) == 0
    kcidb = tmp_path / "k.json"
    kcidb.write_text(
        json.dumps(
            {
                "version": {"major": 5, "minor": 3},
                "tests": [
                    {"id": "k:1", "origin": "k", "build_id": "k:b", "path": "x.y", "status": "FAIL"}
                ],
            }
        )
    )
    fails = tmp_path / "f.txt"
    fails.write_text("x.y,Fail\n")
    assert expect(str(kcidb), "--fails", str(fails), "--format", "kcidb") == 0


def test_unreadable_results_are_located_errors(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corrupt = corpus / "results" / "junit-xml" / "enricomi" / "pytest-corrupt-xml.xml"
    assert expect(str(corrupt)) == 2
    err = capsys.readouterr().err
    assert f"{corrupt}:11:22: error: not well-formed XML: no element found" in err
    assert expect(str(tmp_path / "missing.xml")) == 2
    assert "cannot read" in capsys.readouterr().err
    csv_named = tmp_path / "results.txt"
    csv_named.write_text("dEQP.a,Pass,0.1\n")
    assert expect(str(csv_named), "--format", "deqp-csv") == 0
