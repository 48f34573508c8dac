"""Benchmark: storing test results in SQLite, and the cost of opening a store.

What it prints, every figure measured in this run:

1. ``submit`` of N synthetic test results (default 1,000,000) into a fresh
   SQLite file, in batches of 10,000 per transaction (the way ingest submits)
   and as one N-result transaction, with the rate at N/4, N/2 and N (equal
   rates mean linear growth) and each run's peak RSS. The baseline is a raw
   ``executemany`` of plain INSERTs of pre-built tuples into an equivalent
   table (the same columns and indexes, taken from the migration), with the
   same pragmas: what SQLite itself costs, without our conversion and merge.
2. Opening an existing store (start-up cost): ``python -c pass``, a process
   importing ``gatehouse.core.ports`` (which every command does), and one
   that imports gatehouse.storage and opens the store; and the open alone,
   in-process.

Each storing run happens in a child process so its peak RSS is its own.
Rates are wall-clock results per second; "cpu" is the same per CPU second,
steadier when the machine is shared.

    python bench/bench_store.py            # 1,000,000 results
    python bench/bench_store.py --quick    # a smoke run (40,000 results)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from gatehouse.core.results import ResultsBatch, Status, Test
from gatehouse.storage import open_store
from gatehouse.storage.migrate import split_statements
from gatehouse.storage.migrations import LATEST_VERSION, migration_text
from gatehouse.storage.rows import TEST_FIELDS, encode_test
from gatehouse.storage.sqlite import CACHE_KIB

BATCH = 10_000
TESTS_PER_BUILD = 1_000  # each build runs the same 1,000 test paths: a history per path


def synthetic_tests(start: int, stop: int) -> list[Test]:
    """Results shaped like a JUnit ingest: mostly passes, a few failures with excerpts."""
    tests = []
    for n in range(start, stop):
        build, case = divmod(n, TESTS_PER_BUILD)
        kind = n % 100
        status = (
            Status.FAIL
            if kind < 3
            else Status.ERROR
            if kind == 3
            else Status.SKIP
            if kind == 4
            else Status.PASS
        )
        tests.append(
            Test(
                id=f"bench:j{build}/{case}",
                origin="bench",
                build_id=f"bench:j{build}",
                path=f"suite{case // 100}.group{case // 10 % 10}.case{case}",
                status=status,
                duration=(n % 977) / 100.0,
                log_excerpt=f"assertion failed at test_{case}.c:{n % 400}" if kind < 4 else None,
                misc={"attempt": 2} if kind == 99 else None,
            )
        )
    return tests


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _checkpoints(n: int) -> list[int]:
    return [n // 4, n // 2, n]


# --------------------------------------------------------------------------- child runs


def child_submit_batched(n: int, db_path: str) -> dict[str, Any]:
    store = open_store(f"sqlite:///{db_path}")
    wall = cpu = 0.0
    marks = []
    done = 0
    for start in range(0, n, BATCH):
        batch = ResultsBatch(tests=tuple(synthetic_tests(start, min(start + BATCH, n))))
        t0, c0 = time.perf_counter(), time.process_time()
        store.results.submit(batch, received_at=1_700_000_000.0 + start)
        wall += time.perf_counter() - t0
        cpu += time.process_time() - c0
        done += len(batch)
        if done in _checkpoints(n):
            marks.append({"at": done, "wall": wall, "cpu": cpu})
    store.close()
    return {"marks": marks, "rss": _peak_rss_mib()}


def child_submit_single(n: int, db_path: str) -> dict[str, Any]:
    store = open_store(f"sqlite:///{db_path}")
    batch = ResultsBatch(tests=tuple(synthetic_tests(0, n)))
    rss_before = _peak_rss_mib()
    t0, c0 = time.perf_counter(), time.process_time()
    store.results.submit(batch, received_at=1_700_000_000.0)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    store.close()
    return {
        "marks": [{"at": n, "wall": wall, "cpu": cpu}],
        "rss": _peak_rss_mib(),
        "rss_before": rss_before,
    }


def child_raw_executemany(n: int, db_path: str) -> dict[str, Any]:
    conn = sqlite3.connect(db_path, isolation_level=None)
    for pragma in ("journal_mode = WAL", "synchronous = NORMAL", f"cache_size = -{CACHE_KIB}"):
        conn.execute(f"PRAGMA {pragma}")
    for version in range(1, LATEST_VERSION + 1):
        for statement in split_statements(
            migration_text(version), "INTEGER PRIMARY KEY AUTOINCREMENT"
        ):
            if "TABLE tests " in statement or " ON tests " in statement:
                conn.execute(statement)
    names = ", ".join([*TEST_FIELDS, "_timestamp"])
    insert = f"INSERT INTO tests ({names}) VALUES ({', '.join('?' * (len(TEST_FIELDS) + 1))})"
    wall = cpu = 0.0
    marks = []
    done = 0
    for start in range(0, n, BATCH):
        rows = [encode_test(t, 1.0) for t in synthetic_tests(start, min(start + BATCH, n))]
        t0, c0 = time.perf_counter(), time.process_time()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(insert, rows)
        conn.execute("COMMIT")
        wall += time.perf_counter() - t0
        cpu += time.process_time() - c0
        done += len(rows)
        if done in _checkpoints(n):
            marks.append({"at": done, "wall": wall, "cpu": cpu})
    conn.close()
    return {"marks": marks, "rss": _peak_rss_mib()}


CHILDREN = {
    "raw": child_raw_executemany,
    "batched": child_submit_batched,
    "single": child_submit_single,
}


def run_child(mode: str, n: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="gh-bench-store-") as tmp:
        out = subprocess.run(
            [sys.executable, __file__, "--child", mode, str(n), os.path.join(tmp, "g.db")],
            capture_output=True,
            text=True,
            check=True,
        )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


# --------------------------------------------------------------------------- start-up


def _median_wall(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def startup(runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="gh-bench-open-") as tmp:
        url = f"sqlite:///{tmp}/g.db"
        open_store(url).close()  # create and migrate once: later opens find it current
        bare = _median_wall([sys.executable, "-c", "pass"], runs)
        ports = _median_wall([sys.executable, "-c", "import gatehouse.core.ports"], runs)
        opening = _median_wall(
            [
                sys.executable,
                "-c",
                f"from gatehouse.storage import open_store; open_store({url!r}).close()",
            ],
            runs,
        )
        in_process = []
        for _ in range(runs * 5):
            t0 = time.perf_counter()
            open_store(url).close()
            in_process.append(time.perf_counter() - t0)
    print(f"\n== opening an existing store (median of {runs} processes)")
    print(f"python -c pass                         {bare * 1000:7.1f} ms")
    print(
        f"python: import gatehouse.core.ports    {ports * 1000:7.1f} ms  (every command pays this)"
    )
    print(f"python: import + open_store + close    {opening * 1000:7.1f} ms")
    print(f"  the store's own cost (above ports)   {(opening - ports) * 1000:7.1f} ms")
    print(
        f"open_store + close in-process          {statistics.median(in_process) * 1000:7.2f} ms"
        f" (median of {len(in_process)})"
    )


# --------------------------------------------------------------------------- report


def _rate(mark: dict[str, Any], key: str) -> float:
    return float(mark["at"] / mark[key]) if mark[key] else float("inf")


def _k(x: float) -> str:
    return f"{x / 1000:6.0f}k/s"


def report(n: int) -> None:
    print(f"== storing {n:,} test results in SQLite (shared 2-core machine: figures vary)")
    print(f"{'run':36s} {'at N/4':>9s} {'at N/2':>9s} {'at N':>9s} {'cpu at N':>9s}  peak RSS")
    raw = run_child("raw", n)
    batched = run_child("batched", n)
    rows: list[tuple[str, dict[str, Any]]] = [
        ("raw executemany INSERT, 10k per tx", raw),
        ("submit, 10k per transaction", batched),
    ]
    for label, result in rows:
        rates = [_k(_rate(m, "wall")) for m in result["marks"]]
        cpu = _k(_rate(result["marks"][-1], "cpu"))
        print(
            f"{label:36s} {' '.join(f'{r:>9s}' for r in rates)} {cpu:>9s}  {result['rss']:6.0f} MiB"
        )
    singles = [run_child("single", size) for size in _checkpoints(n)]
    rates = [_k(_rate(s["marks"][0], "wall")) for s in singles]
    cpu = _k(_rate(singles[-1]["marks"][0], "cpu"))
    print(
        f"{'submit, one transaction of N/4,N/2,N':36s} {' '.join(f'{r:>9s}' for r in rates)} "
        f"{cpu:>9s}  {singles[-1]['rss']:6.0f} MiB "
        f"({singles[-1]['rss_before']:.0f} MiB before submit: interpreter + the batch)"
    )
    last_raw, last_ours = raw["marks"][-1], batched["marks"][-1]
    segment = [
        (b["at"] - a["at"]) / (b["wall"] - a["wall"])
        for a, b in zip(batched["marks"], batched["marks"][1:], strict=False)
    ]
    print(
        f"submit / raw executemany: {_rate(last_ours, 'wall') / _rate(last_raw, 'wall'):.2f} (wall), "
        f"{_rate(last_ours, 'cpu') / _rate(last_raw, 'cpu'):.2f} (cpu)"
    )
    print(
        "linear growth: submit rate per segment "
        + ", ".join(_k(s).strip() for s in segment)
        + " (N/4→N/2, N/2→N)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (40,000 results)")
    parser.add_argument("-n", type=int, default=None, help="results to store (default 1,000,000)")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "N", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, n, db_path = args.child
        print(json.dumps(CHILDREN[mode](int(n), db_path)))
        return
    n = args.n or (40_000 if args.quick else 1_000_000)
    report(n)
    startup(3 if args.quick else 10)


if __name__ == "__main__":
    main()
