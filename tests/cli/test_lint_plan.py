"""``gatehouse lint`` and ``gatehouse plan`` end to end: messages, exit codes, JSON, marks."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gatehouse.cli.main import main
from gatehouse.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "project"
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text))
    root.mkdir(exist_ok=True)
    return root


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


BROKEN = {
    "invalid YAML": ({".gitlab-ci.yml": "build:\n  script: [make\n"}, ".gitlab-ci.yml:3:"),
    "missing include": (
        {".gitlab-ci.yml": "include:\n  - local: ci/none.yml\nb: {script: [x]}\n"},
        ".gitlab-ci.yml:2:",
    ),
    "cyclic extends": (
        {
            ".gitlab-ci.yml": ".a:\n  extends: .b\n.b:\n  extends: .a\nj:\n  extends: .a\n  script: [x]\n"
        },
        ".gitlab-ci.yml:",
    ),
    "needs on a missing job": (
        {".gitlab-ci.yml": "a: {script: [x]}\nb:\n  script: [x]\n  needs: [ghost]\n"},
        ".gitlab-ci.yml:4:",
    ),
    "error in an included file": (
        {
            ".gitlab-ci.yml": "include: ci/jobs.yml\n",
            "ci/jobs.yml": "j:\n  script: [x]\n  stage: nowhere\n",
        },
        "ci/jobs.yml:3:",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_lint_errors_are_located_and_exit_1(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files, where = BROKEN[case]
    code, out, err = run(capsys, "lint", str(project(tmp_path, files)))
    assert code == EXIT_FAILED
    assert out == ""
    assert where in err
    assert "error:" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_plan_refuses_a_config_with_errors(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files, where = BROKEN[case]
    code, _, err = run(capsys, "plan", str(project(tmp_path, files)))
    assert code == EXIT_FAILED
    assert where in err


def test_no_traceback_from_the_real_entry_point(tmp_path: Path) -> None:
    root = project(
        tmp_path, {".gitlab-ci.yml": "a:\n  script: [x]\n  extends: .nope\n  when: sometimes\n"}
    )
    proc = subprocess.run(
        [sys.executable, "-m", "gatehouse", "lint", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == EXIT_FAILED
    assert "Traceback" not in proc.stderr
    assert ".gitlab-ci.yml:3:" in proc.stderr
    assert "did you mean" not in proc.stderr or "hint:" in proc.stderr


def test_unknown_keyword_warns_exit_0_and_strict_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(
        tmp_path, {".gitlab-ci.yml": "build:\n  script: [make]\n  artefacts: {paths: [x]}\n"}
    )
    code, _, err = run(capsys, "lint", str(root))
    assert code == EXIT_OK
    assert ".gitlab-ci.yml:3:3: warning: job 'build': unknown keyword 'artefacts'" in err
    assert "hint: did you mean 'artifacts'?" in err
    assert "0 error(s), 1 warning(s)" in err
    code, _, _ = run(capsys, "lint", "--strict", str(root))
    assert code == EXIT_FAILED


def test_clean_lint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path, {".gitlab-ci.yml": "build: {script: [make], parallel: 2}\n"})
    code, out, err = run(capsys, "lint", str(root))
    assert (code, out) == (EXIT_OK, "")
    assert "0 error(s), 0 warning(s) in 1 file(s); 1 job definition(s), 2 job(s)" in err


def test_lint_json_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path, {".gitlab-ci.yml": "a: {script: [x], needs: [ghost]}\n"})
    code, out, _ = run(capsys, "lint", "--json", str(root))
    assert code == EXIT_FAILED
    document = json.loads(out)
    assert set(document) == {"ok", "files", "jobs", "visible_jobs", "diagnostics"}
    assert (document["ok"], document["files"], document["jobs"]) == (False, [".gitlab-ci.yml"], 1)
    (diagnostic,) = document["diagnostics"]
    assert diagnostic == {
        "severity": "error",
        "code": "missing-need",
        "message": "job 'a' needs 'ghost', which is not defined",
        "file": ".gitlab-ci.yml",
        "line": 1,
        "column": 26,
        "hint": "needs must name jobs of this configuration (or add optional: true)",
    }


@pytest.mark.parametrize(
    "argv",
    [
        ["plan", "--event", "carrier-pigeon"],
        ["lint", "--no-such-flag"],
        ["plan", "--changed", "a", "--changed-from", "HEAD"],
    ],
)
def test_usage_errors_exit_2(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path, {".gitlab-ci.yml": "a: {script: [x]}\n"})
    with pytest.raises(SystemExit) as exited:
        main([*argv, str(root)])
    assert exited.value.code == EXIT_USAGE
    assert "usage:" in capsys.readouterr().err


def test_bad_var_and_missing_directory_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path, {".gitlab-ci.yml": "a: {script: [x]}\n"})
    code, _, err = run(capsys, "plan", str(root), "--var", "NOEQUALS")
    assert code == EXIT_USAGE
    assert "expected KEY=VALUE" in err
    code, _, err = run(capsys, "lint", str(tmp_path / "nowhere"))
    assert code == EXIT_USAGE
    code, _, err = run(capsys, "lint", str(root), "--include-dir", str(tmp_path / "nowhere"))
    assert code == EXIT_USAGE
    assert "--include-dir" in err


def test_missing_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path, {"README": "no CI here\n"})
    code, _, err = run(capsys, "lint", str(root))
    assert code == EXIT_FAILED
    assert ".gitlab-ci.yml: error: no pipeline configuration" in err
    code, _, err = run(capsys, "lint", str(root), "--file", "README")
    assert code == EXIT_FAILED


def test_file_option_and_include_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(
        tmp_path,
        {"ci/main.yml": "include: {project: g/lib, file: jobs.yml}\nown: {script: [x]}\n"},
    )
    mirror = tmp_path / "mirror" / "g" / "lib"
    mirror.mkdir(parents=True)
    (mirror / "jobs.yml").write_text("mirrored: {script: [x]}\n")
    code, out, _ = run(
        capsys,
        "plan",
        str(root),
        "--file",
        "ci/main.yml",
        "--include-dir",
        str(tmp_path / "mirror"),
        "--json",
    )
    assert code == EXIT_OK
    assert [j["name"] for j in json.loads(out)["jobs"]] == ["mirrored", "own"]


MARKS = """
stages: [build, test]
compile: {stage: build, script: [x]}
manual-blocking:
  stage: build
  script: [x]
  rules: [{when: manual}]
