"""Benchmark: ingest end to end (parse + store + triage) into SQLite, JUnit and KCIDB.

For each format, synthetic files of N/4, N/2 and N test results (default N =
1,000,000) are ingested through the real path,
``gatehouse.resultsdb.ingest.ingest_file``, into a fresh SQLite database with
five known issues stored (log regexes and path globs that explain part of
the 2 % failing results), each run in a fresh child process so that its peak
RSS is its own. Modes:

- ``parse``    baseline: the parsing half alone (the ingest parsers and the
               store's row encoding, what the parser process does), nothing
               stored: what ingest would cost if storing were free;
- ``1 proc``   parse, store and triage in one process;
- ``2 procs``  the default for large files: a parser process feeds the
               writer through a pipe, so parsing and storing overlap.

Printed per run: wall time, results/s, the ratio to the parse baseline, the
writer's and the parser's CPU seconds (where the time goes), and the peak RSS
of each process. Equal rates across N/4, N/2 and N mean linear growth; equal
RSS means flat memory. The target is 100,000 results/s end to end.

KCIDB is reported beside JUnit, honestly: its documents are validated by
kcidb-io (jsonschema) against the whole document before anything is handed
out, which is far slower than the parsers and needs the document in memory.
Its sizes default to a tenth of JUnit's (``--kcidb-n`` to change): at ~13k
results/s the full million would add minutes per mode without telling more.

    python bench/bench_ingest.py                 # N = 1,000,000
    python bench/bench_ingest.py --quick         # a smoke run (N = 20,000)
    python bench/bench_ingest.py --no-kcidb      # JUnit only
    python bench/bench_ingest.py --kcidb-n 1000000   # KCIDB at the full million too
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 100_000
FAILURE_TEXTS = (
    "WARNING: CPU: 3 PID: 1234 at fs/ext4/inode.c:4567 ext4_evict_inode+0x1a/0x20",
    "BUG: KASAN: use-after-free in kmem_cache_free+0x44/0x200",
    "AssertionError: assert 6 == 5",
    "Timeout: test did not finish in 60 s",
    "connection reset by peer",
)
ISSUES = (
    ("ext4 evict warning", ["--log", r"WARNING: .* ext4_evict_inode"]),
    ("slab use-after-free", ["--log", "KASAN: use-after-free in kmem_cache_free"]),
    ("network resets", ["--log", "connection reset by peer", "--test", "*.net*"]),
    ("module 7 is broken", ["--test", "pkg.module7.*"]),
    ("timeouts on the slow machine", ["--log", r"Timeout: .* \d+ s", "--status", "FAIL"]),
)


# --------------------------------------------------------------------------- inputs


def write_junit(path: Path, count: int) -> None:
    """JUnit like a big pytest run: 1,000 cases per suite, 2 % failures, 1 % skips."""
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="synthetic">\n')
        for start in range(0, count, 1000):
            suite = start // 1000
            out.write(f'<testsuite name="pkg.module{suite % 50}" tests="1000">\n')
            for i in range(start, min(start + 1000, count)):
                head = (
                    f'<testcase classname="pkg.module{suite % 50}.net{i % 3}" '
                    f'name="test_{suite}_{i % 1000}" time="0.00{i % 10}"'
                )
                if i % 50 == 7:
                    text = FAILURE_TEXTS[i % len(FAILURE_TEXTS)]
                    out.write(
                        f'{head}><failure message="{text}">{text}\nat test_{i}.py:{i % 400}'
                        f"</failure><system-out>log line {i}\n</system-out></testcase>\n"
                    )
                elif i % 100 == 3:
                    out.write(f'{head}><skipped message="needs hardware"/></testcase>\n')
                else:
                    out.write(f"{head}/>\n")
            out.write("</testsuite>\n")
        out.write("</testsuites>\n")


def write_kcidb(path: Path, count: int) -> None:
    """A KCIDB v5.3 document: one checkout, one build, ``count`` tests (2 % FAIL)."""
    with path.open("w", encoding="utf-8") as out:
        out.write('{"version": {"major": 5, "minor": 3},\n')
        out.write(' "checkouts": [{"id": "bench:c1", "origin": "bench", ')
        out.write('"git_commit_hash": "' + "a" * 40 + '", "tree_name": "mainline"}],\n')
        out.write(' "builds": [{"id": "bench:b1", "origin": "bench", "checkout_id": "bench:c1", ')
        out.write('"architecture": "x86_64", "status": "PASS"}],\n "tests": [\n')
        for i in range(count):
            test = {
                "id": f"bench:t{i}",
                "origin": "bench",
                "build_id": "bench:b1",
                "path": f"suite{i // 1000}.net{i % 3}.case{i % 1000}",
                "status": "FAIL" if i % 50 == 7 else "SKIP" if i % 100 == 3 else "PASS",
                "duration": (i % 100) / 1000,
            }
            if i % 50 == 7:
                test["log_excerpt"] = FAILURE_TEXTS[i % len(FAILURE_TEXTS)]
            out.write(json.dumps(test) + (",\n" if i + 1 < count else "\n"))
        out.write("]}\n")


# --------------------------------------------------------------------------- child side


def _rss_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def child(mode: str, fmt: str, path: str, db: str) -> dict[str, float]:
    from gatehouse.ingest import IngestContext

    context = IngestContext(origin="bench") if fmt == "junit" else IngestContext()
    if mode == "parse":
        from gatehouse.resultsdb.parse_process import EncodedFile

        cpu_before = _cpu(resource.RUSAGE_SELF)
        started = time.perf_counter()
        count = 0
        with open(path, "rb") as stream:
            parts = EncodedFile(
                stream, name="bench", format=fmt, context=context, received_at=1.0
            ).parts()
            for table, _columns, rows in parts:
                if table == "tests":
                    count += len(rows)
        wall = time.perf_counter() - started
        return {
            "count": count,
            "wall": wall,
            "writer_cpu": _cpu(resource.RUSAGE_SELF) - cpu_before,
            "parser_cpu": 0.0,
            "writer_rss": _rss_mib(resource.RUSAGE_SELF),
            "parser_rss": 0.0,
        }
    from datetime import UTC, datetime

    from gatehouse.resultsdb.ingest import ingest_file
    from gatehouse.resultsdb.known import compile_triager
    from gatehouse.storage import open_store

    with open_store(f"sqlite:///{db}") as store:
        triager, _ = compile_triager(store.results, now=datetime.now(UTC))
        cpu_before = _cpu(resource.RUSAGE_SELF)
        started = time.perf_counter()
        report = ingest_file(
            store.results,
            path,
            context=context,
            received_at=time.time(),
            format=fmt,
            triager=triager,
            parallel=mode == "2 procs",
        )
        wall = time.perf_counter() - started
        if not report.ok:
            raise SystemExit(f"ingest failed: {report.error}")
    return {
        "count": report.tests,
        "wall": wall,
        "writer_cpu": _cpu(resource.RUSAGE_SELF) - cpu_before,
        "parser_cpu": _cpu(resource.RUSAGE_CHILDREN),
        "writer_rss": _rss_mib(resource.RUSAGE_SELF),
        "parser_rss": _rss_mib(resource.RUSAGE_CHILDREN),
        "explained": report.explained,
        "unknown": report.unknown,
    }


# --------------------------------------------------------------------------- parent side


def _prepare_db(db: Path) -> None:
    """A fresh database with the known issues stored, through the command line itself."""
    from gatehouse.cli.main import main

    for title, flags in ISSUES:
        args = ["issue", "add", "--title", title, "--culprit", "code", "--owner", "bench"]
        code = main([*args, *flags, "--database", f"sqlite:///{db}", "-C", str(db.parent)])
        if code != 0:
            raise SystemExit(f"could not store the issue {title!r}")


def measure(mode: str, fmt: str, path: Path, tmp: Path) -> dict[str, float]:
    db = tmp / "bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    if mode != "parse":
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()):
            _prepare_db(db)
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parent.parent / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, fmt, str(path), str(db)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if done.returncode != 0:
        raise SystemExit(f"{mode} {fmt} failed:\n{done.stderr}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def row(fmt: str, mode: str, m: dict[str, float], base: float | None) -> str:
    rate = m["count"] / m["wall"]
    ratio = f"{m['wall'] / base:5.2f}x" if base else "    - "
    parser = f"{m['parser_cpu']:6.1f} s" if m["parser_cpu"] else "      -"
    parser_rss = f"{m['parser_rss']:8.0f} MiB" if m["parser_rss"] else "           -"
    return (
        f"{fmt:<6} {mode:<8}{m['count']:>10,.0f}{m['wall']:>8.2f} s{rate:>11,.0f}/s {ratio}"
        f"{m['writer_cpu']:>9.1f} s{parser:>11}{m['writer_rss']:>8.0f} MiB{parser_rss}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (N = 20,000)")
    parser.add_argument("--no-kcidb", action="store_true", help="JUnit only")
    parser.add_argument("-n", type=int, default=None, help="the largest size (default 1,000,000)")
    parser.add_argument(
        "--kcidb-n",
        type=int,
        default=None,
        help="the largest KCIDB size (default N/10: kcidb-io validates ~13k results/s, "
        "so the full million adds minutes per mode)",
    )
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(*args.child)))
        return 0
    n = args.n or (20_000 if args.quick else 1_000_000)
    kcidb_n = args.kcidb_n or max(n // 10, 4)
    formats = ["junit"] if args.no_kcidb else ["junit", "kcidb"]
    print(
        f"ingest benchmark: parse + store + triage into SQLite, {len(ISSUES)} known issues "
        f"(python {sys.version.split()[0]}, {os.cpu_count()} cpus, "
        f"load average {os.getloadavg()[0]:.1f} at start)"
    )
    print(
        f"{'format':<6} {'mode':<8}{'results':>10}{'time':>10}{'rate':>13} {'/parse':>6}"
        f"{'writer cpu':>11}{'parser cpu':>11}{'writer RSS':>12}{'parser RSS':>12}"
    )
    rates: dict[tuple[str, str], list[float]] = {}
    cpu_rates: dict[tuple[str, str], list[float]] = {}
    rss: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="gatehouse-bench-ingest-") as name:
        tmp = Path(name)
        for fmt in formats:
            top = n if fmt == "junit" else kcidb_n
            for size in (top // 4, top // 2, top):
                path = tmp / f"{fmt}-{size}.{'xml' if fmt == 'junit' else 'json'}"
                (write_junit if fmt == "junit" else write_kcidb)(path, size)
                base = None
                for mode in ("parse", "1 proc", "2 procs"):
                    m = measure(mode, fmt, path, tmp)
                    if m["count"] != size:
                        raise SystemExit(f"{fmt} {mode}: {m['count']} results, expected {size}")
                    base = base or m["wall"]
                    rates.setdefault((fmt, mode), []).append(m["count"] / m["wall"])
                    # The busier process's CPU time: the wall time if each had a core to itself.
                    critical = max(m["writer_cpu"], m["parser_cpu"])
                    cpu_rates.setdefault((fmt, mode), []).append(m["count"] / critical)
                    rss.setdefault((fmt, mode), []).append(m["writer_rss"])
                    print(row(fmt, mode, m, None if mode == "parse" else base), flush=True)
                path.unlink()
    print()
    print("rates at N/4, N/2, N (the last ratio is N over N/4: 1 means linear growth):")
    for (fmt, mode), values in rates.items():
        memory = rss[(fmt, mode)]
        by_cpu = cpu_rates[(fmt, mode)]
        print(
            f"  {fmt} {mode}: {values[0]:,.0f} / {values[1]:,.0f} / {values[2]:,.0f} results/s "
            f"({values[2] / values[0]:.2f}); per CPU second of the busier process "
            f"{by_cpu[0]:,.0f} / {by_cpu[1]:,.0f} / {by_cpu[2]:,.0f} ({by_cpu[2] / by_cpu[0]:.2f}); "
            f"writer RSS {memory[0]:.0f} / {memory[1]:.0f} / {memory[2]:.0f} MiB"
            + (f"; {values[2] / TARGET:.2f} of the {TARGET:,}/s target" if mode != "parse" else "")
        )
    print(
        "(wall rates depend on what else runs on the machine; the CPU rate is the wall rate "
        "the same run would reach with a core per process)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
