"""Keep bench/bench_ingest_parse.py from rotting: run it in --quick mode."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_ingest_parse.py"


@pytest.mark.slow
def test_bench_runs_in_quick_mode():
    result = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for mode in ("baseline", "junit-stream", "junit-batch", "kcidb"):
        assert sum(line.startswith(mode) for line in lines) >= 3, result.stdout
    assert "results/s across sizes" in result.stdout
