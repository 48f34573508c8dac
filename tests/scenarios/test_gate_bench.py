"""Keep bench/bench_gate_sim.py from rotting: a --quick run, and the simulator's exact cases."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_gate_sim.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_gate_sim", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_gate_sim"] = module
    spec.loader.exec_module(module)
    return module


def test_quick_run_prints_the_whole_table() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    modes = [
        "serial",
        "nnfi W=3",
        "nnfi W=5",
        "nnfi W=20",
        "nnfi adaptive",
        "batch W=5",
        "batch adaptive",
    ]
    for p in ("0.02", "0.05", "0.10", "0.20"):
        rows = [line for line in lines if line.strip().startswith(p)]
        assert [m for m in modes if any(m in row for row in rows)] == modes
    assert "asymptote" in done.stdout


def test_without_failures_the_gate_reaches_the_analytic_optimum_exactly() -> None:
    bench = _load()
    serial = bench.simulate(bench.MODES[0], 0.0, 50, seed=1)
    assert serial.per_hour == 2.0, "one 30-minute build at a time"
    window5 = bench.simulate(bench.MODES[2], 0.0, 200, seed=1)
    assert window5.per_hour == 10.0, "five builds per 30 minutes"
    assert window5.builds == window5.merges


def test_analytic_expectation_matches_the_published_check() -> None:
    bench = _load()
    # Sonos simulator, T = 30 min, p = 0.1: W=5 -> 7.37/h, W=3 -> 4.88/h.
    assert round(bench.e_w(0.9, 5) * 2, 2) == 7.37
    assert round(bench.e_w(0.9, 3) * 2, 2) == 4.88
    assert bench._batch_size(0.1) == 4
    assert bench._batch_size(0.02) == 8
