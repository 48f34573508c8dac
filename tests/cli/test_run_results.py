"""Our own pipelines in the results database: ``gatehouse run`` twice, then ``compare``.

Real git repository, real shell jobs, a real SQLite store; the JUnit report
of a job becomes tests of its build, and compare between two local
pipelines names the one test that broke.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

CI = """
stages: [test]
unit:
  stage: test
  tags: [local]
  script:
    - python3 make_report.py
  artifacts:
    when: always
    reports:
      junit: report.xml
lint:
  stage: test
  allow_failure: true
  script:
    - test ! -f BREAK_LINT
"""

MAKE_REPORT = """
import os
cases = ['<testcase classname="calc" name="adds"/>', '<testcase classname="calc" name="subs"/>']
if os.path.exists("BREAK"):
    cases.append('<testcase classname="calc" name="muls"><failure message="assert 6 == 5">'
                 'AssertionError: assert 6 == 5</failure></testcase>')
else:
    cases.append('<testcase classname="calc" name="muls"/>')
open("report.xml", "w").write('<testsuite name="unit">' + "".join(cases) + "</testsuite>")
raise SystemExit(1 if os.path.exists("BREAK") else 0)
"""

ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@e",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@e",
}


def git(project: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(project), *args], check=True, env={**os.environ, **ENV})


def gatehouse(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "gatehouse", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def test_two_local_pipelines_compare(tmp_path: Path) -> None:
    project = tmp_path / "calc"
    project.mkdir()
    (project / ".gitlab-ci.yml").write_text(textwrap.dedent(CI))
    (project / "make_report.py").write_text(MAKE_REPORT)
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "one")
    first = gatehouse(project, "run", "--json")
    assert first.returncode == 0, first.stderr
    (project / "BREAK").write_text("")
    (project / "BREAK_LINT").write_text("")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "two")
    second = gatehouse(project, "run", "--json")
    assert second.returncode == 1, second.stderr
    assert "results:" not in second.stderr  # the feed reported no problem

    compared = gatehouse(project, "compare", "1", "2", "--json", "--all")
    assert compared.returncode == 1, compared.stderr
    report = json.loads(compared.stdout)
    assert report["a"]["checkouts"] == ["gatehouse:p1"]
    news = {e["test"]: (e["a"], e["b"]) for e in report["new_and_unexplained"]}
    assert news["unit.calc.muls"] == ("PASS", "FAIL")
    arch = next(k for k in news if k.startswith("build gatehouse/unit/")).rsplit("/", 1)[-1]
    assert news == {
        "unit.calc.muls": ("PASS", "FAIL"),
        f"build gatehouse/unit/{arch}": ("PASS", "FAIL"),
        f"build gatehouse/lint/{arch}": ("PASS", "FAIL"),
    }

    # The failing job's test is explained once a known issue names it: compare turns green.
    gatehouse(project, "issue", "add", "--title", "muls is wrong", "--culprit", "code",
              "--owner", "calc", "--test", "unit.calc.muls")  # fmt: skip
    gatehouse(project, "issue", "add", "--title", "jobs fail", "--culprit", "code",
              "--owner", "calc", "--kind", "build", "--tags", "local")  # fmt: skip
    gatehouse(project, "issue", "add", "--title", "lint", "--culprit", "tool",
              "--owner", "calc", "--kind", "build", "--log", "BREAK_LINT")  # fmt: skip
    again = gatehouse(project, "compare", "1", "2")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "nothing new and unexplained" in again.stdout

    failures = json.loads(gatehouse(project, "failures", "--json").stdout)
    assert {g["title"] for g in failures} >= {"failure: assert NUM == NUM"}
