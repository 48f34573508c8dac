"""Keep bench/bench_ingest.py from rotting: run it with --quick (no timing asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_ingest.py"


@pytest.mark.slow
def test_ingest_bench_runs_every_mode_and_format() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "-n", "8000"],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    for fmt in ("junit", "kcidb"):
        for mode in ("parse", "1 proc", "2 procs"):
            assert sum(line.startswith(f"{fmt:<6} {mode} ") for line in lines) == 3, proc.stdout
            assert any(line.startswith(f"  {fmt} {mode}: ") for line in lines), proc.stdout
    assert "of the 100,000/s target" in proc.stdout
