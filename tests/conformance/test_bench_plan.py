"""bench/bench_plan.py still runs (a --quick smoke run; the figures are not checked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent.parent / "bench" / "bench_plan.py"


def test_bench_plan_quick_run(corpus: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--corpus", str(corpus)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "125 jobs: lint+plan" in proc.stdout
    assert "150 jobs: lint+plan" in proc.stdout
    assert "whole command: gatehouse plan --json" in proc.stdout
