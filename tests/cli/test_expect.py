"""``gatehouse expect`` end to end: files on disk, exit codes, text and JSON output."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from gatehouse.cli import expect


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="gatehouse")
    expect.register(parser.add_subparsers())
    args = parser.parse_args(["expect", *argv])
    return int(args.handler(args))


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "gpu-fails.txt").write_text("# known\ndEQP.a,Fail\ndEQP.b,Crash\ndEQP.gone,Fail\n")
    (tmp_path / "gpu-flakes.txt").write_text("# 2024-01-01 https://bugs/1\ndEQP\\.flaky\\..*\n")
    (tmp_path / "all-skips.txt").write_text("dEQP\\.slow\n")
    return tmp_path


def test_passing_verdict_exits_0(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (files / "results.csv").write_text(
        "dEQP.a,Fail,0.1\ndEQP.b,Crash,0.2\ndEQP.ok,Pass,0.1\ndEQP.flaky.x,Fail,1\ndEQP.slow.y,Timeout,60\n"
    )
    code = run(
        [
            str(files / "results.csv"),
            "--fails",
            str(files / "gpu-fails.txt"),
            "--flakes",
            str(files / "gpu-flakes.txt"),
            "--skips",
            str(files / "all-skips.txt"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("expect: PASS: 0 unexpected of 4 results")
    assert "Flakes (do not fail the verdict):" in out
    assert "dEQP.flaky.x" in out
    assert "skipped by lists: 1" in out
    assert "gpu-fails.txt:4: dEQP.gone,Fail" in out  # stale entry


def test_unexpected_results_exit_1_and_come_first(
    files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (files / "results.csv").write_text("dEQP.a,Pass,0.1\ndEQP.new,Crash,0.2\ndEQP.b,Crash,1\n")
    code = run([str(files / "results.csv"), "--fails", str(files / "gpu-fails.txt")])
    out = capsys.readouterr().out
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "expect: FAIL: 2 unexpected of 3 results"
    assert lines[2] == "Unexpected results:"
    assert "UnexpectedPass" in lines[3]
    assert "the baseline is stale, remove the line" in lines[3]
    assert "gpu-fails.txt:2" in lines[3]
    assert lines[4].split()[:2] == ["Crash", "dEQP.new"]


def test_json_output(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (files / "results.csv").write_text("dEQP.a,Fail,0.1\ndEQP.new,Fail,0.2\n")
    code = run([str(files / "results.csv"), "--fails", str(files / "gpu-fails.txt"), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1
    assert data["passed"] is False
    assert data["counts"] == {"ExpectedFail": 1, "Fail": 1}
    assert [u["test"] for u in data["unexpected"]] == ["dEQP.new"]
    assert {s["test"] for s in data["stale"]} == {"dEQP.b", "dEQP.gone"}


def test_bad_files_exit_2_with_every_located_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "f.txt").write_text("a,Fail\na,Crash\n")
    (tmp_path / "s.txt").write_text("ok\n[broken\n")
    (tmp_path / "results.csv").write_text("a,Fail,1\nb,Sideways,1\n")
    code = run(
        [
            str(tmp_path / "results.csv"),
            str(tmp_path / "missing.csv"),
            "--fails",
            str(tmp_path / "f.txt"),
            "--skips",
            str(tmp_path / "s.txt"),
        ]
    )
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    err = captured.err
    assert (
        f"{tmp_path / 'f.txt'}:2: error: a is listed twice (first at {tmp_path / 'f.txt'}:1)" in err
    )
    assert f"{tmp_path / 's.txt'}:2: error: invalid regex '[broken'" in err
    assert f"{tmp_path / 'results.csv'}:2: error: unknown status 'Sideways'" in err
    assert "cannot read" in err
    assert "missing.csv" in err
    assert "Traceback" not in err


def test_module_runs_as_a_real_process(files: Path) -> None:
    """The handler through a real interpreter: exit code and no traceback."""
    (files / "results.csv").write_text("dEQP.new,Fail,0.1\n")
    script = (
        "import argparse, sys\n"
        "from gatehouse.cli import expect\n"
        "p = argparse.ArgumentParser(prog='gatehouse')\n"
        "expect.register(p.add_subparsers())\n"
        "a = p.parse_args(sys.argv[1:])\n"
        "sys.exit(a.handler(a))\n"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            "expect",
            str(files / "results.csv"),
            "--fails",
            str(files / "gpu-fails.txt"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "Fail            dEQP.new" in proc.stdout
