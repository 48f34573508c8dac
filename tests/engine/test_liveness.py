"""A pipeline whose process died is recorded as canceled (interrupted), never left running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from gatehouse.core.ports import JobStatus, PipelineStatus
from gatehouse.engine import liveness
from gatehouse.storage import open_memory_store, open_store


def test_a_held_lock_means_alive(tmp_path: Path) -> None:
    assert not liveness.is_alive(tmp_path, 7)
    with liveness.hold(tmp_path, 7):
        assert liveness.is_alive(tmp_path, 7)
    assert not liveness.is_alive(tmp_path, 7)


def test_running_pipeline_without_a_live_process_is_settled(tmp_path: Path) -> None:
    store = open_memory_store()
    runs = store.runs
    p = runs.create_pipeline(project_dir="/p", ref="main", sha=None, event="push", created_at=0.0)
    runs.update_pipeline(p.id, status=PipelineStatus.RUNNING)
    done = runs.create_job(pipeline_id=p.id, name="a", stage="test")
    runs.update_job(done.id, status=JobStatus.SUCCESS)
    running = runs.create_job(pipeline_id=p.id, name="b", stage="test")
    runs.update_job(running.id, status=JobStatus.RUNNING)
    alive = runs.create_pipeline(
        project_dir="/p", ref="main", sha=None, event="push", created_at=0.0
    )
    runs.update_pipeline(alive.id, status=PipelineStatus.RUNNING)
    with liveness.hold(tmp_path, alive.id):
        settled = liveness.settle_interrupted(runs, tmp_path, "/p", now=100.0)
    assert [s.id for s in settled] == [p.id]
    assert runs.get_pipeline(p.id).status is PipelineStatus.CANCELED
    assert runs.get_job(done.id).status is JobStatus.SUCCESS
    assert runs.get_job(running.id).status is JobStatus.CANCELED
    assert runs.get_job(running.id).failure_reason == "interrupted"
    assert runs.get_pipeline(alive.id).status is PipelineStatus.RUNNING


def test_a_killed_gatehouse_leaves_a_pipeline_the_next_command_settles(tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / ".gitlab-ci.yml").write_text("long:\n  script: [touch started, sleep 3]\n")
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
    }
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "i"]):
        subprocess.run(["git", "-C", str(project), *args], check=True, env=env)
    proc = subprocess.Popen([sys.executable, "-m", "gatehouse", "run", "-q"], cwd=project)
    deadline = time.monotonic() + 30
    while not list((project / ".gatehouse" / "work").rglob("started")):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    store = open_store(f"sqlite:///{project}/.gatehouse/gatehouse.db")
    (pipeline,) = store.runs.list_pipelines()
    assert pipeline.status is PipelineStatus.RUNNING
    settled = liveness.settle_interrupted(store.runs, project / ".gatehouse", str(project), grace=0)
    assert [s.id for s in settled] == [pipeline.id]
    (job,) = store.runs.list_jobs(pipeline.id)
    assert job.status is JobStatus.CANCELED
    assert job.failure_reason == "interrupted"
    store.close()
