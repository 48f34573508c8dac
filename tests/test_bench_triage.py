"""Keep bench/bench_triage.py from rotting: run it with --quick (no timing asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_triage.py"


@pytest.mark.slow
def test_triage_bench_runs_and_engines_agree() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "disagrees" not in proc.stdout
    assert "naive re.search loop" in proc.stdout
    assert "python " in proc.stdout
