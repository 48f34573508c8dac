"""The results commands through the command line: ingest, issue, triage, flakes, compare, failures.

Each command runs in-process through ``gatehouse.cli.main.main`` against a
real database: SQLite in the project's data directory, and PostgreSQL
(``--database``) for the commands that read it. Happy paths, error paths
(located messages, exit codes, nothing stored) and the ``--json`` shapes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gatehouse.cli.main import main
from results_db import KINDS, database_url

CORPUS_PYTEST = "generated-runner-outputs/pytest-9.2-junit-xunit2.xml"
CORRUPT = "junit-xml/enricomi/pytest-corrupt-xml.xml"


class Cli:
    """Runs ``gatehouse`` in a project directory against one database."""

    def __init__(self, project: Path, database: str | None, capsys: pytest.CaptureFixture[str]):
        self.project = project
        self.database = database
        self.capsys = capsys

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        extra = ["-C", str(self.project)]
        if self.database:
            extra += ["--database", self.database]
        command = list(argv)
        # the store flags belong to the (sub)command: after its positional words
        code = main([*command, *extra])
        out, err = self.capsys.readouterr()
        assert "Traceback" not in err, err
        return code, out, err

    def json(self, *argv: str) -> object:
        code, out, err = self(*argv, "--json")
        assert code in (0, 1), err
        return json.loads(out)


@pytest.fixture(params=KINDS)
def cli(
    request: pytest.FixtureRequest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Iterator[Cli]:
    project = tmp_path / "project"
    project.mkdir()
    if request.param == "sqlite":
        yield Cli(project, None, capsys)
        return
    for url in database_url("postgres", tmp_path, request):
        yield Cli(project, url, capsys)


def junit(path: Path, cases: dict[str, str | None]) -> Path:
    """A JUnit file: name -> None (pass) or a failure text."""
    body = "".join(
        f'<testcase classname="k" name="{name}"/>'
        if text is None
        else f'<testcase classname="k" name="{name}"><failure message="{text.splitlines()[0]}">'
        f"{text}</failure></testcase>"
        for name, text in cases.items()
    )
    path.write_text(f'<testsuite name="s">{body}</testsuite>')
    return path


# --------------------------------------------------------------------------- ingest


def test_ingest_stores_reports_counts_and_rejects_a_bad_file(cli: Cli, corpus: Path) -> None:
    code, out, err = cli(
        "ingest", "--origin", "lab", str(corpus / "results" / CORPUS_PYTEST),
        str(corpus / "results" / CORRUPT),
    )  # fmt: skip
    assert code == 1
    assert "stored 9 tests (PASS 4, FAIL 3, ERROR 1, SKIP 1), 1 checkout, 1 build [junit" in out
    assert "3 unknown" in out
    assert "ingest: 1 of 2 files stored, 1 rejected" in out
    assert f"{corpus / 'results' / CORRUPT}:11:22: error: not well-formed XML" in err
    assert "rejected: nothing of it was stored" in err
    failures = cli.json("failures")
    assert sum(g["count"] for g in failures) == 4  # the good file's failures only


def test_ingest_json_shape_and_exit_0(cli: Cli, tmp_path: Path) -> None:
    path = junit(tmp_path / "r.xml", {"a": None, "b": "AssertionError: 1 != 2"})
    report = cli.json(
        "ingest", str(path), "--origin", "lab", "--commit", "a" * 40, "--tree", "t",
        "--branch", "main", "--arch", "arm64", "--config", "defconfig", "--environment", "rpi4",
    )  # fmt: skip
    assert report == {
        "ok": True,
        "files": [
            {
                "file": str(path),
                "ok": True,
                "format": "junit",
                "stored": {"builds": 1, "checkouts": 1, "tests": 2},
                "statuses": {"FAIL": 1, "PASS": 1},
                "incidents": 0,
                "explained": 0,
                "unknown": 1,
                "unknown_failures": [
                    {
                        "id": report["files"][0]["unknown_failures"][0]["id"],  # type: ignore[index]
                        "kind": "test",
                        "path": "s.k.b",
                        "status": "FAIL",
                        "comment": "AssertionError: 1 != 2",
                    }
                ],
                "warnings": [],
                "seconds": report["files"][0]["seconds"],  # type: ignore[index]
            }
        ],
    }


def test_ingest_bad_flags_are_usage_errors(cli: Cli, tmp_path: Path) -> None:
    path = junit(tmp_path / "r.xml", {"a": None})
    code, _, err = cli("ingest", str(path), "--origin", "lab", "--commit", "abc")
    assert code == 2
    assert "is not a full lowercase hexadecimal commit hash" in err
    code, _, err = cli("ingest", str(path), "--origin", "Bad Origin")
    assert code == 2
    assert "origin 'Bad Origin' is not valid" in err


def test_ingest_without_an_origin_rejects_the_file_with_a_hint(cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli("ingest", str(junit(tmp_path / "r.xml", {"a": None})))
    assert code == 1
    assert "an origin is needed" in err
    assert "--origin" in err


def test_reading_commands_refuse_politely_without_a_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    for argv in (["triage"], ["flakes"], ["failures"], ["issue", "list"], ["compare", "1", "2"]):
        code = main([*argv, "-C", str(empty)])
        err = capsys.readouterr().err
        assert code == 2, argv
        assert "no results database here" in err
        assert "Traceback" not in err


# --------------------------------------------------------------------------- issues


def test_issue_lifecycle(cli: Cli, tmp_path: Path) -> None:
    code, out, _ = cli(
        "issue", "add", "--title", "ext4 evict warning", "--culprit", "code", "--owner", "fs",
        "--test", "s.k.*", "--log", "WARNING in ext4_evict_inode", "--arch", "x86_64",
    )  # fmt: skip
    assert code == 0
    assert out.startswith("gatehouse:ext4-evict-warning: added version 1: ext4 evict warning")
    path = junit(tmp_path / "r.xml", {"a": "WARNING in ext4_evict_inode+0x1/0x2", "b": "oops"})
    code, out, _ = cli("ingest", str(path), "--origin", "lab", "--arch", "x86_64")
    assert "triage: 1 explained by known issues (1 incident), 1 unknown" in out
    listed = cli.json("issue", "list")
    assert [(i["id"], i["version"], i["state"], i["hits"]) for i in listed] == [  # type: ignore[union-attr]
        ("gatehouse:ext4-evict-warning", 1, "active", 1)
    ]
    code, out, _ = cli(
        "issue", "edit", "ext4-evict-warning", "--owner", "ext4-team", "--status", "fail",
        "--log", "ext4_evict_inode", "--add-pattern",
    )  # fmt: skip
    assert code == 0
    assert "stored version 2" in out
    shown = cli.json("issue", "show", "gatehouse:ext4-evict-warning")
    assert shown["issue"]["version"] == 2  # type: ignore[index]
    assert shown["issue"]["owner"] == "ext4-team"  # type: ignore[index]
    assert [p.get("statuses") for p in shown["issue"]["patterns"]] == [None, ["FAIL"]]  # type: ignore[index]
    assert [v["version"] for v in shown["versions"]] == [1, 2]  # type: ignore[index]
    assert shown["hits"] == 1  # type: ignore[index]
    assert shown["hits_by_version"] == {"1": 1}  # type: ignore[index]
    assert shown["where"]["architectures"] == {"x86_64": 1}  # type: ignore[index]
    assert shown["incidents"][0]["test_path"] == "s.k.a"  # type: ignore[index]
    assert shown["first_seen"] is not None  # type: ignore[index]
    code, out, _ = cli("issue", "show", "ext4-evict-warning")
    assert "hits: 1 (v1: 1)" in out
    assert "architectures: x86_64 (1)" in out
    code, out, _ = cli("issue", "retire", "ext4-evict-warning")
    assert code == 0
    assert "retired (version 3)" in out
    assert cli.json("issue", "list") == []
    assert [i["state"] for i in cli.json("issue", "list", "--all")] == ["retired"]  # type: ignore[union-attr]
    code, _, err = cli("issue", "retire", "ext4-evict-warning")
    assert code == 2
    assert "retired already" in err


def test_issue_errors(cli: Cli) -> None:
    code, _, err = cli(
        "issue", "add", "--title", "t", "--culprit", "code", "--owner", "o", "--log", "a(b"
    )
    assert code == 2
    assert "--log: error: missing ')' at column 2 of 'a(b'" in err
    assert "the issue was not stored" in err
    code, _, err = cli(
        "issue", "add", "--title", "t", "--culprit", "tool", "--owner", "o", "--test-regex", "(a+)+"
    )
    assert code == 2
    assert "--test-regex: error: nested unbounded repetition" in err
    code, _, err = cli("issue", "add", "--title", "t", "--culprit", "code", "--owner", "o")
    assert code == 2
    assert "an issue needs a pattern" in err
    code, _, err = cli("issue", "show", "nope")
    assert code == 2
    assert "no issue gatehouse:nope" in err
    code, _, err = cli("issue", "edit", "nope", "--title", "x")
    assert code == 2
    assert "no issue gatehouse:nope" in err
    code, _, err = cli(
        "issue", "add", "--title", "t", "--culprit", "code", "--owner", "o", "--log", "x",
        "--expires", "next tuesday",
    )  # fmt: skip
    assert code == 2
    assert "--expires 'next tuesday' is not a date or time" in err
    cli(
        "issue",
        "add",
        "--title",
        "t",
        "--culprit",
        "code",
        "--owner",
        "o",
        "--log",
        "x",
        "--id",
        "dup",
    )
    code, _, err = cli(
        "issue",
        "add",
        "--title",
        "t",
        "--culprit",
        "code",
        "--owner",
        "o",
        "--log",
        "y",
        "--id",
        "dup",
    )
    assert code == 2
    assert "issue gatehouse:dup exists already" in err
    assert cli.json("issue", "list")[0]["patterns"] == [{"kind": "test", "log_regex": "x"}]  # type: ignore[index]


def test_an_expired_issue_no_longer_triages(cli: Cli, tmp_path: Path) -> None:
    cli(
        "issue", "add", "--title", "old", "--culprit", "code", "--owner", "o", "--log", "oops",
        "--expires", "2001-01-01",
    )  # fmt: skip
    assert cli.json("issue", "list") == []
    assert cli.json("issue", "list", "--all")[0]["state"] == "expired"  # type: ignore[index]
    cli("ingest", str(junit(tmp_path / "r.xml", {"a": "oops"})), "--origin", "lab")
    assert [r["path"] for r in cli.json("triage")["unknown"]] == ["s.k.a"]  # type: ignore[index]


# --------------------------------------------------------------------------- triage


def test_triage_explains_with_issues_added_later(cli: Cli, tmp_path: Path) -> None:
    cli(
        "ingest",
        str(junit(tmp_path / "r.xml", {"a": "segfault in foo", "b": "oops"})),
        "--origin",
        "lab",
    )
    before = cli.json("triage")
    assert (len(before["explained"]), len(before["unknown"])) == (0, 2)  # type: ignore[index]
    cli(
        "issue",
        "add",
        "--title",
        "foo crash",
        "--culprit",
        "code",
        "--owner",
        "o",
        "--log",
        "segfault in \\w+",
    )
    after = cli.json("triage", "--since", "1h")
    assert after["failing"] == 2  # type: ignore[index]
    assert after["incidents"] == 1  # type: ignore[index]
    assert [(r["path"], r["issues"]) for r in after["explained"]] == [  # type: ignore[index]
        ("s.k.a", ["gatehouse:foo-crash"])
    ]
    assert [r["path"] for r in after["unknown"]] == ["s.k.b"]  # type: ignore[index]
    code, out, _ = cli("triage")
    assert code == 0
    assert "2 failing results; 1 explained by known issues (1 incidents stored), 1 unknown" in out
    assert cli.json("triage", "--since", "2999-01-01")["failing"] == 0  # type: ignore[index]
    code, _, err = cli("triage", "--since", "yesterday-ish")
    assert code == 2
    assert "--since 'yesterday-ish' is not a date or time" in err


# --------------------------------------------------------------------------- flakes, failures


def test_flakes_and_failures(cli: Cli, tmp_path: Path) -> None:
    for n, verdict in enumerate(["PPP", "PFP", "PPP", "FPP", "PPF", "PFP"]):
        cases = {
            "steady": None,
            "flip": None if verdict[1] == "P" else "connection reset by peer",
            "rerun": "timeout" if n == 0 else None,
        }
        cli("ingest", str(junit(tmp_path / f"r{n}.xml", cases)), "--origin", "lab",
            "--commit", f"{n:040x}")  # fmt: skip
    rerun = tmp_path / "rerun.xml"
    rerun.write_text(
        '<testsuite name="s"><testcase classname="k" name="retry">'
        '<flakyFailure message="first try"/></testcase></testsuite>'
    )
    cli("ingest", str(rerun), "--origin", "lab", "--commit", "f" * 40)
    found = cli.json("flakes", "--window", "6", "--min-rate", "0.2")
    kinds = {(f["path"], f["kind"]) for f in found["flaky"]}  # type: ignore[index]
    assert kinds == {("s.k.flip", "history"), ("s.k.retry", "rerun")}
    flip = next(f for f in found["flaky"] if f["path"] == "s.k.flip")  # type: ignore[index]
    assert flip["runs"] == "PFPPPF"
    assert {e["status"] for e in flip["failed"]} == {"FAIL"}
    assert all(e["build_id"] and e["git_commit_hash"] for e in flip["failed"] + flip["passed"])
    code, out, _ = cli("flakes", "--window", "6", "--min-rate", "0.2")
    assert code == 0
    assert "s.k.flip" in out
    assert "history: flip rate 0.33 over 6 runs" in out
    code, _, _ = cli("flakes", "--min-rate", "3")
    assert code == 2
    groups = cli.json("failures")
    titles = {g["title"]: g["count"] for g in groups}  # type: ignore[union-attr]
    assert titles["failure: connection reset by peer"] == 2
    assert titles["failure: timeout"] == 1
    reset = next(g for g in groups if g["count"] == 2)  # type: ignore[union-attr]
    assert reset["paths"] == {"s.k.flip": 2}
    assert reset["origins"] == {"lab": 2}
    code, out, _ = cli("failures")
    assert "failure: connection reset by peer" in out


# --------------------------------------------------------------------------- compare


def test_compare_names_only_the_new_unexplained_regression(cli: Cli, tmp_path: Path) -> None:
    before = {"one": None, "two": None, "known": None, "gone": None}
    after = {"one": "kernel BUG at mm/slab.c:12", "two": None, "known": "WARNING in ext4_evict_inode",
             "new": "boom"}  # fmt: skip
    cli(
        "issue",
        "add",
        "--title",
        "ext4",
        "--culprit",
        "code",
        "--owner",
        "o",
        "--log",
        "ext4_evict",
    )
    cli("ingest", str(junit(tmp_path / "a.xml", before)), "--origin", "lab", "--commit", "a" * 40)
    cli("ingest", str(junit(tmp_path / "b.xml", after)), "--origin", "lab", "--commit", "b" * 40)
    code, out, _ = cli("compare", "aaaa", "bbbb")
    assert code == 1
    assert "new and unexplained (2):" in out
    report = cli.json("compare", "aaaa", "b" * 40, "--all")
    assert report["a"]["kind"] == "commit"  # type: ignore[index]
    assert report["a"]["commits"] == ["a" * 40]  # type: ignore[index]
    news = {e["test"]: e["class"] for e in report["new_and_unexplained"]}  # type: ignore[index]
    assert news == {"s.k.one": "regression", "s.k.new": "new_failure"}
    entries = {e["test"]: e for e in report["entries"]}  # type: ignore[index]
    assert entries["s.k.known"]["known_issues"] == ["gatehouse:ext4"]
    assert entries["s.k.known"]["explained"] is True
    assert entries["s.k.gone"]["class"] == "disappeared"
    assert report["counts"] == {  # type: ignore[index]
        "regression": 2, "new_failure": 1, "disappeared": 1, "unchanged": 1,
    }  # fmt: skip
    checkout = report["b"]["checkouts"][0]  # type: ignore[index]
    code, _, _ = cli("compare", f"checkout:{checkout}", checkout)
    assert code == 0  # the same results on both sides: nothing is new


def test_compare_errors(cli: Cli, tmp_path: Path) -> None:
    cli(
        "ingest",
        str(junit(tmp_path / "a.xml", {"x": None})),
        "--origin",
        "lab",
        "--commit",
        "ab" * 20,
    )
    cli(
        "ingest",
        str(junit(tmp_path / "b.xml", {"x": None})),
        "--origin",
        "lab",
        "--commit",
        "ac" * 20,
    )
    for argv, message in (
        (["compare", "9", "abab"], "no results of pipeline 9"),
        (["compare", "abab", "a"], "cannot tell what 'a' names"),
        (["compare", "abab", "cafe"], "no results of a commit starting with 'cafe'"),
        (["compare", "abab", "lab:nope"], "no checkout 'lab:nope'"),
        (["compare", "abab", "pipeline:x"], "a pipeline is a number"),
    ):
        code, _, err = cli(*argv)
        assert code == 2, argv
        assert message in err, err
    cli(
        "ingest",
        str(junit(tmp_path / "c.xml", {"x": None})),
        "--origin",
        "lab",
        "--commit",
        "ab" * 19 + "ff",
    )
    code, _, err = cli("compare", "abab", "acac")
    assert code == 2
    assert "names several commits" in err
