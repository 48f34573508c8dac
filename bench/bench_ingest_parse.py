"""How fast ingest parses, and whether its memory stays flat.

Generates synthetic JUnit XML and KCIDB JSON files of 250k, 500k and 1M test
results into a temporary directory and, each in a fresh child process so
that peak RSS belongs to one measurement:

- baseline: a plain ``xml.etree.ElementTree.iterparse`` loop that only
  counts ``<testcase>`` elements (and clears them);
- junit stream: ``gatehouse.ingest.iter_results`` over the JUnit file,
  counting the Tests without keeping them (what a store that writes in
  chunks sees: memory must stay flat as the file grows);
- junit batch: ``parse_results`` keeping the whole ResultsBatch (memory
  grows with the results it holds, by design);
- kcidb: ``iter_results`` over the KCIDB file (load, kcidb-io validation,
  upgrade, mapping), with kcidb-io's validation timed on its own.

It prints results/s, the ratio to the baseline, and peak RSS per size:
time should grow linearly with size (results/s roughly constant) and the
streaming RSS should not grow. The target for the whole ingest (parse + store
in SQLite, assembled later) is 100,000 results/s, so parsing must be well
above it. Asserts nothing.

    python bench/bench_ingest_parse.py            # 250k, 500k, 1M
    python bench/bench_ingest_parse.py --quick    # 2k, 4k, 8k: a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 100_000  # results/s for parse + store


def _write_junit(path: Path, count: int) -> None:
    per_suite = 1000
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="synthetic">\n')
        written = 0
        suite = 0
        while written < count:
            size = min(per_suite, count - written)
            out.write(f'  <testsuite name="pkg.module{suite}" tests="{size}" time="1.5">\n')
            for case in range(size):
                i = written + case
                head = (
                    f'    <testcase classname="pkg.module{suite}.Class{case % 10}" '
                    f'name="test_{case}" time="0.00{i % 10}"'
                )
                if i % 50 == 0:
                    out.write(
                        f'{head}><failure message="assert {i} == 0" type="AssertionError">'
                        f"Traceback (most recent call last):\n  File &quot;t.py&quot;, line {i}\n"
                        f"AssertionError</failure><system-out>log line {i}\n</system-out>"
                        "</testcase>\n"
                    )
                elif i % 97 == 0:
                    out.write(f'{head}><skipped message="needs hardware"/></testcase>\n')
                else:
                    out.write(f"{head}/>\n")
            out.write("  </testsuite>\n")
            written += size
            suite += 1
        out.write("</testsuites>\n")


def _write_kcidb(path: Path, count: int) -> None:
    statuses = ("PASS",) * 45 + ("FAIL", "ERROR", "SKIP", "MISS", "DONE")
    with path.open("w", encoding="utf-8") as out:
        out.write('{"version": {"major": 5, "minor": 3},\n')
        out.write(' "checkouts": [{"id": "bench:c1", "origin": "bench", ')
        out.write('"git_commit_hash": "' + "a" * 40 + '"}],\n')
        out.write(' "builds": [{"id": "bench:b1", "origin": "bench", "checkout_id": "bench:c1", ')
        out.write('"architecture": "x86_64", "status": "PASS"}],\n "tests": [\n')
        for i in range(count):
            test = {
                "id": f"bench:t{i}",
                "origin": "bench",
                "build_id": "bench:b1",
                "path": f"suite{i // 1000}.case{i % 1000}",
                "status": statuses[i % len(statuses)],
                "duration": (i % 100) / 1000,
            }
            out.write(json.dumps(test) + (",\n" if i + 1 < count else "\n"))
        out.write("]}\n")


# -- child side: one measurement per process ------------------------------------------


def _peak_rss_kb() -> int:
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _child(mode: str, path: str) -> None:
    start_rss = _peak_rss_kb()
    extra: dict[str, float] = {}
    if mode == "baseline":
        import xml.etree.ElementTree as ET

        started = time.perf_counter()
        count = 0
        for _event, element in ET.iterparse(path, events=("end",)):
            if element.tag == "testcase":
                count += 1
                element.clear()
        seconds = time.perf_counter() - started
    else:
        from gatehouse.ingest import IngestContext, iter_results, parse_results

        fmt = "kcidb" if mode == "kcidb" else "junit"
        context = IngestContext(origin="bench")
        started = time.perf_counter()
        with open(path, "rb") as stream:
            if mode == "junit-batch":
                batch = parse_results(stream, name="bench", format=fmt, context=context)
                count = len(batch.tests)
            else:
                count = sum(
                    1
                    for item in iter_results(stream, name="bench", format=fmt, context=context)
                    if type(item).__name__ == "Test"
                )
        seconds = time.perf_counter() - started
        peak = _peak_rss_kb()  # before the separate validation timing below
        if mode == "kcidb":
            import kcidb_io

            with open(path, "rb") as stream:
                document = json.load(stream)
            validating = time.perf_counter()
            kcidb_io.schema.LATEST.validate(document)
            extra["validate_seconds"] = time.perf_counter() - validating
    if mode == "baseline":
        peak = _peak_rss_kb()
    print(
        json.dumps(
            {"count": count, "seconds": seconds, "rss_kb": peak, "start_kb": start_rss} | extra
        )
    )


def _measure(mode: str, path: Path) -> dict[str, float]:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parent.parent / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    result = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def _row(label: str, size: int, m: dict[str, float], baseline: float | None) -> str:
    rate = m["count"] / m["seconds"] if m["seconds"] else float("inf")
    ratio = f"{m['seconds'] / baseline:5.2f}x" if baseline else "    - "
    return (
        f"{label:<14}{size:>10,}{m['seconds']:>9.2f} s{rate:>14,.0f}/s  {ratio}"
        f"{m['rss_kb'] / 1024:>10.0f} MiB"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--no-kcidb", action="store_true", help="skip the (slow) KCIDB runs")
    args = parser.parse_args(argv)
    if args.child:
        _child(*args.child)
        return 0
    sizes = [2_000, 4_000, 8_000] if args.quick else [250_000, 500_000, 1_000_000]
    print(f"ingest parse benchmark (python {sys.version.split()[0]}, {os.cpu_count()} cpus)")
    print(f"{'mode':<14}{'results':>10}{'time':>11}{'rate':>16}  {'/base':>6}{'peak RSS':>14}")
    with tempfile.TemporaryDirectory(prefix="gatehouse-bench-") as tmp:
        rates: dict[str, list[float]] = {}
        for size in sizes:
            junit = Path(tmp) / f"junit-{size}.xml"
            _write_junit(junit, size)
            base = _measure("baseline", junit)
            print(_row("baseline", size, base, None))
            for mode in ("junit-stream", "junit-batch"):
                m = _measure(mode, junit)
                assert m["count"] == size, (mode, m["count"], size)
                rates.setdefault(mode, []).append(m["count"] / m["seconds"])
                print(_row(mode, size, m, base["seconds"]))
            junit.unlink()
            if not args.no_kcidb:
                kcidb = Path(tmp) / f"kcidb-{size}.json"
                _write_kcidb(kcidb, size)
                m = _measure("kcidb", kcidb)
                assert m["count"] == size, ("kcidb", m["count"], size)
                rates.setdefault("kcidb", []).append(m["count"] / m["seconds"])
                print(
                    _row("kcidb", size, m, None)
                    + f"   (kcidb-io validation alone {m['validate_seconds']:.2f} s)"
                )
                kcidb.unlink()
        print()
        for mode, values in rates.items():
            spread = max(values) / min(values) if min(values) else float("inf")
            verdict = "above" if min(values) >= TARGET else "BELOW"
            print(
                f"{mode:<14} {min(values):>10,.0f}..{max(values):,.0f} results/s across sizes "
                f"(max/min {spread:.2f}: ~1 means linear); {verdict} the "
                f"{TARGET:,}/s parse+store target"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
