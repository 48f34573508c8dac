"""A 1 GB artifact goes through the store and into a later job with flat memory.

Memory is measured in a child process (its peak RSS, ``ru_maxrss``), so the
figure is the executor's and the store's own, not the test runner's. This is
a memory bound, not a timing claim: the timings live in bench/bench_joblog.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import git

CHILD = r"""
import asyncio, json, os, resource, sys
from gatehouse.artifacts.store import LocalBlobStore
from gatehouse.core.ports import ArtifactSpec, JobRequest, WorkspaceSource
from gatehouse.executors.shell import ShellExecutor
from gatehouse.executors.workspace import Workspaces

root, project, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
GiB = size
store = LocalBlobStore(os.path.join(root, "store"))
shell = ShellExecutor(store, Workspaces(os.path.join(root, "work")), kill_grace=0.5)
env = {"PATH": os.environ["PATH"]}

def run(request):
    return asyncio.run(shell.run(request, asyncio.Event()))

build = run(JobRequest(
    attempt_id="1/1", job_name="build", env=env, source=WorkspaceSource(project),
    scripts=(f"truncate -s {size} big.bin", "printf 'end' >> big.bin"),
    artifacts_out=ArtifactSpec(paths=("big.bin",)), log_path=os.path.join(root, "build.log"),
))
assert build.succeeded, open(os.path.join(root, "build.log")).read()
blob = build.artifacts.files[0].blob
use = run(JobRequest(
    attempt_id="1/2", job_name="use", env=env, source=WorkspaceSource(project),
    scripts=("test $(stat -c %s big.bin) = " + str(GiB + 3), "tail -c 3 big.bin"),
    artifacts_in=(build.artifacts,), log_path=os.path.join(root, "use.log"),
))
assert use.succeeded, open(os.path.join(root, "use.log")).read()
# the streaming put (hash while copying) of the same gigabyte
again = store.put_path(store.blob_path(blob.sha256))
print(json.dumps({
    "size": blob.size, "same_blob": again == blob,
    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def _peak(tmp_path: Path, project: Path, size: int) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / f"data-{size}"), str(project), str(size)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["size"] == size + 3
    assert figures["same_blob"]
    return figures


@pytest.mark.slow
def test_one_gigabyte_artifact_with_flat_memory(tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "f").write_text("x")
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "x")
    small = _peak(tmp_path, project, 1 << 20)
    big = _peak(tmp_path, project, 1 << 30)
    # A gigabyte went through the process twice (store, restore, streaming put);
    # its peak memory is the same as with a megabyte, give or take buffers.
    growth = big["peak_rss_mib"] - small["peak_rss_mib"]
    assert growth < 64, (small, big)
