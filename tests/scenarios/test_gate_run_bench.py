"""Keep bench/bench_gate_run.py from rotting: a --quick run prints both parts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_gate_run.py"


def test_quick_run_prints_throughput_and_step_costs() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("serial (window 1)") for line in lines)
    assert any(line.startswith("speculative (window 3)") for line in lines)
    for label in ("append_audit", "step(state, Tick)", "save_gate"):
        assert any(line.startswith(label) for line in lines), label
