"""The gate driven for real: time to land N changes speculatively vs serially, and the cost of a step.

    python bench/bench_gate_run.py           # 8 changes, jobs of 0.5 s
    python bench/bench_gate_run.py --quick   # 3 changes, jobs of 0.1 s (a smoke run)

Part 1 — throughput on a real repository. N independent changes are queued;
each gate pipeline is one job ``sleep T`` run by the shell executor in a
snapshot of the speculative commit. ``gatehouse gate run --once`` lands them
all, once with a fixed window of N (speculative: every item is tested on top
of the ones ahead of it, at the same time) and once with a window of 1
(serial: one item tested and landed after the other, the baseline measured
in the same run). Printed: wall seconds, merges per minute, the speed-up, and
the overhead per landed change over the job time (planning at the commit,
the workspace snapshot, merges, landings, persistence). With every build
passing, the ideal speed-up is N (all builds overlap); what is lost to it is
the per-item overhead, which the serial run pays N times in a row.

Part 2 — what the driver pays per event. ``step`` on a queue of 20 items and
``GateStore.save_gate`` of the resulting state on SQLite (the persist-before-
execute of every event), against one ``append_audit`` row as the baseline.

Figures depend on the machine and its load (the committed ones were taken on
a machine shared with other engineers); compare the ratios of one run.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from gatehouse.cli.main import main
from gatehouse.core.gate import Change, Enqueue, GateSettings, Tick, new_gate, step
from gatehouse.core.gate.codec import state_to_json
from gatehouse.storage import open_store

GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
CI = """\
workflow:
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
test:
  script:
    - sleep {seconds}
"""


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        [*GIT, "-C", str(root), *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def make_project(root: Path, changes: int, seconds: float, window: int) -> list[str]:
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    (root / ".gitlab-ci.yml").write_text(CI.format(seconds=seconds))
    (root / "README").write_text("bench\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    refs = []
    for n in range(changes):
        git(root, "checkout", "-q", "-b", f"change/{n}", "main")
        (root / f"feature{n}.txt").write_text(f"{n}\n")
        git(root, "add", "-A")
        git(root, "commit", "-qm", f"change {n}")
        refs.append(f"change/{n}")
    git(root, "checkout", "-q", "main")
    (root / "gatehouse.toml").write_text(
        f"[gate]\nwindow = {window}\nwindow_floor = 1\nwindow_increase = 0\n"
        f"window_decrease_factor = 1\npoll_interval = 0.05\n\n[run]\nconcurrency = {changes}\n"
    )
    return refs


def land_all(root: Path, refs: list[str]) -> float:
    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet):
        if main(["gate", "enqueue", "-C", str(root), *refs]) != 0:
            raise SystemExit("enqueue failed")
        started = time.perf_counter()
        code = main(["gate", "run", "--once", "-C", str(root)])
        elapsed = time.perf_counter() - started
    landed = git(root, "rev-list", "--count", "--first-parent", "main")
    if code != 0 or int(landed) != len(refs) + 1:
        raise SystemExit(f"the gate did not land everything (exit {code}):\n{quiet.getvalue()}")
    return elapsed


def throughput(changes: int, seconds: float) -> None:
    print(f"part 1: landing {changes} changes, one `sleep {seconds}` job each, real git + shell")
    print(f"{'mode':<22}{'wall s':>9}{'merges/min':>12}{'overhead/change s':>20}{'x serial':>10}")
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-gate-") as tmp:
        for name, window in (
            ("serial (window 1)", 1),
            (f"speculative (window {changes})", changes),
        ):
            root = Path(tmp) / name.split()[0]
            refs = make_project(root, changes, seconds, window)
            results[name] = land_all(root, refs)
    serial = results["serial (window 1)"]
    for name, wall in results.items():
        rounds = changes if name.startswith("serial") else 1
        overhead = (wall - rounds * seconds) / changes
        print(
            f"{name:<22}{wall:>9.2f}{60 * changes / wall:>12.1f}{overhead:>20.3f}{serial / wall:>10.2f}"
        )
    print(f"ideal speed-up with every build passing: {changes}x (all builds overlap)")


def step_cost(items: int, repeats: int) -> None:
    print(f"\npart 2: the driver's cost per event, a queue of {items} items (median of {repeats})")
    state = new_gate("0" * 40, GateSettings(window=items, window_floor=1))
    for n in range(items):
        state, _ = step(state, Enqueue(Change(f"change/{n}", f"{n:040x}")))
    with tempfile.TemporaryDirectory(prefix="bench-gate-") as tmp:
        store = open_store(f"sqlite:///{tmp}/gatehouse.db")
        version = store.gate.save_gate("q", state_to_json(state), version=0, at=0.0)
        steps, saves, appends = [], [], []
        for n in range(repeats):
            t0 = time.perf_counter()
            state, _ = step(state, Tick(at=float(n)))
            t1 = time.perf_counter()
            version = store.gate.save_gate("q", state_to_json(state), version=version, at=float(n))
            t2 = time.perf_counter()
            store.audit.append_audit(queue="q", time=float(n), action="tick", item="")
            t3 = time.perf_counter()
            steps.append(t1 - t0)
            saves.append(t2 - t1)
            appends.append(t3 - t2)
        store.close()
    size = len(str(state_to_json(state)))
    base = statistics.median(appends)
    print(f"{'operation':<40}{'µs':>10}{'x append':>10}")
    for label, times in (
        ("append_audit (baseline: one row)", appends),
        ("step(state, Tick) (pure)", steps),
        (f"save_gate (state JSON ≈ {size // 1024} KiB)", saves),
    ):
        median = statistics.median(times)
        print(f"{label:<40}{median * 1e6:>10.0f}{median / base:>10.2f}")


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a fast smoke run")
    args = parser.parse_args()
    if args.quick:
        throughput(changes=3, seconds=0.1)
        step_cost(items=20, repeats=20)
    else:
        throughput(changes=8, seconds=0.5)
        step_cost(items=20, repeats=300)


if __name__ == "__main__":
    run()
