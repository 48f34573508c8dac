"""``gatehouse run`` against real processes, real git repositories and a real SQLite store."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLE = ROOT / "examples" / "qemu-like"


def git_project(path: Path, ci: str, files: dict[str, str] | None = None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / ".gitlab-ci.yml").write_text(textwrap.dedent(ci))
    for name, text in (files or {}).items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
    }
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    subprocess.run(["git", "-C", str(path), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(path), "commit", "-qm", "init"], check=True, env=env)
    return path


def gatehouse(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gatehouse", *args],
        check=False,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "GATEHOUSE_KILL_GRACE": "0.5", **(env or {})},
    )


def run_json(project: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict]:
    proc = gatehouse("run", "--json", *args, cwd=project, env=env)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def by_name(result: dict) -> dict[str, dict]:
    latest: dict[str, dict] = {}
    for job in result["jobs"]:
        if job["name"] not in latest or job["attempt"] > latest[job["name"]]["attempt"]:
            latest[job["name"]] = job
    return latest


def log_of(project: Path, job: str) -> str:
    return gatehouse("log", job, cwd=project).stdout


def test_the_example_project_runs_end_to_end(tmp_path: Path) -> None:
    project = tmp_path / "qemu"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".gatehouse"))
    git_project(project, (project / ".gitlab-ci.yml").read_text())
    proc = gatehouse("run", cwd=project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "pipeline #1 passed with 1 allowed failure(s)" in proc.stdout
    for job in ("build-x86_64", "check-qtest: [aarch64, tcg]", "publish-snapshot"):
        assert job in proc.stdout
    assert "would upload 2 binaries" in log_of(project, "publish-snapshot")
    listing = gatehouse("artifacts", "check-unit", "--kind", "junit", cwd=project)
    assert "build/unit-report.xml" in listing.stdout
    out = tmp_path / "extracted"
    assert gatehouse("artifacts", "build-x86_64", "--to", str(out), cwd=project).returncode == 0
    assert (out / "build" / "qemu-system-x86_64").is_file()
    assert not list((out / "build").rglob("*.o")), "artifacts:exclude must keep objects out"


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    project = git_project(
        tmp_path / "p",
        """
        slow:
          timeout: 1s
          script:
            - (trap '' TERM; sleep 300) & echo $! > "$CI_PROJECT_DIR/../grandchild.pid"
            - cp "$CI_PROJECT_DIR/../grandchild.pid" /tmp/gatehouse-test-grandchild-$CI_PIPELINE_ID-$$
            - echo $! > /dev/null; sleep 300
          after_script:
            - touch /tmp/gatehouse-after-timeout-ran
        """,
    )
    Path("/tmp/gatehouse-after-timeout-ran").unlink(missing_ok=True)
    started = time.monotonic()
    code, result = run_json(project)
    assert time.monotonic() - started < 30
    assert code == 1
    job = by_name(result)["slow"]
    assert job["status"] == "failed"
    assert job["failure_reason"] == "job_execution_timeout"
    pids = [int(p.read_text()) for p in Path("/tmp").glob("gatehouse-test-grandchild-*")]
    for f in Path("/tmp").glob("gatehouse-test-grandchild-*"):
        f.unlink()
    assert pids
    for pid in pids:
        assert (
            not Path(f"/proc/{pid}").exists()
            or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
        )
    # GitLab does not run after_script after a timeout.
    assert not Path("/tmp/gatehouse-after-timeout-ran").exists()


def test_retry_by_exit_code_and_allow_failure_exit_codes(tmp_path: Path) -> None:
    counter = tmp_path / "count"
    project = git_project(
        tmp_path / "p",
        f"""
        flaky:
          retry: {{max: 2, exit_codes: [3]}}
          script:
            - n=$(cat {counter} 2>/dev/null || echo 0); echo $((n + 1)) > {counter}
            - test "$n" -ge 1 || exit 3
        broken:
          retry: {{max: 2, exit_codes: [3]}}
          script: [exit 4]
        warns:
          allow_failure: {{exit_codes: [2]}}
          script: [exit 2]
        fails:
          allow_failure: {{exit_codes: [2]}}
          script: [exit 5]
        """,
    )
    code, result = run_json(project)
    assert code == 1
    attempts = [
        (j["name"], j["attempt"], j["status"])
        for j in result["jobs"]
        if j["name"] in ("flaky", "broken")
    ]
    assert sorted(attempts) == [
        ("broken", 1, "failed"),
        ("flaky", 1, "failed"),
        ("flaky", 2, "success"),
    ]
    jobs = by_name(result)
    assert jobs["warns"]["status"] == "warning"
    assert jobs["fails"]["status"] == "failed"


def test_when_always_and_on_failure_after_a_failure(tmp_path: Path) -> None:
    project = git_project(
        tmp_path / "p",
        """
        stages: [test, report]
        unit: {stage: test, script: [exit 1]}
        deploy: {stage: report, script: [echo deploy]}
        collect: {stage: report, script: [echo collect], when: always}
        alert: {stage: report, script: [echo alert], when: on_failure}
        """,
    )
    code, result = run_json(project)
    assert code == 1
    assert {k: v["status"] for k, v in by_name(result).items()} == {
        "unit": "failed",
        "deploy": "skipped",
        "collect": "success",
        "alert": "success",
    }


def test_artifacts_through_needs_and_dependencies(tmp_path: Path) -> None:
    project = git_project(
        tmp_path / "p",
        """
        stages: [build, test]
        a:
          stage: build
          script: [mkdir -p out, echo from-a > out/a.txt]
          artifacts: {paths: [out/a.txt]}
        b:
          stage: build
          script: [mkdir -p out, echo from-b > out/b.txt]
          artifacts: {paths: [out/]}
        with-needs:
          stage: test
          needs: [a, {job: b, artifacts: false}]
          script: [test -f out/a.txt, test ! -e out/b.txt, grep -q from-a out/a.txt]
        with-deps:
          stage: test
          dependencies: [b]
          script: [test ! -e out/a.txt, grep -q from-b out/b.txt]
        stage-order:
          stage: test
          script: [test -f out/a.txt, test -f out/b.txt]
        """,
    )
    code, result = run_json(project)
    assert code == 0, json.dumps(result, indent=1)
    assert all(j["status"] == "success" for j in result["jobs"])


def test_resource_group_excludes_across_jobs_and_processes(tmp_path: Path) -> None:
    stamps = tmp_path / "stamps"
    stamps.mkdir()
    ci = f"""
        deploy-a:
          resource_group: production
          script: [date +%s.%N > {stamps}/$CI_PIPELINE_ID-a.start, sleep 0.4, date +%s.%N > {stamps}/$CI_PIPELINE_ID-a.end]
        deploy-b:
          resource_group: production
          script: [date +%s.%N > {stamps}/$CI_PIPELINE_ID-b.start, sleep 0.4, date +%s.%N > {stamps}/$CI_PIPELINE_ID-b.end]
        """
    project = git_project(tmp_path / "p", ci)
    second = subprocess.Popen(
        [sys.executable, "-m", "gatehouse", "run", "-q"],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    proc = gatehouse("run", "-q", cwd=project)
    assert second.wait(timeout=60) == 0
    assert proc.returncode == 0, proc.stderr
    intervals = []
    for start in stamps.glob("*.start"):
        end = start.with_suffix(".end")
        intervals.append((float(start.read_text()), float(end.read_text())))
    assert len(intervals) == 4
    intervals.sort()
    for (_, end), (next_start, _) in itertools.pairwise(intervals):
        assert next_start >= end, f"overlapping deployments: {intervals}"


def test_ctrl_c_cancels_runs_after_script_and_leaves_no_process(tmp_path: Path) -> None:
    marker = tmp_path / "after.txt"
    project = git_project(
        tmp_path / "p",
        f"""
        stages: [a, b]
        long:
          stage: a
          script: [echo started > {tmp_path}/started, sleep 300]
          after_script: [echo "after $CI_JOB_STATUS" > {marker}]
        later:
          stage: b
          script: [echo later]
        """,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "gatehouse", "run"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "GATEHOUSE_KILL_GRACE": "0.5"},
    )
    deadline = time.monotonic() + 30
    while not (tmp_path / "started").exists():
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err
    assert marker.read_text().strip() == "after canceled"
    show = json.loads(gatehouse("show", "--json", cwd=project).stdout)
    assert show["status"] == "canceled"
    assert {j["name"]: j["status"] for j in show["jobs"]} == {
        "long": "canceled",
        "later": "canceled",
    }
    leftover = subprocess.run(
        ["pgrep", "-f", "sleep 300"], capture_output=True, text=True, check=False
    )
    mine = [
        p
        for p in leftover.stdout.split()
        if Path(f"/proc/{p}/cwd").exists() and str(tmp_path) in os.path.realpath(f"/proc/{p}/cwd")
    ]
    assert mine == []


def test_masked_secret_never_reaches_the_log(tmp_path: Path) -> None:
    project = git_project(
        tmp_path / "p", "show:\n  script: ['echo token=$TOKEN', 'echo \"$TOKEN$TOKEN\"']\n"
    )
    code, _ = run_json(project, "--secret", "TOKEN=hunter2hunter2")
    assert code == 0
    log = log_of(project, "show")
    assert "hunter2" not in log
    assert "token=[MASKED]" in log
    assert "[MASKED][MASKED]" in log


@pytest.mark.skipif(
    shutil.which("bwrap") is None and os.environ.get("CI") != "true",
    reason="bubblewrap is not installed",
)
def test_sandbox_has_no_network_unless_the_job_opts_in(tmp_path: Path, postgres_url: str) -> None:
    probe = "exec 3<>/dev/tcp/127.0.0.1/5432 && echo connected"
    project = git_project(
        tmp_path / "p",
        f"""
        offline:
          script: ['{probe}']
        online:
          variables: {{GATEHOUSE_SANDBOX_NETWORK: "true"}}
          script: ['{probe}']
        writes-host:
          allow_failure: true
          script: ['touch /usr/gatehouse-sandbox-escape']
        """,
    )
    code, result = run_json(project, "--executor", "sandbox")
    jobs = by_name(result)
    assert jobs["offline"]["status"] == "failed"
    assert jobs["online"]["status"] == "success"
    assert "connected" in log_of(project, "online")
    assert jobs["writes-host"]["status"] == "warning"
    assert not Path("/usr/gatehouse-sandbox-escape").exists()
    assert code == 1


def test_log_follows_a_running_job_from_another_process(tmp_path: Path) -> None:
    project = git_project(
        tmp_path / "p",
        "slowly:\n  script: ['for i in 1 2 3 4 5; do echo tick $i; sleep 0.2; done']\n",
    )
    runner = subprocess.Popen(
        [sys.executable, "-m", "gatehouse", "run", "-q"], cwd=project, stdout=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while not (project / ".gatehouse" / "gatehouse.db").exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    follow = gatehouse("log", "-f", "slowly", cwd=project, timeout=60)
    assert runner.wait(timeout=60) == 0
    assert [line for line in follow.stdout.splitlines() if line.startswith("tick")] == [
        f"tick {i}" for i in range(1, 6)
    ]


def test_job_selection_and_usage_errors(tmp_path: Path) -> None:
    project = git_project(
        tmp_path / "p",
        """
        stages: [build, test]
        build: {stage: build, script: [echo b > built], artifacts: {paths: [built]}}
        test: {stage: test, needs: [build], script: [cat built]}
        other: {stage: test, script: [echo other]}
        """,
    )
    code, result = run_json(project, "test", "--needs")
    assert code == 0
    assert sorted(j["name"] for j in result["jobs"]) == ["build", "test"]
    # Without --needs, the artifacts of the last successful run are used.
    code, result = run_json(project, "test")
    assert code == 0
    assert [j["name"] for j in result["jobs"]] == ["test"]
    proc = gatehouse("run", "tset", cwd=project)
    assert proc.returncode == 2
    assert "did you mean 'test'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_config_errors_and_no_pipeline(tmp_path: Path) -> None:
    bad = git_project(tmp_path / "bad", "job:\n  script: [x]\n  needs: [nope]\n")
    proc = gatehouse("run", cwd=bad)
    assert proc.returncode == 1
    assert ".gitlab-ci.yml:3" in proc.stderr
    assert "Traceback" not in proc.stderr
    none = git_project(
        tmp_path / "none", "workflow:\n  rules: [{if: '$CI_COMMIT_TAG'}]\njob: {script: [x]}\n"
    )
    proc = gatehouse("run", cwd=none)
    assert proc.returncode == 0
    assert "no pipeline: workflow:rules: no rule matched" in proc.stderr


def test_gc_forgets_expired_artifacts_and_deletes_their_blobs(tmp_path: Path) -> None:
    project = git_project(
        tmp_path / "p",
        "make:\n  script: [head -c 4096 /dev/urandom > blob.bin]\n  artifacts: {paths: [blob.bin], expire_in: 1 second}\n",
    )
    assert run_json(project)[0] == 0
    blobs = list((project / ".gatehouse" / "blobs").rglob("*"))
    assert any(p.is_file() for p in blobs)
    time.sleep(1.2)
    proc = gatehouse("gc", cwd=project)
    assert proc.returncode == 0
    assert "forgot 1 expired artifact set(s); deleted 1 blob(s), 4096 bytes" in proc.stdout
    assert gatehouse("artifacts", "make", cwd=project).returncode == 2


def test_runs_show_and_json_shapes(tmp_path: Path) -> None:
    project = git_project(tmp_path / "p", "a: {script: [echo a]}\n")
    code, result = run_json(project)
    assert code == 0
    assert set(result) >= {"pipeline", "status", "ref", "sha", "jobs"}
    assert set(result["jobs"][0]) >= {
        "name",
        "stage",
        "status",
        "attempt",
        "duration",
        "exit_code",
        "log",
    }
    runs = json.loads(gatehouse("runs", "--json", cwd=project).stdout)
    assert [r["status"] for r in runs] == ["success"]
    assert "a" in gatehouse("show", cwd=project).stdout
