"""Canceling a pipeline from another process: ``gatehouse cancel`` and auto-cancel of redundant pipelines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@e",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@e",
}


def project(tmp_path: Path, ci: str) -> Path:
    root = tmp_path / "p"
    root.mkdir()
    (root / ".gitlab-ci.yml").write_text(ci)
    (root / "gatehouse.toml").write_text("[run]\ncancel_poll = 0.05\nkill_grace = 0.5\n")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "one"]):
        subprocess.run(["git", "-C", str(root), *args], check=True, env=GIT_ENV)
    return root


def commit(root: Path, name: str) -> None:
    (root / name).write_text(name)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True, env=GIT_ENV)
    subprocess.run(["git", "-C", str(root), "commit", "-qm", name], check=True, env=GIT_ENV)


def start(root: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "gatehouse", "run", "-q"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def gatehouse(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gatehouse", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def wait_for(path: Path) -> None:
    deadline = time.monotonic() + 30
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


LONG = """
long:
  interruptible: {interruptible}
  script: [touch {marker}, sleep 300]
  after_script: [echo "after $CI_JOB_STATUS" > {after}]
"""


def test_gatehouse_cancel_stops_a_pipeline_running_elsewhere(tmp_path: Path) -> None:
    marker, after = tmp_path / "started", tmp_path / "after"
    root = project(tmp_path, LONG.format(interruptible="true", marker=marker, after=after))
    runner = start(root)
    wait_for(marker)
    cancel = gatehouse(root, "cancel")
    assert cancel.returncode == 0, cancel.stderr
    assert "asked pipeline #1 to cancel" in cancel.stdout
    assert runner.wait(timeout=60) == 1
    assert after.read_text().strip() == "after canceled"
    show = json.loads(gatehouse(root, "show", "--json").stdout)
    assert show["status"] == "canceled"
    again = gatehouse(root, "cancel", "1")
    assert again.returncode == 2
    assert "is not running (it is canceled)" in again.stderr


def test_a_newer_commit_auto_cancels_the_older_pipeline(tmp_path: Path) -> None:
    marker, after = tmp_path / "started", tmp_path / "after"
    root = project(tmp_path, LONG.format(interruptible="true", marker=marker, after=after))
    older = start(root)
    wait_for(marker)
    commit(root, "two")
    # The newer pipeline's job must not block the test: make it quick.
    (root / ".gitlab-ci.yml").write_text("quick:\n  interruptible: true\n  script: [echo quick]\n")
    newer = gatehouse(root, "run", "-q")
    assert newer.returncode == 0, newer.stderr
    assert "auto-cancel: pipeline #1" in newer.stderr
    assert older.wait(timeout=60) == 1
    runs = {r["id"]: r["status"] for r in json.loads(gatehouse(root, "runs", "--json").stdout)}
    assert runs == {1: "canceled", 2: "success"}


def test_a_started_non_interruptible_job_keeps_the_older_pipeline(tmp_path: Path) -> None:
    marker, after = tmp_path / "started", tmp_path / "after"
    root = project(tmp_path, LONG.format(interruptible="false", marker=marker, after=after))
    older = start(root)
    wait_for(marker)
    commit(root, "two")
    (root / ".gitlab-ci.yml").write_text("quick:\n  script: [echo quick]\n")
    newer = gatehouse(root, "run", "-q")
    assert newer.returncode == 0
    assert "auto-cancel" not in newer.stderr
    assert older.poll() is None  # still running
    gatehouse(root, "cancel", "1", "--force")
    assert older.wait(timeout=60) == 1