manual-optional: {stage: build, script: [x], when: manual}
flaky: {stage: test, script: [x], allow_failure: true, needs: [compile]}
picky: {stage: test, script: [x], allow_failure: {exit_codes: [3, 4]}, needs: []}
later: {stage: test, script: [x], when: delayed, start_in: 5 minutes, tags: [linux]}
bridge: {stage: test, trigger: group/other}
"""


def test_plan_human_output_marks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path, {".gitlab-ci.yml": MARKS})
    code, out, _ = run(capsys, "plan", str(root), "--ref", "main")
    assert code == EXIT_OK
    lines = {
        line.split()[1]: line for line in out.splitlines() if line.strip().startswith(("├─", "└─"))
    }
    assert lines["manual-blocking"].endswith("manual, blocking")
    assert lines["manual-optional"].rstrip().endswith("manual")
    assert "allow failure" in lines["flaky"]
    assert "needs: compile" in lines["flaky"]
    assert "allow failure for exit 3, 4" in lines["picky"]
    assert "needs: []" in lines["picky"]
    assert "delayed 5 minutes" in lines["later"]
    assert "tags: linux" in lines["later"]
    assert "trigger (not run locally)" in lines["bridge"]
    assert "pipeline for branch main (push)" in out
    assert "7 job(s) in 2 stage(s)" in out


def test_plan_json_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path, {".gitlab-ci.yml": MARKS})
    code, out, _ = run(capsys, "plan", str(root), "--ref", "main", "--json", "--var", "X=1")
    assert code == EXIT_OK
    document = json.loads(out)
    assert set(document) == {
        "version",
        "created",
        "reason",
        "name",
        "context",
        "stages",
        "jobs",
        "diagnostics",
    }
    assert document["context"]["variables"] == {"X": "1"}
    assert document["stages"] == ["build", "test"]
    blocking = next(j for j in document["jobs"] if j["name"] == "manual-blocking")
    assert (blocking["when"], blocking["allow_failure"], blocking["manual_blocking"]) == (
        "manual",
        False,
        True,
    )
    picky = next(j for j in document["jobs"] if j["name"] == "picky")
    assert picky["allow_failure_exit_codes"] == [3, 4]
    assert picky["needs"] == []
    assert picky["variables"] == {"X": "1"}


def test_plan_when_no_pipeline_is_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(
        tmp_path,
        {".gitlab-ci.yml": "workflow: {rules: [{if: $CI_COMMIT_TAG}]}\njob: {script: [x]}\n"},
    )
    code, out, _ = run(capsys, "plan", str(root))
    assert code == EXIT_OK
    assert out.strip() == "no pipeline: workflow:rules: no rule matched"
    code, out, _ = run(capsys, "plan", str(root), "--all")
    assert "every job (rules not evaluated)" in out


def test_plan_in_a_git_repository_reads_ref_tag_and_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(
        tmp_path,
        {
            ".gitlab-ci.yml": """
            docs:
              script: [x]
              rules: [{changes: [docs/*]}]
            release:
              script: [x]
              rules: [{if: $CI_COMMIT_TAG}]
            """,
            "docs/a.md": "a\n",
        },
    )

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=T", "-c", "user.email=t@e", *args],
            cwd=root,
            check=True,
            capture_output=True,
        )

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "first")
    git("tag", "v1")

    def planned(*argv: str) -> list[str]:
        code, out, _ = run(capsys, "plan", str(root), "--json", *argv)
        assert code == EXIT_OK
        return [j["name"] for j in json.loads(out)["jobs"]]

    assert planned() == ["docs"]  # no upstream: the diff is unknown, changes hold
    assert planned("--changed", "src/x.c") == []
    assert planned("--changed", "./docs/b.md") == ["docs"]
    assert planned("--ref", "v1") == ["docs", "release"]  # detected as a tag
    (root / "docs" / "a.md").write_text("changed\n")
    assert planned("--changed-from", "HEAD") == ["docs"]
