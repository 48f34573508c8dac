"""Per-job workspace strategies on generated git repositories, against the `cp -a` floor.

    python bench/bench_workspace.py            # 10 / 1,000 / 10,000 files, 5 (3) runs each
    python bench/bench_workspace.py --quick    # 10 / 1,000 files, 2 runs (a smoke run)

For each repository it takes one pipeline snapshot (as the engine does), then
times the per-job step of every strategy — making one job's private tree —
and prints the median in milliseconds and the ratio to the floor, ``cp -a``
of a directory holding exactly the tracked files:

- gatehouse      ``Workspaces.create`` from the snapshot (what the executors do:
                 a job directory plus a reflink / copy_file_range copy)
- copy_tree      ``gatehouse.filecopy.copy_tree`` alone
- cp -al         a hardlink farm: fast but UNSAFE (a job appending to a file
                 writes into every other job's tree); shown for reference
- cp --reflink   copy-on-write clones, where the file system supports them
- git worktree   ``git worktree add --detach`` of the commit
- git archive    ``git archive HEAD | tar -x``
- checkout-index ``git read-tree`` + ``git checkout-index -a`` with a temporary index

Snapshot costs (once per pipeline) are printed too. Figures depend heavily on
the file system and on other load: compare ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from gatehouse.core.ports import WorkspaceSource
from gatehouse.executors.workspace import Workspaces
from gatehouse.filecopy import copy_tree

GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]


def make_repo(root: Path, files: int, large: int) -> None:
    """``files`` small source-like files in nested directories, plus ``large`` 4 MiB files."""
    rnd = random.Random(files)
    root.mkdir(parents=True)
    for i in range(files):
        directory = root / f"dir{i % 40}" / f"sub{i % 7}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"file{i}.c").write_bytes(rnd.randbytes(rnd.randint(200, 6000)))
    for i in range(large):
        (root / f"large{i}.bin").write_bytes(rnd.randbytes(4 << 20))
    subprocess.run([*GIT, "-C", str(root), "init", "-q"], check=True)
    subprocess.run([*GIT, "-C", str(root), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(root), "commit", "-qm", "bench"], check=True)


def timed_once(make: Callable[[Path], object], target: Path) -> float | None:
    """Seconds of ``make(new_dir)``; removal afterwards is not timed.

    ``make`` may return a callable that removes what it made elsewhere.
    """
    start = time.perf_counter()
    try:
        cleanup = make(target)
    except (subprocess.CalledProcessError, OSError):
        return None
    elapsed = time.perf_counter() - start
    if callable(cleanup):
        cleanup()
    shutil.rmtree(target, ignore_errors=True)
    return elapsed


def timed_removal(tree: Path, target: Path) -> float:
    subprocess.run(["cp", "-a", str(tree), str(target)], check=True)
    start = time.perf_counter()
    shutil.rmtree(target)
    return time.perf_counter() - start


def interleaved(
    makers: dict[str, Callable[[Path], object]], tree: Path, scratch: Path, runs: int
) -> dict[str, float | None]:
    """Median per strategy, each round running every strategy once.

    On a shared machine the load drifts; interleaving spreads the drift over
    all strategies instead of favouring whichever ran first.
    """
    samples: dict[str, list[float]] = {name: [] for name in [*makers, "remove (rmtree)"]}
    failed: set[str] = set()
    for round_ in range(runs):
        for name, make in makers.items():
            if name in failed:
                continue
            elapsed = timed_once(make, scratch / f"ws{round_}")
            if elapsed is None:
                failed.add(name)
            else:
                samples[name].append(elapsed)
        samples["remove (rmtree)"].append(timed_removal(tree, scratch / f"rm{round_}"))
    return {
        name: None if name in failed or not values else statistics.median(values)
        for name, values in samples.items()
    }


def reflink_supported(scratch: Path) -> bool:
    probe = scratch / "reflink-probe"
    probe.write_bytes(b"x")
    result = subprocess.run(
        ["cp", "--reflink=always", str(probe), str(probe) + ".clone"],
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


def strategies(
    repo: Path, snapshot_tree: Path, workspaces: Workspaces, source: WorkspaceSource, scratch: Path
) -> dict[str, Callable[[Path], object]]:
    def gatehouse(_target: Path) -> Callable[[], object]:
        job = workspaces.create("bench/1", source)
        return lambda: workspaces.release(job, failed=False)

    def git_worktree(target: Path) -> Callable[[], object]:
        subprocess.run(
            [*GIT, "-C", str(repo), "worktree", "add", "-q", "--detach", str(target), "HEAD"],
            check=True,
        )
        return lambda: subprocess.run(
            [*GIT, "-C", str(repo), "worktree", "remove", "--force", str(target)], check=True
        )

    def git_archive(target: Path) -> None:
        target.mkdir()
        archive = subprocess.Popen(
            [*GIT, "-C", str(repo), "archive", "HEAD"], stdout=subprocess.PIPE
        )
        subprocess.run(["tar", "-x", "-C", str(target)], stdin=archive.stdout, check=True)
        assert archive.stdout is not None
        archive.stdout.close()
        archive.wait()

    def checkout_index(target: Path) -> None:
        index = scratch / "bench-index"
        env = {**os.environ, "GIT_INDEX_FILE": str(index)}
        subprocess.run([*GIT, "-C", str(repo), "read-tree", "HEAD"], env=env, check=True)
        subprocess.run(
            [*GIT, "-C", str(repo), "checkout-index", "-a", f"--prefix={target}/"],
            env=env,
            check=True,
        )
        index.unlink()

    found: dict[str, Callable[[Path], object]] = {
        "cp -a (floor)": lambda t: subprocess.run(
            ["cp", "-a", str(snapshot_tree), str(t)], check=True
        ),
        "gatehouse": gatehouse,
        "copy_tree": lambda t: copy_tree(str(snapshot_tree), str(t)),
        "cp -al (UNSAFE)": lambda t: subprocess.run(
            ["cp", "-al", str(snapshot_tree), str(t)], check=True
        ),
    }
    if reflink_supported(scratch):
        found["cp --reflink"] = lambda t: subprocess.run(
            ["cp", "-a", "--reflink=always", str(snapshot_tree), str(t)], check=True
        )
    found["git worktree"] = git_worktree
    found["git archive|tar"] = git_archive
    found["checkout-index"] = checkout_index
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small repositories, 2 runs")
    args = parser.parse_args()
    sizes = [(10, 0), (1000, 1)] if args.quick else [(10, 0), (1000, 1), (10000, 2)]
    base = Path(tempfile.mkdtemp(prefix="gatehouse-bench-ws-", dir=os.environ.get("BENCH_DIR")))
    print(f"workspace strategies: median per-job wall time (ms), ratio to the floor; in {base}")
    print("(shared machine: compare ratios within this run)\n")
    try:
        rows: dict[str, dict[int, tuple[float | None, float | None]]] = {}
        snapshot_rows: dict[int, tuple[float, float]] = {}
        for files, large in sizes:
            runs = 2 if args.quick else (3 if files >= 10000 else 5)
            repo = base / f"repo{files}" / "project"
            make_repo(repo, files, large)
            (repo / "dir0" / "sub0" / "file0.c").write_text("an uncommitted change\n")
            workspaces = Workspaces(str(base / f"work{files}"))
            start = time.perf_counter()
            snapshot = workspaces.snapshot(WorkspaceSource(str(repo)))
            tree_time = time.perf_counter() - start
            start = time.perf_counter()
            at_commit = workspaces.snapshot(WorkspaceSource(str(repo), commit="HEAD"))
            commit_time = time.perf_counter() - start
            workspaces.discard(at_commit)
            snapshot_rows[files] = (tree_time, commit_time)
            scratch = base / f"scratch{files}"
            scratch.mkdir()
            tree = Path(snapshot.path) / "tree"
            makers = strategies(repo, tree, workspaces, snapshot.source, scratch)
            results = interleaved(makers, tree, scratch, runs)
            floor = results["cp -a (floor)"]
            for name, value in results.items():
                ratio = value / floor if value is not None and floor else None
                rows.setdefault(name, {})[files] = (value, ratio)
            workspaces.discard(snapshot)
            shutil.rmtree(repo.parent, ignore_errors=True)
        header = f"{'strategy':18}" + "".join(f"{f'{n:,} files':>22}" for n, _ in sizes)
        print(header)
        for name, by_size in rows.items():
            cells = []
            for files, _ in sizes:
                value, ratio = by_size.get(files, (None, None))
                cells.append(
                    f"{'n/a':>22}" if value is None else f"{value * 1000:>10.1f} ms ({ratio:4.2f}x)"
                )
            print(f"{name:18}" + "".join(f"{c:>22}" for c in cells))
        if not any("reflink" in name for name in rows):
            print("cp --reflink       not supported on this file system (no copy-on-write)")
        print("\nsnapshot, once per pipeline (ms):")
        for files, (tree_time, commit_time) in snapshot_rows.items():
            print(
                f"  {files:>6,} files: working tree {tree_time * 1000:8.1f}   "
                f"at a commit {commit_time * 1000:8.1f}"
            )
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
