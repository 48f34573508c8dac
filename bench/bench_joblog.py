"""Job output and artifacts through the shell executor, against plain-subprocess floors.

    python bench/bench_joblog.py            # 500,000 lines (~40 MB), 200 MB artifact, 5 runs
    python bench/bench_joblog.py --quick    # 50,000 lines, 20 MB artifact, 2 runs

W5, a chatty job: a job printing 500,000 lines (~40 MB) run by
``ShellExecutor`` (workspace from a pipeline snapshot, the log written with
timestamps, masking and coverage on) versus the floor: the same command run
by ``subprocess`` with its output redirected to a file. Printed with the
default 4 MiB log cap and with no cap (every line timestamped and written).
Target: <= 1.5x the floor.

W4, a big artifact: one job writes a 200 MB file collected as an artifact,
a second job gets it restored and runs ``sha256sum`` on it, versus the floor:
a subprocess writing the file, a file copy, ``sha256sum``. Target: <= 1.5x.
Also the store's collection fast path: ``adopt`` (hash, then rename into
the store) against ``put_path`` (hash while copying).

Per-job fixed cost: a ``true`` job through the executor (workspace copy of a
one-file snapshot, log file, bash, cleanup) against ``bash -c true`` by
``subprocess`` -- what the executor adds to every job.

Medians of several runs; peak RSS of this process at the end. The machine
may be shared: compare the ratios, which are measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from gatehouse.artifacts.store import LocalBlobStore
from gatehouse.core.ports import ArtifactSpec, JobRequest, WorkspaceSource
from gatehouse.executors.shell import ShellExecutor
from gatehouse.executors.workspace import Workspaces

LINE = "log line %07g: the quick brown fox jumps over the lazy dog, 0123456789 abcdef"


def median_time(action: Callable[[int], object], runs: int) -> float:
    samples = []
    for i in range(runs):
        start = time.perf_counter()
        action(i)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def make_project(root: Path) -> Path:
    project = root / "project"
    project.mkdir(parents=True)
    (project / "README").write_text("bench\n")
    git = ["git", "-c", "user.name=b", "-c", "user.email=b@example.com", "-C", str(project)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "bench"], check=True)
    return project


def report(name: str, ours: float, floor: float, target: float) -> None:
    ratio = ours / floor
    verdict = "ok" if ratio <= target else "ABOVE TARGET"
    print(
        f"  {name:34} {ours * 1000:9.1f} ms   floor {floor * 1000:9.1f} ms   "
        f"ratio {ratio:5.2f}x (target <= {target}x: {verdict})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller workloads, 2 runs")
    args = parser.parse_args()
    lines = 50_000 if args.quick else 500_000
    megabytes = 20 if args.quick else 200
    runs = 2 if args.quick else 5
    base = Path(tempfile.mkdtemp(prefix="gatehouse-bench-log-", dir=os.environ.get("BENCH_DIR")))
    try:
        project = make_project(base)
        store = LocalBlobStore(str(base / "store"))
        workspaces = Workspaces(str(base / "work"))
        shell = ShellExecutor(store, workspaces)
        snapshot = workspaces.snapshot(WorkspaceSource(str(project)))
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TOKEN": "not-printed-secret"}

        def job(name: str, *scripts: str, **fields: object) -> JobRequest:
            defaults: dict[str, object] = {
                "attempt_id": f"bench/{name}",
                "job_name": name,
                "scripts": scripts,
                "env": env,
                "masked": frozenset({"TOKEN"}),
                "source": snapshot.source,
                "log_path": str(base / f"{name}.log"),
            }
            defaults.update(fields)
            return JobRequest(**defaults)  # type: ignore[arg-type]

        def execute(request: JobRequest) -> None:
            outcome = asyncio.run(shell.run(request, asyncio.Event()))
            if not outcome.succeeded:
                raise SystemExit(f"bench job {request.job_name} failed: {outcome}")

        # ------------------------------------------------------------------ fixed cost
        count = 20 if args.quick else 100
        bare = median_time(lambda _: subprocess.run(["bash", "-c", "true"], check=True), count)
        executor_true = median_time(lambda i: execute(job(f"true{i}", "true")), count)
        print(
            f"per-job fixed cost ({count} runs): executor {executor_true * 1000:.2f} ms, "
            f"bash -c true {bare * 1000:.2f} ms, added {(executor_true - bare) * 1000:.2f} ms\n"
        )

        # ------------------------------------------------------------------ W5
        command = f"seq -f '{LINE}' {lines}"

        def floor_w5(_: int) -> None:
            with open(base / "floor.log", "wb") as out:
                subprocess.run(["bash", "-c", command], stdout=out, check=True)

        floor = median_time(floor_w5, runs)
        size = (base / "floor.log").stat().st_size
        print(f"W5: a job printing {lines:,} lines ({size / 1e6:.1f} MB)")
        capped = median_time(lambda _: execute(job("chatty", command)), runs)
        uncapped = median_time(
            lambda _: execute(
                job("chatty-all", command, log_limit=0, coverage_regex=r"/^coverage: \d+/")
            ),
            runs,
        )
        written = (base / "chatty-all.log").stat().st_size
        report("shell executor, 4 MiB cap", capped, floor, 1.5)
        report("shell executor, no cap + coverage", uncapped, floor, 1.5)
        print(f"  (uncapped log: {written / 1e6:.1f} MB with timestamps)")

        # ------------------------------------------------------------------ W4
        print(f"\nW4: a {megabytes} MB artifact written by one job, sha256sum in the next")
        write = f"head -c {megabytes}M /dev/zero > big.bin"

        def floor_w4(i: int) -> None:
            first, second = base / f"floor-a{i}", base / f"floor-b{i}"
            first.mkdir()
            second.mkdir()
            subprocess.run(["bash", "-c", write], cwd=first, check=True)
            shutil.copyfile(first / "big.bin", second / "big.bin")
            subprocess.run(["sha256sum", "big.bin"], cwd=second, check=True, capture_output=True)
            shutil.rmtree(first)
            shutil.rmtree(second)

        def ours_w4(i: int) -> None:
            producer = job(f"build{i}", write, artifacts_out=ArtifactSpec(paths=("big.bin",)))
            outcome = asyncio.run(shell.run(producer, asyncio.Event()))
            assert outcome.artifacts is not None
            execute(job(f"check{i}", "sha256sum big.bin", artifacts_in=(outcome.artifacts,)))
            for item in outcome.artifacts.files:
                store.delete(item.blob.sha256)  # every run pays the full cost

        floor = median_time(floor_w4, runs)
        ours = median_time(ours_w4, runs)
        report("two jobs through the store", ours, floor, 1.5)

        sample = base / "sample.bin"

        def fresh_sample() -> str:
            with open(sample, "wb") as out:
                out.write(os.urandom(64))  # a distinct blob every time
                out.truncate(megabytes << 20)
            return str(sample)

        def with_put() -> None:
            path = fresh_sample()
            start = time.perf_counter()
            ref = store.put_path(path)
            puts.append(time.perf_counter() - start)
            store.delete(ref.sha256)

        def with_adopt() -> None:
            path = fresh_sample()
            start = time.perf_counter()
            ref = store.adopt(path)
            adopts.append(time.perf_counter() - start)
            store.delete(ref.sha256)

        puts: list[float] = []
        adopts: list[float] = []
        for _ in range(runs):
            with_put()
            with_adopt()
        put_time, adopt_time = statistics.median(puts), statistics.median(adopts)
        print(
            f"  collecting {megabytes} MB: put_path (hash while copying) {put_time * 1000:.1f} ms, "
            f"adopt (hash, then rename) {adopt_time * 1000:.1f} ms ({adopt_time / put_time:.2f}x)"
        )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"\npeak RSS of this process: {peak:.1f} MiB")
        workspaces.discard(snapshot)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
