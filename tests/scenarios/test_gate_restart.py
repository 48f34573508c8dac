"""``gatehouse gate run`` as a process: killed mid-queue and restarted, and as a service.

No sleeps here: the tests read the driver's output line by line and act on
what it says. A change whose check waits for a flag file keeps its build
running for as long as the test needs (the check polls for the flag itself,
and gives up after a minute so that no job outlives a failed test). Every
speculative commit built on that change blocks too, so there are more
executors than items in the window: the head's job never waits behind them.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gate_project import Project, command_env, first_parents, landed_commits, make_project
from gatehouse.cli.main import main
from gatehouse.core.ports import PipelineStatus
from gatehouse.storage import open_store
from git_builders import git

WAIT_FOR_FLAG = """\
n=0
while [ ! -e "$GATE_FLAG" ] && [ $n -lt 1200 ]; do sleep 0.05; n=$((n+1)); done
test -e "$GATE_FLAG"
"""


def project_with_blocking_change(tmp_path: Path, blocking: str) -> tuple[Project, Path]:
    flag = tmp_path / "flag"
    toml = (
        "[gate]\nwindow = 3\nwindow_floor = 2\nwindow_ceiling = 4\npoll_interval = 0.1\n\n"
        f'[run]\nconcurrency = 5\n\n[variables]\nGATE_FLAG = "{flag}"\n'
    )
    project = make_project(tmp_path / "project", toml=toml)
    for number in range(1, 6):
        name = f"c{number:02d}"
        files = {f"features/{name}.txt": f"{name}\n"}
        if name == blocking:
            files[f"checks/{name}.sh"] = WAIT_FOR_FLAG
        project.change(name, files)
    return project, flag


def start_driver(project: Project, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "gatehouse", "gate", "run", "-C", str(project.path), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=command_env(),
    )


def lines_until(process: subprocess.Popen[str], needle: str) -> Iterator[str]:
    assert process.stdout is not None
    for line in process.stdout:
        yield line
        if needle in line:
            return
    raise AssertionError(f"the driver exited before printing {needle!r}: {process.wait()}")


def run_cli(*args: str) -> int:
    return main(list(args))


def test_a_killed_driver_is_restarted_and_lands_the_rest_once(tmp_path: Path) -> None:
    project, flag = project_with_blocking_change(tmp_path, blocking="c02")
    refs = [project.branches[f"c{n:02d}"] for n in range(1, 6)]
    assert run_cli("gate", "enqueue", "-C", str(project.path), *refs) == 0

    driver = start_driver(project)  # as a service: it would never stop by itself
    seen = list(lines_until(driver, " merge "))
    assert "change/c01" in seen[-1]
    driver.kill()  # no clean-up at all: as if the machine died
    driver.wait()
    assert landed_commits(project, project.base) != []
    flag.touch()  # the blocked check of the killed process may finish now

    assert run_cli("gate", "run", "--once", "-C", str(project.path)) == 0

    landed = landed_commits(project, project.base)
    assert len(landed) == 5, "nothing lost"
    assert first_parents(project, landed) == [project.base, *landed[:-1]]
    for number, commit in enumerate(landed, start=1):
        added = git(project.path, "diff", "--name-only", f"{commit}^1", commit).splitlines()
        assert f"features/c{number:02d}.txt" in added, "in queue order, each once"
    with open_store(f"sqlite:///{project.path}/.gatehouse/gatehouse.db") as store:
        merges = [e for e in store.audit.list_audit() if e.action == "merge"]
        assert [e.detail["commit"] for e in merges] == landed, "nothing landed twice"
        pipelines = [
            p
            for p in store.runs.list_pipelines(limit=100, project_dir=str(project.path))
            if p.source == "gate"
        ]
        assert all(p.status.is_final for p in pipelines), "the killed run's pipelines are closed"
        assert any(p.status is PipelineStatus.CANCELED for p in pipelines)
        passed = {p.sha for p in pipelines if p.status is PipelineStatus.SUCCESS}
        assert set(landed) <= passed
        assert store.gate.list_requests(f"{project.path}:main") == []
    assert git(project.path, "for-each-ref", "refs/gatehouse") == ""


def test_the_service_picks_up_enqueues_and_stops_cleanly_on_ctrl_c(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project, flag = project_with_blocking_change(tmp_path, blocking="c02")
    driver = start_driver(project)
    try:
        # Enqueued from another process while the service runs.
        assert run_cli("gate", "enqueue", "-C", str(project.path), "change/c01", "change/c02") == 0
        list(lines_until(driver, " merge "))
        assert run_cli("gate", "status", "-C", str(project.path)) == 0
        status = capsys.readouterr().out
        assert "#3 change/c02  testing" in status
        assert "(test)" in status, "the running job is shown"
        # A second driver for the same queue is refused.
        assert run_cli("gate", "run", "--once", "-C", str(project.path)) == 1
        assert "already driven by pid" in capsys.readouterr().err
        driver.send_signal(signal.SIGINT)
        out, err = driver.communicate(timeout=60)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    assert driver.returncode == 130
    assert "stopping" in err
    assert "resumes from the saved state" in out
    assert "Traceback" not in err
    assert len(landed_commits(project, project.base)) == 1
    with open_store(f"sqlite:///{project.path}/.gatehouse/gatehouse.db") as store:
        pipelines = store.runs.list_pipelines(limit=100, project_dir=str(project.path))
        blocked = [p for p in pipelines if p.ref == "change/c02"]
        assert [p.status for p in blocked] == [PipelineStatus.CANCELED], "cancelled cleanly"
        jobs = store.runs.list_jobs(blocked[0].id)
        assert [j.status.value for j in jobs] == ["canceled"]

    flag.touch()
    assert run_cli("gate", "run", "--once", "-C", str(project.path)) == 0
    assert len(landed_commits(project, project.base)) == 2
