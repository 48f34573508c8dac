"""W0-W5: ``gatehouse run`` against a same-run floor, and gitlab-ci-local when installed.

Each workload is a small generated git repository with a ``.gitlab-ci.yml``
of shell jobs. For each we print the median whole-process wall time over the
runs, the *floor* measured in the same run — a plain Python process that runs
the same commands with the same parallelism through a thread pool of
subprocesses, each job in a fresh copy of the tracked files, copying the same
artifact files between jobs (Python start-up included) — the per-job overhead
``(gatehouse - floor) / jobs`` and the peak RSS of the measured process.
When ``gitlab-ci-local`` is on PATH (or at ``$GITLAB_CI_LOCAL``), it runs the
same workloads with ``--shell-isolation`` and its figures are printed beside.

    python bench/bench_run.py            # 5 runs per workload
    python bench/bench_run.py --quick    # 1 run, small W4/W5 (a smoke test)

Targets (issue 3, this 2-core machine): W0 ≤ 0.4 s; overhead ≤ 2 ms/job on W1
and W2; W3 ≤ critical path (0.3 s) + start-up + 10 %; W4 ≤ 1.5 x floor;
W5 ≤ 1.5 x floor + start-up; peak RSS ≤ 150 MB and flat in W4/W5.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

FLOOR = textwrap.dedent(
    r"""
    import json, os, shutil, subprocess, sys, tempfile
    from concurrent.futures import ThreadPoolExecutor

    spec = json.load(open(sys.argv[1]))
    root = spec["root"]
    tracked = subprocess.run(["git", "-C", root, "ls-files", "-z"], capture_output=True, check=True).stdout.split(b"\0")
    tracked = [p.decode() for p in tracked if p]
    work = tempfile.mkdtemp(prefix="floor-")
    store = os.path.join(work, "store")
    os.mkdir(store)
    jobs = {j["name"]: j for j in spec["jobs"]}
    done = {}

    def run(name):
        job = jobs[name]
        ws = os.path.join(work, name.replace("/", "_"))
        for rel in tracked:
            dst = os.path.join(ws, rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copyfile(os.path.join(root, rel), dst)
        for dep in job["needs"]:
            for rel in jobs[dep]["artifacts"]:
                dst = os.path.join(ws, rel)
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                shutil.copyfile(os.path.join(store, dep, rel), dst)
        with open(os.path.join(work, name.replace("/", "_") + ".log"), "wb") as log:
            code = subprocess.run(["bash", "-c", job["script"]], cwd=ws, stdout=log, stderr=subprocess.STDOUT).returncode
        for rel in job["artifacts"]:
            dst = os.path.join(store, name, rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copyfile(os.path.join(ws, rel), dst)
        shutil.rmtree(ws)
        return code

    with ThreadPoolExecutor(spec["parallel"]) as pool:
        pending = dict(jobs)
        futures = {}
        while pending or futures:
            for name in [n for n, j in pending.items() if all(d in done for d in j["needs"])]:
                futures[name] = pool.submit(run, name)
                del pending[name]
            finished = next(iter(f for f in futures.items() if f[1].done()), None)
            if finished is None:
                import concurrent.futures as cf
                cf.wait(futures.values(), return_when=cf.FIRST_COMPLETED)
                continue
            name, fut = finished
            done[name] = fut.result()
            del futures[name]
    shutil.rmtree(work)
    sys.exit(1 if any(done.values()) else 0)
    """
)


@dataclass
class Job:
    name: str
    script: str
    needs: list[str] = field(default_factory=list)
    artifacts: list[str] = field(default_factory=list)
    stage: str = "test"


@dataclass
class Workload:
    key: str
    title: str
    jobs: list[Job]
    parallel: int
    stages: list[str] = field(default_factory=lambda: ["test"])

    def yaml(self) -> str:
        lines = ["stages: [" + ", ".join(self.stages) + "]", ""]
        for job in self.jobs:
            lines.append(f"{json.dumps(job.name)}:")
            lines.append(f"  stage: {job.stage}")
            lines.append(f"  needs: {json.dumps(job.needs)}")
            lines.append(f"  script: [{json.dumps(job.script)}]")
            if job.artifacts:
                lines.append(f"  artifacts: {{paths: {json.dumps(job.artifacts)}}}")
        return "\n".join(lines) + "\n"


def workloads(quick: bool) -> list[Workload]:
    cpus = os.cpu_count() or 1
    big = 20 if quick else 200
    lines = 50_000 if quick else 500_000
    w3 = [
        Job(
            f"build{i}",
            f"sleep 0.2; head -c 5242880 /dev/urandom > out{i}.bin",
            artifacts=[f"out{i}.bin"],
            stage="build",
        )
        for i in range(3)
    ]
    w3 += [
        Job(
            f"test{i}",
            f"sleep 0.1; test $(stat -c %s out{i % 3}.bin) -eq 5242880",
            needs=[f"build{i % 3}"],
            stage="test",
        )
        for i in range(12)
    ]
    w3.append(Job("final", "true", needs=[f"test{i}" for i in range(12)], stage="final"))
    return [
        Workload("W0", "one job `true` (start-up)", [Job("job", "true")], cpus),
        Workload(
            "W1", "100 independent jobs `true`", [Job(f"job{i}", "true") for i in range(100)], cpus
        ),
        Workload(
            "W2",
            "a 20-job needs chain of `true`",
            [Job(f"job{i}", "true", needs=[f"job{i - 1}"] if i else []) for i in range(20)],
            cpus,
        ),
        Workload(
            "W3",
            "3 builds (5 MB artifact) → 12 tests → 1 final (unlimited parallelism)",
            w3,
            16,
            ["build", "test", "final"],
        ),
        Workload(
            "W4",
            f"a {big} MB artifact → sha256sum",
            [
                Job(
                    "produce", f"head -c {big * 1048576} /dev/zero > big.bin", artifacts=["big.bin"]
                ),
                Job("consume", "sha256sum big.bin", needs=["produce"]),
            ],
            cpus,
        ),
        Workload(
            "W5",
            f"{lines:,} lines of log",
            [
                Job(
                    "chatty",
                    f"seq -f 'log line %g with some padding to make it about eighty bytes long .....' {lines}",
                )
            ],
            cpus,
        ),
    ]


def make_repo(workload: Workload, base: Path) -> Path:
    repo = base / workload.key
    repo.mkdir()
    (repo / ".gitlab-ci.yml").write_text(workload.yaml())
    (repo / "README").write_text("benchmark\n")
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@e",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@e",
    }
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["commit", "-qm", "w"],
        ["remote", "add", "origin", "https://gitlab.example.com/bench/w.git"],
    ):
        subprocess.run(["git", "-C", str(repo), *args], check=True, env=env)
    spec = {
        "root": str(repo),
        "parallel": workload.parallel,
        "jobs": [
            {"name": j.name, "script": j.script, "needs": j.needs, "artifacts": j.artifacts}
            for j in workload.jobs
        ],
    }
    (base / f"{workload.key}.json").write_text(json.dumps(spec))
    return repo


def timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of the command's own process."""
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        # stderr to a file, not a pipe: a chatty tool would block on a full pipe.
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        took = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            errors.seek(0)
            raise SystemExit(f"{' '.join(cmd)} failed in {cwd}:\n{errors.read().decode()[-2000:]}")
    return took, usage.ru_maxrss / 1024


def median(runs: list[float]) -> float:
    return statistics.median(runs)


def measure(args: argparse.Namespace) -> None:
    # Measure an installed gatehouse: compile its byte-code first (pip does at
    # install time; an editable checkout with PYTHONDONTWRITEBYTECODE would
    # otherwise recompile every module in every run).
    import compileall

    import gatehouse

    compileall.compile_dir(os.path.dirname(gatehouse.__file__), quiet=1)
    gcl = os.environ.get("GITLAB_CI_LOCAL") or shutil.which("gitlab-ci-local")
    runs = 1 if args.quick else args.runs
    env = {**os.environ, "NO_COLOR": "1"}
    print(
        f"# gatehouse run: {runs} run(s) per workload, {os.cpu_count()} CPU(s); median wall seconds"
    )
    print(f"# gitlab-ci-local: {gcl or 'not installed (set GITLAB_CI_LOCAL or put it on PATH)'}")
    header = f"{'':4} {'workload':58} {'gatehouse':>9} {'floor':>7} {'ratio':>6} {'ms/job':>7} {'net':>6} {'RSS MB':>7}"
    if gcl:
        header += f" {'gcl':>7} {'gcl/floor':>9}"
    print(header)
    print("# ms/job = (gatehouse - floor) / jobs; net = the same without W0's start-up gap")
    startup_gap: float | None = None
    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
        base = Path(tmp)
        for workload in workloads(args.quick):
            if args.only and workload.key not in args.only:
                continue
            repo = make_repo(workload, base)
            floor_script = base / "floor.py"
            floor_script.write_text(FLOOR)
            ours, floors, theirs = [], [], []
            peak = 0.0
            for _ in range(runs):
                shutil.rmtree(repo / ".gatehouse", ignore_errors=True)
                took, rss = timed(
                    [sys.executable, "-m", "gatehouse", "run", "-q", "-j", str(workload.parallel)],
                    repo,
                    env,
                )
                ours.append(took)
                peak = max(peak, rss)
                floors.append(
                    timed(
                        [sys.executable, str(floor_script), str(base / f"{workload.key}.json")],
                        repo,
                    )[0]
                )
                if gcl:
                    shutil.rmtree(repo / ".gitlab-ci-local", ignore_errors=True)
                    theirs.append(
                        timed(
                            # Not --quiet: it stops reading job output and hangs on chatty jobs.
                            [gcl, "--shell-isolation", "--concurrency", str(workload.parallel)],
                            repo,
                            env,
                        )[0]
                    )
            g, f = median(ours), median(floors)
            per_job = (g - f) / len(workload.jobs) * 1000
            if workload.key == "W0":
                startup_gap = g - f
            net = (
                (g - f - startup_gap) / len(workload.jobs) * 1000
                if startup_gap is not None
                else float("nan")
            )
            row = f"{workload.key:4} {workload.title:58} {g:9.3f} {f:7.3f} {g / f:6.2f} {per_job:7.2f} {net:6.2f} {peak:7.0f}"
            if gcl:
                t = median(theirs)
                row += f" {t:7.3f} {t / f:9.2f}"
            print(row, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="one run, small W4/W5")
    parser.add_argument("--runs", type=int, default=5, help="runs per workload (default 5)")
    parser.add_argument("--only", nargs="+", metavar="W", help="only these workloads (W0 … W5)")
    measure(parser.parse_args())


if __name__ == "__main__":
    main()
